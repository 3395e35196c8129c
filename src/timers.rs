//! The context's timers: one heap of due times for connection deadlines,
//! the application's per-connection timers, kill timeouts, keepalive checks
//! and scheduled callbacks (suls).
//!
//! Entries are never taken out of the heap early. Each carries a sequence
//! number, and its owner remembers the number of its one live entry, so an
//! entry whose owner was rescheduled or cancelled is skipped when it comes
//! due. Scheduling is O(log n), cancelling O(1), and nothing is allocated
//! per schedule once the heap and the sul table have grown to their working
//! size.
//!
//! Stale entries would pile up where many connections move their timers
//! (each phase of a handshake sets a new deadline; keepalive starts when it
//! ends): once the heap has doubled since it was last swept, the loop drops
//! every stale entry in one pass ([`Timers::sweep`]) and gives back the
//! room they took, so the heap holds about one entry per live timer, at an
//! amortised O(1) per schedule.

use crate::clock::Tick;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

/// A connection's kinds of timer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// Connect, TLS, handshake and close-wait limits.
    Deadline = 0,
    /// `ws_set_timer_usecs` → `CALLBACK_TIMER`.
    User = 1,
    /// `ws_set_timeout`: close the connection.
    Kill = 2,
    /// Keepalive: time to ping, or to give up waiting for the pong.
    Keepalive = 3,
    /// The backoff delay before a reconnect attempt passed.
    Redial = 4,
    /// Happy Eyeballs: start the next connection attempt.
    Attempt = 5,
}

pub const KINDS: usize = 6;

/// What a heap entry is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Key {
    Conn {
        index: u32,
        gen: u32,
        kind: Kind,
    },
    /// A scheduled callback, by the address of its `ws_sorted_usec_list_t`.
    Sul(usize),
}

/// Below this many entries the heap is never swept.
const SWEEP_MIN: usize = 1024;

pub struct Timers {
    heap: BinaryHeap<Reverse<(Tick, u64, Key)>>,
    seq: u64,
    /// Scheduled suls: their live entry's sequence number.
    suls: HashMap<usize, u64>,
    /// The heap is swept when it has this many entries (twice what the
    /// last sweep left; at least `SWEEP_MIN`).
    sweep_at: usize,
}

impl Default for Timers {
    fn default() -> Timers {
        Timers {
            heap: BinaryHeap::new(),
            seq: 0,
            suls: HashMap::new(),
            sweep_at: SWEEP_MIN,
        }
    }
}

impl Timers {
    /// Adds an entry; returns its sequence number (never 0).
    pub fn push(&mut self, at: Tick, key: Key) -> u64 {
        self.seq += 1;
        self.heap.push(Reverse((at, self.seq, key)));
        self.seq
    }

    /// The earliest entry, possibly a stale one.
    pub fn peek(&self) -> Option<(Tick, u64, Key)> {
        self.heap.peek().map(|Reverse(e)| *e)
    }

    /// When the earliest entry is due, possibly a stale one's.
    #[inline]
    pub fn next_at(&self) -> Option<Tick> {
        self.heap.peek().map(|Reverse(e)| e.0)
    }

    /// Drops the earliest entry (its owner found it stale).
    pub fn pop(&mut self) {
        self.heap.pop();
    }

    /// Takes the earliest entry if it is due at `now`.
    pub fn pop_due(&mut self, now: Tick) -> Option<(u64, Key)> {
        match self.heap.peek() {
            Some(Reverse((t, ..))) if *t <= now => {
                self.heap.pop().map(|Reverse((_, seq, key))| (seq, key))
            }
            _ => None,
        }
    }

    /// Schedules (or moves) the sul at `key`.
    pub fn schedule_sul(&mut self, key: usize, at: Tick) {
        let seq = self.push(at, Key::Sul(key));
        self.suls.insert(key, seq);
    }

    /// Unschedules the sul at `key`; false when it was not scheduled.
    pub fn cancel_sul(&mut self, key: usize) -> bool {
        self.suls.remove(&key).is_some()
    }

    /// The entry `seq` is the sul's live one (not moved or cancelled since).
    pub fn sul_live(&self, key: usize, seq: u64) -> bool {
        self.suls.get(&key) == Some(&seq)
    }

