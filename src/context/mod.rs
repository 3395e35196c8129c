//! The context: one mio poll loop, its connections, timers and the queue of
//! deferred work, serviced one iteration per `ws_service` call.
//!
//! Callbacks may reenter the context, so everything here takes `&self`, state
//! sits in `RefCell`s borrowed only between callbacks, and a connection is
//! removed only by the loop itself, never while a callback is running.

mod calls;
mod close;
mod dial;
mod external;
mod eyeballs;
#[cfg(test)]
pub(crate) mod inject;
mod keepalive;
mod masks;
mod outbox;
mod pending;
mod pmd;
mod receive;
mod remote;
mod restart;
mod send;
mod service;
mod stats;
mod upgrade;

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use crate::ffi::events::Events;
use mio::Poll;
use rand::rngs::StdRng;
use rand::SeedableRng;

use crate::callbacks::{Callbacks, CbIn, ConnId, Opaque, Reason, Target};
use crate::clock::Tick;
use crate::connection::{pend, Conn, ConnectRequest, Outcome, Phase};
use crate::error::ConnectError;
use crate::frame;
use crate::log;
use crate::retry::RetryPolicy;
use crate::timers::{Key, Kind, Timers};
pub(crate) use pmd::Pmd;
use receive::RxBuf;
pub(crate) use remote::Remote;
pub(crate) use send::WriteError;
use service::WAKER;

/// Events one poll collects at most.
const EVENTS: usize = 1024;
/// No connection's key (generations start at 1).
const NOBODY: u64 = 0;

/// One entry of the protocol table.
#[derive(Clone, Debug)]
pub struct ProtocolInfo {
    pub name: Option<String>,
    pub per_session_data_size: usize,
    pub rx_buffer_size: usize,
    /// Handed to PROTOCOL_INIT as `in`.
    pub pvo: Opaque,
}

/// Context settings, defaults already applied.
#[derive(Clone, Debug)]
pub struct Config {
    pub protocols: Vec<ProtocolInfo>,
    pub pt_serv_buf_size: usize,
    pub timeout_secs: u32,
    pub connect_timeout_secs: u32,
    pub max_message_size: u64,
    pub tls: crate::tls::TlsSettings,
    /// Retry and keepalive policy for connections that bring none.
    pub retry: RetryPolicy,
    /// `WS_SERVER_OPTION_JUST_USE_RAW_ORIGIN`: send `origin` as given.
    pub raw_origin: bool,
    /// The proxy settings connections start with (`ws_set_proxy` changes them).
    pub proxy: crate::proxy::ProxyConfig,
    /// The permessage-deflate offer connections make, None: none.
    pub deflate: Option<crate::deflate::Offer>,
}

/// The context can no longer be used (its poll loop failed, or it was destroyed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unusable;

/// Where PROTOCOL_INIT stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ProtocolsInit {
    Pending,
    Running,
    Done,
}

struct Slot {
    gen: u32,
    conn: Option<Box<Conn>>,
}

