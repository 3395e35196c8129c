//! One loop iteration: poll, socket events, timers, deferred work.

use std::time::Duration;

use mio::Token;

use super::{Context, Marker, Unusable};
use crate::callbacks::{CbIn, ConnId, Reason};
use crate::clock::Tick;
use crate::connection::pend;
use crate::log;
use crate::timers::{Key, Kind};

pub(super) const WAKER: Token = Token(usize::MAX);
/// The timer descriptor's token; connection tokens are below it.
const TIMER: Token = Token(usize::MAX - 1);
/// Deferred work items one iteration may run beyond those queued before it.
const PENDING_EXTRA: usize = 256;

impl Context {
    /// One loop iteration, waiting at most `timeout` for events (None:
    /// until an event or the next timer). Err once the context is unusable
    /// (destroyed, or its poll failed). A context a caught panic made
    /// unusable is refused before it gets here (`ffi::handles::quarantine`).
    pub fn service(&self, timeout: Option<Duration>) -> Result<(), Unusable> {
        if self.destroyed.get() {
            return Err(Unusable);
        }
        if self.in_service.get() > 0 || self.in_callback() {
            wlog!(
                log::ERR,
                "ws_service called from inside a callback: ignored (callbacks run inside ws_service; return and let the loop call again)"
            );
            return Ok(());
        }
        self.init_protocols();
        let _inside = Marker::enter(&self.in_service);
        self.serviced.set(true);
        self.iteration.set(self.iteration.get().wrapping_add(1));
        self.service_once(timeout)
    }

    #[inline(always)]
    fn service_once(&self, mut timeout: Option<Duration>) -> Result<(), Unusable> {
        // Armed whatever the wait, so deferred work that keeps the waits at
        // zero does not hold timers back.
        let by_fd = self.timer_fd_armed();
        if !self.pending.is_empty() {
            timeout = Some(Duration::ZERO);
        } else if !by_fd && timeout != Some(Duration::ZERO) {
            if let Some(t) = self.next_live_due() {
                let until = t.since(Tick::now());
                timeout = Some(timeout.map_or(until, |d| d.min(until)));
            }
        }
        let mut events = self.events.borrow_mut();
        if let Err(e) = events.wait(&self.poll, timeout) {
            if e.kind() != std::io::ErrorKind::Interrupted {
                wlog!(log::ERR, "poll failed: {e}");
                return Err(Unusable);
            }
        }
        let full = events.len() >= events.capacity();
        self.events_full.set(full);
        // The clock is read only when timers may be due: the descriptor
        // fired, its event may be among those a full buffer left out, or
        // there is no descriptor to rely on. The time is taken before the
        // events are handled (or at the timer's event): what falls due
        // later runs at the next iteration, which then does not wait.
        let mut now = (full || !by_fd).then(Tick::now);
        #[cfg(test)]
        super::inject::maybe_panic("service");
        for (token, ready) in events.iter() {
            if token.0 >= TIMER.0 {
                if token == WAKER {
                    self.on_wake();
                } else {
                    // Spent: set again before the next wait.
                    self.armed.set(None);
                    self.timers_moved.set(true);
                    now = now.or_else(|| Some(Tick::now()));
                }
                continue;
            }
            self.on_socket(ConnId::from_key(token.0 as u64), &ready);
        }
        drop(events);
        if let Some(now) = now {
            self.run_timers(now);
        }
        self.run_pending();
        Ok(())
    }

    /// Keeps the timer descriptor set to the earliest timer that still
    /// applies; false when there is none to rely on (the wait must then
    /// be computed from the clock). One flag when neither the heap nor
    /// the descriptor changed since it was last found set to the heap's top.
    #[inline]
    fn timer_fd_armed(&self) -> bool {
        let Some(fd) = &self.timer_fd else {
            return false;
        };
        if !self.timers_moved.get() {
            return true;
        }
        let top = self.timers.borrow().next_at();
        if top == self.armed.get() {
            self.timers_moved.set(false);
            return true;
        }
        self.arm_timer_fd(fd)
    }

    #[cold]
    #[inline(never)]
    fn arm_timer_fd(&self, fd: &crate::ffi::clock::TimerFd) -> bool {
        // Stale entries come off the top first: they cause no early wake-up.
        let due = self.next_live_due();
        match fd.set(due.map(Tick::ns)) {
            Ok(()) => {
                self.armed.set(due);
                self.timers_moved.set(false);
                true
            }
            Err(e) => {
                wlog!(
                    log::ERR,
                    "ws_service: setting the loop's timer descriptor failed: {e}; this wait is computed from the clock instead"
                );
                false
            }
        }
    }

    fn on_wake(&self) {
        self.nudge_seen();
        self.feed_outboxes();
        for (key, result) in self.remote.take_lookups() {
            self.resolved(ConnId::from_key(key), result);
        }
        if self.remote.take_cancel() {
            for i in 0..self.cfg.protocols.len() {
                self.call_protocol(i, Reason::EventWaitCancelled, CbIn::None);
            }
        }
    }