    /// A sul entry came due: true (and the sul is unscheduled) when it is the live one.
    pub fn fire_sul(&mut self, key: usize, seq: u64) -> bool {
        let live = self.sul_live(key, seq);
        if live {
            self.suls.remove(&key);
        }
        live
    }

    /// Entries in the heap, stale ones included.
    pub fn entries(&self) -> usize {
        self.heap.len()
    }

    /// The heap has grown enough since the last sweep for one to pay.
    #[inline]
    pub fn wants_sweep(&self) -> bool {
        self.heap.len() >= self.sweep_at
    }

    /// Drops the stale entries: a connection's entry is kept when
    /// `conn_live(seq, index, gen, kind)` says so, a sul's when it is the
    /// sul's live one. The room the dropped ones took is given back.
    pub fn sweep(&mut self, mut conn_live: impl FnMut(u64, u32, u32, Kind) -> bool) {
        let suls = &self.suls;
        self.heap.retain(|Reverse((_, seq, key))| match *key {
            Key::Conn { index, gen, kind } => conn_live(*seq, index, gen, kind),
            Key::Sul(k) => suls.get(&k) == Some(seq),
        });
        let len = self.heap.len();
        self.sweep_at = (2 * len).max(SWEEP_MIN);
        if self.heap.capacity() > 2 * len.max(SWEEP_MIN) {
            self.heap.shrink_to(len + len / 2);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn due_in_time_order_and_rescheduling_moves() {
        let mut t = Timers::default();
        let now = Tick::now();
        let ms = |n| now + Duration::from_millis(n);
        t.schedule_sul(1, ms(30));
        t.schedule_sul(2, ms(10));
        t.schedule_sul(1, ms(5)); // moves 1 earlier
        t.schedule_sul(3, ms(20));
        assert!(t.cancel_sul(3));
        assert!(!t.cancel_sul(3));
        let mut fired = Vec::new();
        while let Some((seq, key)) = t.pop_due(ms(100)) {
            if let Key::Sul(k) = key {
                if t.fire_sul(k, seq) {
                    fired.push(k);
                }
            }
        }
        assert_eq!(fired, [1, 2]);
        assert!(!t.cancel_sul(1), "a fired sul is no longer scheduled");
        assert_eq!(t.entries(), 0);
    }

    #[test]
    fn a_sweep_keeps_only_live_entries_and_gives_room_back() {
        let mut t = Timers::default();
        let now = Tick::now();
        let conn = |index| Key::Conn {
            index,
            gen: 1,
            kind: Kind::Deadline,
        };
        // Every connection moves its deadline three times: two of its
        // three entries are stale.
        let mut live = vec![0u64; 2000];
        for round in 0..3u64 {
            for (i, seq) in live.iter_mut().enumerate() {
                *seq = t.push(now + Duration::from_millis(round * 10 + 5), conn(i as u32));
            }
        }
        t.schedule_sul(7, now + Duration::from_millis(1));
        t.schedule_sul(7, now + Duration::from_millis(2));
        assert!(t.wants_sweep());
        let cap = t.heap.capacity();
        t.sweep(|seq, index, _, _| live[index as usize] == seq);
        assert_eq!(
            t.entries(),
            2001,
            "one per connection and the sul's live one"
        );
        assert!(
            t.heap.capacity() < cap / 2,
            "the room of the stale entries is given back"
        );
        assert!(!t.wants_sweep(), "not again until the heap has doubled");
        let mut fired = 0;
        while let Some((seq, key)) = t.pop_due(now + Duration::from_secs(1)) {
            match key {
                Key::Conn { index, .. } => assert_eq!(live[index as usize], seq),
                Key::Sul(k) => assert!(t.fire_sul(k, seq)),
            }
            fired += 1;
        }
        assert_eq!(fired, 2001);
    }

    #[test]
    fn nothing_fires_early() {
        let mut t = Timers::default();
        let now = Tick::now();
        t.schedule_sul(7, now + Duration::from_millis(50));
        assert_eq!(t.pop_due(now), None);
        assert_eq!(t.peek().map(|e| e.0), Some(now + Duration::from_millis(50)));
    }
}
