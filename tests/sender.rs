//! Sending from other threads (`ws_sender_*`, a wsloop extension), from C:
//! many producers into one connection against Node's `ws` echo server, and
//! producers racing a close and a context destroy. Under AddressSanitizer
//! (with LeakSanitizer), valgrind's memcheck, and helgrind for the C side.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::*;

fn c_program(path: &str, name: &str, extra: &[&str]) -> PathBuf {
    let mut flags = vec![
        "-std=c99".to_string(),
        "-I".into(),
        root().join("include").to_string_lossy().into_owned(),
    ];
    flags.extend(extra.iter().map(|s| s.to_string()));
    let lib = static_lib().to_string_lossy().into_owned();
    compile(
        &root().join(path),
        name,
        &flags,
        &[&lib, "-lpthread", "-ldl", "-lm"],
    )
}

const ASAN: &[&str] = &["-fsanitize=address", "-fno-omit-frame-pointer"];

fn threaded(extra: &[&str], name: &str) -> PathBuf {
    c_program("c-examples/threaded-sender.c", name, extra)
}

fn ok_line(threads: u32, messages: u32) -> String {
    format!(
        "OK: {} messages from {threads} threads, each once and in order\n",
        threads * messages
    )
}

fn assert_clean(what: &str, (code, out, err): (i32, String, String)) -> String {
    assert!(
        code == 0 && !err.contains("Sanitizer") && !err.contains("=="),
        "{what}: exit {code}\n{out}\n{err}"
    );
    out
}

#[test]
fn eight_producer_threads_every_message_once_in_each_producers_order() {
    let srv = Server::node("echo");
    let exe = threaded(&[], "threaded-sender");
    let port = srv.port.to_string();
    let r = run(&exe, &["-p", &port, "-t", "8", "-n", "100000"], SECS10 * 9);
    assert_eq!(assert_clean("threaded-sender", r), ok_line(8, 100_000));
}

#[test]
fn eight_producer_threads_under_address_sanitizer() {
    let srv = Server::node("echo");
    let exe = threaded(ASAN, "threaded-sender-asan");
    let port = srv.port.to_string();
    let r = run(&exe, &["-p", &port, "-t", "8", "-n", "20000"], SECS10 * 9);
    assert_eq!(
        assert_clean("threaded-sender (asan)", r),
        ok_line(8, 20_000)
    );
}

/// Helgrind knows pthread's locks, not Rust's: the suppressions leave out
/// accesses made by Rust code, so what it checks is the C side (producers,
/// callbacks, and the C library on their behalf).
#[test]
fn eight_producer_threads_under_helgrind() {
    let srv = Server::node("echo");
    let exe = threaded(&[], "threaded-sender-helgrind");
    let port = srv.port.to_string();
    let supp = format!(
        "--suppressions={}",
        root().join("tests/valgrind/helgrind-rust.supp").display()
    );
    let r = run(
        std::path::Path::new("valgrind"),
        &[
            "-q",
            "--tool=helgrind",
            &supp,
            "--error-exitcode=86",
            exe.to_str().unwrap(),
            "-p",
            &port,
            "-t",
            "8",
            "-n",
            "1000",
        ],
        SECS10 * 9,
    );
    assert_eq!(
        assert_clean("threaded-sender (helgrind)", r),
        ok_line(8, 1000)
    );
}

#[test]
fn producers_racing_close_and_destroy_under_address_sanitizer() {
    let srv = Server::node("echo");
    let exe = c_program("tests/c/sender-race.c", "sender-race-asan", ASAN);
    let port = srv.port.to_string();
    let r = run(&exe, &["-p", &port, "-r", "60"], SECS10 * 6);
    assert_eq!(assert_clean("sender-race (asan)", r), "OK: 60 rounds\n");
}

