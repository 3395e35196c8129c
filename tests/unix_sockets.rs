//! Unix domain sockets through the C API: `address` "+/path" (a socket in
//! the file system) and "+@name" (Linux' abstract namespace), ws:// and
//! wss://, against the Python `websockets` server listening on them. The
//! server's first message names the Host header it got.

mod common;

use std::cell::Cell;
use std::ffi::{c_int, CString};
use std::process::Command;
use std::rc::Rc;

use common::tls::pki;
use common::*;
use wsloop::ffi::ws_callback_reasons::*;
use wsloop::ffi::*;

const TEXT: c_int = ws_write_protocol::WS_WRITE_TEXT as c_int;

/// py_echo.py on `unix` ("/path" or "@name"), with TLS when `tls`.
fn py_unix(unix: &str, tls: bool) -> Server {
    let mut cmd = Command::new("python3");
    cmd.current_dir(root().join("tests/servers"))
        .args(["py_echo.py", "--unix", unix]);
    if tls {
        let cert = pki().file("unix-cert.pem", &pki().good.cert_pem);
        let key = pki().file("unix-key.pem", &pki().good.key_pem);
        cmd.args(["--cert", &cert, "--key", &key]);
    }
    Server::start(cmd)
}

fn sock_path(name: &str) -> String {
    let dir = target_dir().join("tmp");
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(format!("{name}-{}.sock", std::process::id()));
    let _ = std::fs::remove_file(&p);
    p.display().to_string()
}

fn ctx() -> Ctx {
    capture_log(WS_LLL_ERR | WS_LLL_WARN | WS_LLL_NOTICE | WS_LLL_USER);
    let ca = CString::new(pki().ca_pem.as_str()).unwrap();
    Ctx::with_info(CtxOpts::default(), |i| {
        i.options |= WS_SERVER_OPTION_DISABLE_OS_CA_CERTS | WS_SERVER_OPTION_IGNORE_PROXY_ENV;
        i.client_ssl_ca_mem = ca.as_ptr().cast();
        i.client_ssl_ca_mem_len = ca.as_bytes().len() as _;
    })
    .expect("context created")
}

/// Connects to `address`, sends one message, and returns what arrived:
/// the server's Host line, then the echo.
fn exchange(c: &Ctx, address: &str, host: Option<&str>, tls: bool) -> Vec<String> {
    let received = Rc::new(Cell::new(0));
    let r2 = received.clone();
    c.hook(move |wsi, r, _, _| {
        if r == WS_CALLBACK_CLIENT_ESTABLISHED as i32 {
            send(wsi, TEXT, b"over a unix socket");
        }
        if r == WS_CALLBACK_CLIENT_RECEIVE as i32 {
            r2.set(r2.get() + 1);
            if r2.get() == 2 {
                return Some(-1);
            }
        }
        None
    });
    let host = host.map(|h| CString::new(h).unwrap());
    let wsi = c.connect(address, 0, None, |ci| {
        if let Some(h) = &host {
            ci.host = h.as_ptr();
        }
        if tls {
            ci.ssl_connection = WS_LCCSCF_USE_SSL;
        }
    });
    assert!(!wsi.is_null());
    c.service_until(SECS10, |e| {
        e.iter().any(|e| e.reason == WS_CALLBACK_WSI_DESTROY as i32)
    });
    let error = c
        .events(WS_CALLBACK_CLIENT_CONNECTION_ERROR)
        .first()
        .map(|e| e.text());
    assert!(error.is_none(), "{error:?}");
    c.events(WS_CALLBACK_CLIENT_RECEIVE)
        .iter()
        .map(|e| e.text())
        .collect()
}

#[test]
fn ws_over_a_socket_path_sends_host_localhost() {
    let path = sock_path("ws");
    let _srv = py_unix(&path, false);
    let c = ctx();
    assert_eq!(
        exchange(&c, &format!("+{path}"), None, false),
        ["host: localhost", "over a unix socket"]
    );
    drop(c);
    let c = ctx();
    assert_eq!(
        exchange(&c, &format!("+{path}"), Some("api.internal"), false),
        ["host: api.internal", "over a unix socket"],
        "the host field wins"
    );
}

#[test]
fn wss_over_an_abstract_socket() {
    let name = format!("wsloop-test-{}", std::process::id());
    let _srv = py_unix(&format!("@{name}"), true);
    let c = ctx();
    assert_eq!(
        exchange(&c, &format!("+@{name}"), None, true),
        ["host: localhost", "over a unix socket"]
    );
}

/// The CLIENT_CONNECTION_ERROR message of a connection to `address`.
fn fails(address: &str) -> String {
    let c = ctx();
    let wsi = c.connect(address, 0, None, |_| {});
    assert!(!wsi.is_null());
    c.connection_error(SECS10)
}

#[test]
fn failures_name_the_socket() {
    let path = sock_path("nobody");
    assert_eq!(
        fails(&format!("+{path}")),
        format!("Unable to connect: unix:{path}: No such file or directory (os error 2)")
    );

    // A socket file nobody listens on.
    let path = sock_path("closed");
    drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
    assert_eq!(
        fails(&format!("+{path}")),
        format!("Unable to connect: unix:{path}: connection refused (is the server running and listening on this socket?)")
    );

    let c = ctx();
    assert!(c.connect("+", 0, None, |_| {}).is_null());
    assert!(logged(
        "ws_client_connect_via_info: invalid .address '+': '+' needs a socket path after it, as in '+/run/app.sock' (or '+@name' for an abstract socket)"
    ));
}
