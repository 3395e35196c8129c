//! Small writes that one loop iteration's CLIENT_WRITEABLE callbacks make
//! to a connection are gathered and sent together: each test writes once
//! per CLIENT_WRITEABLE (as lws programs do) and checks that the frames
//! arrive in the order written (data, fragments, PINGs, sender messages,
//! the Close), that CLIENT_WRITEABLE comes only while the socket refuses
//! nothing, and that nothing gathered is left unsent when `ws_service()`
//! returns. Against Node `ws`, a rustls server (wss://), Node with
//! permessage-deflate, and raw servers that read slowly or check the Close.

mod common;

use std::cell::RefCell;
use std::collections::HashMap;
use std::ffi::c_int;
use std::rc::Rc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::hostile::upgraded;
use common::tls::*;
use common::*;
use wsloop::ffi::ws_callback_reasons::*;
use wsloop::ffi::*;

const TEXT: c_int = ws_write_protocol::WS_WRITE_TEXT as c_int;
const BINARY: c_int = ws_write_protocol::WS_WRITE_BINARY as c_int;
const CONT: c_int = ws_write_protocol::WS_WRITE_CONTINUATION as c_int;
const PING: c_int = ws_write_protocol::WS_WRITE_PING as c_int;
const NO_FIN: c_int = WS_WRITE_NO_FIN;

fn is(r: i32, reason: ws_callback_reasons) -> bool {
    r == reason as i32
}

/// The send queue's bytes and `ws_send_pipe_choked()` of a connection.
fn queue_of(wsi: *mut ws) -> (u64, bool) {
    let mut st = ws_conn_stats {
        size: std::mem::size_of::<ws_conn_stats>(),
        ..Default::default()
    };
    assert_eq!(unsafe { ws_get_conn_stats(wsi, &mut st) }, 0);
    (st.queued_bytes, unsafe { ws_send_pipe_choked(wsi) } == 1)
}

/// One CLIENT_WRITEABLE's work: a `ws_write`, and maybe a `ws_sender_write`
/// of a whole binary message after it.
#[derive(Clone)]
struct Step {
    flags: c_int,
    payload: Vec<u8>,
    sender: Option<Vec<u8>>,
}

fn step(flags: c_int, payload: Vec<u8>) -> Step {
    Step {
        flags,
        payload,
        sender: None,
    }
}

/// Messages of 1 to 200 bytes, a message in three fragments, one large
/// enough to go straight to the socket (behind the gathered ones), PINGs
/// (`pings`), and sender messages (`sender`), one write per step.
fn script(pings: bool, sender: bool) -> Vec<Step> {
    let mut s = Vec::new();
    for i in 0..300u32 {
        // Text stays ASCII (valid UTF-8); binary takes every byte value.
        let text = i % 2 == 1;
        let body: Vec<u8> = (0..1 + i % 200)
            .map(|k| match text {
                true => b'a' + ((i * 31 + k) % 26) as u8,
                false => (i * 31 + k) as u8,
            })
            .collect();
        match i % 50 {
            7 => {
                s.push(step(TEXT | NO_FIN, format!("frag{i}-a/").into_bytes()));
                s.push(step(CONT | NO_FIN, format!("frag{i}-b/").into_bytes()));
                s.push(step(CONT, format!("frag{i}-c").into_bytes()));
            }
            20 if pings => s.push(step(PING, format!("ping{i}").into_bytes())),
            33 => s.push(step(BINARY, vec![i as u8; 20 * 1024])),
            _ => s.push(step(if text { TEXT } else { BINARY }, body)),
        }
        if sender && i % 9 == 4 {
            s.last_mut().unwrap().sender = Some(format!("sender{i}").into_bytes());
        }
    }
    s
}

/// The messages an echo server sends back for `script`, in order.
fn expected(script: &[Step]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut open = Vec::new();
    for s in script {
        if s.flags & 0xf != PING {
            open.extend_from_slice(&s.payload);
            if s.flags & NO_FIN == 0 {
                out.push(std::mem::take(&mut open));
            }
        }
        if let Some(m) = &s.sender {
            out.push(m.clone());
        }
    }
    out
}

