//! Servers that misbehave on purpose, one scenario per test. Each asserts
//! what the application sees (callbacks, the logged reason, the close code
//! on the wire) and that a healthy connection in the same context, to a
//! real echo server, is unaffected. The other handshake failures (refused
//! port, DNS, 404/401, bad upgrade headers, silent server, hang-up) are in
//! connection_errors.rs.

mod common;

use std::ffi::c_int;
use std::io::Write;
use std::sync::mpsc;
use std::time::Duration;

use common::hostile::*;
use common::*;
use wsloop::ffi::ws_callback_reasons::*;
use wsloop::ffi::*;

const TEXT: c_int = ws_write_protocol::WS_WRITE_TEXT as c_int;
const BINARY: c_int = ws_write_protocol::WS_WRITE_BINARY as c_int;

#[test]
fn fin_right_behind_the_upgrade_response_is_seen() {
    capture();
    let c = Ctx::new(CtxOpts::default());
    let b = Bystander::join(&c);
    let port = raw_server(|mut s| {
        let key = read_request(&mut s);
        std::thread::sleep(Duration::from_millis(50));
        write_all(&mut s, upgrade_response(&key, "").as_bytes());
        let _ = s.shutdown(std::net::Shutdown::Both);
    });
    let wsi = c.connect("127.0.0.1", port, None, |_| {});
    // The response and the FIN arrive together: one readiness event for both.
    pause_after(&c, wsi, WS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER);
    destroyed(&c, wsi);
    let r = reasons_of(&c, wsi);
    assert!(
        r.contains(&(WS_CALLBACK_CLIENT_ESTABLISHED as i32)),
        "{r:?}"
    );
    assert!(r.contains(&(WS_CALLBACK_CLIENT_CLOSED as i32)), "{r:?}");
    assert!(
        log_for(port)
            .iter()
            .any(|l| l.ends_with("closed the connection without a close frame (1006)")),
        "{:?}",
        log_for(port)
    );
    b.check(&c);
}

#[test]
fn last_message_and_fin_in_one_burst_are_both_seen() {
    capture();
    let c = Ctx::new(CtxOpts::default());
    let b = Bystander::join(&c);
    let port = upgraded(|s| {
        std::thread::sleep(Duration::from_millis(50));
        write_all(s, &server_frame(0x81, b"last words"));
        let _ = s.shutdown(std::net::Shutdown::Both);
    });
    let wsi = c.connect("127.0.0.1", port, None, |_| {});
    // The message and the FIN arrive together: a short read, then EOF.
    pause_after(&c, wsi, WS_CALLBACK_CLIENT_ESTABLISHED);
    destroyed(&c, wsi);
    let rx: Vec<Ev> = of(&c, wsi)
        .into_iter()
        .filter(|e| e.reason == WS_CALLBACK_CLIENT_RECEIVE as i32)
        .collect();
    assert_eq!(rx.len(), 1);
    assert_eq!(rx[0].data, b"last words");
    assert!(reasons_of(&c, wsi).contains(&(WS_CALLBACK_CLIENT_CLOSED as i32)));
    b.check(&c);
}

#[test]
fn response_head_of_200_kb_is_refused_at_the_bound() {
    let port = raw_server(|mut s| {
        read_request(&mut s);
        let big = format!(
            "HTTP/1.1 101 Switching Protocols\r\nX-Big: {}\r\n\r\n",
            "a".repeat(200 * 1024)
        );
        write_all(&mut s, big.as_bytes());
        std::thread::sleep(Duration::from_millis(500));
    });
    let (c, wsi, b) = against(port, CtxOpts::default());
    assert_eq!(
        connection_error_of(&c, wsi),
        format!("problems parsing header: the response from 127.0.0.1:{port}/ exceeds 16384 bytes of headers")
    );
    b.check(&c);
}

#[test]
fn plain_200_without_upgrade() {
    let port = raw_server(|mut s| {
        read_request(&mut s);
        write_all(
            &mut s,
            b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nhi",
        );
        std::thread::sleep(Duration::from_millis(500));
    });
    let (c, wsi, b) = against(port, CtxOpts::default());
    assert_eq!(
        connection_error_of(&c, wsi),
        format!("HS: ws upgrade response not 101: HTTP 200 OK from 127.0.0.1:{port}/: the server did not upgrade")
    );
    b.check(&c);
}

