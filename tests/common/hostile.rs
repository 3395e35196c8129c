//! What the hostile-server tests share: a scenario runs one connection to
//! a server that misbehaves on purpose next to a healthy bystander in the
//! same context, then asserts what the application saw, the log line and
//! the close code on the wire.

use std::ffi::c_int;
use std::net::TcpStream;
use std::sync::mpsc;
use std::time::Duration;

use super::*;
use wsloop::ffi::ws_callback_reasons::*;

/// Log lines mentioning `127.0.0.1:port` (tests run in parallel).
pub fn log_for(port: u16) -> Vec<String> {
    let needle = format!("127.0.0.1:{port}");
    log_lines()
        .into_iter()
        .filter(|l| l.contains(&needle))
        .collect()
}

pub fn capture() {
    capture_log(WS_LLL_ERR | WS_LLL_WARN | WS_LLL_NOTICE | WS_LLL_USER);
}

pub fn is(e: &Ev, wsi: *mut ws, reason: ws_callback_reasons) -> bool {
    e.wsi == wsi as usize && e.reason == reason as i32
}

/// Events of one connection.
pub fn of(c: &Ctx, wsi: *mut ws) -> Vec<Ev> {
    c.rec
        .borrow()
        .events
        .iter()
        .filter(|e| e.wsi == wsi as usize)
        .cloned()
        .collect()
}

pub fn reasons_of(c: &Ctx, wsi: *mut ws) -> Vec<i32> {
    of(c, wsi).iter().map(|e| e.reason).collect()
}

pub fn destroyed(c: &Ctx, wsi: *mut ws) {
    c.service_until(SECS10, |e| {
        e.iter().any(|e| is(e, wsi, WS_CALLBACK_WSI_DESTROY))
    });
}

/// A healthy connection to a Node `ws` echo server in the same context.
pub struct Bystander {
    pub wsi: *mut ws,
    _srv: Server,
}

impl Bystander {
    pub fn join(c: &Ctx) -> Bystander {
        let srv = Server::node("echo");
        let wsi = c.connect("127.0.0.1", srv.port, None, |_| {});
        c.service_until(SECS10, |e| {
            e.iter().any(|e| is(e, wsi, WS_CALLBACK_CLIENT_ESTABLISHED))
        });
        Bystander { wsi, _srv: srv }
    }

    /// Still open, and still echoes.
    pub fn check(&self, c: &Ctx) {
        let wsi = self.wsi;
        let ended = of(c, wsi).iter().any(|e| {
            [
                WS_CALLBACK_CLIENT_CLOSED,
                WS_CALLBACK_CLIENT_CONNECTION_ERROR,
                WS_CALLBACK_WS_PEER_INITIATED_CLOSE,
                WS_CALLBACK_WSI_DESTROY,
            ]
            .iter()
            .any(|&r| e.reason == r as i32)
        });
        assert!(!ended, "the bystander was hurt: {:?}", reasons_of(c, wsi));
        assert_eq!(
            send(
                wsi,
                ws_write_protocol::WS_WRITE_TEXT as c_int,
                b"still here"
            ),
            10
        );
        c.service_until(SECS10, |e| {
            e.iter()
                .any(|e| is(e, wsi, WS_CALLBACK_CLIENT_RECEIVE) && e.data == b"still here")
        });
    }
}

/// Accepts one connection, answers the upgrade, then runs `f`.
pub fn upgraded(f: impl FnOnce(&mut TcpStream) + Send + 'static) -> u16 {
    upgraded_with("", f)
}

/// `upgraded` with `extra` header lines (each ending in CRLF) in the 101.
pub fn upgraded_with(extra: &str, f: impl FnOnce(&mut TcpStream) + Send + 'static) -> u16 {
    let extra = extra.to_string();
    raw_server(move |mut s| {
        let key = read_request(&mut s);
        write_all(&mut s, upgrade_response(&key, &extra).as_bytes());
        f(&mut s)
    })
}

pub type Frame = Option<(u8, Vec<u8>)>;

/// Upgrades, sends `bytes`, and reports the first frame the client sends back.
pub fn sends(bytes: Vec<u8>) -> (u16, mpsc::Receiver<Frame>) {
    sends_with("", bytes)
}

