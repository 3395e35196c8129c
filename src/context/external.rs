//! Living inside another event loop: the one descriptor that is readable
//! whenever `service` has socket, wake-up or resolver work, the time until
//! the next timer or deferred work, and the nudge that keeps work queued
//! from outside `service` from going unnoticed.
//!
//! The descriptor is the mio poll's own (epoll on Linux); every socket and
//! the waker are registered edge-triggered inside it, so it reads as ready
//! exactly while events wait to be collected, and a level- or
//! edge-triggered outer loop both see it turn readable when one arrives.
//! Nothing here runs on the hot path of a context that nobody polls from
//! outside: the only cost there is the `in_service` test in `nudge`.

use std::os::fd::{AsRawFd, RawFd};
use std::time::Duration;

use super::Context;
use crate::callbacks::{CbIn, ConnId, Opaque, Reason};
use crate::clock::Tick;
use crate::connection::Phase;

impl Context {
    /// The descriptor to watch for readability (the epoll instance).
    pub fn poll_fd(&self) -> RawFd {
        self.poll.borrow().as_raw_fd()
    }

    /// How long an outer loop may wait on [`Context::poll_fd`] before it
    /// must call `service` anyway: None while nothing is scheduled, zero
    /// when work is already due. Reading it does nothing else.
    pub fn poll_timeout(&self) -> Option<Duration> {
        if self.destroyed.get() {
            return Some(Duration::ZERO);
        }
        // Deferred work left by the last iteration (its budget ran out, or
        // a callback queued it after the queue was drained), or a poll that
        // filled the event buffer: events may still wait in the epoll set
        // that an edge-triggered outer loop would not be told about again.
        if !self.pending.is_empty() || self.events_full.get() {
            return Some(Duration::ZERO);
        }
        let due = self.next_live_due()?;
        Some(due.since(Tick::now()))
    }

    /// The loop has new work queued from outside `service` (a connect, a
    /// write request, a timer from the application's own handlers): make
    /// the descriptor readable so an outer loop blocked on it comes back
    /// and asks for the new timeout. Inside `service` there is nothing to
    /// do, since the outer loop reads the timeout after `service` returns.
    #[inline]
    pub(crate) fn nudge(&self) {
        if self.in_service.get() == 0 {
            self.wake_for_outside_work();
        }
    }

    /// Kept out of line: `nudge` runs on the hot path (every deferred work
    /// item), this only outside `service`.
    #[cold]
    #[inline(never)]
    fn wake_for_outside_work(&self) {
        if !self.nudged.replace(true) {
            self.remote.wake();
        }
    }

    /// The wake-up a nudge caused has been collected.
    pub(crate) fn nudge_seen(&self) {
        self.nudged.set(false);
    }

    /// Turns on lws' external-poll callbacks for this context and announces
    /// its descriptor to protocols[0] (`LOCK_POLL`, `ADD_POLL_FD`,
    /// `UNLOCK_POLL`), so lws programs that keep their own pollfd array
    /// watch it and pass it back to `ws_service_fd`. `destroy` withdraws it.
    pub fn enable_poll_callbacks(&self) {
        self.poll_callbacks.set(true);
        self.announce_poll_fd(Reason::AddPollFd, POLLIN, 0);
    }

    /// `DEL_POLL_FD` for the descriptor, if it was announced.
    pub(crate) fn withdraw_poll_fd(&self) {
        if self.poll_callbacks.replace(false) {
            self.announce_poll_fd(Reason::DelPollFd, 0, POLLIN);
        }
    }

    fn announce_poll_fd(&self, reason: Reason, events: i32, prev_events: i32) {
        // lws' `struct lws_pollargs { int fd; int events; int prev_events; }`
        // has the layout of three i32s; the callback reads it as `in` while
        // this frame lives.
        let mut args: [i32; 3] = [self.poll_fd(), events, prev_events];
        self.call_protocol(0, Reason::LockPoll, CbIn::Len(1));
        let args = CbIn::Opaque(Opaque(args.as_mut_ptr().cast()));
        self.call_protocol(0, reason, args);
        self.call_protocol(0, Reason::UnlockPoll, CbIn::Len(1));
    }

    /// Runs `f` for each live connection bound to protocol `index`, with
    /// the connection and its `user`, counted as a callback (so the
    /// reentrancy rules hold inside). For `ws_callback_all_protocol`.
    pub fn for_each_of_protocol(&self, index: usize, mut f: impl FnMut(ConnId, Opaque)) {
        for id in self.connections_of(index) {
            // As lws: connections that have a socket, not those still
            // waiting for their WSI_CREATE or already finished.
            let user = self.with_conn(id, |c| {
                (!matches!(c.phase, Phase::New | Phase::Done(_))).then_some(c.user)
            });
            let Some(Some(user)) = user else {
                continue;
            };
            let _inside = super::Marker::enter(&self.depth);
            f(id, user);
        }
    }

    /// The socket descriptor of a connection, while it has one.
    pub fn socket_fd(&self, id: ConnId) -> Option<RawFd> {
        self.with_conn(id, |c| c.sock.as_ref().map(|s| s.tcp.as_raw_fd()))
            .flatten()
    }

    /// Whether the connection is over TLS.
    pub fn is_tls(&self, id: ConnId) -> bool {
        self.with_conn(id, |c| c.req.tls.is_some()) == Some(true)
    }

    /// The peer's address as text ("127.0.0.1", "::1"), once connected.
    pub fn peer_ip(&self, id: ConnId) -> Option<String> {
        self.with_conn(id, |c| {
            c.sock
                .as_ref()
                .and_then(|s| s.tcp.peer_addr().ok())
                .map(|a| a.ip().to_string())
        })
        .flatten()
    }
}

/// poll(2)'s POLLIN, as lws' `LWS_POLLIN` on Linux.
const POLLIN: i32 = 0x1;
