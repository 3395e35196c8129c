//! Established connections against real servers: callback order, receive
//! chunking, reentrancy, close handshakes, control frames, the loop's wait
//! rules and cross-thread wake-ups.

mod common;

use std::ffi::c_int;
use std::time::{Duration, Instant};

use common::*;
use wsloop::ffi::ws_callback_reasons::*;
use wsloop::ffi::*;

const TEXT: c_int = ws_write_protocol::WS_WRITE_TEXT as c_int;
const BINARY: c_int = ws_write_protocol::WS_WRITE_BINARY as c_int;

fn is(r: i32, reason: ws_callback_reasons) -> bool {
    r == reason as i32
}

fn count(c: &Ctx, reason: ws_callback_reasons) -> usize {
    c.events(reason).len()
}

#[test]
fn callbacks_arrive_in_lws_order_and_user_data_is_zeroed() {
    let srv = Server::node("echo");
    let c = Ctx::new(CtxOpts::default());
    c.hook(|wsi, r, _, _| {
        if is(r, WS_CALLBACK_CLIENT_ESTABLISHED) {
            let user = unsafe { ws_wsi_user(wsi) } as *const u8;
            let zero = unsafe { std::slice::from_raw_parts(user, 64) }
                .iter()
                .all(|&b| b == 0);
            assert!(zero, "per-session data is zeroed");
            send(wsi, TEXT, b"one");
        }
        if is(r, WS_CALLBACK_CLIENT_RECEIVE) {
            return Some(-1);
        }
        None
    });
    c.connect("127.0.0.1", srv.port, None, |_| {});
    c.service_until(SECS10, |e| {
        e.iter().any(|e| is(e.reason, WS_CALLBACK_WSI_DESTROY))
    });
    assert_eq!(
        c.reasons(),
        [
            WS_CALLBACK_PROTOCOL_INIT,
            WS_CALLBACK_EVENT_WAIT_CANCELLED,
            WS_CALLBACK_WSI_CREATE,
            WS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER,
            WS_CALLBACK_CLIENT_FILTER_PRE_ESTABLISH,
            WS_CALLBACK_CLIENT_ESTABLISHED,
            WS_CALLBACK_CLIENT_RECEIVE,
            WS_CALLBACK_CLIENT_CLOSED,
            WS_CALLBACK_WSI_DESTROY,
        ]
        .map(|r| r as i32)
    );
    let rx = &c.events(WS_CALLBACK_CLIENT_RECEIVE)[0];
    assert_eq!(rx.text(), "one");
    assert!(rx.first && rx.last && !rx.binary && rx.nul_after);
}

#[test]
fn userdata_replaces_per_session_data() {
    let srv = Server::node("echo");
    let c = Ctx::new(CtxOpts::default());
    let mut mine = 42u64;
    let p = &mut mine as *mut u64 as *mut std::ffi::c_void;
    c.hook(move |wsi, r, _, _| {
        if is(r, WS_CALLBACK_CLIENT_ESTABLISHED) {
            assert_eq!(unsafe { ws_wsi_user(wsi) }, p);
            send(wsi, TEXT, b"x");
        }
        if is(r, WS_CALLBACK_CLIENT_RECEIVE) {
            return Some(-1);
        }
        None
    });
    c.connect("127.0.0.1", srv.port, None, |ci| ci.userdata = p);
    c.service_until(SECS10, |e| {
        e.iter().any(|e| is(e.reason, WS_CALLBACK_WSI_DESTROY))
    });
    assert_eq!(count(&c, WS_CALLBACK_CLIENT_CLOSED), 1);
}

