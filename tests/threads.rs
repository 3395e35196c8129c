//! One context per thread is how wsloop uses many cores: a context on
//! every core, each echoing its own messages against the same server at
//! the same time, and every message comes back intact, to the context that
//! sent it.

mod common;

use std::cell::RefCell;
use std::ffi::c_int;
use std::rc::Rc;
use std::time::Duration;

use common::*;
use wsloop::ffi::ws_callback_reasons::*;
use wsloop::ffi::*;

const MESSAGES: usize = 300;

/// Message `i` of thread `t`: its size and bytes differ per message.
fn message(t: usize, i: usize) -> Vec<u8> {
    let len = 1 + (i * 37 + t * 11) % 3000;
    (0..len)
        .map(|k| ((k + i * 7 + t * 13) % 251) as u8)
        .collect()
}

/// Sends MESSAGES messages (up to 8 in flight) and checks each echo;
/// returns how many came back intact.
fn echo_on_own_context(t: usize, port: u16) -> usize {
    let c = Ctx::new(CtxOpts::default());
    let state = Rc::new(RefCell::new((0usize, 0usize, 0usize))); // sent, intact, wrong
    let s = state.clone();
    let mut partial = Vec::new();
    c.hook(move |wsi, r, in_, len| {
        let mut st = s.borrow_mut();
        match r {
            r if r == WS_CALLBACK_CLIENT_ESTABLISHED as i32 => unsafe {
                ws_callback_on_writable(wsi);
            },
            r if r == WS_CALLBACK_CLIENT_WRITEABLE as i32
                && st.0 < MESSAGES
                && st.0 - st.1 - st.2 < 8 =>
            {
                send(wsi, 1, &message(t, st.0));
                st.0 += 1;
                unsafe { ws_callback_on_writable(wsi) };
            }
            r if r == WS_CALLBACK_CLIENT_RECEIVE as i32 => {
                partial.extend_from_slice(unsafe {
                    std::slice::from_raw_parts(in_ as *const u8, len)
                });
                if unsafe { ws_is_final_fragment(wsi) } != 0 {
                    let i = st.1 + st.2;
                    if partial == message(t, i) {
                        st.1 += 1;
                    } else {
                        st.2 += 1;
                    }
                    partial.clear();
                    if st.1 + st.2 == MESSAGES {
                        return Some(-1 as c_int);
                    }
                    unsafe { ws_callback_on_writable(wsi) };
                }
            }
            _ => {}
        }
        None
    });
    c.connect("127.0.0.1", port, None, |_| {});
    c.service_until(Duration::from_secs(60), |e| {
        e.iter().any(|e| e.reason == WS_CALLBACK_WSI_DESTROY as i32)
    });
    assert!(
        c.has(WS_CALLBACK_CLIENT_CLOSED),
        "thread {t}: {:?}",
        c.reasons()
    );
    let (sent, intact, wrong) = *state.borrow();
    assert_eq!((sent, wrong), (MESSAGES, 0), "thread {t}");
    intact
}

#[test]
fn one_context_per_thread_on_every_core_loses_nothing() {
    let cores = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .max(2);
    let srv = Server::node("echo");
    let port = srv.port;
    let threads: Vec<_> = (0..cores)
        .map(|t| std::thread::spawn(move || echo_on_own_context(t, port)))
        .collect();
    let intact: Vec<usize> = threads.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(intact, vec![MESSAGES; cores]);
}
