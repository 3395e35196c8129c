//! The C examples build with -Wall -Wextra -Werror and do what they say
//! against real servers.

mod common;

use std::time::Duration;

use common::tls::{pki, TlsOpts, TlsServer};
use common::*;

/// An example's build, made once per test binary: two tests compiling the
/// same program at once could run it while the other rewrites it ("Text
/// file busy").
fn example(name: &str) -> std::path::PathBuf {
    type Builds = std::sync::Mutex<std::collections::HashMap<String, std::path::PathBuf>>;
    static BUILDS: std::sync::OnceLock<Builds> = std::sync::OnceLock::new();
    let mut builds = BUILDS.get_or_init(Default::default).lock().unwrap();
    builds
        .entry(name.to_string())
        .or_insert_with(|| build_c(&root().join("c-examples").join(format!("{name}.c")), &[]))
        .clone()
}

const LIMIT: Duration = Duration::from_secs(30);

#[test]
fn minimal_client_talks_to_node_ws() {
    let srv = Server::node("echo");
    let (code, out, err) = run(
        &example("minimal-client"),
        &["-p", &srv.port.to_string()],
        LIMIT,
    );
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(out, "established\nreceived: hello from wsloop\nclosed\n");
}

#[test]
fn minimal_client_prints_the_connection_error() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (code, _, err) = run(
        &example("minimal-client"),
        &["-p", &port.to_string()],
        LIMIT,
    );
    assert_eq!(code, 1);
    assert!(
        err.contains(&format!(
            "connection error: Unable to connect: connection refused by 127.0.0.1:{port}"
        )),
        "{err}"
    );
}

#[test]
fn echo_client_against_node_and_python() {
    let exe = example("echo-client");
    for srv in [Server::node("echo"), Server::python()] {
        let (code, out, err) = run(
            &exe,
            &["-p", &srv.port.to_string(), "-n", "12", "-s", "1048576"],
            LIMIT,
        );
        assert_eq!(code, 0, "{out}{err}");
        assert!(
            out.contains("closed after 12 of 12 messages\nOK\n"),
            "{out}"
        );
    }
}

#[test]
fn subprotocol_client_shows_the_error_and_the_fix() {
    // Knows "chat", refuses unknown offers, accepts clients that offer nothing.
    let srv = Server::node_with(
        "subprotocol-strict",
        &["--protocols", "chat", "--allow-none"],
    );
    let (code, out, err) = run(
        &example("subprotocol-client"),
        &["-p", &srv.port.to_string()],
        LIMIT,
    );
    assert_eq!(code, 0, "{out}{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[0]
            .starts_with("attempt 1: connection error: HS: ws upgrade response not 101: HTTP 400"),
        "{out}"
    );
    assert!(
        lines[0].contains("the server may not support the offered subprotocol 'chat-v2'"),
        "{out}"
    );
    assert_eq!(
        &lines[1..],
        ["attempt 2: established", "attempt 2: received 'hi'"]
    );
}

#[test]
fn wss_client_trusts_the_ca_file_or_the_system_store() {
    let exe = example("wss-client");
    let pki = pki();
    let srv = TlsServer::start(TlsOpts::new(&pki.good));
    let port = srv.port.to_string();
    let ca = pki.file("ca.pem", &pki.ca_pem);
    let other = pki.file("other-ca.pem", &pki.other_ca_pem);
    let ok = "established over TLS\nreceived: hello over wss\nclosed\n";

    let (code, out, err) = run(
        &exe,
        &["-p", &port, "--host", "localhost", "--ca", &ca],
        LIMIT,
    );
    assert_eq!((code, out.as_str()), (0, ok), "{err}");

    // The system store, pointed at the test CA by SSL_CERT_FILE.
    let env = [("SSL_CERT_FILE", ca.as_str()), ("SSL_CERT_DIR", "")];
    let (code, out, err) = run_env(&exe, &["-p", &port, "--host", "localhost"], &env, LIMIT);
    assert_eq!((code, out.as_str()), (0, ok), "{err}");

    // A system store without it: the error says what to do.
    let env = [("SSL_CERT_FILE", other.as_str()), ("SSL_CERT_DIR", "")];
    let (code, _, err) = run_env(&exe, &["-p", &port, "--host", "localhost"], &env, LIMIT);
    assert_eq!(code, 1);
    assert!(
        err.contains(&format!("connection error: tls: unknown issuer: the certificate of 127.0.0.1:{port} is not signed by a trusted CA")),
        "{err}"
    );

    // A missing CA file fails at context creation, naming the file.
    let (code, _, err) = run(&exe, &["-p", &port, "--ca", "/nonexistent/ca.pem"], LIMIT);
    assert_eq!(code, 1);
    assert!(
        err.contains(
            "ws_create_context: client_ssl_ca_filepath '/nonexistent/ca.pem': cannot read"
        ),
        "{err}"
    );
}

