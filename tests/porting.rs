//! Port programs: libwebsockets-style clients in tests/port/, one per
//! pattern of the lws client examples, built unmodified against wsloop
//! (their `#include <libwebsockets.h>` finds
//! `include/wsloop/lws/libwebsockets.h`, which includes
//! `wsloop/lws-compat.h`) and, where libwebsockets is installed, against it
//! too. Both builds run against the same kind of server and must print the
//! same lines.

mod common;

use std::any::Any;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use common::tls::*;
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

/// A program's build for one library, made once per test binary (a test
/// may run a program several times); None where that library is missing.
fn once(name: &str, lib: &str, build: impl FnOnce() -> Option<PathBuf>) -> Option<PathBuf> {
    type Builds = Mutex<HashMap<String, Arc<OnceLock<Option<PathBuf>>>>>;
    static BUILDS: OnceLock<Builds> = OnceLock::new();
    let cell = BUILDS
        .get_or_init(Default::default)
        .lock()
        .unwrap()
        .entry(format!("{name}-{lib}"))
        .or_default()
        .clone();
    cell.get_or_init(build).clone()
}

/// Runs the wsloop build (and the lws one) with `args`, each against a new
/// server from `server`; returns wsloop's output after checking lws printed
/// the same.
fn run_both(name: &str, server: impl Fn() -> Server, args: &[&str]) -> String {
    run_both_env(
        name,
        || {
            let srv = server();
            (srv.port, Box::new(srv) as Box<dyn Any>)
        },
        args,
        &[],
    )
}

/// `run_both` with environment variables, against any server: `server`
/// gives its port and what keeps it running until the program is done.
fn run_both_env(
    name: &str,
    server: impl Fn() -> (u16, Box<dyn Any>),
    args: &[&str],
    env: &[(&str, &str)],
) -> String {
    let mut outputs = Vec::new();
    for (lib, exe) in [
        ("wsloop", once(name, "wsloop", || Some(build_wsloop(name)))),
        ("lws", once(name, "lws", || build_lws(name))),
    ] {
        let Some(exe) = exe else { continue };
        let (port, _running) = server();
        let port = port.to_string();
        let mut a = vec!["-p", port.as_str()];
        a.extend_from_slice(args);
        let (code, out, err) = run_env(&exe, &a, env, LIMIT);
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
        "established\nafter 2500 ms idle: still connected, PONGs received: 2\n"
    );
    // A PING 1 s after each PONG, however long the hangup time.
    let out = run_both("ping", || Server::node("echo"), &["-H", "10", "-w", "3500"]);
    assert_eq!(
        out,
        "established\nafter 3500 ms idle: still connected, PONGs received: 3\n"
    );
}

#[test]
fn protocol_init_comes_after_create_from_the_first_service_or_connect() {
    let out = run_both("init", || Server::node("echo"), &[]);
    let session = "EVENT_WAIT_CANCELLED lws-init-a\nEVENT_WAIT_CANCELLED lws-init-b\n\
                   established\nreceived: hello\nclosed\ndestroying\n\
                   PROTOCOL_DESTROY lws-init-a\nPROTOCOL_DESTROY lws-init-b\n";
    let init_a = "PROTOCOL_INIT lws-init-a: context set, pvo none\n";
    let init_b = "PROTOCOL_INIT lws-init-b: context set, pvo greeting=hi\n";
    assert_eq!(
        out,
        format!(
            "creating\ncreated\nservicing\n{init_a}connect from PROTOCOL_INIT: ok\n{init_b}{session}\
             creating\ncreated\n{init_a}{init_b}connect from main: ok\nservicing\n{session}\
             creating\ncreated\ndestroying\n"
        )
    );
}

/// A TLS echo server presenting `leaf`.
fn tls_server(leaf: &'static Leaf) -> impl Fn() -> (u16, Box<dyn Any>) {
    move || {
        let srv = TlsServer::start(TlsOpts::new(leaf));
        (srv.port, Box::new(srv) as Box<dyn Any>)
    }
}