pub struct Context {
    pub(crate) cfg: Config,
    /// Each protocol's receive chunk: its `rx_buffer_size`, or the
    /// context's `pt_serv_buf_size` where that is 0.
    chunks: Box<[usize]>,
    /// `cfg.retry`, shared by the connections that bring no policy of their own.
    retry: Rc<RetryPolicy>,
    callbacks: Box<dyn Callbacks>,
    pub(crate) poll: RefCell<Poll>,
    /// The poll's event buffer (borrowed while an iteration runs; `service`
    /// does not reenter).
    events: RefCell<Events>,
    /// What other threads may touch.
    remote: Arc<Remote>,
    pub(crate) tls: crate::tls::Tls,
    /// Which proxy new connections take.
    proxy: RefCell<crate::proxy::ProxyConfig>,
    slots: RefCell<Vec<Slot>>,
    free: RefCell<Vec<u32>>,
    timers: RefCell<Timers>,
    /// In the poll, set to the earliest timer (None where the system has
    /// no timerfd: the poll's timeout is computed from the clock instead).
    timer_fd: Option<crate::ffi::clock::TimerFd>,
    /// What `timer_fd` is set to; None after it fired.
    armed: Cell<Option<Tick>>,
    /// The heap changed or `armed` was cleared since `timer_fd` was last
    /// found set to the heap's top: only then is the top looked at again.
    timers_moved: Cell<bool>,
    pending: pending::Pending,
    /// The connection whose received data is being delivered (its
    /// `after_io` follows), by its [`ConnId::key`]; [`NOBODY`] when none.
    receiving: Cell<u64>,
    /// The last poll filled the event buffer: more events may wait.
    events_full: Cell<bool>,
    /// The receive buffer, taken out while it is in use (a reentrant use
    /// gets a buffer of its own).
    rx_buf: Cell<Option<Box<RxBuf>>>,
    /// Callbacks running now (they nest when a callback reenters).
    depth: Cell<u32>,
    /// `service` is running (0 or 1).
    in_service: Cell<u32>,
    /// Counts `ws_service()` calls: writes stamp it (`Conn::wrote_at`) to
    /// gather the small ones one iteration makes to a connection.
    pub(crate) iteration: Cell<u32>,
    /// A panic was caught in a call on this context: what and where.
    broken: RefCell<Option<String>>,
    serviced: Cell<bool>,
    protocols_init: Cell<ProtocolsInit>,
    destroyed: Cell<bool>,
    /// The waker was woken for work queued outside `service` (external.rs).
    nudged: Cell<bool>,
    /// lws' external-poll callbacks were asked for (external.rs).
    poll_callbacks: Cell<bool>,
    rng: RefCell<StdRng>,
    /// The frames' masking keys.
    masks: masks::Masks,
    /// Totals over every connection (`ws_get_context_stats`).
    totals: RefCell<crate::stats::Totals>,
    /// permessage-deflate's settings and the streams connections borrow.
    pub(crate) pmd_pool: RefCell<crate::deflate::Pool>,
    /// Where inflated chunks are delivered from, and where a sent message
    /// is compressed (both kept for the next message once used).
    pmd_buf: RefCell<Vec<u8>>,
    pmd_scratch: RefCell<Vec<u8>>,
}

impl Context {
    pub fn new(cfg: Config, callbacks: Box<dyn Callbacks>) -> std::io::Result<Context> {
        let poll = Poll::new()?;
        let remote = Remote::new(poll.registry(), WAKER)?;
        let timer_fd = service::timer_fd(&poll);
        let events = Events::new(&poll, EVENTS);
        let chunks = cfg
            .protocols
            .iter()
            .map(|p| match p.rx_buffer_size {
                0 => cfg.pt_serv_buf_size,
                n => n,
            })
            // A chunk carries at least one byte.
            .map(|n| n.max(1))
            .collect();
        Ok(Context {
            tls: crate::tls::Tls::new(cfg.tls.clone()),
            proxy: RefCell::new(cfg.proxy.clone()),
            rx_buf: Cell::new(Some(Box::new(RxBuf::new()))),
            retry: Rc::new(cfg.retry.clone()),
            chunks,
            cfg,
            callbacks,
            poll: RefCell::new(poll),
            events: RefCell::new(events),
            remote,
            slots: RefCell::new(Vec::new()),
            free: RefCell::new(Vec::new()),
            timers: RefCell::new(Timers::default()),
            timer_fd,
            armed: Cell::new(None),
            timers_moved: Cell::new(true),
            pending: Default::default(),
            receiving: Cell::new(NOBODY),
            events_full: Cell::new(false),
            depth: Cell::new(0),
            in_service: Cell::new(0),
            iteration: Cell::new(0),
            broken: RefCell::new(None),
            serviced: Cell::new(false),
            protocols_init: Cell::new(ProtocolsInit::Pending),
            destroyed: Cell::new(false),
            nudged: Cell::new(false),
            poll_callbacks: Cell::new(false),
            rng: RefCell::new(StdRng::from_os_rng()),
            masks: masks::Masks::new(),
            totals: RefCell::new(Default::default()),
            pmd_pool: RefCell::new(crate::deflate::Pool::new(Default::default())),
            pmd_buf: RefCell::new(Vec::new()),
            pmd_scratch: RefCell::new(Vec::new()),
        })
    }