#[test]
fn large_message_arrives_in_chunks_with_headroom_and_nul() {
    let srv = Server::node("echo");
    let c = Ctx::new(CtxOpts {
        rx_buffer_size: 1000,
        ..Default::default()
    });
    c.hook(|wsi, r, in_, len| {
        if is(r, WS_CALLBACK_CLIENT_ESTABLISHED) {
            send(wsi, TEXT, b"big:70000");
        }
        if is(r, WS_CALLBACK_CLIENT_RECEIVE) {
            // The WS_PRE bytes before `in` are ours to write (in-place echo code does).
            unsafe { std::ptr::write_bytes((in_ as *mut u8).sub(WS_PRE), 0xAA, WS_PRE) };
            assert!(len <= 1000);
        }
        None
    });
    c.connect("127.0.0.1", srv.port, None, |_| {});
    c.service_until(SECS10, |e| e.iter().any(|e| e.last));
    let chunks = c.events(WS_CALLBACK_CLIENT_RECEIVE);
    let data: Vec<u8> = chunks.iter().flat_map(|e| e.data.clone()).collect();
    assert_eq!(data.len(), 70000);
    assert!(
        data.iter().enumerate().all(|(i, &b)| b as usize == i % 251),
        "payload intact"
    );
    assert!(chunks[0].first && chunks.iter().skip(1).all(|e| !e.first));
    assert!(chunks.last().unwrap().last && chunks.iter().rev().skip(1).all(|e| !e.last));
    assert!(chunks
        .iter()
        .all(|e| e.binary && e.nul_after && e.data.len() <= 1000));
    let mut left = 70000;
    for ch in &chunks {
        left -= ch.data.len();
        assert_eq!(ch.remaining, left, "remaining payload of the frame");
    }
}

#[test]
fn fragments_and_empty_messages() {
    let srv = Server::node("echo");
    let c = Ctx::new(CtxOpts::default());
    c.hook(|wsi, r, _, _| {
        if is(r, WS_CALLBACK_CLIENT_ESTABLISHED) {
            send(wsi, TEXT, b"fragments:3:abcdefghi");
            send(wsi, TEXT, b"");
            // Our own fragmented message, echoed whole by the server.
            send(wsi, BINARY | WS_WRITE_NO_FIN, b"xy");
            send(wsi, ws_write_ws_flags(BINARY, 0, 1), b"z");
        }
        None
    });
    c.connect("127.0.0.1", srv.port, None, |_| {});
    c.service_until(SECS10, |e| e.iter().filter(|e| e.last).count() >= 3);
    let rx = c.events(WS_CALLBACK_CLIENT_RECEIVE);
    let frags: Vec<&Ev> = rx
        .iter()
        .take_while(|e| !e.data.is_empty() || !e.first)
        .collect();
    let text: String = frags.iter().map(|e| e.text()).collect();
    assert_eq!(text, "abcdefghi");
    assert!(frags.len() >= 3, "one callback per fragment at least");
    assert!(frags[0].first && frags.last().unwrap().last);
    let empty = rx
        .iter()
        .find(|e| e.data.is_empty())
        .expect("a zero-length message gives a callback");
    assert!(empty.first && empty.last && empty.nul_after);
    let last = rx.last().unwrap();
    assert_eq!(last.data, b"xyz");
    assert!(last.binary);
}

