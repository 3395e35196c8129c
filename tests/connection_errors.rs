//! Every way a connection can fail before CLIENT_ESTABLISHED gives exactly
//! one CLIENT_CONNECTION_ERROR whose message names the cause and the peer.

mod common;

use std::io::Write;
use std::time::Duration;

use common::*;
use wsloop::ffi::ws_callback_reasons::*;
use wsloop::ffi::*;

fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

#[test]
fn refused_port_names_the_address_and_clears_pwsi() {
    let c = Ctx::new(CtxOpts::default());
    let port = closed_port();
    let mut handle: *mut ws = std::ptr::null_mut();
    let pw: *mut *mut ws = &mut handle;
    let wsi = c.connect("127.0.0.1", port, None, |ci| ci.pwsi = pw);
    assert!(!wsi.is_null());
    assert_eq!(handle, wsi, "*pwsi is set before any callback");
    let msg = c.connection_error(SECS5);
    assert_eq!(
        msg,
        format!("Unable to connect: connection refused by 127.0.0.1:{port} (is the server running and listening on that port?)")
    );
    assert!(handle.is_null(), "*pwsi is cleared on failure");
    assert_eq!(
        c.reasons(),
        vec![
            WS_CALLBACK_PROTOCOL_INIT as i32,
            WS_CALLBACK_EVENT_WAIT_CANCELLED as i32,
            WS_CALLBACK_WSI_CREATE as i32,
            WS_CALLBACK_CLIENT_CONNECTION_ERROR as i32,
            WS_CALLBACK_WSI_DESTROY as i32
        ]
    );
    assert_eq!(
        unsafe { ws_write(wsi, std::ptr::null_mut(), 0, 0) },
        -1,
        "a destroyed wsi is refused"
    );
}

#[test]
fn the_library_records_a_failure_once_below_the_default_levels() {
    // Only this test in this file changes the log mask.
    capture_log(WS_LLL_ERR | WS_LLL_WARN | WS_LLL_NOTICE | WS_LLL_INFO);
    let c = Ctx::new(CtxOpts::default());
    assert!(logged(&format!(
        "N: wsloop: {}, loglevel {}",
        env!("CARGO_PKG_VERSION"),
        WS_LLL_ERR | WS_LLL_WARN | WS_LLL_NOTICE | WS_LLL_INFO
    )));
    let port = closed_port();
    c.connect("127.0.0.1", port, None, |_| {});
    let msg = c.connection_error(SECS5);
    let lines: Vec<String> = log_lines()
        .into_iter()
        .filter(|l| l.contains(&msg))
        .collect();
    assert_eq!(
        lines,
        [format!(
            "I: 127.0.0.1:{port}/: connection failed in the TCP connect; reported as CLIENT_CONNECTION_ERROR \"{msg}\""
        )]
    );
}

#[test]
fn unresolvable_name_is_a_callback_not_null() {
    let c = Ctx::new(CtxOpts::default());
    let wsi = c.connect("no-such-host.invalid", 80, None, |_| {});
    assert!(!wsi.is_null());
    let msg = c.connection_error(Duration::from_secs(30));
    assert!(
        msg.starts_with("DNS lookup failed: cannot resolve 'no-such-host.invalid': "),
        "{msg}"
    );
}

#[test]
fn silent_server_times_out_the_handshake() {
    let port = raw_server(|mut s| {
        read_request(&mut s);
        std::thread::sleep(Duration::from_secs(4));
    });
    let c = Ctx::new(CtxOpts {
        timeout_secs: 1,
        ..Default::default()
    });
    c.connect("127.0.0.1", port, None, |_| {});
    let msg = c.connection_error(SECS5);
    assert_eq!(
        msg,
        format!("Timed out waiting server reply: 127.0.0.1:{port}/ did not answer the upgrade request within 1 s (timeout_secs; is it a WebSocket server?)")
    );
}

#[test]
fn hang_up_before_the_response() {
    let port = raw_server(|mut s| {
        read_request(&mut s);
    });
    let c = Ctx::new(CtxOpts::default());
    c.connect("127.0.0.1", port, None, |_| {});
    let msg = c.connection_error(SECS5);
    assert!(
        msg.starts_with(&format!("read failed: 127.0.0.1:{port}/ closed the connection before answering the upgrade request")),
        "{msg}"
    );
}

#[test]
fn http_404_names_status_and_is_readable_in_the_callback() {
    let srv = Server::node("status:404");
    let c = Ctx::new(CtxOpts::default());
    let status = std::rc::Rc::new(std::cell::Cell::new(0u32));
    let st = status.clone();
    c.hook(move |wsi, r, _, _| {
        if r == WS_CALLBACK_CLIENT_CONNECTION_ERROR as i32 {
            st.set(unsafe { ws_http_client_http_response(wsi) });
        }
        None
    });
    c.connect("127.0.0.1", srv.port, None, |_| {});
    let msg = c.connection_error(SECS10);
    assert_eq!(
        msg,
        format!("HS: ws upgrade response not 101: HTTP 404 Not Found from 127.0.0.1:{}/: the server did not upgrade", srv.port)
    );
    assert_eq!(status.get(), 404);
}

#[test]
fn http_401_uses_the_unauthorized_wording() {
    let srv = Server::node("status:401");
    let c = Ctx::new(CtxOpts::default());
    c.connect("127.0.0.1", srv.port, None, |_| {});
    let msg = c.connection_error(SECS10);
    assert!(
        msg.starts_with("HS: ws upgrade unauthorized: HTTP 401 Unauthorized from 127.0.0.1:"),
        "{msg}"
    );
}

