//! Messages written from other threads (`ws_sender_write`): a bounded queue
//! per connection, of whole messages already framed and masked, that the
//! loop moves into the connection's send queue.
//!
//! Producers frame and mask on their own thread and append under the
//! outbox's lock, so each thread's messages keep its order and none is split
//! by another's. The loop moves the whole backlog at once, and only when no
//! fragmented message of its own is open and its send queue has nearly
//! drained: a peer that stops reading fills the outbox, and producers see
//! "full" and wait. An outbox never touches the context, only the [`Remote`]
//! it wakes, so it may outlive the connection and the context: once the
//! connection is gone it is closed and refuses writes.
//!
//! This file is the queue; `context/outbox.rs` is the loop's side of it.

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{RngCore, SeedableRng};

use crate::frame::{self, OpCode};

/// The outbox's byte limit when the application sets none.
pub(crate) const DEFAULT_LIMIT: usize = 1024 * 1024;

/// Tells the loop that an outbox has something for it (any thread).
pub(crate) trait Notify: Send + Sync {
    fn outbox_ready(&self, key: u64);
}

/// A connection's cross-thread queue.
pub(crate) struct Outbox {
    /// The connection, as `ConnId::key`.
    key: u64,
    notify: Arc<dyn Notify>,
    /// The thread that services the context ([`thread_number`]): it must
    /// never wait for room.
    loop_thread: u64,
    state: Mutex<State>,
    /// Signalled when the loop takes the queue, or the connection ends.
    room: Condvar,
}

struct State {
    /// Whole frames, header and masked payload, in the order written.
    frames: Vec<u8>,
    limit: usize,
    closed: bool,
    /// The loop knows there is something to move: it was woken for it, or
    /// it will look by itself once its send queue drains. Producers wake
    /// the loop only when this is false, so a burst costs one wake-up.
    signalled: bool,
    /// Frames (each a whole message), their bytes and payload bytes queued
    /// here so far, for `ws_get_conn_stats`.
    sent: [u64; 3],
}

/// What became of a write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Push {
    Queued,
    /// The queue holds `limit` bytes or would with this message.
    Full,
    Closed,
}

/// What a wait for room ended with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Room {
    Ready,
    Closed,
    TimedOut,
    /// Called on the loop thread, which alone can make room.
    LoopThread,
}

thread_local! {
    /// Each producer thread's masking keys.
    static MASKS: RefCell<StdRng> = RefCell::new(StdRng::from_os_rng());
    static THREAD_NUMBER: u64 = {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        NEXT.fetch_add(1, Ordering::Relaxed)
    };
}

/// A number for the calling thread, never reused. (`thread::current()`
/// would allocate a handle the main thread never frees.)
fn thread_number() -> u64 {
    THREAD_NUMBER.with(|n| *n)
}

impl Outbox {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues one whole TEXT or BINARY message (any thread).
    pub(crate) fn write(&self, op: OpCode, payload: &[u8]) -> Push {
        let mask = MASKS.with(|r| r.borrow_mut().next_u32().to_ne_bytes());
        let mut hdr = [0u8; frame::MAX_HEADER];
        let hlen = frame::encode_header(&mut hdr, op, true, payload.len(), mask);
        let wake = {
            let mut st = self.lock();
            if st.closed {
                return Push::Closed;
            }
            let queued = st.frames.len();
            if queued > 0 && queued + hlen + payload.len() > st.limit {
                return Push::Full;
            }
            st.frames.extend_from_slice(&hdr[..hlen]);
            st.frames.extend_from_slice(payload);
            frame::apply_mask(&mut st.frames[queued + hlen..], mask);
            st.sent[0] += 1;
            st.sent[1] += (hlen + payload.len()) as u64;
            st.sent[2] += payload.len() as u64;
            !std::mem::replace(&mut st.signalled, true)
        };
        if wake {
            self.notify.outbox_ready(self.key);
        }
        Push::Queued
    }