#[test]
fn reentrant_calls_from_inside_callbacks() {
    let srv = Server::node("echo");
    let c = Ctx::new(CtxOpts::default());
    let port = srv.port;
    let ctx = c.ctx;
    let mut second: Option<usize> = None;
    c.hook(move |wsi, r, _, _| {
        if is(r, WS_CALLBACK_CLIENT_ESTABLISHED) && second.is_none() {
            // A new connection from inside a callback.
            let addr = std::ffi::CString::new("127.0.0.1").unwrap();
            let mut ci: ws_client_connect_info = unsafe { std::mem::zeroed() };
            ci.context = ctx;
            ci.address = addr.as_ptr();
            ci.port = port as c_int;
            let w2 = unsafe { ws_client_connect_via_info(&ci) };
            assert!(!w2.is_null());
            second = Some(w2 as usize);
            // Writes and a writable request inside the same callback.
            assert_eq!(send(wsi, TEXT, b"first"), 5);
            assert_eq!(unsafe { ws_callback_on_writable(wsi) }, 1);
            // Refused from a callback, with a log line; nothing breaks.
            assert_eq!(unsafe { ws_service(ctx, -1) }, 0);
            unsafe { ws_context_destroy(ctx) };
        } else if is(r, WS_CALLBACK_CLIENT_ESTABLISHED) {
            // The second connection writes to itself and closes the first from here.
            send(wsi, TEXT, b"second");
        }
        if is(r, WS_CALLBACK_CLIENT_WRITEABLE) {
            assert_eq!(send(wsi, TEXT, b"from-writeable"), 14);
        }
        None
    });
    c.connect("127.0.0.1", srv.port, None, |_| {});
    c.service_until(SECS10, |e| {
        e.iter()
            .filter(|e| is(e.reason, WS_CALLBACK_CLIENT_RECEIVE))
            .count()
            >= 3
    });
    let texts: Vec<String> = c
        .events(WS_CALLBACK_CLIENT_RECEIVE)
        .iter()
        .map(|e| e.text())
        .collect();
    assert!(texts.contains(&"first".to_string()), "{texts:?}");
    assert!(texts.contains(&"from-writeable".to_string()), "{texts:?}");
    assert!(texts.contains(&"second".to_string()), "{texts:?}");
    let firsts = c.events(WS_CALLBACK_CLIENT_RECEIVE);
    let first_conn = firsts.iter().find(|e| e.text() == "first").unwrap().wsi;
    let w_first = firsts.iter().position(|e| e.text() == "first").unwrap();
    let w_after = firsts
        .iter()
        .position(|e| e.text() == "from-writeable")
        .unwrap();
    assert!(
        w_first < w_after,
        "data written before the WRITEABLE write arrives first"
    );
    assert_eq!(
        firsts
            .iter()
            .find(|e| e.text() == "second")
            .map(|e| e.wsi != first_conn),
        Some(true)
    );
}

#[test]
fn peer_close_is_reported_with_its_code_and_echoed() {
    let srv = Server::node("echo");
    let c = Ctx::new(CtxOpts::default());
    c.hook(|wsi, r, _, _| {
        if is(r, WS_CALLBACK_CLIENT_ESTABLISHED) {
            send(wsi, TEXT, b"close:4001:bye");
        }
        None
    });
    c.connect("127.0.0.1", srv.port, None, |_| {});
    c.service_until(SECS10, |e| {
        e.iter().any(|e| is(e.reason, WS_CALLBACK_WSI_DESTROY))
    });
    let pc = c.events(WS_CALLBACK_WS_PEER_INITIATED_CLOSE);
    assert_eq!(pc.len(), 1);
    assert_eq!(&pc[0].data[..2], &4001u16.to_be_bytes());
    assert_eq!(&pc[0].data[2..], b"bye");
    assert_eq!(count(&c, WS_CALLBACK_CLIENT_CLOSED), 1);
    assert_eq!(count(&c, WS_CALLBACK_CLIENT_CONNECTION_ERROR), 0);
}

#[test]
fn returning_nonzero_sends_close_with_the_reason_set() {
    let port = raw_server(|mut s| {
        let key = read_request(&mut s);
        write_all(&mut s, upgrade_response(&key, "").as_bytes());
        write_all(&mut s, &server_frame(0x81, b"please close"));
        let (op, payload) = read_client_frame(&mut s).expect("a close frame");
        assert_eq!(op, 0x88);
        assert_eq!(&payload[..2], &1001u16.to_be_bytes());
        assert_eq!(&payload[2..], b"going");
        write_all(&mut s, &server_frame(0x88, &payload[..2]));
    });
    let c = Ctx::new(CtxOpts::default());
    c.hook(|wsi, r, _, _| {
        if is(r, WS_CALLBACK_CLIENT_RECEIVE) {
            unsafe { ws_close_reason(wsi, 1001, b"going".as_ptr() as *mut u8, 5) };
            return Some(-1);
        }
        None
    });
    c.connect("127.0.0.1", port, None, |_| {});
    c.service_until(SECS10, |e| {
        e.iter().any(|e| is(e.reason, WS_CALLBACK_WSI_DESTROY))
    });
    assert_eq!(count(&c, WS_CALLBACK_CLIENT_CLOSED), 1);
}