/// `sends` with `extra` header lines in the 101.
pub fn sends_with(extra: &str, bytes: Vec<u8>) -> (u16, mpsc::Receiver<Frame>) {
    let (tx, rx) = mpsc::channel();
    let port = upgraded_with(extra, move |s| {
        write_all(s, &bytes);
        let _ = tx.send(read_client_frame(s));
    });
    (port, rx)
}

pub fn close_code(frame: Frame) -> u16 {
    let (op, p) = frame.expect("the client sent a frame");
    assert_eq!(op, 0x88, "a close frame");
    u16::from_be_bytes([p[0], p[1]])
}

/// Services until `wsi` got `reason`, then keeps the loop away from the
/// sockets for a while, so what the peer sends meanwhile arrives at once.
pub fn pause_after(c: &Ctx, wsi: *mut ws, reason: ws_callback_reasons) {
    c.service_until(SECS10, |e| e.iter().any(|e| is(e, wsi, reason)));
    std::thread::sleep(Duration::from_millis(300));
}

/// Runs one hostile connection next to a bystander; returns its events.
pub fn against(port: u16, opts: CtxOpts) -> (Ctx, *mut ws, Bystander) {
    against_with(port, opts, |_| {})
}

/// `against` in a context whose creation info `info` adjusts.
pub fn against_with(
    port: u16,
    opts: CtxOpts,
    info: impl FnOnce(&mut ws_context_creation_info),
) -> (Ctx, *mut ws, Bystander) {
    capture();
    let c = Ctx::with_info(opts, info).expect("ws_create_context failed");
    let b = Bystander::join(&c);
    let wsi = c.connect("127.0.0.1", port, None, |_| {});
    destroyed(&c, wsi);
    (c, wsi, b)
}

pub fn connection_error_of(c: &Ctx, wsi: *mut ws) -> String {
    let e: Vec<Ev> = of(c, wsi)
        .into_iter()
        .filter(|e| e.reason == WS_CALLBACK_CLIENT_CONNECTION_ERROR as i32)
        .collect();
    assert_eq!(e.len(), 1, "{:?}", reasons_of(c, wsi));
    e[0].text()
}

pub fn received(c: &Ctx, wsi: *mut ws) -> Vec<Ev> {
    of(c, wsi)
        .into_iter()
        .filter(|e| e.reason == WS_CALLBACK_CLIENT_RECEIVE as i32)
        .collect()
}

pub fn closed_once(c: &Ctx, wsi: *mut ws) {
    let r = reasons_of(c, wsi);
    let n = |x: ws_callback_reasons| r.iter().filter(|&&v| v == x as i32).count();
    assert_eq!(n(WS_CALLBACK_CLIENT_CLOSED), 1, "{r:?}");
    assert_eq!(n(WS_CALLBACK_CLIENT_CONNECTION_ERROR), 0, "{r:?}");
    assert_eq!(r.last(), Some(&(WS_CALLBACK_WSI_DESTROY as i32)), "{r:?}");
}

pub fn logged_for(port: u16, needle: &str) {
    let lines = log_for(port);
    assert!(
        lines.iter().any(|l| l.contains(needle)),
        "no log line with {needle:?} in {lines:?}"
    );
}

/// A frame the client must refuse: the Close code it answers with, the log
/// line naming the violation, nothing delivered, the bystander unharmed.
pub fn refused_frame(bytes: Vec<u8>, code: u16, what: &str) {
    refused_frame_with("", |_| {}, bytes, code, what)
}

/// `refused_frame` with `extra` header lines in the 101, in a context whose
/// creation info `info` adjusts.
pub fn refused_frame_with(
    extra: &str,
    info: impl FnOnce(&mut ws_context_creation_info),
    bytes: Vec<u8>,
    code: u16,
    what: &str,
) {
    let (port, rx) = sends_with(extra, bytes);
    let (c, wsi, b) = against_with(port, CtxOpts::default(), info);
    assert_eq!(close_code(rx.recv_timeout(SECS5).unwrap()), code);
    logged_for(port, &format!("127.0.0.1:{port}/ with {code}: {what}"));
    assert!(received(&c, wsi).is_empty(), "nothing invalid is delivered");
    closed_once(&c, wsi);
    b.check(&c);
}
