//! permessage-deflate (RFC 7692) against real servers: Node `ws` (context
//! takeover both ways, none, windows below 15), Python `websockets` and
//! libwebsockets' own server. Each echoes a message stream of large
//! compressible and random messages, fragmented both ways, many small ones,
//! text and binary, and the echo must come back byte for byte, in chunks
//! of at most rx_buffer_size with the NUL after each.

mod common;

use std::cell::RefCell;
use std::collections::VecDeque;
use std::ffi::{c_int, c_void, CString};
use std::rc::Rc;
use std::time::Duration;

use common::*;
use wsloop::ffi::ws_callback_reasons::*;
use wsloop::ffi::*;

const TEXT: c_int = ws_write_protocol::WS_WRITE_TEXT as c_int;
const BINARY: c_int = ws_write_protocol::WS_WRITE_BINARY as c_int;
const CONTINUATION: c_int = ws_write_protocol::WS_WRITE_CONTINUATION as c_int;
const CHUNK: usize = 4096;
const LIMIT: Duration = Duration::from_secs(120);

/// One message: bytes, binary, fragment size when sent (0: whole).
type Msg = (Vec<u8>, bool, usize);

/// Deterministic pseudo-random bytes (xorshift).
fn random(n: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// JSON-like text that compresses to about a third.
fn json(n: usize, seed: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(n + 64);
    let mut i = seed;
    while out.len() < n {
        out.extend_from_slice(
            format!(
                "{{\"id\":{i},\"price\":{}.{:02},\"name\":\"item-{}\",\"tags\":[\"a\",\"b{}\"]}},",
                i * 7 % 1000,
                i % 100,
                i % 37,
                i % 5
            )
            .as_bytes(),
        );
        i += 1;
    }
    out.truncate(n);
    out
}

/// The stream every peer echoes: several MiB, compressible and random,
/// whole and fragmented, many small messages around the threshold.
fn workload(empty: bool) -> Vec<Msg> {
    let mut m: Vec<Msg> = vec![
        (json(3 << 20, 1), false, 0),
        (random(2 << 20, 2), true, 64 << 10),
        (json(1 << 20, 3), true, 1000),
        (random(300_000, 4), true, 0),
    ];
    for k in 0..300 {
        let n = 10 + k * 7 % 400;
        m.push((json(n, k as u64), k % 3 == 0, 0));
    }
    // Small fragments (Python `websockets` refuses messages of some
    // thousands of fragments: "too many fragments", 1009).
    m.push((json(50_000, 9), false, 97));
    if empty {
        m.push((Vec::new(), false, 0));
        m.push((Vec::new(), true, 0));
    }
    m.push((json(200_000, 11), false, 0));
    m
}

/// Frames to write: (payload, ws_write kind).
fn frames(msgs: &[Msg]) -> VecDeque<(Vec<u8>, c_int)> {
    let mut out = VecDeque::new();
    for (bytes, binary, frag) in msgs {
        let kind = if *binary { BINARY } else { TEXT };
        if *frag == 0 || bytes.len() <= *frag {
            out.push_back((bytes.clone(), kind));
            continue;
        }
        let parts: Vec<&[u8]> = bytes.chunks(*frag).collect();
        for (k, p) in parts.iter().enumerate() {
            let base = if k == 0 { kind } else { CONTINUATION };
            let fin = if k + 1 == parts.len() {
                0
            } else {
                WS_WRITE_NO_FIN
            };
            out.push_back((p.to_vec(), base | fin));
        }
    }
    out
}

/// How the context asks for compression.
#[derive(Clone, Copy)]
enum Ask {
    /// libwebsockets' way: an extension table with this offer.
    Table(&'static str),
    /// WS_CONTEXT_PERMESSAGE_DEFLATE.
    Flag,
}

struct Run {
    ask: Ask,
    /// Pause receiving on every n-th chunk, resumed by a timer (0: never).
    pause_every: usize,
    connect_flags: u32,
    level: Option<c_int>,
}

impl Run {
    fn new(ask: Ask) -> Run {
        Run {
            ask,
            pause_every: 0,
            connect_flags: 0,
            level: None,
        }
    }
}

static EXT_NAME: &[u8] = b"permessage-deflate\0";

/// Connects to `port`, writes `msgs`, and returns the messages echoed
/// (checking each chunk on the way) and the context, for its events.
fn echo(port: u16, run: &Run, msgs: &[Msg]) -> (Vec<(Vec<u8>, bool)>, Ctx) {
    capture_log(WS_LLL_ERR | WS_LLL_WARN | WS_LLL_NOTICE | WS_LLL_INFO);
    let offer = match run.ask {
        Ask::Table(o) => Some(CString::new(o).unwrap()),
        Ask::Flag => None,
    };
    let table: Box<[ws_extension; 2]> = Box::new([
        ws_extension {
            name: EXT_NAME.as_ptr().cast(),
            callback: ws_extension_callback_pm_deflate as *mut c_void,
            client_offer: offer.as_ref().map_or(std::ptr::null(), |o| o.as_ptr()),
        },
        ws_extension {
            name: std::ptr::null(),
            callback: std::ptr::null_mut(),
            client_offer: std::ptr::null(),
        },
    ]);
    let opts = CtxOpts {
        rx_buffer_size: CHUNK,
        max_message_size: 16 << 20,
        ..CtxOpts::default()
    };
    let c = Ctx::with_info(opts, |info| match run.ask {
        Ask::Table(_) => info.extensions = table.as_ptr(),
        Ask::Flag => info.wsloop_flags |= WS_CONTEXT_PERMESSAGE_DEFLATE,
    })
    .expect("context");
    if let Some(level) = run.level {
        assert_eq!(
            unsafe { ws_set_permessage_deflate(c.ctx, level, 0) },
            0,
            "level {level}"
        );
    }
    let out = Rc::new(RefCell::new(frames(msgs)));
    let received = Rc::new(RefCell::new(0usize));
    let (pause_every, rx) = (run.pause_every, Rc::clone(&received));
    c.hook(move |wsi, r, _, _| {
        if r == WS_CALLBACK_CLIENT_ESTABLISHED as i32 {
            unsafe { ws_callback_on_writable(wsi) };
        }
        if r == WS_CALLBACK_CLIENT_WRITEABLE as i32 {
            if let Some((payload, kind)) = out.borrow_mut().pop_front() {
                assert_eq!(send(wsi, kind, &payload), payload.len() as c_int);
            }
            if !out.borrow().is_empty() {
                unsafe { ws_callback_on_writable(wsi) };
            }
        }
        if r == WS_CALLBACK_CLIENT_RECEIVE as i32 {
            *rx.borrow_mut() += 1;
            if pause_every > 0 && *rx.borrow() % pause_every == 0 {
                unsafe {
                    ws_rx_flow_control(wsi, 0);
                    ws_set_timer_usecs(wsi, 2000);
                }
            }
        }
        if r == WS_CALLBACK_TIMER as i32 {
            unsafe { ws_rx_flow_control(wsi, 1) };
        }
        None
    });
    c.connect("127.0.0.1", port, None, |ci| {
        ci.wsloop_flags = run.connect_flags
    });
    let want = msgs.len();
    c.service_until(LIMIT, |e| {
        let done = e
            .iter()
            .filter(|e| e.reason == WS_CALLBACK_CLIENT_RECEIVE as i32 && e.last)
            .count();
        let gone = e.iter().any(|e| {
            e.reason == WS_CALLBACK_CLIENT_CLOSED as i32
                || e.reason == WS_CALLBACK_CLIENT_CONNECTION_ERROR as i32
        });
        assert!(
            !gone,
            "connection ended after {done} of {want} echoes:\n{}",
            log_lines().join("\n")
        );
        done == want
    });
    if pause_every > 0 {
        assert!(*received.borrow() >= pause_every, "receiving was paused");
    }
    let mut got = Vec::new();
    let mut cur: Option<(Vec<u8>, bool)> = None;
    for e in c.events(WS_CALLBACK_CLIENT_RECEIVE) {
        assert!(e.data.len() <= CHUNK, "a chunk of {}", e.data.len());
        assert!(e.nul_after, "NUL after the chunk");
        assert_eq!(e.first, cur.is_none(), "first flag");
        let m = cur.get_or_insert_with(|| (Vec::new(), e.binary));
        assert_eq!(m.1, e.binary, "binary flag within a message");
        m.0.extend_from_slice(&e.data);
        if e.last {
            assert_eq!(e.remaining, 0, "nothing left of the frame at the end");
            got.push(cur.take().unwrap());
        }
    }
    assert!(cur.is_none());
    (got, c)
}

fn check(port: u16, run: &Run, msgs: &[Msg], negotiated: &str) {
    let (got, c) = echo(port, run, msgs);
    assert_eq!(got.len(), msgs.len());
    // The statistics count what the application wrote and got as payload,
    // and the compressed frames as wire bytes (the workload is mostly
    // JSON-like text, which every peer compresses well).
    let wsi = c.events(WS_CALLBACK_CLIENT_ESTABLISHED)[0].wsi as *mut ws;
    let mut st = ws_conn_stats {
        size: std::mem::size_of::<ws_conn_stats>(),
        ..Default::default()
    };
    assert_eq!(unsafe { ws_get_conn_stats(wsi, &mut st) }, 0);
    let total: u64 = msgs.iter().map(|m| m.0.len() as u64).sum();
    assert_eq!((st.tx_payload_bytes, st.rx_payload_bytes), (total, total));
    assert_eq!(st.rx_messages, msgs.len() as u64);
    assert!(
        st.rx_wire_bytes < total / 2,
        "{} wire bytes received for {total} bytes of messages",
        st.rx_wire_bytes
    );
    for (k, ((g, gb), (m, mb, _))) in got.iter().zip(msgs).enumerate() {
        assert!(
            g == m && gb == mb,
            "message {k}: {} bytes binary={gb} came back for {} bytes binary={mb}",
            g.len(),
            m.len()
        );
    }
    let line = format!("established 127.0.0.1:{port}/ with permessage-deflate ({negotiated})");
    assert!(
        logged(&line),
        "no '{line}' in the log:\n{}",
        log_lines().join("\n")
    );
}

const LWS_OFFER: &str = "permessage-deflate; client_no_context_takeover; client_max_window_bits";

#[test]
fn node_ws_with_context_takeover_both_ways() {
    let srv = Server::node("deflate");
    let run = Run::new(Ask::Table("permessage-deflate; client_max_window_bits"));
    check(
        srv.port,
        &run,
        &workload(true),
        "server_max_window_bits=15; client_max_window_bits=15",
    );
}

#[test]
fn node_ws_without_context_takeover_and_receiving_paused() {
    let srv = Server::node("deflate-no-takeover");
    let mut run = Run::new(Ask::Flag);
    run.pause_every = 97;
    check(
        srv.port,
        &run,
        &workload(true),
        "server_no_context_takeover; client_no_context_takeover; server_max_window_bits=15; client_max_window_bits=15",
    );
}

#[test]
fn node_ws_with_small_windows() {
    for bits in [10, 8] {
        let srv = Server::node(&format!("deflate-window:{bits}"));
        let mut run = Run::new(Ask::Table(LWS_OFFER));
        run.level = Some(9);
        let suffix = if bits < 9 {
            ", so sending uncompressed"
        } else {
            ""
        };
        check(
            srv.port,
            &run,
            &workload(false),
            &format!("client_no_context_takeover; server_max_window_bits={bits}; client_max_window_bits={bits}{suffix}"),
        );
    }
}

#[test]
fn python_websockets() {
    let srv = Server::python_with(&["--deflate"]);
    let run = Run::new(Ask::Table(LWS_OFFER));
    check(
        srv.port,
        &run,
        &workload(true),
        "client_no_context_takeover; server_max_window_bits=12; client_max_window_bits=12",
    );
}

#[test]
fn libwebsockets_server() {
    let srv = Server::lws_echo(&[]);
    let mut run = Run::new(Ask::Table(LWS_OFFER));
    run.pause_every = 301;
    // libwebsockets 4.1.6 does not echo empty compressed messages.
    check(
        srv.port,
        &run,
        &workload(false),
        "client_no_context_takeover; server_max_window_bits=15; client_max_window_bits=15",
    );
}

#[test]
fn a_connection_opts_out_and_protocols_zero_can_decline() {
    let srv = Server::node("deflate");
    let msgs = vec![(json(100_000, 5), false, 0)];
    // WS_CONNECT_NO_PERMESSAGE_DEFLATE: no offer, an uncompressed echo.
    let mut run = Run::new(Ask::Flag);
    run.connect_flags = WS_CONNECT_NO_PERMESSAGE_DEFLATE;
    let (got, c) = echo(srv.port, &run, &msgs);
    assert_eq!(got[0].0, msgs[0].0);
    assert!(!c.has(WS_CALLBACK_CLIENT_CONFIRM_EXTENSION_SUPPORTED));
    let line = format!("established 127.0.0.1:{}/", srv.port);
    assert!(log_lines().iter().any(|l| l.ends_with(&line)));

    // CLIENT_CONFIRM_EXTENSION_SUPPORTED, to protocols[0] with the name,
    // returning non-zero: no offer either.
    let c = Ctx::with_info(CtxOpts::default(), |info| {
        info.wsloop_flags |= WS_CONTEXT_PERMESSAGE_DEFLATE
    })
    .unwrap();
    let named = Rc::new(RefCell::new(String::new()));
    let n = Rc::clone(&named);
    c.hook(move |_, r, in_, _| {
        if r == WS_CALLBACK_CLIENT_CONFIRM_EXTENSION_SUPPORTED as i32 {
            *n.borrow_mut() = cstr(in_);
            return Some(1);
        }
        (r == WS_CALLBACK_CLIENT_ESTABLISHED as i32).then_some(-1)
    });
    c.connect("127.0.0.1", srv.port, None, |_| {});
    c.service_until(SECS10, |e| {
        e.iter().any(|e| e.reason == WS_CALLBACK_WSI_DESTROY as i32)
    });
    assert_eq!(*named.borrow(), "permessage-deflate");
    assert!(logged(
        "permessage-deflate not offered: protocols[0]'s CLIENT_CONFIRM_EXTENSION_SUPPORTED returned 1"
    ));
}

#[test]
fn a_bad_offer_or_level_is_refused() {
    capture_log(WS_LLL_ERR | WS_LLL_WARN);
    let offer = CString::new("permessage-deflate; server_max_window_bits=16").unwrap();
    let table = [
        ws_extension {
            name: EXT_NAME.as_ptr().cast(),
            callback: ws_extension_callback_pm_deflate as *mut c_void,
            client_offer: offer.as_ptr(),
        },
        ws_extension {
            name: std::ptr::null(),
            callback: std::ptr::null_mut(),
            client_offer: std::ptr::null(),
        },
    ];
    assert!(Ctx::with_info(CtxOpts::default(), |i| i.extensions = table.as_ptr()).is_none());
    assert!(logged("ws_create_context: extensions[0]: permessage-deflate offer 'permessage-deflate; server_max_window_bits=16' is not usable"));
    let c = Ctx::new(CtxOpts::default());
    assert_eq!(unsafe { ws_set_permessage_deflate(c.ctx, 10, 0) }, -1);
    assert!(logged(
        "ws_set_permessage_deflate: level 10 is out of range: give 0 (stored) to 9 (smallest); 1 is the default"
    ));
}
