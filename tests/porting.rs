//! Port programs: libwebsockets-style clients in tests/port/, one per
//! pattern of the lws client examples, built unmodified against wsloop
//! (their `#include <libwebsockets.h>` finds
//! `include/wsloop/lws/libwebsockets.h`, which includes
//! `wsloop/lws-compat.h`) and, where libwebsockets is installed, against it
//! too. Both builds run against the same kind of server and must print the
//! same lines.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::*;

const LIMIT: Duration = Duration::from_secs(30);

fn source(name: &str) -> PathBuf {
    root().join("tests/port").join(format!("{name}.c"))
}

fn build_wsloop(name: &str) -> PathBuf {
    let lib = static_lib().to_string_lossy().into_owned();
    let flags = [
        "-I".to_string(),
        root()
            .join("include/wsloop/lws")
            .to_string_lossy()
            .into_owned(),
        "-I".to_string(),
        root().join("include").to_string_lossy().into_owned(),
    ];
    compile(
        &source(name),
        &format!("{name}-wsloop"),
        &flags,
        &[&lib, "-lpthread", "-ldl", "-lm"],
    )
}

/// Whether the installed libwebsockets was built with `LWS_WITH_<option>`.
fn lws_built_with(option: &str) -> bool {
    let config = std::fs::read_to_string("/usr/include/lws_config.h").unwrap_or_default();
    config
        .lines()
        .any(|l| l.trim() == format!("#define LWS_WITH_{option}"))
}

/// The lws build, or None (with a note) where libwebsockets is not installed.
fn build_lws(name: &str) -> Option<PathBuf> {
    if !Path::new("/usr/include/libwebsockets.h").exists() {
        eprintln!("libwebsockets-dev is not installed: {name} runs against wsloop only");
        return None;
    }
    if name == "extpoll" && !lws_built_with("EXTERNAL_POLL") {
        eprintln!("the installed libwebsockets was built without LWS_WITH_EXTERNAL_POLL (Debian's is): {name} runs against wsloop only");
        return None;
    }
    Some(compile(
        &source(name),
        &format!("{name}-lws"),
        &[],
        &["-lwebsockets", "-lpthread"],
    ))
}

/// Runs the wsloop build (and the lws one) with `args`, each against a new
/// server from `server`; returns wsloop's output after checking lws printed
/// the same.
fn run_both(name: &str, server: impl Fn() -> Server, args: &[&str]) -> String {
    let mut outputs = Vec::new();
    for (lib, exe) in [
        ("wsloop", Some(build_wsloop(name))),
        ("lws", build_lws(name)),
    ] {
        let Some(exe) = exe else { continue };
        let srv = server();
        let port = srv.port.to_string();
        let mut a = vec!["-p", port.as_str()];
        a.extend_from_slice(args);
        let (code, out, err) = run(&exe, &a, LIMIT);
        assert_eq!(code, 0, "{name} against {lib} failed:\n{out}{err}");
        outputs.push((lib, out));
    }
    if let [(_, ours), (_, theirs)] = &outputs[..] {
        assert_eq!(
            ours, theirs,
            "{name}: wsloop and libwebsockets print differently"
        );
    }
    outputs.swap_remove(0).1
}

#[test]
fn reconnect_with_backoff() {
    let out = run_both(
        "reconnect",
        || Server::node("close-after:1"),
        &["-n", "3", "-r", "1"],
    );
    assert_eq!(
        out,
        "connecting (try 0)\nconnection error\nretry scheduled\n\
         connecting (try 1)\nestablished 1\nreceived: hello\nclosed\nretry scheduled\n\
         connecting (try 2)\nestablished 2\nreceived: hello\nclosed\nretry scheduled\n\
         connecting (try 3)\nestablished 3\nreceived: hello\nclosed\ndone after 3 connections\n"
    );
}

#[test]
fn cross_thread_producers_with_cancel_service() {
    let out = run_both("tx", || Server::node("echo"), &["-n", "50"]);
    assert_eq!(
        out,
        "established\nclosed\nproduced 100, sent 100, received 100, bytes match\n"
    );
}

#[test]
fn per_fragment_receive() {
    let out = run_both("fragments", || Server::node("echo"), &[]);
    assert!(
        out.ends_with(
            "message: \"hello fragmented world\" in 4 fragments\n\
             binary message of 70000 bytes, content ok, first flag 1 time(s), final flag 1 time(s)\nclosed\n"
        ),
        "{out}"
    );
}

#[test]
fn keepalive_ping_from_the_retry_policy() {
    let out = run_both("ping", || Server::node("echo"), &[]);
    assert_eq!(
        out,
        "established\nafter 2.5 s idle: still connected, pongs received: yes\n"
    );
}

#[test]
fn many_connections_spam_and_kill() {
    let out = run_both("spam", || Server::node("echo"), &["-c", "20", "-l", "200"]);
    assert_eq!(
        out,
        "done: 200 started, 200 established, 200 closed, 0 errors\n"
    );
}

#[test]
fn external_poll_with_the_applications_pollfd_array() {
    let out = run_both("extpoll", || Server::node("echo"), &[]);
    assert_eq!(
        out,
        "established\nreceived: message 1\nreceived: message 2\nreceived: message 3\n\
         timer fired\nclosed\n\
         descriptors announced: yes, all withdrawn: yes, locks balanced: yes\n"
    );
}

#[test]
fn helpers_lists_ring_peer_headers_all_protocol() {
    let out = run_both("helpers", || Server::node("echo"), &[]);
    assert_eq!(
        out,
        "dll2: 20 30 10 (count 3)\n\
         dll2 after remove: 20 10 (count 2, detached 1)\n\
         dll2 sorted: 5 25 30 40\n\
         ring: 28 bytes free in place\n\
         ring: 3 waiting, 4 free\n\
         ring: a consumed 2, free 4 (b still holds them)\n\
         ring: b consumed 3, free 6\n\
         ring: a consumed 1, free 7\n\
         Upgrade header: 9 bytes\n\
         established with 127.0.0.1, socket fd yes\n\
         user reason on the connection\n\
         closed by the timeout\n"
    );
}