#[test]
fn protocol_violations_close_with_the_right_code() {
    let cases: Vec<(Vec<u8>, u16)> = vec![
        (vec![0x81, 0x81, 1, 2, 3, 4, b'x' ^ 1], 1002), // masked server frame
        (server_frame(0xC1, b"x"), 1002),               // reserved bit
        (server_frame(0x83, b"x"), 1002),               // unknown opcode
        (server_frame(0x09, b"p"), 1002),               // fragmented ping
        (server_frame(0x89, &[0u8; 126]), 1002),        // 126-byte ping
        (server_frame(0x81, &[b'a', 0xff]), 1007),      // invalid UTF-8
        (server_frame(0x88, &999u16.to_be_bytes()), 1002), // close code 999
        (vec![0x82, 127, 0, 0, 0, 0x80, 0, 0, 0, 0], 1009), // 512 GiB announced
    ];
    for (bytes, code) in cases {
        let (tx, rx) = std::sync::mpsc::channel();
        let port = raw_server(move |mut s| {
            let key = read_request(&mut s);
            write_all(&mut s, upgrade_response(&key, "").as_bytes());
            write_all(&mut s, &bytes);
            let got = read_client_frame(&mut s);
            let _ = tx.send(got);
        });
        let c = Ctx::new(CtxOpts::default());
        c.connect("127.0.0.1", port, None, |_| {});
        c.service_until(SECS10, |e| {
            e.iter().any(|e| is(e.reason, WS_CALLBACK_WSI_DESTROY))
        });
        let (op, payload) = rx
            .recv_timeout(SECS5)
            .unwrap()
            .expect("the client sent a frame");
        assert_eq!(op, 0x88, "a close frame");
        assert_eq!(u16::from_be_bytes([payload[0], payload[1]]), code);
        assert_eq!(
            count(&c, WS_CALLBACK_CLIENT_RECEIVE),
            0,
            "nothing invalid is delivered"
        );
        assert_eq!(count(&c, WS_CALLBACK_CLIENT_CLOSED), 1);
    }
}

#[test]
fn ping_is_answered_and_pong_is_delivered() {
    let port = raw_server(|mut s| {
        let key = read_request(&mut s);
        write_all(&mut s, upgrade_response(&key, "").as_bytes());
        write_all(&mut s, &server_frame(0x89, b"are you there"));
        let mut got_pong = false;
        for _ in 0..2 {
            let (op, payload) = read_client_frame(&mut s).unwrap();
            match op {
                0x8A => {
                    assert_eq!(
                        payload, b"are you there",
                        "automatic pong with the ping's payload"
                    );
                    got_pong = true;
                }
                0x89 => write_all(&mut s, &server_frame(0x8A, &payload)),
                other => panic!("unexpected frame {other:#x}"),
            }
        }
        assert!(got_pong);
        let _ = read_client_frame(&mut s);
    });
    let c = Ctx::new(CtxOpts::default());
    c.hook(|wsi, r, _, _| {
        if is(r, WS_CALLBACK_CLIENT_ESTABLISHED) {
            assert_eq!(
                send(wsi, ws_write_protocol::WS_WRITE_PING as c_int, &[7u8; 126]),
                -1,
                "over 125 bytes is refused"
            );
            std::thread::sleep(Duration::from_millis(50));
            send(wsi, ws_write_protocol::WS_WRITE_PING as c_int, b"mine");
        }
        if is(r, WS_CALLBACK_CLIENT_RECEIVE_PONG) {
            return Some(-1);
        }
        None
    });
    c.connect("127.0.0.1", port, None, |_| {});
    c.service_until(SECS10, |e| {
        e.iter().any(|e| is(e.reason, WS_CALLBACK_WSI_DESTROY))
    });
    let pongs = c.events(WS_CALLBACK_CLIENT_RECEIVE_PONG);
    assert_eq!(pongs.len(), 1);
    assert_eq!(pongs[0].data, b"mine");
}

#[test]
fn service_wait_rules() {
    let c = Ctx::new(CtxOpts::default());
    let t = Instant::now();
    assert_eq!(unsafe { ws_service(c.ctx, -1) }, 0);
    assert!(t.elapsed() < Duration::from_millis(50), "negative: no wait");
    let t = Instant::now();
    assert_eq!(unsafe { ws_service(c.ctx, 100) }, 0);
    let e = t.elapsed();
    assert!(
        e >= Duration::from_millis(90) && e < Duration::from_millis(1000),
        "positive: at most that long ({e:?})"
    );
    assert_eq!(unsafe { ws_service(std::ptr::null_mut(), 0) }, -1);
}

