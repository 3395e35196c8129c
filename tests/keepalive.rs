//! The keepalive schedule measured on the wire: a server records when each
//! PING arrives. As libwebsockets, a quiet connection whose PONGs come back
//! is pinged `secs_since_valid_ping` after each one, and one whose PONGs do
//! not is dropped `secs_since_valid_hangup` after the last thing received.

mod common;

use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::*;
use wsloop::ffi::*;

/// A server that answers the upgrade, then reports the time of each PING
/// (after the upgrade) and, when `pong`, answers it; it reports `None` when
/// the client closes TCP.
fn ping_recorder(pong: bool) -> (u16, mpsc::Receiver<Option<Duration>>) {
    let (tx, rx) = mpsc::channel();
    let port = raw_server(move |mut s| {
        let key = read_request(&mut s);
        write_all(&mut s, upgrade_response(&key, "").as_bytes());
        let start = Instant::now();
        while let Some((op, payload)) = read_client_frame(&mut s) {
            if op & 0x0f == 0x9 {
                let _ = tx.send(Some(start.elapsed()));
                if pong {
                    write_all(&mut s, &server_frame(0x8a, &payload));
                }
            }
        }
        let _ = tx.send(None);
    });
    (port, rx)
}

fn service_for(c: &Ctx, d: Duration) {
    let until = Instant::now() + d;
    while Instant::now() < until {
        unsafe { ws_service(c.ctx, 50) };
    }
}

#[test]
fn pings_follow_each_pong_by_the_ping_time_and_silence_hangs_up() {
    // ping 1 s, hangup 10 s: PINGs at 1, 2 and 3 s, not at the hangup time.
    let (port, pings) = ping_recorder(true);
    let c = Ctx::new(CtxOpts::default());
    let p = keepalive_policy(1, 10);
    c.connect("127.0.0.1", port, None, |ci| ci.retry_and_idle_policy = &*p);
    service_for(&c, Duration::from_millis(3600));
    let times: Vec<Duration> = pings.try_iter().flatten().collect();
    assert_eq!(times.len(), 3, "PINGs at {times:?}");
    let mut last = Duration::ZERO;
    for t in &times {
        let gap = *t - last;
        assert!(
            gap >= Duration::from_millis(950) && gap < Duration::from_millis(1500),
            "PINGs at {times:?}"
        );
        last = *t;
    }
    assert!(!c.has(ws_callback_reasons::WS_CALLBACK_CLIENT_CLOSED));
    drop(c);

    // ping 1 s, hangup 3 s, no PONG: one PING at 1 s, TCP closed at 3 s.
    let (port, events) = ping_recorder(false);
    let c = Ctx::new(CtxOpts::default());
    let p = keepalive_policy(1, 3);
    c.connect("127.0.0.1", port, None, |ci| ci.retry_and_idle_policy = &*p);
    let start = Instant::now();
    c.service_until(SECS10, |e| {
        e.iter()
            .any(|e| e.reason == ws_callback_reasons::WS_CALLBACK_CLIENT_CLOSED as i32)
    });
    let closed = start.elapsed();
    assert!(
        closed >= Duration::from_millis(2950) && closed < Duration::from_millis(3800),
        "{closed:?}"
    );
    let seen: Vec<Option<Duration>> = events.recv_timeout(SECS5).into_iter().collect();
    let ping = seen[0].expect("one PING");
    assert!(
        ping >= Duration::from_millis(950) && ping < Duration::from_millis(1500),
        "{ping:?}"
    );
    assert_eq!(events.recv_timeout(SECS5), Ok(None), "no second PING");
}

#[test]
fn a_ping_after_a_busy_spell_is_late_by_at_most_a_sixteenth_of_the_ping_time() {
    // ping 2 s: the server sends a frame every 20 ms from 0.1 to 0.9 s, then
    // nothing. Receiving does not read the clock; the timer looks every
    // 2/16 s while data flows, so the PING comes 2 s after the last frame,
    // never earlier and at most 125 ms later (plus the loop's own delay).
    let (tx, rx) = mpsc::channel();
    let port = raw_server(move |mut s| {
        let key = read_request(&mut s);
        write_all(&mut s, upgrade_response(&key, "").as_bytes());
        let start = Instant::now();
        let mut w = s.try_clone().unwrap();
        let writer = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(100));
            let mut last = start;
            while start.elapsed() < Duration::from_millis(900) {
                last = Instant::now();
                write_all(&mut w, &server_frame(0x82, b"busy"));
                std::thread::sleep(Duration::from_millis(20));
            }
            last
        });
        while let Some((op, payload)) = read_client_frame(&mut s) {
            if op & 0x0f == 0x9 {
                let _ = tx.send(Instant::now());
                write_all(&mut s, &server_frame(0x8a, &payload));
            }
        }
        let _ = tx.send(writer.join().unwrap());
    });
    let c = Ctx::new(CtxOpts::default());
    let p = keepalive_policy(2, 10);
    c.connect("127.0.0.1", port, None, |ci| ci.retry_and_idle_policy = &*p);
    service_for(&c, Duration::from_millis(3500));
    drop(c);
    let seen: Vec<Instant> = rx
        .recv_timeout(SECS5)
        .into_iter()
        .chain(rx.recv_timeout(SECS5))
        .collect();
    assert_eq!(seen.len(), 2, "one PING, then the end of the busy spell");
    let (ping, last_frame) = (seen[0], seen[1]);
    let after = ping.saturating_duration_since(last_frame);
    assert!(
        ping > last_frame + Duration::from_secs(2),
        "PING {after:?} after the last frame"
    );
    assert!(
        after < Duration::from_millis(2500),
        "PING {after:?} after the last frame"
    );
}