#[test]
fn reconnect_client_comes_back_after_drops_and_refusals() {
    let srv = Server::restart(&["--drops", "2", "--refuse-ms", "400"]);
    let (code, out, err) = run(
        &example("reconnect-client"),
        &["-p", &srv.port.to_string()],
        LIMIT,
    );
    assert_eq!(code, 0, "{out}{err}");
    let lines: Vec<&str> = out.lines().collect();
    let dropped = format!(
        "down: the connection to 127.0.0.1:{}/ was lost without a close frame (1006); reconnecting in ",
        srv.port
    );
    let refused = format!(
        "down: Unable to connect: connection refused by 127.0.0.1:{}",
        srv.port
    );
    assert_eq!(lines[0], "established (connection 1)", "{out}");
    assert!(
        lines[1].starts_with(&dropped) && lines[1].ends_with("(attempt 1)"),
        "{out}"
    );
    assert_eq!(
        &lines[2..4],
        ["reconnected", "established (connection 2)"],
        "{out}"
    );
    assert!(lines[4].starts_with(&dropped), "{out}");
    assert!(lines.iter().any(|l| l.starts_with(&refused)), "{out}");
    let n = lines.len();
    assert_eq!(
        &lines[n - 5..],
        [
            "reconnected",
            "established (connection 3)",
            &*format!("received: at / host 127.0.0.1:{}", srv.port),
            "received: hello from connection 3",
            "closed after 3 connection(s)",
        ],
        "{out}"
    );
}

/// A peer server: its name, how to start it, and its answer to the offer
/// `WS_CONTEXT_PERMESSAGE_DEFLATE` makes (after "permessage-deflate; ").
type DeflatePeer = (&'static str, fn() -> Server, &'static str);

#[test]
fn deflate_client_compresses_with_node_python_and_libwebsockets() {
    let exe = example("deflate-client");
    let servers: [DeflatePeer; 5] = [
        (
            "node",
            || Server::node("deflate"),
            "client_no_context_takeover",
        ),
        (
            "node, no context takeover",
            || Server::node("deflate-no-takeover"),
            "client_no_context_takeover; server_no_context_takeover",
        ),
        (
            "node, window 10",
            || Server::node("deflate-window:10"),
            "client_no_context_takeover; client_max_window_bits=10; server_max_window_bits=10",
        ),
        (
            "python",
            || Server::python_with(&["--deflate"]),
            "client_no_context_takeover; server_max_window_bits=12; client_max_window_bits=12",
        ),
        (
            "libwebsockets",
            || Server::lws_echo(&[]),
            "client_no_context_takeover",
        ),
    ];
    let echoed = "message 1: 20000 bytes echoed, ok\nmessage 2: 20000 bytes echoed, ok\n\
                  message 3: 20000 bytes echoed, ok\nclosed after 3 of 3 messages\nOK\n";
    for (name, server, answer) in servers {
        let srv = server();
        let port = srv.port.to_string();
        let args = ["-p", port.as_str(), "-n", "3", "-s", "20000"];
        let (code, out, err) = run(&exe, &args, LIMIT);
        assert_eq!(code, 0, "{name}: {out}{err}");
        assert_eq!(
            out,
            format!("compression: permessage-deflate; {answer}\n{echoed}"),
            "{name}"
        );
        // The connection's opt-out: nothing offered, nothing negotiated.
        let (code, out, err) = run(&exe, &[&args[..], &["-u"]].concat(), LIMIT);
        assert_eq!(code, 0, "{name}: {out}{err}");
        assert_eq!(out, format!("compression: none\n{echoed}"), "{name} -u");
    }
}
