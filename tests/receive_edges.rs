//! Whole messages and the edges around them on the receive path: a header
//! split across reads, reads that end exactly at a frame's end, UTF-8 split
//! across frames, chunking by rx_buffer_size, and flow control pausing in
//! the middle of a read that holds several messages (over TCP and over
//! TLS, where records read stay held). Each checks what the
//! application gets: the bytes, first/last, binary, and the NUL after.

mod common;

use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::hostile::*;
use common::*;
use wsloop::ffi::ws_callback_reasons::*;
use wsloop::ffi::*;

/// Upgrades, writes `parts` with a pause between them (so each is read
/// on its own), then a Close 1000, and reports the client's answer.
fn sends_in_parts(parts: Vec<Vec<u8>>) -> (u16, mpsc::Receiver<Frame>) {
    let (tx, rx) = mpsc::channel();
    let port = upgraded(move |s| {
        s.set_nodelay(true).unwrap();
        for p in parts {
            write_all(s, &p);
            std::thread::sleep(Duration::from_millis(60));
        }
        write_all(s, &server_frame(0x88, &1000u16.to_be_bytes()));
        let _ = tx.send(read_client_frame(s));
    });
    (port, rx)
}

/// The messages as delivered: (binary, bytes), each from its chunks, which
/// must all have the NUL after them and first/last where they belong.
fn messages(rx: &[Ev]) -> Vec<(bool, Vec<u8>)> {
    let mut out: Vec<(bool, Vec<u8>)> = Vec::new();
    let mut open = false;
    for e in rx {
        assert!(e.nul_after, "NUL after the payload: {e:?}");
        assert_eq!(e.first, !open, "{e:?}");
        if e.first {
            out.push((e.binary, Vec::new()));
        }
        let m = out.last_mut().unwrap();
        assert_eq!(m.0, e.binary);
        m.1.extend_from_slice(&e.data);
        open = !e.last;
    }
    assert!(!open, "the last message is complete");
    out
}

fn closed_normally(rx: mpsc::Receiver<Frame>) {
    assert_eq!(close_code(rx.recv_timeout(SECS5).unwrap()), 1000);
}

#[test]
fn header_split_across_reads() {
    let big = server_frame(0x82, &[5u8; 300]);
    let small = server_frame(0x81, b"after");
    let (port, rx) = sends_in_parts(vec![
        big[..1].to_vec(),
        big[1..3].to_vec(),
        [&big[3..], &small[..]].concat(),
        small.clone(),
    ]);
    let (c, wsi, b) = against(port, CtxOpts::default());
    closed_normally(rx);
    let got = messages(&received(&c, wsi));
    assert_eq!(
        got,
        vec![
            (true, vec![5u8; 300]),
            (false, b"after".to_vec()),
            (false, b"after".to_vec())
        ]
    );
    closed_once(&c, wsi);
    b.check(&c);
}

#[test]
fn read_ending_exactly_at_a_frame_end() {
    // 256 frames of 1,024 bytes with their headers: the size of one read.
    let mut burst = Vec::new();
    for i in 0..256u32 {
        burst.extend(server_frame(0x82, &[i as u8; 1020]));
    }
    assert_eq!(burst.len(), 256 * 1024);
    let (port, rx) = sends_in_parts(vec![burst, server_frame(0x81, b"then this")]);
    let (c, wsi, b) = against(port, CtxOpts::default());
    closed_normally(rx);
    let got = messages(&received(&c, wsi));
    assert_eq!(got.len(), 257);
    for (i, (binary, m)) in got[..256].iter().enumerate() {
        assert!(binary);
        assert_eq!(m, &vec![i as u8; 1020], "message {i}");
    }
    assert_eq!(got[256], (false, b"then this".to_vec()));
    closed_once(&c, wsi);
    b.check(&c);
}

#[test]
fn multibyte_utf8_split_across_frames_and_reads() {
    let text = "κόσμε €𝄞 done".as_bytes();
    let f1 = server_frame(0x01, &text[..1]);
    let f2 = server_frame(0x00, &text[1..12]);
    let f3 = server_frame(0x80, &text[12..]);
    let whole = server_frame(0x81, "€".as_bytes());
    let (port, rx) = sends_in_parts(vec![
        [&f1[..], &f2[..3]].concat(),
        [&f2[3..], &f3[..], &whole[..]].concat(),
        whole.clone(),
    ]);
    let (c, wsi, b) = against(port, CtxOpts::default());
    closed_normally(rx);
    let got = messages(&received(&c, wsi));
    let euro = (false, "€".as_bytes().to_vec());
    assert_eq!(got, vec![(false, text.to_vec()), euro.clone(), euro]);
    closed_once(&c, wsi);
    b.check(&c);
}