    /// When the earliest timer that still applies is due. Entries that no
    /// longer apply (the handshake deadline of an established connection, a
    /// moved or cancelled sul) are dropped from the top of the heap here, so
    /// they cost neither clock reads nor early wake-ups.
    #[inline(always)]
    pub(super) fn next_live_due(&self) -> Option<Tick> {
        loop {
            let (at, seq, key) = self.timers.borrow().peek()?;
            let live = match key {
                Key::Conn { index, gen, kind } => {
                    self.conn_timer_live(ConnId { index, gen }, kind, seq)
                }
                Key::Sul(k) => self.timers.borrow().sul_live(k, seq),
            };
            if live {
                return Some(at);
            }
            self.timers_mut().pop();
        }
    }

    /// Drops the timer entries no connection or sul owns any more, once
    /// the heap has doubled since the last sweep. Called where connections
    /// move their timers in bulk (each step of a set-up, the application
    /// setting timers), not per loop iteration.
    pub(super) fn sweep_timers_if_due(&self) {
        if self.timers.borrow().wants_sweep() {
            self.sweep_timers();
        }
    }

    #[cold]
    fn sweep_timers(&self) {
        self.timers_mut()
            .sweep(|seq, index, gen, kind| self.conn_timer_live(ConnId { index, gen }, kind, seq));
    }

    /// Is entry `seq` still the connection's timer of this kind?
    #[inline]
    fn conn_timer_live(&self, id: ConnId, kind: Kind, seq: u64) -> bool {
        self.with_conn(id, |c| c.timer_seq[kind as usize] == seq) == Some(true)
    }

    /// Fires what is due at `now` (not what callbacks schedule for "now"
    /// meanwhile).
    fn run_timers(&self, now: Tick) {
        if self.timers.borrow().entries() == 0 {
            return;
        }
        loop {
            let due = self.timers_mut().pop_due(now);
            let Some((seq, key)) = due else {
                break;
            };
            match key {
                Key::Conn { index, gen, kind } => {
                    let id = ConnId { index, gen };
                    let live = self.with_conn(id, |c| {
                        let live = c.timer_seq[kind as usize] == seq;
                        if live {
                            c.timer_seq[kind as usize] = 0;
                        }
                        live
                    });
                    if live != Some(true) {
                        continue;
                    }
                    match kind {
                        Kind::Deadline => self.on_deadline(id),
                        Kind::User => {
                            let r = self.dispatch(id, Reason::Timer, CbIn::None);
                            self.after_callback(id, r);
                            self.after_io(id);
                        }
                        Kind::Kill => self.kill(id),
                        Kind::Keepalive => self.on_keepalive(id),
                        Kind::Redial => self.redial_due(id),
                        Kind::Attempt => self.dial_step(id),
                    }
                }
                Key::Sul(k) => {
                    if self.timers_mut().fire_sul(k, seq) {
                        self.call_sul(k);
                    }
                }
            }
        }
    }

    fn run_pending(&self) {
        // Work queued while this runs (mostly a connection asking for the
        // next CLIENT_WRITEABLE after a write the socket took whole) is done
        // in this iteration too, up to a budget, rather than after another
        // poll: a pipelining sender then costs one poll per burst, not one
        // per message.
        let mut budget = match self.pending.len() {
            0 => return,
            n => n + PENDING_EXTRA,
        };
        while budget > 0 {
            budget -= 1;
            let Some(id) = self.pending.pop() else {
                break;
            };
            let Some(what) = self.with_conn(id, |c| std::mem::take(&mut c.pend)) else {
                continue;
            };
            if what & pend::REAP != 0 {
                self.reap(id);
                continue;
            }
            if what & pend::START != 0 {
                self.start(id);
            }
            if what & pend::KILL != 0 {
                self.kill(id);
            }
            if what & pend::READ != 0 {
                self.resume_rx(id);
            }
            if what & (pend::FLUSH | pend::WRITEABLE) != 0 {
                self.after_io(id);
            }
        }
        if self.pending.is_empty() {
            return;
        }
        // Reaps left over when the budget ran out are done now rather than
        // after the next wait, and frames gathered for the others are sent:
        // nothing written in this iteration waits for the next poll.
        let left = self.pending.ids();
        for id in left {
            if self.with_conn(id, |c| c.pend & pend::REAP != 0) == Some(true) {
                self.reap(id);
            } else {
                self.send_gathered(id);
            }
        }
        self.pending.retain(|id| self.is_live(*id));
    }
}

/// A timer descriptor in `poll`, or None where the system has none (the
/// loop then computes each wait from the clock).
pub(super) fn timer_fd(poll: &mio::Poll) -> Option<crate::ffi::clock::TimerFd> {
    crate::ffi::clock::TimerFd::in_poll(poll, TIMER).ok()
}
