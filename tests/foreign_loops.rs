//! Foreign event loops: `LWS_SERVER_OPTION_LIBUV` with `foreign_loops`
//! joins the application's libuv loop when wsloop is built with its `libuv`
//! cargo feature. The suite builds that variant once (its own target
//! directory, so the default build is left alone) and runs tests/port/uv.c,
//! an lws program, against it and against libwebsockets (Debian's, with
//! its libuv plugin) where installed. Without the feature, and for the
//! event libraries wsloop does not join, context creation fails with a log
//! line saying what to do.

mod common;

use std::ffi::c_void;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use common::*;
use wsloop::ffi::*;

/// libwsloop.a built with `--features libuv`.
fn uv_static_lib() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let dir = target_dir().join("libuv");
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
            let st = Command::new(cargo)
                .args([
                    "build",
                    "--lib",
                    "--quiet",
                    "--features",
                    "libuv",
                    "--target-dir",
                ])
                .arg(&dir)
                .current_dir(root())
                .status()
                .expect("cargo runs");
            assert!(st.success(), "cargo build --features libuv failed");
            dir.join("debug/libwsloop.a")
        })
        .clone()
}

#[test]
fn an_lws_program_joins_its_libuv_loop() {
    let source = root().join("tests/port/uv.c");
    let lib = uv_static_lib().to_string_lossy().into_owned();
    let shim = |d: &str| root().join(d).to_string_lossy().into_owned();
    let ours = compile(
        &source,
        "uv-wsloop",
        &[
            "-I".into(),
            shim("include/wsloop/lws"),
            "-I".into(),
            shim("include"),
        ],
        &[&lib, "-luv", "-lpthread", "-ldl", "-lm"],
    );
    let mut builds = vec![("wsloop", ours)];
    if Path::new("/usr/include/libwebsockets.h").exists()
        && Path::new("/usr/lib/x86_64-linux-gnu/libwebsockets-evlib_uv.so").exists()
    {
        builds.push((
            "lws",
            compile(&source, "uv-lws", &[], &["-lwebsockets", "-luv"]),
        ));
    } else {
        eprintln!(
            "libwebsockets with its libuv plugin is not installed: uv runs against wsloop only"
        );
    }
    let expected =
        "established\nreceived: uv message 1\nreceived: uv message 2\nreceived: uv message 3\n\
                    timer fired\nclosed\nloop ended, uv_loop_close: ok\n";
    for (lib, exe) in builds {
        let srv = Server::node("echo");
        let (code, out, err) = run(
            &exe,
            &["-p", &srv.port.to_string()],
            Duration::from_secs(20),
        );
        assert_eq!(
            (code, out.as_str()),
            (0, expected),
            "uv against {lib}:\n{err}"
        );
    }
}

/// Tries a context with `options` and a (fake) foreign loop; returns the
/// creation log line, which must be there since creation must fail.
fn refused(options: u64, foreign: bool) -> String {
    capture_log(WS_LLL_ERR | WS_LLL_WARN);
    let mut fake = 0u64;
    let mut loops = [&mut fake as *mut u64 as *mut c_void];
    let c = Ctx::with_info(CtxOpts::default(), |i| {
        i.options = options;
        if foreign {
            i.foreign_loops = loops.as_mut_ptr();
        }
    });
    assert!(c.is_none(), "options {options:#x}: the context was created");
    log_lines()
        .into_iter()
        .rev()
        .find(|l| l.contains("ws_create_context:"))
        .expect("a log line")
}

#[test]
fn foreign_loops_it_cannot_join_are_refused_with_what_to_do() {
    let line = refused(WS_SERVER_OPTION_LIBUV, true);
    assert!(
        line.contains("ws_create_context: LWS_SERVER_OPTION_LIBUV with foreign_loops needs wsloop built with its `libuv` cargo feature (cargo build --features libuv, and link with -luv); without it, watch ws_get_poll_fd() with a uv_poll_t"),
        "{line}"
    );
    let line = refused(WS_SERVER_OPTION_GLIB, true);
    assert!(
        line.contains("ws_create_context: LWS_SERVER_OPTION_GLIB with foreign_loops is not supported: wsloop joins only libuv loops itself; watch ws_get_poll_fd() in your loop and call ws_service(context, -1) when it is readable or ws_get_poll_timeout_ms() has passed (see c-examples/glib-loop.c)"),
        "{line}"
    );
    for (opt, name) in [
        (WS_SERVER_OPTION_LIBEVENT, "LIBEVENT"),
        (WS_SERVER_OPTION_LIBEV, "LIBEV"),
        (WS_SERVER_OPTION_SDEVENT, "SDEVENT"),
        (WS_SERVER_OPTION_ULOOP, "ULOOP"),
    ] {
        let line = refused(opt, true);
        assert!(
            line.contains(&format!(
                "LWS_SERVER_OPTION_{name} with foreign_loops is not supported"
            )),
            "{line}"
        );
    }
    let line = refused(0, true);
    assert!(
        line.contains("foreign_loops is set, but no LWS_SERVER_OPTION_LIBUV"),
        "{line}"
    );
    let line = refused(WS_SERVER_OPTION_LIBUV | WS_SERVER_OPTION_GLIB, false);
    assert!(line.contains("more than one event library is asked for (LWS_SERVER_OPTION_LIBUV, LWS_SERVER_OPTION_GLIB): choose one"), "{line}");
}

#[test]
fn an_event_library_without_foreign_loops_runs_on_wsloops_loop() {
    let srv = Server::node("echo");
    let c = Ctx::with_info(CtxOpts::default(), |i| i.options = WS_SERVER_OPTION_LIBUV)
        .expect("created");
    c.connect("127.0.0.1", srv.port, None, |_| {});
    c.service_until(SECS10, |e| {
        e.iter()
            .any(|e| e.reason == ws_callback_reasons::WS_CALLBACK_CLIENT_ESTABLISHED as i32)
    });
}