#[test]
fn producers_racing_close_and_destroy_under_valgrind() {
    let srv = Server::node("echo");
    let exe = c_program("tests/c/sender-race.c", "sender-race", &[]);
    let port = srv.port.to_string();
    let r = run(
        std::path::Path::new("valgrind"),
        &[
            "-q",
            "--leak-check=full",
            "--show-leak-kinds=definite,indirect,possible",
            "--errors-for-leak-kinds=definite,indirect,possible",
            "--error-exitcode=86",
            exe.to_str().unwrap(),
            "-p",
            &port,
            "-r",
            "12",
        ],
        Duration::from_secs(120),
    );
    assert_eq!(assert_clean("sender-race (valgrind)", r), "OK: 12 rounds\n");
}

/// A sender's refusals say why; another thread's message waits for the end
/// of a fragmented message the loop thread has open; a sender outlives its
/// context and then says "closed".
#[test]
fn refusals_fragments_and_a_sender_that_outlives_its_context() {
    use std::ffi::c_int;
    use wsloop::ffi::*;
    const TEXT: c_int = ws_write_protocol::WS_WRITE_TEXT as c_int;
    const CONT: c_int = ws_write_protocol::WS_WRITE_CONTINUATION as c_int;
    capture_log(WS_LLL_ERR);
    let srv = Server::node("echo");
    let c = Ctx::new(CtxOpts::default());
    let wsi = c.connect("127.0.0.1", srv.port, None, |_| {});
    assert!(unsafe { ws_sender_get(wsi, 0) }.is_null());
    assert!(logged(
        "ws_sender_get: the connection is not established yet (wait for CLIENT_ESTABLISHED)"
    ));
    let established = ws_callback_reasons::WS_CALLBACK_CLIENT_ESTABLISHED as i32;
    c.service_until(SECS10, |e| e.iter().any(|e| e.reason == established));
    let s = unsafe { ws_sender_get(wsi, 0) };
    assert!(!s.is_null());

    let r = unsafe { ws_sender_write(s, b"x".as_ptr(), 1, CONT) };
    assert_eq!(r, WS_SENDER_INVALID);
    assert!(logged("ws_sender_write: write protocol 2 refused: only whole WS_WRITE_TEXT or WS_WRITE_BINARY messages are sent from other threads"));
    assert_eq!(unsafe { ws_sender_wait(s, 1, 0) }, WS_SENDER_INVALID);
    assert!(logged(
        "ws_sender_wait: called on the thread that services the context"
    ));
    assert_eq!(
        unsafe { ws_sender_write(std::ptr::null_mut(), b"x".as_ptr(), 1, TEXT) },
        WS_SENDER_INVALID
    );

    // The loop thread opens a fragmented message; another thread writes.
    assert_eq!(send(wsi, TEXT | WS_WRITE_NO_FIN, b"frag-1 "), 7);
    let other = unsafe { ws_sender_ref(s) } as usize;
    let t = std::thread::spawn(move || {
        let s = other as *mut ws_sender;
        let r = unsafe { ws_sender_write(s, b"other".as_ptr(), 5, TEXT) };
        unsafe { ws_sender_release(s) };
        r
    });
    assert_eq!(t.join().unwrap(), WS_SENDER_OK);
    for _ in 0..5 {
        unsafe { ws_service(c.ctx, 20) };
    }
    assert_eq!(send(wsi, CONT, b"frag-2"), 6);
    let receive = ws_callback_reasons::WS_CALLBACK_CLIENT_RECEIVE as i32;
    c.service_until(SECS10, |e| {
        e.iter().filter(|e| e.reason == receive).count() == 2
    });
    let got: Vec<String> = c
        .events(ws_callback_reasons::WS_CALLBACK_CLIENT_RECEIVE)
        .iter()
        .map(Ev::text)
        .collect();
    assert_eq!(got, ["frag-1 frag-2", "other"]);

    drop(c);
    assert_eq!(
        unsafe { ws_sender_write(s, b"late".as_ptr(), 4, TEXT) },
        WS_SENDER_CLOSED
    );
    assert_eq!(unsafe { ws_sender_wait(s, 4, 0) }, WS_SENDER_CLOSED);
    unsafe { ws_sender_release(s) };
}
