//! Connection and context statistics against the Node `ws` echo server:
//! exact counts for a known traffic pattern, round-trip times from the
//! application's PING and the keepalive's, and the size-versioned structs.

mod common;

use std::ffi::c_int;

use common::*;
use wsloop::ffi::ws_callback_reasons::*;
use wsloop::ffi::*;

const TEXT: c_int = ws_write_protocol::WS_WRITE_TEXT as c_int;
const BINARY: c_int = ws_write_protocol::WS_WRITE_BINARY as c_int;
const PING: c_int = ws_write_protocol::WS_WRITE_PING as c_int;

fn conn_stats(wsi: *mut ws) -> ws_conn_stats {
    let mut s = ws_conn_stats {
        size: std::mem::size_of::<ws_conn_stats>(),
        ..Default::default()
    };
    assert_eq!(unsafe { ws_get_conn_stats(wsi, &mut s) }, 0);
    assert_eq!(s.size, std::mem::size_of::<ws_conn_stats>());
    s
}

fn context_stats(c: &Ctx) -> ws_context_stats {
    let mut s = ws_context_stats {
        size: std::mem::size_of::<ws_context_stats>(),
        ..Default::default()
    };
    assert_eq!(unsafe { ws_get_context_stats(c.ctx, &mut s) }, 0);
    s
}

#[test]
fn counts_are_exact_for_a_known_pattern_and_pings_give_round_trip_times() {
    let srv = Server::node("echo");
    let c = Ctx::new(CtxOpts::default());
    // Three 100-byte texts and a 200-byte binary (frame headers of 6 and 8
    // bytes going out, masked; 2 and 4 coming back), then an application
    // PING of 9 bytes.
    c.hook(|wsi, r, _, _| {
        if r == WS_CALLBACK_CLIENT_ESTABLISHED as i32 {
            let before = conn_stats(wsi);
            assert_eq!(before.established, 1);
            assert_eq!((before.tx_frames, before.rx_frames), (0, 0));
            for _ in 0..3 {
                send(wsi, TEXT, &[b'x'; 100]);
            }
            send(wsi, BINARY, &[7u8; 200]);
            send(wsi, PING, b"rtt-probe");
        }
        None
    });
    let policy = keepalive_policy(1, 10);
    let wsi = c.connect("127.0.0.1", srv.port, None, |ci| {
        ci.retry_and_idle_policy = &*policy
    });
    c.service_until(SECS5, |e| {
        e.iter()
            .filter(|e| e.reason == WS_CALLBACK_CLIENT_RECEIVE as i32)
            .count()
            == 4
            && e.iter()
                .any(|e| e.reason == WS_CALLBACK_CLIENT_RECEIVE_PONG as i32)
    });
    let s = conn_stats(wsi);
    assert_eq!(s.tx_messages, 4);
    assert_eq!(s.tx_frames, 5);
    assert_eq!(s.tx_payload_bytes, 3 * 100 + 200 + 9);
    assert_eq!(s.tx_wire_bytes, 3 * (6 + 100) + (8 + 200) + (6 + 9));
    assert_eq!(s.rx_messages, 4);
    assert_eq!(s.rx_frames, 5, "four echoes and the PONG");
    assert_eq!(s.rx_payload_bytes, 500, "what CLIENT_RECEIVE was handed");
    assert_eq!(s.rx_wire_bytes, 3 * (2 + 100) + (4 + 200) + (2 + 9));
    assert_eq!(s.rtt_samples, 1, "the application's PING");
    assert!(s.rtt_last_usecs > 0 && s.rtt_last_usecs < 1_000_000);
    assert_eq!(s.rtt_smoothed_usecs, s.rtt_last_usecs);
    assert_eq!(s.queued_bytes, 0);
    assert_eq!(s.tls_backlogged, 0);
    assert!(s.established_usecs > 0);

    // Idle for a second: the keepalive PING (8 bytes) and its PONG.
    c.service_until(SECS5, |_| conn_stats(wsi).rtt_samples == 2);
    let k = conn_stats(wsi);
    assert!(k.rtt_last_usecs > 0);
    assert_eq!(k.tx_frames, 6);
    assert_eq!(k.tx_wire_bytes, s.tx_wire_bytes + 6 + 8);
    assert_eq!(k.rx_frames, 6);
    assert_eq!(k.rx_wire_bytes, s.rx_wire_bytes + 2 + 8);
    assert_eq!(
        (
            k.tx_messages,
            k.rx_messages,
            k.tx_payload_bytes,
            k.rx_payload_bytes
        ),
        (4, 4, 509, 500),
        "the library's own PING is no message and no application payload"
    );
    assert!(k.established_usecs >= 1_000_000, "{}", k.established_usecs);

    let live = context_stats(&c);
    assert_eq!((live.live, live.established, live.started), (1, 1, 1));
    assert_eq!(
        (live.established_total, live.failed, live.closed),
        (1, 0, 0)
    );
    assert_eq!(live.tx_wire_bytes, k.tx_wire_bytes);
    assert_eq!(live.rx_messages, 4);

    // Ended: the context's totals keep the connection's counts.
    unsafe { ws_set_timeout(wsi, 1, WS_TO_KILL_SYNC) };
    c.service_until(SECS5, |e| {
        e.iter().any(|e| e.reason == WS_CALLBACK_WSI_DESTROY as i32)
    });
    let end = context_stats(&c);
    assert_eq!((end.live, end.closed, end.failed), (0, 1, 0));
    assert!(end.tx_frames >= k.tx_frames, "a Close may have gone out");
    assert_eq!(end.tx_messages, 4);
    assert_eq!(end.rx_payload_bytes, 500);
    let mut gone = ws_conn_stats {
        size: std::mem::size_of::<ws_conn_stats>(),
        ..Default::default()
    };
    assert_eq!(
        unsafe { ws_get_conn_stats(wsi, &mut gone) },
        -1,
        "a closed connection"
    );
}

#[test]
fn a_caller_that_knows_fewer_fields_gets_only_those() {
    let srv = Server::node("echo");
    let c = Ctx::new(CtxOpts::default());
    let wsi = c.connect("127.0.0.1", srv.port, None, |_| {});
    c.service_until(SECS5, |e| {
        e.iter()
            .any(|e| e.reason == WS_CALLBACK_CLIENT_ESTABLISHED as i32)
    });
    // An older caller's struct: the size field and rx_wire_bytes only.
    let mut raw = [u64::MAX; 4];
    raw[0] = 16;
    assert_eq!(
        unsafe { ws_get_conn_stats(wsi, raw.as_mut_ptr().cast()) },
        0
    );
    assert_eq!(raw[0], 16, "size: what was filled");
    assert_eq!(raw[1], 0, "rx_wire_bytes: nothing received yet");
    assert_eq!(
        raw[2..],
        [u64::MAX; 2],
        "nothing written past the caller's size"
    );
    raw[0] = 0;
    assert_eq!(
        unsafe { ws_get_conn_stats(wsi, raw.as_mut_ptr().cast()) },
        -1,
        "size not set"
    );
    assert_eq!(unsafe { ws_get_conn_stats(wsi, std::ptr::null_mut()) }, -1);
    let mut ctx = [u64::MAX; 3];
    ctx[0] = 16;
    assert_eq!(
        unsafe { ws_get_context_stats(c.ctx, ctx.as_mut_ptr().cast()) },
        0
    );
    assert_eq!(ctx[0], 16);
    // live = 1, resolving = 0 (two u32 in the second word).
    assert_eq!(ctx[1], 1u64.to_le());
    assert_eq!(ctx[2], u64::MAX);
}