    /// Frames (each a whole message), their bytes and payload bytes queued
    /// here so far.
    pub(crate) fn sent(&self) -> [u64; 3] {
        self.lock().sent
    }

    /// Waits until a message of `len` bytes would be taken, the connection
    /// ends, or `timeout` (None: no limit) passes.
    pub(crate) fn wait_room(&self, len: usize, timeout: Option<Duration>) -> Room {
        let need = frame::header_len(len) + len;
        let deadline = timeout.map(|t| Instant::now() + t);
        let mut st = self.lock();
        loop {
            if st.closed {
                return Room::Closed;
            }
            if thread_number() == self.loop_thread {
                return Room::LoopThread;
            }
            if st.frames.is_empty() || st.frames.len() + need <= st.limit {
                return Room::Ready;
            }
            st = match deadline {
                None => self.room.wait(st).unwrap_or_else(|e| e.into_inner()),
                Some(d) => {
                    let left = d.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Room::TimedOut;
                    }
                    self.room
                        .wait_timeout(st, left)
                        .unwrap_or_else(|e| e.into_inner())
                        .0
                }
            };
        }
    }

    /// The connection is gone: refuse writes, drop what is queued, wake waiters.
    fn close(&self) {
        {
            let mut st = self.lock();
            st.closed = true;
            st.frames = Vec::new();
        }
        self.room.notify_all();
    }
}

/// Whether the loop may move the queue into the send queue now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Gate {
    Open,
    /// Not now: the send queue is full, or a fragmented message is open.
    /// The loop comes back by itself when that changes.
    Later,
    /// The connection is closing: nothing more goes out.
    Shut,
}

impl Outbox {
    /// A new, empty outbox for connection `key`, serviced by the calling thread.
    pub(crate) fn new(key: u64, notify: Arc<dyn Notify>) -> Outbox {
        Outbox {
            key,
            notify,
            loop_thread: thread_number(),
            state: Mutex::new(State {
                frames: Vec::new(),
                limit: DEFAULT_LIMIT,
                closed: false,
                signalled: false,
                sent: [0; 3],
            }),
            room: Condvar::new(),
        }
    }

    /// Sets the byte limit (loop thread).
    pub(crate) fn set_limit(&self, limit: usize) {
        self.lock().limit = limit;
        self.room.notify_all();
    }

    /// Loop side: moves the queue to the end of `out` when `gate` is open;
    /// true when something moved. Costs a swap, not a copy, when `out` is
    /// empty.
    pub(crate) fn take(&self, gate: Gate, out: &mut Vec<u8>) -> bool {
        let mut st = self.lock();
        if st.frames.is_empty() {
            st.signalled = false;
            return false;
        }
        match gate {
            // `signalled` stays set: the loop comes back by itself.
            Gate::Later => return false,
            Gate::Shut => {
                drop(st);
                self.close();
                return false;
            }
            Gate::Open => {}
        }
        if out.is_empty() {
            std::mem::swap(out, &mut st.frames);
        } else {
            out.extend_from_slice(&st.frames);
            st.frames.clear();
        }
        st.signalled = false;
        drop(st);
        self.room.notify_all();
        true
    }
}

/// A connection's outbox as the connection holds it: dropping the
/// connection closes it, however the connection ends.
pub(crate) struct Link(pub(crate) Arc<Outbox>);

