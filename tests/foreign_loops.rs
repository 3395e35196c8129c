//! Foreign event loops: `LWS_SERVER_OPTION_LIBUV`, `_GLIB` and `_LIBEVENT`
//! with `foreign_loops` join the application's loop when wsloop is built
//! with the `libuv`, `glib` and `libevent` cargo features. The suite builds
//! that variant once, all three features together (its own target
//! directory, so the default build is left alone), and runs the lws
//! programs tests/port/uv.c, glib.c and libevent.c against it and against
//! libwebsockets (Debian's, with its plugin for that loop) where installed:
//! Debian ships the libuv and GLib plugins, not libevent's. Without the
//! feature, and for the event libraries wsloop does not join, context
//! creation fails with a log line saying what to do.

mod common;

use std::ffi::c_void;
use std::path::Path;
use std::time::Duration;

use common::*;
use wsloop::ffi::*;

/// A port program joining a loop of `pkg` (its pkg-config name), built
/// against wsloop and, where Debian's libwebsockets has the `plugin`
/// (libwebsockets-evlib_PLUGIN.so), against lws; each run against an echo
/// server must print `expected`.
fn joins_its_loop(name: &str, pkg: &str, plugin: &str, expected: &str) {
    let source = root().join("tests/port").join(format!("{name}.c"));
    let lib = pkg::foreign_static_lib().to_string_lossy().into_owned();
    let dir = |d: &str| root().join(d).to_string_lossy().into_owned();
    let (inc, link) = pkg::pkg_flags(pkg);
    let mut flags = vec![
        "-I".into(),
        dir("include/wsloop/lws"),
        "-I".into(),
        dir("include"),
    ];
    flags.extend(inc.iter().cloned());
    // The foreign-loop build links all three libraries.
    let all = pkg::foreign_link_flags();
    let mut libs = vec![lib.as_str()];
    libs.extend(all.iter().map(String::as_str));
    libs.extend(["-lpthread", "-ldl", "-lm"]);
    let ours = compile(&source, &format!("{name}-wsloop"), &flags, &libs);
    let mut builds = vec![("wsloop", ours)];
    let evlib = format!("/usr/lib/x86_64-linux-gnu/libwebsockets-evlib_{plugin}.so");
    if Path::new("/usr/include/libwebsockets.h").exists() && Path::new(&evlib).exists() {
        let mut libs = vec!["-lwebsockets"];
        libs.extend(link.iter().map(String::as_str));
        builds.push(("lws", compile(&source, &format!("{name}-lws"), &inc, &libs)));
    } else {
        eprintln!(
            "libwebsockets with its {plugin} plugin is not installed: {name} runs against wsloop only"
        );
    }
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
            "{name} against {lib}:\n{err}"
        );
    }
}

/// What every port program prints before its loop ends.
fn session(name: &str) -> String {
    format!(
        "established\nreceived: {name} message 1\nreceived: {name} message 2\n\
         received: {name} message 3\ntimer fired\nclosed\n"
    )
}

#[test]
fn an_lws_program_joins_its_libuv_loop() {
    let expected = session("uv") + "loop ended, uv_loop_close: ok\n";
    joins_its_loop("uv", "libuv", "uv", &expected);
}

#[test]
fn an_lws_program_joins_its_glib_main_loop() {
    let expected = session("glib") + "loop ended, pending: no\n";
    joins_its_loop("glib", "glib-2.0", "glib", &expected);
}

#[test]
fn an_lws_program_joins_its_libevent_loop() {
    let expected = session("libevent") + "loop ended, event_base_dispatch: 1\n";
    joins_its_loop("libevent", "libevent", "event", &expected);
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
    for (opt, name, feature, built, link, example) in [
        (WS_SERVER_OPTION_LIBUV, "LIBUV", "libuv", cfg!(feature = "libuv"), "-luv", "c-examples/uv-loop.c does (a uv_poll_t on it, and a uv_timer_t re-armed from ws_get_poll_timeout_ms())"),
        (WS_SERVER_OPTION_GLIB, "GLIB", "glib", cfg!(feature = "glib"), "-lglib-2.0", "c-examples/glib-loop.c does (g_unix_fd_add() on it, and a timeout source re-armed from ws_get_poll_timeout_ms())"),
        (WS_SERVER_OPTION_LIBEVENT, "LIBEVENT", "libevent", cfg!(feature = "libevent"), "-levent", "c-examples/libevent-loop.c does (an EV_READ|EV_PERSIST event on it, and a timer event re-armed from ws_get_poll_timeout_ms())"),
    ] {
        if built {
            continue;
        }
        let line = refused(opt, true);
        assert!(
            line.contains(&format!("ws_create_context: LWS_SERVER_OPTION_{name} with foreign_loops needs wsloop built with its `{feature}` cargo feature (cargo build --features {feature}, and link with {link}); without it, watch ws_get_poll_fd() yourself as {example}")),
            "{line}"
        );
    }
    for (opt, name) in [
        (WS_SERVER_OPTION_LIBEV, "LIBEV"),
        (WS_SERVER_OPTION_SDEVENT, "SDEVENT"),
        (WS_SERVER_OPTION_ULOOP, "ULOOP"),
    ] {
        let line = refused(opt, true);
        assert!(
            line.contains(&format!(
                "ws_create_context: LWS_SERVER_OPTION_{name} with foreign_loops is not supported: wsloop joins only libuv, GLib and libevent loops itself; watch ws_get_poll_fd() in your loop and call ws_service(context, -1) when it is readable or ws_get_poll_timeout_ms() has passed (see c-examples/poll-loop.c)"
            )),
            "{line}"
        );
    }
    let line = refused(0, true);
    assert!(
        line.contains("foreign_loops is set, but no LWS_SERVER_OPTION_LIBUV, _GLIB or _LIBEVENT says what kind of loop it is"),
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