#[test]
fn server_that_answers_before_the_request_is_refused() {
    let port = raw_server(|mut s| {
        write_all(&mut s, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
        let _ = std::io::copy(&mut s, &mut std::io::sink());
    });
    capture();
    let c = Ctx::new(CtxOpts::default());
    let b = Bystander::join(&c);
    let wsi = c.connect("127.0.0.1", port, None, |_| {});
    // One iteration dials and, as a loopback connect is up at once, sends
    // the request at once; the server's answer, written as it accepted,
    // may already be in the socket then.
    assert_eq!(unsafe { ws_service(c.ctx, -1) }, 0);
    std::thread::sleep(Duration::from_millis(200));
    destroyed(&c, wsi);
    assert_eq!(
        connection_error_of(&c, wsi),
        format!("HS: ws upgrade response not 101: HTTP 200 OK from 127.0.0.1:{port}/: the server did not upgrade")
    );
    b.check(&c);
}

#[test]
fn messages_in_the_write_of_the_upgrade_response_are_delivered() {
    let port = raw_server(|mut s| {
        let key = read_request(&mut s);
        // The answer and two messages in one write: one read takes them all.
        let mut burst = upgrade_response(&key, "").into_bytes();
        burst.extend(server_frame(0x81, b"one"));
        burst.extend(server_frame(0x82, b"two"));
        write_all(&mut s, &burst);
        std::thread::sleep(Duration::from_millis(200));
        write_all(&mut s, &server_frame(0x81, b"three"));
        write_all(&mut s, &server_frame(0x88, &1000u16.to_be_bytes()));
        while let Some((op, _)) = read_client_frame(&mut s) {
            if op == 0x88 {
                break;
            }
        }
    });
    let (c, wsi, b) = against(port, CtxOpts::default());
    let data: Vec<Vec<u8>> = received(&c, wsi).into_iter().map(|e| e.data).collect();
    assert_eq!(data, [b"one".to_vec(), b"two".to_vec(), b"three".to_vec()]);
    closed_once(&c, wsi);
    b.check(&c);
}

#[test]
fn close_reason_that_is_not_utf8() {
    let (port, rx) = sends(server_frame(0x88, &[0x03, 0xe8, b'o', 0xff, 0xfe]));
    let (c, wsi, b) = against(port, CtxOpts::default());
    assert_eq!(close_code(rx.recv_timeout(SECS5).unwrap()), 1007);
    logged_for(port, "with 1007: close reason is not valid UTF-8");
    closed_once(&c, wsi);
    b.check(&c);
}

#[test]
fn invalid_utf8_split_across_fragments() {
    // "ab" + the first two bytes of a 3-byte sequence, then a byte that cannot continue it.
    let mut bytes = server_frame(0x01, b"ab\xe2\x82");
    bytes.extend(server_frame(0x80, b"\x28cd"));
    let (port, rx) = sends(bytes);
    let (c, wsi, b) = against(port, CtxOpts::default());
    assert_eq!(close_code(rx.recv_timeout(SECS5).unwrap()), 1007);
    logged_for(
        port,
        "with 1007: invalid UTF-8 in a text message (at byte 2 of the message)",
    );
    assert!(
        received(&c, wsi).iter().all(|e| !e.last),
        "no message is completed"
    );
    closed_once(&c, wsi);
    b.check(&c);
}

#[test]
fn invalid_utf8_fails_fast_without_waiting_for_the_message_end() {
    // The message never ends: the client must not wait for it.
    let (port, rx) = sends(server_frame(0x01, b"a\xff"));
    let (c, wsi, b) = against(port, CtxOpts::default());
    assert_eq!(close_code(rx.recv_timeout(SECS5).unwrap()), 1007);
    logged_for(
        port,
        "with 1007: invalid UTF-8 in a text message (at byte 1 of the message)",
    );
    assert!(received(&c, wsi).iter().all(|e| !e.last));
    closed_once(&c, wsi);
    b.check(&c);
}

#[test]
fn peer_closes_in_the_middle_of_a_frame() {
    let port = upgraded(|s| {
        let mut f = vec![0x82, 100];
        f.extend_from_slice(&[7u8; 10]);
        write_all(s, &f);
        std::thread::sleep(Duration::from_millis(100));
        let _ = s.shutdown(std::net::Shutdown::Both);
    });
    let (c, wsi, b) = against(port, CtxOpts::default());
    let rx = received(&c, wsi);
    assert!(rx.iter().all(|e| !e.last), "the cut frame is not completed");
    let got: usize = rx.iter().map(|e| e.data.len()).sum();
    assert!(got <= 10);
    logged_for(port, "closed the connection without a close frame (1006)");
    closed_once(&c, wsi);
    b.check(&c);
}

#[test]
fn message_over_the_configured_maximum_closes_with_1009() {
    let mut bytes = server_frame(0x82, &[1u8; 1000]); // exactly the limit: fine
    bytes.extend(server_frame(0x02, &[2u8; 600]));
    bytes.extend(server_frame(0x80, &[3u8; 600]));
    let (tx, rx) = mpsc::channel();
    let port = upgraded(move |s| {
        write_all(s, &bytes);
        let _ = tx.send(read_client_frame(s));
    });
    let (c, wsi, b) = against(
        port,
        CtxOpts {
            max_message_size: 1000,
            ..Default::default()
        },
    );
    assert_eq!(close_code(rx.recv_timeout(SECS5).unwrap()), 1009);
    logged_for(
        port,
        "with 1009: message of at least 1200 bytes exceeds the limit of 1000 bytes (max_message_size)",
    );
    let rx = received(&c, wsi);
    let first: usize = rx
        .iter()
        .take_while(|e| e.data.first() == Some(&1))
        .map(|e| e.data.len())
        .sum();
    assert_eq!(first, 1000, "the message at the limit arrives whole");
    assert_eq!(rx.iter().filter(|e| e.last).count(), 1);
    closed_once(&c, wsi);
    b.check(&c);
}

#[test]
fn server_trickling_one_byte_at_a_time() {
    let (tx, rx) = mpsc::channel();
    let port = raw_server(move |mut s| {
        s.set_nodelay(true).unwrap();
        let key = read_request(&mut s);
        let mut all = upgrade_response(&key, "").into_bytes();
        all.extend(server_frame(0x01, "héllo ".as_bytes()));
        all.extend(server_frame(0x89, b"p"));
        all.extend(server_frame(0x80, "trickle €".as_bytes()));
        all.extend(server_frame(0x88, &1000u16.to_be_bytes()));
        for b in all {
            let _ = s.write_all(&[b]);
            std::thread::sleep(Duration::from_millis(1));
        }
        let mut frames = Vec::new();
        while let Some(f) = read_client_frame(&mut s) {
            let close = f.0 == 0x88;
            frames.push(f);
            if close {
                break;
            }
        }
        let _ = tx.send(frames);
    });
    let (c, wsi, b) = against(port, CtxOpts::default());
    let rx_ev = received(&c, wsi);
    let text: Vec<u8> = rx_ev.iter().flat_map(|e| e.data.clone()).collect();
    assert_eq!(String::from_utf8(text).unwrap(), "héllo trickle €");
    assert!(rx_ev[0].first && rx_ev.last().unwrap().last);
    let frames = rx.recv_timeout(SECS5).unwrap();
    assert_eq!(
        frames,
        vec![
            (0x8A, b"p".to_vec()),
            (0x88, 1000u16.to_be_bytes().to_vec())
        ],
        "the ping is answered and the close echoed"
    );
    let pc: Vec<Ev> = of(&c, wsi)
        .into_iter()
        .filter(|e| e.reason == WS_CALLBACK_WS_PEER_INITIATED_CLOSE as i32)
        .collect();
    assert_eq!(pc.len(), 1);
    closed_once(&c, wsi);
    b.check(&c);
}

#[test]
fn server_that_never_reads_bounds_the_send_queue_and_loses_nothing() {
    const SIZE: usize = 1024 * 1024;
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let (tx, rx) = mpsc::channel();
    let port = upgraded(move |s| {
        // Not a byte read until the client is choked (under valgrind,
        // filling 16 MiB of 1 MiB messages takes tens of seconds).
        go_rx.recv_timeout(Duration::from_secs(180)).unwrap();
        let (mut count, mut intact) = (0usize, true);
        while let Some((op, p)) = read_client_frame(s) {
            if op == 0x88 {
                write_all(s, &server_frame(0x88, &p[..2]));
                break;
            }
            intact &= op == 0x82 && p.len() == SIZE && p.iter().all(|&b| b == count as u8);
            count += 1;
        }
        let _ = tx.send((count, intact));
    });
    capture();
    let c = Ctx::new(CtxOpts::default());
    let b = Bystander::join(&c);
    let wsi = c.connect("127.0.0.1", port, None, |_| {});
    c.service_until(SECS10, |e| {
        e.iter().any(|e| is(e, wsi, WS_CALLBACK_CLIENT_ESTABLISHED))
    });
    let mut accepted = 0usize;
    while accepted < 100 {
        let r = send(wsi, BINARY, &vec![accepted as u8; SIZE]);
        if r == -1 {
            break;
        }
        assert_eq!(r, SIZE as c_int);
        accepted += 1;
        assert_eq!(unsafe { ws_service(c.ctx, -1) }, 0);
    }
    assert!(
        (16..100).contains(&accepted),
        "the queue is bounded ({accepted} MiB taken)"
    );
    assert_eq!(unsafe { ws_send_pipe_choked(wsi) }, 1);
    logged_for(
        port,
        "bytes are still queued (limit 16777216), the peer is not reading",
    );
    b.check(&c);

    // The server starts reading; once the queue drains, close.
    go_tx.send(()).unwrap();
    c.hook(move |w, r, _, _| (w == wsi && r == WS_CALLBACK_CLIENT_WRITEABLE as i32).then_some(-1));
    assert_eq!(unsafe { ws_callback_on_writable(wsi) }, 1);
    c.service_until(Duration::from_secs(180), |e| {
        e.iter().any(|e| is(e, wsi, WS_CALLBACK_WSI_DESTROY))
    });
    let (count, intact) = rx.recv_timeout(Duration::from_secs(60)).unwrap();
    assert_eq!(count, accepted, "every accepted message arrived");
    assert!(intact, "in order and intact");
    closed_once(&c, wsi);
}

#[test]
fn answers_queued_before_a_violation_go_out_before_the_close() {
    let (tx, rx) = mpsc::channel();
    let port = upgraded(move |s| {
        std::thread::sleep(Duration::from_millis(50));
        let mut burst = server_frame(0x81, b"question");
        burst.extend(server_frame(0xC1, b"reserved bit"));
        write_all(s, &burst);
        let first = read_client_frame(s);
        let second = read_client_frame(s);
        let _ = tx.send((first, second));
    });
    capture();
    let c = Ctx::new(CtxOpts::default());
    let b = Bystander::join(&c);
    c.hook(move |w, r, _, _| {
        if b.wsi != w && r == WS_CALLBACK_CLIENT_RECEIVE as i32 {
            unsafe { ws_callback_on_writable(w) };
        }
        if b.wsi != w && r == WS_CALLBACK_CLIENT_WRITEABLE as i32 {
            send(w, TEXT, b"answer");
        }
        None
    });
    let wsi = c.connect("127.0.0.1", port, None, |_| {});
    // Both frames arrive in one read.
    pause_after(&c, wsi, WS_CALLBACK_CLIENT_ESTABLISHED);
    destroyed(&c, wsi);
    let (first, second) = rx.recv_timeout(SECS5).unwrap();
    assert_eq!(first, Some((0x81, b"answer".to_vec())));
    assert_eq!(close_code(second), 1002);
    logged_for(
        port,
        "with 1002: RSV1 set in the first frame of message 2, but permessage-deflate was not negotiated",
    );
    assert_eq!(received(&c, wsi).len(), 1);
    closed_once(&c, wsi);
    b.check(&c);
}

#[test]
fn masked_server_frame() {
    refused_frame(
        vec![0x81, 0x81, 1, 2, 3, 4, b'x' ^ 1],
        1002,
        "the server sent a masked frame (RFC 6455 5.1: a client must fail the connection)",
    );
}

#[test]
fn reserved_bits_without_an_extension() {
    refused_frame(
        server_frame(0xC1, b"x"),
        1002,
        "RSV1 set in the first frame of message 1, but permessage-deflate was not negotiated",
    );
}

#[test]
fn unknown_opcode() {
    refused_frame(server_frame(0x83, b"x"), 1002, "unknown opcode 0x3");
}

#[test]
fn fragmented_ping() {
    refused_frame(
        server_frame(0x09, b"p"),
        1002,
        "fragmented control frame (Ping)",
    );
}

#[test]
fn ping_of_126_bytes() {
    refused_frame(
        server_frame(0x89, &[0u8; 126]),
        1002,
        "Ping frame with 126 bytes of payload (control frames carry at most 125)",
    );
}

#[test]
fn close_code_999() {
    refused_frame(
        server_frame(0x88, &999u16.to_be_bytes()),
        1002,
        "close code 999 is not allowed on the wire",
    );
}

#[test]
fn invalid_utf8_in_a_whole_text_message() {
    refused_frame(
        server_frame(0x81, b"ok \xc3\x28"),
        1007,
        "invalid UTF-8 in a text message (at byte 3 of the message)",
    );
}

#[test]
fn two_gib_announced_against_the_default_maximum() {
    // Only the header: the client refuses before any payload arrives.
    refused_frame(
        vec![0x82, 127, 0, 0, 0, 0, 0x80, 0, 0, 0],
        1009,
        "message of at least 2147483648 bytes exceeds the limit of 67108864 bytes (max_message_size)",
    );
}