/// Per connection: the next step, its sender, the messages echoed so far
/// (and the one being reassembled), the PONGs.
#[derive(Default)]
struct Conn {
    next: usize,
    sender: Option<*mut ws_sender>,
    echoed: Vec<Vec<u8>>,
    partial: Vec<u8>,
    pongs: usize,
}

/// What the callbacks saw.
#[derive(Default)]
struct Seen {
    conns: HashMap<usize, Conn>,
    /// CLIENT_WRITEABLEs that found frames gathered (queued, pipe not choked).
    gathered: usize,
    /// CLIENT_WRITEABLEs delivered while the pipe was choked (must be none).
    while_choked: usize,
}

/// Runs `script` on `conns` connections `connect` makes, each writing one
/// step per CLIENT_WRITEABLE, until every echo (and PONG) is back.
fn run_script(
    c: &Ctx,
    conns: usize,
    script: Vec<Step>,
    connect: impl Fn(&Ctx) -> *mut ws,
) -> Rc<RefCell<Seen>> {
    let seen = Rc::new(RefCell::new(Seen::default()));
    let (s2, steps) = (Rc::clone(&seen), script.clone());
    c.hook(move |wsi, r, input, len| {
        let mut seen = s2.borrow_mut();
        let seen = &mut *seen;
        let key = wsi as usize;
        if is(r, WS_CALLBACK_CLIENT_ESTABLISHED) {
            let sender = steps.iter().any(|s| s.sender.is_some());
            let conn = seen.conns.entry(key).or_default();
            if sender {
                conn.sender = Some(unsafe { ws_sender_get(wsi, 0) });
            }
            unsafe { ws_callback_on_writable(wsi) };
        } else if is(r, WS_CALLBACK_CLIENT_WRITEABLE) {
            let (queued, choked) = queue_of(wsi);
            seen.while_choked += choked as usize;
            seen.gathered += (queued > 0 && !choked) as usize;
            let conn = seen.conns.get_mut(&key).unwrap();
            let s = steps.get(conn.next)?;
            conn.next += 1;
            assert_eq!(send(wsi, s.flags, &s.payload), s.payload.len() as c_int);
            if let (Some(m), Some(sender)) = (&s.sender, conn.sender) {
                let r = unsafe { ws_sender_write(sender, m.as_ptr(), m.len(), BINARY) };
                assert_eq!(r, WS_SENDER_OK);
            }
            if conn.next < steps.len() {
                unsafe { ws_callback_on_writable(wsi) };
            }
        } else if is(r, WS_CALLBACK_CLIENT_RECEIVE) {
            let conn = seen.conns.get_mut(&key).unwrap();
            let data = unsafe { std::slice::from_raw_parts(input as *const u8, len) };
            conn.partial.extend_from_slice(data);
            if unsafe { ws_is_final_fragment(wsi) } == 1 {
                conn.echoed.push(std::mem::take(&mut conn.partial));
            }
        } else if is(r, WS_CALLBACK_CLIENT_RECEIVE_PONG) {
            seen.conns.get_mut(&key).unwrap().pongs += 1;
        }
        None
    });
    let wsis: Vec<*mut ws> = (0..conns).map(|_| connect(c)).collect();
    let want = expected(&script);
    let pings = script.iter().filter(|s| s.flags == PING).count();
    let start = Instant::now();
    loop {
        assert_eq!(unsafe { ws_service(c.ctx, 50) }, 0);
        {
            let seen = seen.borrow();
            // Nothing written waits for the next poll: what is still queued
            // was offered to the socket, which refused it.
            for &wsi in &wsis {
                if seen.conns.contains_key(&(wsi as usize)) {
                    let (queued, choked) = queue_of(wsi);
                    assert!(queued == 0 || choked, "{queued} bytes left unsent");
                }
            }
            let done = seen.conns.len() == conns
                && seen
                    .conns
                    .values()
                    .all(|k| k.echoed.len() >= want.len() && k.pongs >= pings);
            if done {
                break;
            }
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "not done in 30 s: {:?}",
            seen.borrow()
                .conns
                .values()
                .map(|k| (k.next, k.echoed.len(), k.pongs))
                .collect::<Vec<_>>()
        );
    }
    for k in seen.borrow().conns.values() {
        assert_eq!(k.echoed.len(), want.len());
        for (i, (got, want)) in k.echoed.iter().zip(&want).enumerate() {
            assert!(got == want, "echo {i} differs: {got:?} != {want:?}");
        }
        assert_eq!(k.pongs, pings);
        if let Some(s) = k.sender {
            unsafe { ws_sender_release(s) };
        }
    }
    let s = seen.borrow();
    assert_eq!(s.while_choked, 0, "CLIENT_WRITEABLE while choked");
    assert!(s.gathered > 0, "no CLIENT_WRITEABLE found frames gathered");
    drop(s);
    seen
}