    /// What other threads may touch (`ws_cancel_service`; the handle
    /// registry keeps it).
    pub(crate) fn remote(&self) -> Arc<Remote> {
        Arc::clone(&self.remote)
    }

    /// Delivers PROTOCOL_INIT to every protocol, once: at the first
    /// `service` or the first `connect`, whichever comes first (as lws,
    /// which must return from context creation before the application
    /// holds the context). A connect from inside PROTOCOL_INIT does not
    /// start it again.
    #[inline]
    pub fn init_protocols(&self) {
        if self.protocols_init.get() == ProtocolsInit::Pending {
            self.run_protocol_init();
        }
    }

    #[cold]
    #[inline(never)]
    fn run_protocol_init(&self) {
        self.protocols_init.set(ProtocolsInit::Running);
        for (i, p) in self.cfg.protocols.iter().enumerate() {
            let r = self.call_protocol(i, Reason::ProtocolInit, CbIn::Opaque(p.pvo));
            if r != 0 {
                wlog!(
                    log::ERR,
                    "protocol '{}' failed init: its PROTOCOL_INIT returned {r}; ignored, its connections still run",
                    p.name.as_deref().unwrap_or("")
                );
            }
        }
        self.protocols_init.set(ProtocolsInit::Done);
    }

    /// True while a callback is running on this context.
    pub fn in_callback(&self) -> bool {
        self.depth.get() > 0
    }

    fn call_protocol(&self, index: usize, reason: Reason, data: CbIn<'_>) -> i32 {
        let _inside = Marker::enter(&self.depth);
        self.callbacks
            .call(index, Target::Protocol(index), reason, Opaque::NULL, data)
    }

    /// Runs the scheduled callback `key`.
    pub(crate) fn call_sul(&self, key: usize) {
        let _inside = Marker::enter(&self.depth);
        self.callbacks.sul(key);
    }

    /// A panic was caught in `what` (a C function and the panic's message):
    /// the context's state may be half-updated, so from now on only
    /// `destroy` may use it.
    pub fn mark_broken(&self, what: String) {
        self.broken.borrow_mut().get_or_insert(what);
    }

    /// Why the context is unusable, when a panic made it so.
    pub fn broken(&self) -> Option<String> {
        self.broken.borrow().clone()
    }

    /// Calls the connection's protocol callback; None when the connection is gone.
    pub(crate) fn dispatch(&self, id: ConnId, reason: Reason, data: CbIn<'_>) -> Option<i32> {
        let target = self.with_conn(id, |c| (c.protocol, c.user))?;
        Some(self.call_conn(id, target, reason, data))
    }

    /// Calls protocol `target.0`'s callback for the connection with `user`
    /// `target.1`, both just read from it by the caller.
    /// The two kinds of every message (no data, and received data) are
    /// passed as they are rather than as a [`CbIn`] to match on again.
    #[inline(always)]
    pub(crate) fn call_conn(
        &self,
        id: ConnId,
        (protocol, user): (usize, Opaque),
        reason: Reason,
        data: CbIn<'_>,
    ) -> i32 {
        let _inside = Marker::enter(&self.depth);
        #[cfg(test)]
        inject::maybe_panic("callback");
        let cb = &self.callbacks;
        match data {
            CbIn::None => cb.call_conn(protocol, id, reason, user),
            CbIn::Data { buf, start, len } => {
                cb.call_conn_data(protocol, id, reason, user, &mut buf[start..=start + len])
            }
            data => cb.call(protocol, Target::Conn(id), reason, user, data),
        }
    }