#[test]
fn certificates_openssl_accepts_are_accepted() {
    let pki = pki();
    let ok = "established over TLS\nreceived: hello\nclosed\n";
    let error = "connection error\n";
    let cn_only = pki.file("cn-only.pem", &pki.cn_only.cert_pem);
    let self_signed_ca = pki.file("self-signed-ca.pem", &pki.self_signed_ca.cert_pem);
    let no_env: &[(&str, &str)] = &[];
    // A certificate like lws' own test certificate: a CN and no
    // subjectAltName. Its CN is the name for a DNS name, never for an IP.
    for (host, expect) in [
        ("localhost", ok),
        ("127.0.0.1", error),
        ("other.test", error),
    ] {
        let args = ["--ca", cn_only.as_str(), "--host", host];
        let out = run_both_env("certs", tls_server(&pki.cn_only), &args, no_env);
        assert_eq!(out, expect, "--host {host}");
    }
    // Self-signed certificates trusted through the system's store, marked
    // as a CA or not, and through client_ssl_ca_filepath.
    for (leaf, file) in [
        (&pki.cn_only, &cn_only),
        (&pki.self_signed_ca, &self_signed_ca),
    ] {
        let env = [("SSL_CERT_FILE", file.as_str()), ("SSL_CERT_DIR", "")];
        let out = run_both_env("certs", tls_server(leaf), &[], &env);
        assert_eq!(out, ok, "SSL_CERT_FILE={file}");
    }
    let out = run_both_env(
        "certs",
        tls_server(&pki.self_signed_ca),
        &["--ca", &self_signed_ca],
        no_env,
    );
    assert_eq!(out, ok);
}

/// A server that answers the upgrade and sends the request it received back
/// as a text message, its Sec-WebSocket-Key value replaced by `KEY`.
fn request_echo() -> (u16, Box<dyn Any>) {
    let port = raw_server(|mut s| {
        let (head, key) = read_head(&mut s);
        write_all(
            &mut s,
            upgrade_response(&key, "Sec-WebSocket-Protocol: chat\r\n").as_bytes(),
        );
        let text = head.replace(&key, "KEY");
        write_all(&mut s, &server_frame(0x81, text.as_bytes()));
        while read_client_frame(&mut s).is_some_and(|(op, _)| op & 0x0f != 8) {}
        write_all(&mut s, &server_frame(0x88, &1000u16.to_be_bytes()));
    });
    (port, Box::new(()))
}

#[test]
fn the_upgrade_request_is_the_one_lws_sends() {
    let request = |origin: &str| {
        format!(
            "GET /chat?room=1 HTTP/1.1\r\nPragma: no-cache\r\nCache-Control: no-cache\r\n\
             Host: example.org:8080\r\nOrigin: {origin}\r\nUpgrade: websocket\r\n\
             Connection: Upgrade\r\nSec-WebSocket-Key: KEY\r\n\
             Sec-WebSocket-Protocol: chat, superchat\r\nSec-WebSocket-Version: 13\r\n\
             x-client: port-test\r\n\r\n"
        )
    };
    let out = run_both_env("handshake", request_echo, &[], &[]);
    assert_eq!(out, request("http://example.org"));
    let out = run_both_env("handshake", request_echo, &["-r"], &[]);
    assert_eq!(out, request("example.org"));
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

/// The node echo server, for `run_both_env`.
fn node_echo() -> (u16, Box<dyn Any>) {
    let srv = Server::node("echo");
    (srv.port, Box::new(srv))
}

#[test]
fn http_proxy_address_and_port_in_the_context_info() {
    // lws reads http_proxy when the info gives no proxy: none may be set.
    let env = [
        ("http_proxy", ""),
        ("https_proxy", ""),
        ("HTTPS_PROXY", ""),
        ("all_proxy", ""),
        ("ALL_PROXY", ""),
    ];
    let both = Path::new("/usr/include/libwebsockets.h").exists();
    for auth in [None, Some(("porter", "s3cret"))] {
        let proxy = common::proxies::tinyproxy(auth, &[]);
        let x = proxy.port.to_string();
        let creds = auth.map(|(u, p)| format!("{u}:{p}"));
        let mut args = vec!["-x", x.as_str()];
        if let Some(c) = &creds {
            args.extend(["-u", c.as_str()]);
        }
        let out = run_both_env("proxy", node_echo, &args, &env);
        assert_eq!(
            out,
            "established\nreceived: hello through the proxy\nclosed\n"
        );
        // Each build went through the proxy.
        let log = proxy.log();
        let tunnels = log.matches("): CONNECT 127.0.0.1:").count();
        assert_eq!(
            tunnels,
            if both { 2 } else { 1 },
            "tinyproxy's log shows {tunnels} CONNECT request(s):\n{log}"
        );
    }
}

#[test]
fn permessage_deflate_from_an_extension_table_in_1k_fragments() {
    // Compressible text, then bytes that do not compress.
    for args in [&[][..], &["-n"]] {
        let out = run_both("pmd", || Server::lws_echo(&[]), args);
        assert_eq!(
            out,
            "Sec-WebSocket-Extensions: permessage-deflate; client_no_context_takeover\n\
             established\nsent 133700 bytes in 131 fragments\n\
             echo of 133700 bytes, content ok\nclosed\n",
            "pmd {args:?}"
        );
    }
}