#[test]
fn messages_over_rx_buffer_size_come_in_chunks() {
    let (port, rx) = sends_in_parts(vec![[
        server_frame(0x82, &[1u8; 250]),
        server_frame(0x82, &[2u8; 100]),
        server_frame(0x81, &[b'x'; 101]),
    ]
    .concat()]);
    let opts = CtxOpts {
        rx_buffer_size: 100,
        ..Default::default()
    };
    let (c, wsi, b) = against(port, opts);
    closed_normally(rx);
    let rx_ev = received(&c, wsi);
    let sizes: Vec<usize> = rx_ev.iter().map(|e| e.data.len()).collect();
    assert_eq!(sizes, vec![100, 100, 50, 100, 100, 1]);
    let got = messages(&rx_ev);
    assert_eq!(got[1], (true, vec![2u8; 100]));
    assert_eq!(got[2], (false, vec![b'x'; 101]));
    closed_once(&c, wsi);
    b.check(&c);
}

#[test]
fn flow_control_pauses_in_the_middle_of_a_read() {
    let (tx, rx) = mpsc::channel();
    let port = upgraded(move |s| {
        // Six messages and a ping in one write: one read for the client.
        let mut burst = Vec::new();
        for i in 0..6 {
            burst.extend(server_frame(0x82, format!("m{i}").as_bytes()));
            if i == 2 {
                burst.extend(server_frame(0x89, b"p"));
            }
        }
        write_all(s, &burst);
        let _ = tx.send(read_client_frame(s));
    });
    let c = Ctx::new(CtxOpts::default());
    c.hook(|wsi, r, in_, len| {
        if r == WS_CALLBACK_CLIENT_RECEIVE as i32 {
            // SAFETY: the payload the callback was given.
            let data = unsafe { std::slice::from_raw_parts(in_ as *const u8, len) };
            if data == b"m1" {
                unsafe { ws_rx_flow_control(wsi, 0) };
            }
        }
        None
    });
    let wsi = c.connect("127.0.0.1", port, None, |_| {});
    c.service_until(SECS10, |e| {
        e.iter().any(|e| is(e, wsi, WS_CALLBACK_CLIENT_RECEIVE))
    });
    let until = Instant::now() + Duration::from_millis(300);
    while Instant::now() < until {
        unsafe { ws_service(c.ctx, 20) };
    }
    let data = |c: &Ctx| -> Vec<Vec<u8>> { received(c, wsi).into_iter().map(|e| e.data).collect() };
    assert_eq!(
        data(&c),
        vec![b"m0".to_vec(), b"m1".to_vec()],
        "paused after m1"
    );
    assert!(rx.try_recv().is_err(), "the ping waits behind the pause");
    assert_eq!(unsafe { ws_rx_flow_control(wsi, 1) }, 0);
    c.service_until(SECS10, |e| {
        e.iter()
            .filter(|e| is(e, wsi, WS_CALLBACK_CLIENT_RECEIVE))
            .count()
            == 6
    });
    let want: Vec<Vec<u8>> = (0..6).map(|i| format!("m{i}").into_bytes()).collect();
    assert_eq!(data(&c), want);
    assert!(received(&c, wsi)
        .iter()
        .all(|e| e.first && e.last && e.binary && e.nul_after));
    let pong = rx.recv_timeout(SECS5).unwrap().expect("a frame");
    assert_eq!(
        pong,
        (0x8a, b"p".to_vec()),
        "the ping is answered once resumed"
    );
}

/// A 1000-byte message that no other in the test equals: its number
/// leads, then a pattern (which alone repeats every 256 messages).
fn numbered(i: usize) -> Vec<u8> {
    let mut m: Vec<u8> = (0..1000).map(|j| (i * 7 + j) as u8).collect();
    m[..4].copy_from_slice(&(i as u32).to_be_bytes());
    m
}

/// The socket buffers on both sides (the kernel doubles them): far less
/// than the echoes, so they back up in each direction while the client is
/// paused.
const SMALL_BUFFERS: i32 = 64 * 1024;