#[test]
fn cancel_service_wakes_the_loop_from_another_thread() {
    let c = Ctx::new(CtxOpts {
        second_protocol: Some("other"),
        ..Default::default()
    });
    // As lws, the first service wakes at once: creation ends with a cancel.
    assert_eq!(unsafe { ws_service(c.ctx, 0) }, 0);
    assert_eq!(count(&c, WS_CALLBACK_EVENT_WAIT_CANCELLED), 2);
    let ctx = c.ctx as usize;
    let t = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(100));
        unsafe { ws_cancel_service(ctx as *mut ws_context) };
    });
    let start = Instant::now();
    // Waits with no timer and no connection: only the cancel can end it.
    assert_eq!(unsafe { ws_service(c.ctx, 0) }, 0);
    assert!(start.elapsed() < SECS5);
    t.join().unwrap();
    assert_eq!(
        count(&c, WS_CALLBACK_EVENT_WAIT_CANCELLED),
        4,
        "every protocol"
    );
}

#[test]
fn python_websockets_and_ipv6_peers() {
    let py = Server::python();
    let node6 = Server::node_with("echo", &["--host", "::1"]);
    for (addr, port) in [("127.0.0.1", py.port), ("::1", node6.port)] {
        let c = Ctx::new(CtxOpts::default());
        c.hook(|wsi, r, _, _| {
            if is(r, WS_CALLBACK_CLIENT_ESTABLISHED) {
                send(wsi, BINARY, &[1, 2, 3, 0, 255]);
            }
            if is(r, WS_CALLBACK_CLIENT_RECEIVE) {
                return Some(-1);
            }
            None
        });
        c.connect(addr, port, None, |_| {});
        c.service_until(SECS10, |e| {
            e.iter().any(|e| is(e.reason, WS_CALLBACK_WSI_DESTROY))
        });
        let rx = c.events(WS_CALLBACK_CLIENT_RECEIVE);
        assert_eq!(rx[0].data, [1, 2, 3, 0, 255], "{addr}");
        assert!(rx[0].binary);
    }
}

#[test]
fn destroy_closes_open_connections() {
    let srv = Server::node("echo");
    let c = Ctx::new(CtxOpts::default());
    c.connect("127.0.0.1", srv.port, None, |_| {});
    c.service_until(SECS10, |e| {
        e.iter()
            .any(|e| is(e.reason, WS_CALLBACK_CLIENT_ESTABLISHED))
    });
    unsafe { ws_context_destroy(c.ctx) };
    let tail: Vec<i32> = c.reasons().into_iter().rev().take(3).collect();
    assert_eq!(
        tail,
        [
            WS_CALLBACK_PROTOCOL_DESTROY,
            WS_CALLBACK_WSI_DESTROY,
            WS_CALLBACK_CLIENT_CLOSED
        ]
        .map(|r| r as i32)
    );
    // A second destroy (from Ctx's drop) is refused with a log line, not a crash.
}

#[test]
fn many_messages_and_a_large_one_arrive_intact() {
    let srv = Server::node("echo");
    let c = Ctx::new(CtxOpts::default());
    let big: Vec<u8> = (0..4 * 1024 * 1024u32).map(|i| (i * 7) as u8).collect();
    let big2 = big.clone();
    c.hook(move |wsi, r, _, _| {
        if is(r, WS_CALLBACK_CLIENT_ESTABLISHED) {
            for i in 0..500 {
                send(wsi, TEXT, format!("m{i}").as_bytes());
            }
            assert_eq!(send(wsi, BINARY, &big2), big2.len() as c_int);
        }
        None
    });
    c.connect("127.0.0.1", srv.port, None, |_| {});
    c.service_until(Duration::from_secs(30), |e| {
        e.iter().filter(|e| e.last).count() == 501
    });
    let rx = c.events(WS_CALLBACK_CLIENT_RECEIVE);
    let texts: Vec<String> = rx.iter().filter(|e| !e.binary).map(|e| e.text()).collect();
    assert_eq!(texts, (0..500).map(|i| format!("m{i}")).collect::<Vec<_>>());
    let got: Vec<u8> = rx
        .iter()
        .filter(|e| e.binary)
        .flat_map(|e| e.data.clone())
        .collect();
    assert!(got == big, "4 MiB message echoed intact");
}