    /// Runs `f` on a live connection. `f` must not call the application.
    pub(crate) fn with_conn<R>(&self, id: ConnId, f: impl FnOnce(&mut Conn) -> R) -> Option<R> {
        let mut slots = self.slots.borrow_mut();
        match slots.get_mut(id.index as usize) {
            Some(Slot { gen, conn: Some(c) }) if *gen == id.gen => Some(f(c)),
            _ => None,
        }
    }

    /// Is this a live connection of this context?
    pub fn is_live(&self, id: ConnId) -> bool {
        self.with_conn(id, |_| ()).is_some()
    }

    /// A frame's masking key.
    #[inline(always)]
    pub(crate) fn mask(&self) -> [u8; 4] {
        self.masks.next()
    }

    pub(crate) fn set_deadline(&self, c: &mut Conn, after: Duration) {
        self.arm(c, Kind::Deadline, after);
    }

    /// The timer heap, to change it: every change goes through here, so
    /// the loop knows to look at its top again (`timer_fd_armed`).
    #[inline]
    pub(super) fn timers_mut(&self) -> std::cell::RefMut<'_, Timers> {
        self.timers_moved.set(true);
        self.timers.borrow_mut()
    }

    /// Sets the connection's timer of `kind` to fire after `after`, replacing any earlier one.
    pub(crate) fn arm(&self, c: &mut Conn, kind: Kind, after: Duration) {
        let key = Key::Conn {
            index: c.id.index,
            gen: c.id.gen,
            kind,
        };
        c.timer_seq[kind as usize] = self.timers_mut().push(Tick::now() + after, key);
    }

    /// Queues deferred work for a connection.
    #[inline]
    pub(crate) fn pend(&self, id: ConnId, what: u8) {
        if self.with_conn(id, |c| c.add_pend(what)) == Some(true) {
            self.queue_pending(id);
        }
    }

    /// Puts a connection whose first `pend` bit was just set in the queue.
    /// Out of line: its callers (`ws_callback_on_writable` above all) are
    /// small, and most calls find the bit already set.
    #[inline(never)]
    pub(super) fn queue_pending(&self, id: ConnId) {
        self.pending.push(id);
        self.nudge();
    }

    pub(crate) fn finish_later(&self, id: ConnId) {
        self.pend(id, pend::REAP);
    }

    /// Starts a connection; its progress is driven by `service`.
    pub fn connect(&self, req: ConnectRequest) -> Result<ConnId, String> {
        if self.destroyed.get() {
            return Err("the context is being destroyed".into());
        }
        let protocol = req.protocol_index;
        let pss = self.cfg.protocols[protocol].per_session_data_size;
        let max = self.cfg.max_message_size;
        let index = match self.free.borrow_mut().pop() {
            Some(i) => i,
            None => {
                let mut slots = self.slots.borrow_mut();
                if slots.len() >= (1 << 28) - 1 {
                    return Err("too many connections".into());
                }
                slots.push(Slot { gen: 0, conn: None });
                (slots.len() - 1) as u32
            }
        };
        let id = {
            let mut slots = self.slots.borrow_mut();
            let slot = &mut slots[index as usize];
            slot.gen = match slot.gen.wrapping_add(1) & 0x00ff_ffff {
                0 => 1,
                g => g,
            };
            let id = ConnId {
                index,
                gen: slot.gen,
            };
            let policy = req.retry.clone().unwrap_or_else(|| Rc::clone(&self.retry));
            slot.conn = Some(Box::new(Conn::new(id, protocol, pss, req, max, policy)));
            id
        };
        self.totals.borrow_mut().started += 1;
        self.pend(id, pend::START);
        Ok(id)
    }

    /// Delivers the final callbacks of a finished connection and frees it.
    fn reap(&self, id: ConnId) {
        if self.reconnect_instead(id) {
            return;
        }
        let Some((failure, pwsi)) = self.with_conn(id, |c| {
            c.end(|_| ConnectError::ClosedByApplication);
            let _ = c.flush();
            let failure = match &c.phase {
                Phase::Done(Outcome::Failed { error, .. }) => {
                    Some((error.to_string(), error.stage(), c.target()))
                }
                _ => None,
            };
            (failure, c.req.pwsi)
        }) else {
            return;
        };
        match failure {
            Some((msg, stage, target)) => {
                // The application usually prints `msg` itself: the library's
                // own record says what it did, below the default levels.
                wlog!(
                    log::INFO,
                    "{target}: connection failed {stage}; reported as CLIENT_CONNECTION_ERROR \"{msg}\""
                );
                self.callbacks.clear_handle(pwsi);
                let mut text = msg.into_bytes();
                let len = text.len();
                text.push(0);
                self.dispatch(
                    id,
                    Reason::ClientConnectionError,
                    CbIn::Data {
                        buf: &mut text,
                        start: 0,
                        len,
                    },
                );
            }
            None => {
                self.dispatch(id, Reason::ClientClosed, CbIn::None);
            }
        }
        self.dispatch(id, Reason::WsiDestroy, CbIn::None);
        let conn = {
            let mut slots = self.slots.borrow_mut();
            let slot = &mut slots[id.index as usize];
            slot.conn.take()
        };
        if let Some(mut c) = conn {
            self.count_ended(&c);
            if let Some(mut s) = c.sock.take() {
                s.close_notify();
                let _ = self.poll.borrow().registry().deregister(&mut s.tcp);
            }
            self.free.borrow_mut().push(id.index);
        }
    }

    /// Closes every connection (CLIENT_CONNECTION_ERROR or CLIENT_CLOSED, then
    /// WSI_DESTROY) and delivers PROTOCOL_DESTROY.
    pub fn destroy(&self) {
        if self.destroyed.replace(true) {
            return;
        }
        let ids: Vec<ConnId> = self
            .slots
            .borrow()
            .iter()
            .enumerate()
            .filter_map(|(i, s)| {
                s.conn.as_ref().map(|_| ConnId {
                    index: i as u32,
                    gen: s.gen,
                })
            })
            .collect();
        if !ids.is_empty() && !self.serviced.get() {
            wlog!(
                log::WARN,
                "ws_context_destroy: {} connection(s) never made progress because ws_service() was never called; drive the context with `while (n >= 0 && !interrupted) n = ws_service(context, 0);`",
                ids.len()
            );
        }
        let mask = self.mask();
        for id in ids {
            self.with_conn(id, |c| {
                if matches!(c.phase, Phase::Established) {
                    c.queue_frame(frame::OpCode::Close, true, &1001u16.to_be_bytes(), mask);
                    c.phase = Phase::Closing;
                }
                if !c.was_established() {
                    c.fail(ConnectError::ContextDestroyed);
                }
            });
            self.reap(id);
        }
        self.withdraw_poll_fd();
        // Protocols that never had PROTOCOL_INIT get no PROTOCOL_DESTROY.
        if self.protocols_init.get() == ProtocolsInit::Done {
            for i in 0..self.cfg.protocols.len() {
                self.call_protocol(i, Reason::ProtocolDestroy, CbIn::None);
            }
        }
    }

    /// The live connections bound to protocol `index`.
    pub fn connections_of(&self, index: usize) -> Vec<ConnId> {
        self.slots
            .borrow()
            .iter()
            .enumerate()
            .filter_map(|(i, s)| match &s.conn {
                Some(c) if c.protocol == index => Some(ConnId {
                    index: i as u32,
                    gen: s.gen,
                }),
                _ => None,
            })
            .collect()
    }
}

/// A count that is raised for as long as the marker lives: "inside a
/// callback" (or "inside service") ends however the scope is left, a
/// caught panic included.
pub(crate) struct Marker<'a>(&'a Cell<u32>);

impl<'a> Marker<'a> {
    #[inline]
    pub(crate) fn enter(count: &'a Cell<u32>) -> Marker<'a> {
        count.set(count.get() + 1);
        Marker(count)
    }
}

impl Drop for Marker<'_> {
    #[inline]
    fn drop(&mut self) {
        self.0.set(self.0.get() - 1);
    }
}