/// Sends `n` numbered messages to an echo server as soon as `connect`'s
/// connection is established, pauses receiving in the fourth
/// CLIENT_RECEIVE, services for 300 ms, resumes once, and checks that
/// every echo arrives, whole and in order, with no other pause. Messages
/// that straddle two reads come in two chunks: they are counted by their
/// last chunk. `server_blocks`: the server (which writes and reads in
/// turn) and the client have small socket buffers, so while the client is
/// paused the server blocks writing and stops reading, and the client's
/// own sends wait in the library.
fn pause_and_resume_echoes(c: Ctx, connect: impl FnOnce(&Ctx), n: usize, server_blocks: bool) {
    use std::cell::Cell;
    use std::rc::Rc;
    let (calls, pauses) = (Rc::new(Cell::new(0usize)), Rc::new(Cell::new(0usize)));
    let (calls2, pauses2) = (calls.clone(), pauses.clone());
    c.hook(move |wsi, r, _, _| {
        if r == WS_CALLBACK_CLIENT_ESTABLISHED as i32 {
            if server_blocks {
                tls::set_socket_buffers(unsafe { ws_get_socket_fd(wsi) }, SMALL_BUFFERS);
            }
            for i in 0..n {
                assert_eq!(
                    send(wsi, ws_write_protocol::WS_WRITE_BINARY as _, &numbered(i)),
                    1000
                );
            }
        }
        if r == WS_CALLBACK_CLIENT_RECEIVE as i32 {
            calls2.set(calls2.get() + 1);
            if calls2.get() == 4 {
                pauses2.set(pauses2.get() + 1);
                unsafe { ws_rx_flow_control(wsi, 0) };
            }
        }
        None
    });
    connect(&c);
    let rx = |e: &[Ev]| {
        e.iter()
            .filter(|e| e.reason == WS_CALLBACK_CLIENT_RECEIVE as i32)
            .count()
    };
    let whole = |e: &[Ev]| {
        e.iter()
            .filter(|e| e.reason == WS_CALLBACK_CLIENT_RECEIVE as i32 && e.last)
            .count()
    };
    c.service_until(SECS10, |e| rx(e) >= 4);
    // The echoes arrive meanwhile: no socket event is left for later.
    let until = Instant::now() + Duration::from_millis(300);
    while Instant::now() < until {
        unsafe { ws_service(c.ctx, 20) };
    }
    let wsi = c.events(WS_CALLBACK_CLIENT_RECEIVE)[0].wsi as *mut ws;
    assert_eq!(
        received(&c, wsi).len(),
        4,
        "paused in the fourth CLIENT_RECEIVE"
    );
    if server_blocks {
        let mut st = ws_conn_stats {
            size: std::mem::size_of::<ws_conn_stats>(),
            ..Default::default()
        };
        assert_eq!(unsafe { ws_get_conn_stats(wsi, &mut st) }, 0);
        assert!(
            st.queued_bytes > 0,
            "the server stopped reading: {} bytes wait to be sent",
            st.queued_bytes
        );
    }
    assert_eq!(unsafe { ws_rx_flow_control(wsi, 1) }, 0);
    c.service_until(SECS10, |e| whole(e) >= n);
    assert_eq!(pauses.get(), 1, "paused once");
    let got = messages(&received(&c, wsi));
    assert_eq!(got.len(), n, "{n} messages and no more");
    assert!(
        got.into_iter()
            .enumerate()
            .all(|(i, m)| m == (true, numbered(i))),
        "all {n} whole and in order"
    );
}

/// 1 MB of echoes.
const PAUSED_ECHOES: usize = 1000;

#[test]
fn flow_control_over_tls_keeps_the_records_read_and_resumes_without_a_new_event() {
    let srv = tls::TlsServer::start(tls::TlsOpts::new(&tls::pki().good));
    let connect = |c: &Ctx| {
        tls::connect_wss(c, srv.port);
    };
    pause_and_resume_echoes(tls::ctx_trusting_test_ca(), connect, PAUSED_ECHOES, false);
}

#[test]
fn flow_control_over_tls_resumes_with_a_server_blocked_and_sends_waiting() {
    let srv = tls::TlsServer::start(tls::TlsOpts {
        socket_buffers: Some(SMALL_BUFFERS),
        ..tls::TlsOpts::new(&tls::pki().good)
    });
    let connect = |c: &Ctx| {
        tls::connect_wss(c, srv.port);
    };
    pause_and_resume_echoes(tls::ctx_trusting_test_ca(), connect, PAUSED_ECHOES, true);
}

#[test]
fn flow_control_over_tcp_resumes_a_megabyte_of_echoes() {
    let srv = Server::node("echo");
    let connect = |c: &Ctx| {
        c.connect("127.0.0.1", srv.port, None, |_| {});
    };
    pause_and_resume_echoes(Ctx::new(CtxOpts::default()), connect, PAUSED_ECHOES, false);
}