#[test]
fn handshake_headers_out_and_in() {
    let (tx, rx) = std::sync::mpsc::channel();
    let port = raw_server(move |mut s| {
        let mut head = Vec::new();
        let mut b = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            if std::io::Read::read(&mut s, &mut b).unwrap_or(0) == 0 {
                break;
            }
            head.push(b[0]);
        }
        let text = String::from_utf8_lossy(&head).to_string();
        let key = text
            .lines()
            .find_map(|l| l.strip_prefix("Sec-WebSocket-Key: "))
            .unwrap_or_default()
            .to_string();
        let _ = tx.send(text);
        write_all(
            &mut s,
            upgrade_response(&key, "X-Server-Token: s3cret\r\n").as_bytes(),
        );
        std::thread::sleep(Duration::from_millis(300));
    });
    let c = Ctx::new(CtxOpts::default());
    let seen = std::rc::Rc::new(std::cell::RefCell::new(String::new()));
    let seen2 = seen.clone();
    c.hook(move |wsi, r, in_, len| {
        if is(r, WS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER) {
            let p = in_ as *mut *mut u8;
            let end = unsafe { (*p).add(len) };
            let v = b"abc123";
            let r = unsafe {
                ws_add_http_header_by_name(
                    wsi,
                    c"x-client-token:".as_ptr().cast(),
                    v.as_ptr(),
                    6,
                    p,
                    end,
                )
            };
            assert_eq!(r, 0);
            let bad = unsafe {
                ws_add_http_header_by_name(
                    wsi,
                    c"x-evil:".as_ptr().cast(),
                    b"a\r\nb".as_ptr(),
                    4,
                    p,
                    end,
                )
            };
            assert_eq!(bad, 1, "CR/LF injection is refused");
        }
        if is(r, WS_CALLBACK_CLIENT_FILTER_PRE_ESTABLISH) {
            let mut buf = [0 as std::ffi::c_char; 32];
            let name = b"x-server-token:";
            let n = unsafe {
                ws_hdr_custom_copy(
                    wsi,
                    buf.as_mut_ptr(),
                    32,
                    name.as_ptr().cast(),
                    name.len() as c_int,
                )
            };
            assert_eq!(n, 6);
            *seen2.borrow_mut() = cstr(buf.as_ptr().cast());
            let mut up = [0 as std::ffi::c_char; 32];
            let n = unsafe {
                ws_hdr_copy(
                    wsi,
                    up.as_mut_ptr(),
                    32,
                    ws_token_indexes::WS_WSI_TOKEN_UPGRADE as c_int,
                )
            };
            assert_eq!((n, cstr(up.as_ptr().cast())), (9, "websocket".to_string()));
        }
        if is(r, WS_CALLBACK_CLIENT_ESTABLISHED) {
            return Some(-1);
        }
        None
    });
    c.connect("127.0.0.1", port, Some("p1, p2"), |_| {});
    c.service_until(SECS10, |e| {
        e.iter().any(|e| is(e.reason, WS_CALLBACK_WSI_DESTROY))
    });
    let request = rx.recv_timeout(SECS5).unwrap();
    assert!(request.starts_with("GET / HTTP/1.1\r\n"), "{request}");
    assert!(
        request.contains("\r\nx-client-token: abc123\r\n"),
        "{request}"
    );
    assert!(
        request.contains("\r\nSec-WebSocket-Protocol: p1, p2\r\n"),
        "{request}"
    );
    assert!(
        request.contains("\r\nSec-WebSocket-Version: 13\r\n"),
        "{request}"
    );
    assert!(!request.contains("x-evil"));
    assert_eq!(*seen.borrow(), "s3cret");
}