impl Drop for Link {
    fn drop(&mut self) {
        self.0.close();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::thread;

    #[derive(Default)]
    struct Told(Mutex<Vec<u64>>);

    impl Notify for Told {
        fn outbox_ready(&self, key: u64) {
            self.0.lock().unwrap().push(key);
        }
    }

    fn outbox(limit: usize) -> (Outbox, Arc<Told>) {
        let told = Arc::new(Told::default());
        let ob = Outbox::new(7, told.clone());
        ob.set_limit(limit);
        (ob, told)
    }

    #[test]
    fn writes_are_framed_whole_and_the_loop_is_told_once() {
        let (ob, told) = outbox(1000);
        assert_eq!(ob.write(OpCode::Binary, b"abc"), Push::Queued);
        assert_eq!(ob.write(OpCode::Text, b"de"), Push::Queued);
        assert_eq!(*told.0.lock().unwrap(), vec![7]);
        let st = ob.lock();
        assert_eq!(st.frames.len(), 6 + 3 + 6 + 2);
        let unmask = |at: usize, len: usize| {
            let mut p = st.frames[at + 6..at + 6 + len].to_vec();
            let mask: [u8; 4] = st.frames[at + 2..at + 6].try_into().unwrap();
            frame::apply_mask(&mut p, mask);
            (st.frames[at], st.frames[at + 1] & 0x7f, p)
        };
        assert_eq!(unmask(0, 3), (0x82, 3, b"abc".to_vec()));
        assert_eq!(unmask(9, 2), (0x81, 2, b"de".to_vec()));
    }

    #[test]
    fn a_full_outbox_refuses_but_an_empty_one_takes_anything() {
        let (ob, _) = outbox(16);
        assert_eq!(ob.write(OpCode::Binary, &[0; 100]), Push::Queued);
        assert_eq!(ob.write(OpCode::Binary, b""), Push::Full);
        ob.lock().frames.clear();
        assert_eq!(ob.write(OpCode::Binary, &[0; 10]), Push::Queued);
        assert_eq!(ob.write(OpCode::Binary, &[0; 1]), Push::Full);
    }

    #[test]
    fn waiters_wake_on_room_and_on_close() {
        let ob = Arc::new(outbox(16).0);
        assert_eq!(ob.wait_room(1, None), Room::LoopThread);
        ob.write(OpCode::Binary, &[0; 16]);
        let other = Arc::clone(&ob);
        let timed = thread::spawn(move || other.wait_room(1, Some(Duration::from_millis(20))));
        assert_eq!(timed.join().unwrap(), Room::TimedOut);
        let other = Arc::clone(&ob);
        let small = thread::spawn(move || other.wait_room(1, None));
        thread::sleep(Duration::from_millis(20));
        ob.take(Gate::Open, &mut Vec::new());
        assert_eq!(
            small.join().unwrap(),
            Room::Ready,
            "the loop took the queue"
        );
        ob.write(OpCode::Binary, &[0; 16]);
        let other = Arc::clone(&ob);
        let closed = thread::spawn(move || other.wait_room(1, None));
        thread::sleep(Duration::from_millis(20));
        ob.close();
        assert_eq!(closed.join().unwrap(), Room::Closed);
        assert_eq!(ob.write(OpCode::Binary, b"x"), Push::Closed);
    }

    #[test]
    fn the_loop_takes_whole_queues_only_through_an_open_gate() {
        let (ob, told) = outbox(1000);
        let mut out = b"loop's own".to_vec();
        ob.write(OpCode::Binary, b"abc");
        assert!(!ob.take(Gate::Later, &mut out));
        ob.write(OpCode::Binary, b"de");
        assert_eq!(
            told.0.lock().unwrap().len(),
            1,
            "still signalled: no second wake"
        );
        assert!(ob.take(Gate::Open, &mut out));
        assert_eq!(out.len(), 10 + 9 + 8, "appended after the loop's bytes");
        let mut empty = Vec::new();
        ob.write(OpCode::Binary, b"f");
        assert_eq!(
            told.0.lock().unwrap().len(),
            2,
            "taken, so the next write wakes"
        );
        assert!(ob.take(Gate::Open, &mut empty));
        assert_eq!(empty.len(), 7);
        ob.write(OpCode::Binary, b"g");
        assert!(!ob.take(Gate::Shut, &mut empty));
        assert_eq!(ob.write(OpCode::Binary, b"h"), Push::Closed);
    }
}