fn plain(port: u16) -> impl Fn(&Ctx) -> *mut ws {
    move |c: &Ctx| c.connect("127.0.0.1", port, None, |_| {})
}

#[test]
fn bursts_of_writeable_writes_are_gathered_and_arrive_in_order() {
    let srv = Server::node("echo");
    let c = Ctx::new(CtxOpts::default());
    // Four connections, 330 CLIENT_WRITEABLEs each in a row: more than
    // one iteration's budget of deferred work, so some connections still
    // hold gathered frames when it runs out.
    run_script(&c, 4, script(true, false), plain(srv.port));
}

#[test]
fn sender_messages_interleave_with_gathered_writes_in_program_order() {
    let srv = Server::node("echo");
    let c = Ctx::new(CtxOpts::default());
    run_script(&c, 1, script(false, true), plain(srv.port));
}

#[test]
fn compressed_bursts_are_gathered_and_arrive_in_order() {
    capture_log(WS_LLL_ERR | WS_LLL_WARN | WS_LLL_NOTICE | WS_LLL_INFO);
    let srv = Server::node("deflate");
    let c = Ctx::with_info(CtxOpts::default(), |i| {
        i.wsloop_flags |= WS_CONTEXT_PERMESSAGE_DEFLATE
    })
    .expect("context");
    run_script(&c, 1, script(true, false), plain(srv.port));
    assert!(logged("with permessage-deflate"), "negotiated");
}

#[test]
fn wss_bursts_are_gathered_and_arrive_in_order() {
    let srv = TlsServer::start(TlsOpts::new(&pki().good));
    let c = ctx_trusting_test_ca();
    run_script(&c, 1, script(false, false), |c: &Ctx| {
        connect_wss(c, srv.port)
    });
}

/// The payload of message `i` in the raw-server tests.
fn numbered(i: u32, len: usize) -> Vec<u8> {
    (0..len).map(|k| (i as usize * 7 + k) as u8).collect()
}

/// A frame the client sent: its first byte and its unmasked payload.
type ClientFrame = (u8, Vec<u8>);

/// A raw server: upgrades, waits for `go` (if any), then reads frames until
/// a Close, answers it, and reports the frames.
fn frame_reader(go: Option<mpsc::Receiver<()>>) -> (u16, mpsc::Receiver<Vec<ClientFrame>>) {
    let (tx, rx) = mpsc::channel();
    let port = upgraded(move |s| {
        if let Some(go) = go {
            go.recv_timeout(Duration::from_secs(20))
                .expect("the client filled the socket");
        }
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let mut frames = Vec::new();
        while let Some(f) = read_client_frame(s) {
            let close = f.0 == 0x88;
            frames.push(f);
            if close {
                write_all(s, &server_frame(0x88, &1000u16.to_be_bytes()));
                break;
            }
        }
        let _ = tx.send(frames);
    });
    (port, rx)
}

/// Checks `frames` are `n` binary messages of `len` bytes, in order, then a
/// Close 1000.
fn assert_in_order_then_close(frames: &[ClientFrame], n: usize, len: usize) {
    assert_eq!(frames.len(), n + 1, "{n} messages and a Close");
    for (i, (op, p)) in frames[..n].iter().enumerate() {
        assert_eq!(*op, 0x82, "message {i} is a whole binary frame");
        assert!(*p == numbered(i as u32, len), "message {i} differs");
    }
    assert_eq!(frames[n].0, 0x88);
    assert_eq!(frames[n].1[..2], 1000u16.to_be_bytes());
}