#[test]
fn refused_subprotocol_explains_the_fix() {
    let srv = Server::node_with("subprotocol-strict", &["--protocols", "chat"]);
    let c = Ctx::new(CtxOpts::default());
    c.connect("127.0.0.1", srv.port, Some("chat-v2"), |_| {});
    let msg = c.connection_error(SECS10);
    assert!(
        msg.starts_with("HS: ws upgrade response not 101: HTTP 400"),
        "{msg}"
    );
    assert!(
        msg.ends_with("the server may not support the offered subprotocol 'chat-v2' (set .protocol = NULL to offer none, and .local_protocol_name = \"chat-v2\" to keep your callbacks bound)"),
        "{msg}"
    );
}

#[test]
fn subprotocol_selected_but_not_offered() {
    let srv = Server::node("subprotocol-wrong");
    let c = Ctx::new(CtxOpts::default());
    c.connect("127.0.0.1", srv.port, Some("chat"), |_| {});
    let msg = c.connection_error(SECS10);
    assert_eq!(
        msg,
        format!("HS: PROTOCOL malformed: 127.0.0.1:{}/ selected subprotocol 'not-offered', but the client offered 'chat'", srv.port)
    );
}

#[test]
fn no_subprotocol_selected_is_accepted_or_refused_with_the_flag() {
    let srv = Server::node("subprotocol-none");
    let c = Ctx::new(CtxOpts::default());
    c.connect("127.0.0.1", srv.port, Some("chat"), |_| {});
    c.service_until(SECS10, |e| {
        e.iter()
            .any(|e| e.reason == WS_CALLBACK_CLIENT_ESTABLISHED as i32)
    });

    let strict = Ctx::new(CtxOpts::default());
    strict.connect("127.0.0.1", srv.port, Some("chat"), |ci| {
        ci.wsloop_flags = WS_CONNECT_REQUIRE_SUBPROTOCOL
    });
    let msg = strict.connection_error(SECS10);
    assert!(
        msg.starts_with("subprotocol mismatch: offered 'chat', server selected none (WS_CONNECT_REQUIRE_SUBPROTOCOL is set; local protocol 'test-proto')"),
        "{msg}"
    );
}

type Responder = Box<dyn Fn(&str) -> String + Send>;

fn raw_response(resp: impl Fn(&str) -> String + Send + 'static) -> u16 {
    raw_server(move |mut s| {
        let key = read_request(&mut s);
        let _ = s.write_all(resp(&key).as_bytes());
        std::thread::sleep(Duration::from_millis(500));
    })
}

#[test]
fn bad_upgrade_headers() {
    let cases: Vec<(Responder, &str)> = vec![
        (
            Box::new(|_k: &str| {
                "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n\r\n".to_string()
            }),
            "HS: UPGRADE missing: the 101 response from 127.0.0.1:",
        ),
        (
            Box::new(|_k: &str| {
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: AAAA\r\n\r\n".to_string()
            }),
            "HS: Accept hash wrong: 127.0.0.1:",
        ),
        (
            Box::new(|_k: &str| {
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n"
                    .to_string()
            }),
            "HS: Upgrade to something other than websocket: 127.0.0.1:",
        ),
        (
            Box::new(|k: &str| {
                upgrade_response(k, "").replace("Connection: Upgrade", "Connection: keep-alive")
            }),
            "HS: UPGRADE malformed: 127.0.0.1:",
        ),
        (
            Box::new(|_k: &str| {
                format!(
                    "HTTP/1.1 200 OK\r\n{}\r\n",
                    "X-Filler: 0123456789012345678901234567890123456789\r\n".repeat(5000)
                )
            }),
            "problems parsing header: ",
        ),
    ];
    for (resp, prefix) in cases {
        let port = raw_response(resp);
        let c = Ctx::new(CtxOpts::default());
        c.connect("127.0.0.1", port, None, |_| {});
        let msg = c.connection_error(SECS5);
        assert!(msg.starts_with(prefix), "{msg}");
        assert!(!msg.contains('\n'));
    }
}

#[test]
fn filter_callback_rejects() {
    let srv = Server::node("echo");
    let c = Ctx::new(CtxOpts::default());
    c.hook(|_, r, _, _| (r == WS_CALLBACK_CLIENT_FILTER_PRE_ESTABLISH as i32).then_some(1));
    c.connect("127.0.0.1", srv.port, None, |_| {});
    let msg = c.connection_error(SECS10);
    assert_eq!(
        msg,
        "HS: Rejected by filter cb: CLIENT_FILTER_PRE_ESTABLISH returned non-zero"
    );
}

#[test]
fn invalid_arguments_return_null_without_callbacks() {
    let c = Ctx::new(CtxOpts::default());
    assert!(c.connect("", 80, None, |_| {}).is_null());
    assert!(c
        .connect("127.0.0.1", 80, None, |ci| ci.port = 70000)
        .is_null());
    assert!(c
        .connect("127.0.0.1", 80, None, |ci| ci.local_port = 5000)
        .is_null());
    assert!(unsafe { ws_client_connect_via_info(std::ptr::null()) }.is_null());
    assert_eq!(c.reasons(), vec![WS_CALLBACK_PROTOCOL_INIT as i32]);
}