#[test]
fn close_right_after_a_burst_follows_every_message() {
    let (port, frames) = frame_reader(None);
    let c = Ctx::new(CtxOpts::default());
    let n = 50;
    let sent = Rc::new(RefCell::new(0usize));
    let s2 = Rc::clone(&sent);
    c.hook(move |wsi, r, _, _| {
        if is(r, WS_CALLBACK_CLIENT_ESTABLISHED) {
            unsafe { ws_callback_on_writable(wsi) };
        }
        if is(r, WS_CALLBACK_CLIENT_WRITEABLE) {
            let mut sent = s2.borrow_mut();
            if *sent == n {
                return Some(-1); // Close 1000 behind the gathered messages.
            }
            send(wsi, BINARY, &numbered(*sent as u32, 100));
            *sent += 1;
            unsafe { ws_callback_on_writable(wsi) };
        }
        None
    });
    c.connect("127.0.0.1", port, None, |_| {});
    c.service_until(Duration::from_secs(20), |e| {
        e.iter().any(|e| is(e.reason, WS_CALLBACK_CLIENT_CLOSED))
    });
    let frames = frames.recv_timeout(Duration::from_secs(20)).unwrap();
    assert_in_order_then_close(&frames, n, 100);
}

#[test]
fn a_slow_reader_pauses_writeable_until_it_reads_and_nothing_is_reordered() {
    let (go_tx, go) = mpsc::channel();
    let (port, frames) = frame_reader(Some(go));
    let c = Ctx::new(CtxOpts::default());
    const LEN: usize = 8 * 1024;
    const AFTER: usize = 200;
    // (messages written, written when the pipe first choked, WRITEABLEs
    // while choked, largest queue a WRITEABLE found)
    let state = Rc::new(RefCell::new((0usize, None::<usize>, 0usize, 0u64)));
    let s2 = Rc::clone(&state);
    c.hook(move |wsi, r, _, _| {
        if is(r, WS_CALLBACK_CLIENT_ESTABLISHED) {
            unsafe { ws_callback_on_writable(wsi) };
        }
        if is(r, WS_CALLBACK_CLIENT_WRITEABLE) {
            let (queued, choked) = queue_of(wsi);
            let mut st = s2.borrow_mut();
            st.2 += choked as usize;
            st.3 = st.3.max(queued);
            if st.1.is_some_and(|at| st.0 >= at + AFTER) {
                return Some(-1);
            }
            assert_eq!(send(wsi, BINARY, &numbered(st.0 as u32, LEN)), LEN as c_int);
            st.0 += 1;
            assert!(st.0 < 64 * 1024, "the socket never refused 512 MiB");
            if st.1.is_none() && queue_of(wsi).1 {
                st.1 = Some(st.0);
                let _ = go_tx.send(());
            }
            unsafe { ws_callback_on_writable(wsi) };
        }
        None
    });
    c.connect("127.0.0.1", port, None, |_| {});
    let wsi = Rc::new(RefCell::new(None));
    let start = Instant::now();
    while !c.has(WS_CALLBACK_CLIENT_CLOSED) {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "not done in 60 s"
        );
        assert_eq!(unsafe { ws_service(c.ctx, 50) }, 0);
        if wsi.borrow().is_none() {
            *wsi.borrow_mut() = c
                .events(WS_CALLBACK_CLIENT_ESTABLISHED)
                .first()
                .map(|e| e.wsi as *mut ws);
        }
        if let Some(w) = *wsi.borrow() {
            if !c.has(WS_CALLBACK_CLIENT_CLOSED) {
                let (queued, choked) = queue_of(w);
                assert!(queued == 0 || choked, "{queued} bytes left unsent");
            }
        }
    }
    let (written, choked_at, while_choked, most) = *state.borrow();
    let choked_at = choked_at.expect("the pipe choked");
    assert_eq!(
        written,
        choked_at + AFTER,
        "writing resumed once the peer read"
    );
    assert_eq!(while_choked, 0, "CLIENT_WRITEABLE while choked");
    assert!(
        most < 64 * 1024 + LEN as u64,
        "a WRITEABLE found {most} bytes queued"
    );
    let frames = frames.recv_timeout(Duration::from_secs(30)).unwrap();
    assert_in_order_then_close(&frames, written, LEN);
}
