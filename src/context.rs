//! The context: one mio poll loop, its connections, timers and the queue of
//! deferred work, serviced one iteration per `ws_service` call.
//!
//! Callbacks may reenter the context, so everything here takes `&self`, state
//! sits in `RefCell`s borrowed only between callbacks, and a connection is
//! removed only by the loop itself, never while a callback is running.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::{Events, Poll, Token, Waker};
use rand::rngs::StdRng;
use rand::{RngCore, SeedableRng};

use crate::callbacks::{Callbacks, CbIn, ConnId, Opaque, Reason, Target};
use crate::connection::{pend, Conn, Phase};
use crate::error::ConnectError;
use crate::frame;
use crate::log;
use crate::resolve::Resolver;
use crate::retry::RetryPolicy;
use crate::timers::{Key, Kind, Timers};

/// Bytes kept free before received payload (libwebsockets' LWS_PRE).
pub(crate) const RX_HEADROOM: usize = 16;
/// Bytes read from a socket at a time.
const READ_SIZE: usize = 64 * 1024;
const WAKER: Token = Token(usize::MAX);
/// Deferred work items one iteration may run beyond those queued before it.
const PENDING_EXTRA: usize = 256;
/// Writes smaller than this, made inside a callback after its first write,
/// are queued and sent together after the callback; larger ones, and the
/// first, go straight to the socket.
const DIRECT_WRITE_MIN: usize = 16 * 1024;
/// Bytes a connection's send queue may hold before `ws_write` refuses more:
/// a peer that stops reading must not make the queue grow without end.
/// A write into an empty queue is always taken, whatever its size.
pub(crate) const SEND_QUEUE_LIMIT: usize = 16 * 1024 * 1024;

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
}

/// A connection to make.
#[derive(Clone, Debug)]
pub struct ConnectRequest {
    pub address: String,
    pub port: u16,
    pub path: String,
    /// The Host header.
    pub host: String,
    pub origin: Option<String>,
    /// Sent verbatim as Sec-WebSocket-Protocol.
    pub protocol: Option<String>,
    /// The protocol table entry the connection is bound to.
    pub protocol_index: usize,
    pub userdata: Opaque,
    pub opaque_user_data: Opaque,
    /// Where the application keeps the handle; cleared on failure.
    pub pwsi: Opaque,
    pub require_subprotocol: bool,
    /// Set for wss://.
    pub tls: Option<crate::tls::TlsRequest>,
    /// Overrides the context's retry and keepalive policy.
    pub retry: Option<RetryPolicy>,
}

/// How long `service` may wait for events.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wait {
    /// Handle what is ready and return.
    None,
    /// Until an event or the next timer.
    Forever,
    /// At most this long.
    Max(Duration),
}

/// Why a write was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteError {
    Gone,
    NotOpen(&'static str),
    Invalid(String),
}

/// What `write` did with a frame.
enum Sent {
    /// Went to the socket (what it refused is queued).
    Direct,
    /// Queued, to be flushed after the callback.
    Queued,
    /// The socket failed: the connection is lost.
    Lost,
}

/// One socket's readiness from a poll.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Ready {
    token: Token,
    pub readable: bool,
    pub writable: bool,
    /// The peer closed (or the socket failed): read until it would block,
    /// since no further event will come.
    pub closed: bool,
}

/// The context can no longer be used (its poll loop failed, or it was destroyed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unusable;

struct Slot {
    gen: u32,
    conn: Option<Box<Conn>>,
}

pub struct Context {
    pub(crate) cfg: Config,
    callbacks: Box<dyn Callbacks>,
    pub(crate) poll: RefCell<Poll>,
    events: RefCell<Events>,
    waker: Arc<Waker>,
    cancelled: Arc<AtomicBool>,
    pub(crate) resolver: Resolver,
    pub(crate) tls: crate::tls::Tls,
    slots: RefCell<Vec<Slot>>,
    free: RefCell<Vec<u32>>,
    timers: RefCell<Timers>,
    /// When the current loop iteration's events arrived.
    now: Cell<Instant>,
    pending: RefCell<VecDeque<ConnId>>,
    /// The events of one poll, reused so an iteration allocates nothing.
    ready: RefCell<Vec<Ready>>,
    rx_buf: RefCell<Vec<u8>>,
    depth: Cell<u32>,
    in_service: Cell<bool>,
    serviced: Cell<bool>,
    destroyed: Cell<bool>,
    rng: RefCell<StdRng>,
}

/// The mio token of a connection.
pub(crate) fn conn_token(id: ConnId) -> Token {
    Token(conn_key(id) as usize)
}

/// A connection as one number (resolver keys, tokens).
pub(crate) fn conn_key(id: ConnId) -> u64 {
    u64::from(id.index) | (u64::from(id.gen) << 32)
}

fn key_conn(key: u64) -> ConnId {
    ConnId {
        index: key as u32,
        gen: (key >> 32) as u32,
    }
}

impl Context {
    pub fn new(cfg: Config, callbacks: Box<dyn Callbacks>) -> std::io::Result<Context> {
        let poll = Poll::new()?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
        Ok(Context {
            tls: crate::tls::Tls::new(cfg.tls.clone()),
            resolver: Resolver::new(Arc::clone(&waker)),
            rx_buf: RefCell::new(vec![0; RX_HEADROOM + READ_SIZE + 1]),
            cfg,
            callbacks,
            poll: RefCell::new(poll),
            events: RefCell::new(Events::with_capacity(1024)),
            waker,
            cancelled: Arc::new(AtomicBool::new(false)),
            slots: RefCell::new(Vec::new()),
            free: RefCell::new(Vec::new()),
            timers: RefCell::new(Timers::default()),
            now: Cell::new(Instant::now()),
            pending: RefCell::new(VecDeque::new()),
            ready: RefCell::new(Vec::new()),
            depth: Cell::new(0),
            in_service: Cell::new(false),
            serviced: Cell::new(false),
            destroyed: Cell::new(false),
            rng: RefCell::new(StdRng::from_os_rng()),
        })
    }

    /// What another thread needs to wake the loop (`ws_cancel_service`).
    pub fn canceller(&self) -> (Arc<Waker>, Arc<AtomicBool>) {
        (Arc::clone(&self.waker), Arc::clone(&self.cancelled))
    }

    /// Delivers PROTOCOL_INIT to every protocol.
    pub fn init_protocols(&self) {
        for (i, p) in self.cfg.protocols.iter().enumerate() {
            self.call_protocol(i, Reason::ProtocolInit, CbIn::Opaque(p.pvo));
        }
    }

    /// True while a callback is running on this context.
    pub fn in_callback(&self) -> bool {
        self.depth.get() > 0
    }

    fn call_protocol(&self, index: usize, reason: Reason, data: CbIn<'_>) -> i32 {
        self.depth.set(self.depth.get() + 1);
        let r = self
            .callbacks
            .call(index, Target::Protocol(index), reason, Opaque::NULL, data);
        self.depth.set(self.depth.get() - 1);
        r
    }

    /// Calls the connection's protocol callback; None when the connection is gone.
    pub(crate) fn dispatch(&self, id: ConnId, reason: Reason, data: CbIn<'_>) -> Option<i32> {
        let target = self.with_conn(id, |c| {
            c.wrote_in_callback = false;
            (c.protocol, c.user)
        })?;
        Some(self.call_conn(id, target, reason, data))
    }

    /// Calls protocol `target.0`'s callback for the connection with `user`
    /// `target.1`, both just read from it (and its `wrote_in_callback`
    /// cleared) by the caller.
    pub(crate) fn call_conn(
        &self,
        id: ConnId,
        (protocol, user): (usize, Opaque),
        reason: Reason,
        data: CbIn<'_>,
    ) -> i32 {
        self.depth.set(self.depth.get() + 1);
        let r = self
            .callbacks
            .call(protocol, Target::Conn(id), reason, user, data);
        self.depth.set(self.depth.get() - 1);
        r
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

    pub(crate) fn chunk_size(&self, protocol: usize) -> usize {
        match self.cfg.protocols[protocol].rx_buffer_size {
            0 => self.cfg.pt_serv_buf_size,
            n => n,
        }
    }

    pub(crate) fn mask(&self) -> [u8; 4] {
        self.rng.borrow_mut().next_u32().to_ne_bytes()
    }

    pub(crate) fn take_rx_buf(&self) -> Vec<u8> {
        let b = std::mem::take(&mut *self.rx_buf.borrow_mut());
        if b.is_empty() {
            vec![0; RX_HEADROOM + READ_SIZE + 1]
        } else {
            b
        }
    }

    pub(crate) fn put_rx_buf(&self, b: Vec<u8>) {
        *self.rx_buf.borrow_mut() = b;
    }

    pub(crate) fn set_deadline(&self, c: &mut Conn, after: Duration) {
        self.arm(c, Kind::Deadline, after);
    }

    /// Sets the connection's timer of `kind` to fire after `after`, replacing any earlier one.
    pub(crate) fn arm(&self, c: &mut Conn, kind: Kind, after: Duration) {
        let key = Key::Conn {
            index: c.id.index,
            gen: c.id.gen,
            kind,
        };
        c.timer_seq[kind as usize] = self.timers.borrow_mut().push(Instant::now() + after, key);
    }

    /// The time the current loop iteration started handling events.
    pub(crate) fn loop_time(&self) -> Instant {
        self.now.get()
    }

    /// Queues deferred work for a connection.
    pub(crate) fn pend(&self, id: ConnId, what: u8) {
        let first = self.with_conn(id, |c| {
            let first = c.pend == 0;
            c.pend |= what;
            first
        });
        if first == Some(true) {
            self.pending.borrow_mut().push_back(id);
        }
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
            let policy = req.retry.clone().unwrap_or_else(|| self.cfg.retry.clone());
            slot.conn = Some(Box::new(Conn::new(id, protocol, pss, req, max, policy)));
            id
        };
        self.pend(id, pend::START);
        Ok(id)
    }

    /// One loop iteration. Err once the context is unusable.
    pub fn service(&self, wait: Wait) -> Result<(), Unusable> {
        if self.destroyed.get() {
            return Err(Unusable);
        }
        if self.in_service.get() || self.in_callback() {
            wlog!(
                log::ERR,
                "ws_service called from inside a callback: ignored (callbacks run inside ws_service; return and let the loop call again)"
            );
            return Ok(());
        }
        self.in_service.set(true);
        self.serviced.set(true);
        let r = self.service_once(wait);
        self.in_service.set(false);
        r
    }

    fn service_once(&self, wait: Wait) -> Result<(), Unusable> {
        let mut timeout = match wait {
            Wait::None => Some(Duration::ZERO),
            Wait::Forever => None,
            Wait::Max(d) => Some(d),
        };
        if !self.pending.borrow().is_empty() {
            timeout = Some(Duration::ZERO);
        } else if timeout != Some(Duration::ZERO) {
            if let Some(t) = self.next_live_due() {
                let until = t.saturating_duration_since(Instant::now());
                timeout = Some(timeout.map_or(until, |d| d.min(until)));
            }
        }
        let mut ready = std::mem::take(&mut *self.ready.borrow_mut());
        ready.clear();
        {
            let mut events = self.events.borrow_mut();
            if let Err(e) = self.poll.borrow_mut().poll(&mut events, timeout) {
                if e.kind() != std::io::ErrorKind::Interrupted {
                    wlog!(log::ERR, "poll failed: {e}");
                    return Err(Unusable);
                }
            }
            ready.extend(events.iter().map(|e| {
                let closed = e.is_error() || e.is_read_closed() || e.is_write_closed();
                Ready {
                    token: e.token(),
                    readable: e.is_readable() || closed,
                    writable: e.is_writable() || closed,
                    closed,
                }
            }));
        }
        self.now.set(Instant::now());
        for r in &ready {
            if r.token == WAKER {
                self.on_wake();
            } else {
                self.on_socket(key_conn(r.token.0 as u64), r);
            }
        }
        *self.ready.borrow_mut() = ready;
        self.run_timers();
        self.run_pending();
        Ok(())
    }

    fn on_wake(&self) {
        for (key, result) in self.resolver.take() {
            self.resolved(key_conn(key), result);
        }
        if self.cancelled.swap(false, Ordering::AcqRel) {
            for i in 0..self.cfg.protocols.len() {
                self.call_protocol(i, Reason::EventWaitCancelled, CbIn::None);
            }
        }
    }

    /// When the earliest timer that still applies is due. Entries that no
    /// longer apply (the handshake deadline of an established connection, a
    /// moved or cancelled sul) are dropped from the top of the heap here, so
    /// they cost neither clock reads nor early wake-ups.
    fn next_live_due(&self) -> Option<Instant> {
        loop {
            let (at, seq, key) = self.timers.borrow().peek()?;
            let live = match key {
                Key::Conn { index, gen, kind } => {
                    let id = ConnId { index, gen };
                    self.with_conn(id, |c| c.timer_seq[kind as usize] == seq) == Some(true)
                }
                Key::Sul(k) => self.timers.borrow().sul_live(k, seq),
            };
            if live {
                return Some(at);
            }
            self.timers.borrow_mut().pop();
        }
    }

    /// Fires what is due now (not what callbacks schedule for "now" meanwhile).
    fn run_timers(&self) {
        if self.timers.borrow().entries() == 0 {
            return;
        }
        // The time the iteration's events arrived: what fell due while they
        // were handled runs at the next iteration, which then does not wait.
        let now = self.now.get();
        loop {
            let due = self.timers.borrow_mut().pop_due(now);
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
                    }
                }
                Key::Sul(k) => {
                    if self.timers.borrow_mut().fire_sul(k, seq) {
                        self.depth.set(self.depth.get() + 1);
                        self.callbacks.sul(k);
                        self.depth.set(self.depth.get() - 1);
                    }
                }
            }
        }
    }

    // ---- scheduled callbacks and timers, for the application ----

    /// Schedules (or moves) the callback behind `key` to run after `after`.
    pub fn sul_schedule(&self, key: usize, after: Duration) {
        self.timers
            .borrow_mut()
            .schedule_sul(key, Instant::now() + after);
    }

    /// Unschedules it; false when it was not scheduled.
    pub fn sul_cancel(&self, key: usize) -> bool {
        self.timers.borrow_mut().cancel_sul(key)
    }

    /// `CALLBACK_TIMER` for the connection after `after`; None cancels.
    pub fn set_timer(&self, id: ConnId, after: Option<Duration>) -> bool {
        self.with_conn(id, |c| match after {
            Some(d) => self.arm(c, Kind::User, d),
            None => c.timer_seq[Kind::User as usize] = 0,
        })
        .is_some()
    }

    /// Closes the connection after `after` (None cancels; zero closes at
    /// the next service). `reason` is the application's, for the log.
    pub fn set_timeout(&self, id: ConnId, reason: i32, after: Option<Duration>) -> bool {
        let r = self.with_conn(id, |c| {
            c.kill_reason = reason;
            match after {
                None => {
                    c.timer_seq[Kind::Kill as usize] = 0;
                    false
                }
                Some(d) if d.is_zero() => true,
                Some(d) => {
                    self.arm(c, Kind::Kill, d);
                    false
                }
            }
        });
        match r {
            Some(now) => {
                if now {
                    self.pend(id, pend::KILL);
                }
                true
            }
            None => false,
        }
    }

    /// Pauses (false) or resumes (true) receiving on the connection.
    pub fn rx_flow(&self, id: ConnId, enable: bool) -> bool {
        let resume = self.with_conn(id, |c| {
            let was = c.rx_paused;
            c.rx_paused = !enable;
            was && enable
        });
        match resume {
            Some(true) => {
                self.pend(id, pend::READ);
                true
            }
            Some(false) => true,
            None => false,
        }
    }

    /// Fills `buf` from the context's random generator (seeded by the OS).
    pub fn random(&self, buf: &mut [u8]) {
        self.rng.borrow_mut().fill_bytes(buf);
    }

    /// The connection's retry and keepalive policy.
    pub fn retry_policy(&self, id: ConnId) -> Option<RetryPolicy> {
        self.with_conn(id, |c| c.policy.clone())
    }

    /// The next backoff delay under `policy` (lws_retry_get_delay_ms).
    pub fn retry_delay(&self, policy: &RetryPolicy, ctry: &mut u16) -> (u32, bool) {
        let mut r = [0u8; 2];
        self.random(&mut r);
        policy.next_delay(ctry, u16::from_ne_bytes(r))
    }

    fn run_pending(&self) {
        // Work queued while this runs (mostly a connection asking for the
        // next CLIENT_WRITEABLE after a write the socket took whole) is done
        // in this iteration too, up to a budget, rather than after another
        // poll: a pipelining sender then costs one poll per burst, not one
        // per message.
        let mut budget = self.pending.borrow().len() + PENDING_EXTRA;
        while budget > 0 {
            budget -= 1;
            let Some(id) = self.pending.borrow_mut().pop_front() else {
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
        if self.pending.borrow().is_empty() {
            return;
        }
        // Reaps left over when the budget ran out are done now rather than
        // after the next wait.
        let reaps: Vec<ConnId> = self
            .pending
            .borrow()
            .iter()
            .copied()
            .filter(|id| self.with_conn(*id, |c| c.pend & pend::REAP != 0) == Some(true))
            .collect();
        for id in reaps {
            self.reap(id);
        }
        self.pending.borrow_mut().retain(|id| self.is_live(*id));
    }

    /// Delivers the final callbacks of a finished connection and frees it.
    fn reap(&self, id: ConnId) {
        let Some((failure, pwsi)) = self.with_conn(id, |c| {
            c.phase = Phase::Done;
            let _ = c.flush();
            let failure = if c.established {
                None
            } else {
                Some(
                    c.failure
                        .take()
                        .unwrap_or(ConnectError::ClosedByApplication),
                )
            };
            (failure, c.req.pwsi)
        }) else {
            return;
        };
        match failure {
            Some(e) => {
                let msg = e.to_string();
                wlog!(log::ERR, "CLIENT_CONNECTION_ERROR: {msg}");
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
                if c.established && !c.close_sent {
                    c.queue_frame(frame::OpCode::Close, true, &1001u16.to_be_bytes(), mask);
                    c.close_sent = true;
                }
                if c.failure.is_none() && !c.established {
                    c.failure = Some(ConnectError::ContextDestroyed);
                }
            });
            self.reap(id);
        }
        for i in 0..self.cfg.protocols.len() {
            self.call_protocol(i, Reason::ProtocolDestroy, CbIn::None);
        }
    }

    // ---- calls from the application on a connection ----

    /// Frames and sends (or queues) one message or fragment. `buf` holds
    /// `head` bytes of headroom, then the payload; the headroom and payload
    /// may be overwritten. Returns the payload length.
    pub fn write(
        &self,
        id: ConnId,
        buf: &mut [u8],
        head: usize,
        kind: u32,
    ) -> Result<usize, WriteError> {
        let len = buf.len() - head;
        let mask = self.mask();
        let in_callback = self.in_callback();
        let r = self.with_conn(id, |c| {
            match c.phase {
                Phase::Established if !c.close_sent => {}
                Phase::Established | Phase::Closing => {
                    return Err(WriteError::NotOpen("the connection is closing"))
                }
                Phase::Done => return Err(WriteError::NotOpen("the connection is closed")),
                _ => {
                    return Err(WriteError::NotOpen(
                        "the connection is not established yet (wait for CLIENT_ESTABLISHED)",
                    ))
                }
            }
            let queued = c.buffered();
            if queued > 0 && queued + len > SEND_QUEUE_LIMIT {
                return Err(WriteError::Invalid(format!(
                    "{len} bytes refused for {}: {queued} bytes are still queued (limit {SEND_QUEUE_LIMIT}), the peer is not reading; write from CLIENT_WRITEABLE, or check ws_send_pipe_choked() first",
                    c.target()
                )));
            }
            let (op, fin) = c.tx_frame_kind(kind).map_err(WriteError::Invalid)?;
            if matches!(op, frame::OpCode::Ping | frame::OpCode::Pong)
                && len > frame::MAX_CONTROL_PAYLOAD
            {
                return Err(WriteError::Invalid(format!(
                    "{op:?} payload of {len} bytes refused: control frames carry at most 125 bytes"
                )));
            }
            // The first write of a callback goes straight out, framed in place;
            // more small ones in the same callback are queued and sent
            // together after it.
            let batch = in_callback && len < DIRECT_WRITE_MIN && c.wrote_in_callback;
            c.wrote_in_callback |= in_callback;
            if c.backlogged() || batch {
                c.queue_frame(op, fin, &buf[head..], mask);
                return Ok(Sent::Queued);
            }
            // Frame in place in the headroom and hand it straight to the socket.
            let hlen = frame::header_len(len);
            let mut hdr = [0u8; frame::MAX_HEADER];
            frame::encode_header(&mut hdr, op, fin, len, mask);
            let start = head - hlen;
            buf[start..head].copy_from_slice(&hdr[..hlen]);
            frame::apply_mask(&mut buf[head..], mask);
            let frame_bytes = &buf[start..];
            let sent = match c.sock.as_mut().map(|s| s.write(frame_bytes)) {
                Some(Ok(n)) => n,
                Some(Err(e)) if e.kind() == std::io::ErrorKind::WouldBlock => 0,
                Some(Err(e)) if e.kind() == std::io::ErrorKind::Interrupted => 0,
                Some(Err(e)) => {
                    wlog!(log::NOTICE, "write to {} failed: {e}", c.target());
                    c.phase = Phase::Done;
                    return Ok(Sent::Lost);
                }
                None => 0,
            };
            if sent < frame_bytes.len() {
                // Only what the socket refused is copied; its writable event drains it.
                c.out.extend_from_slice(&frame_bytes[sent..]);
            }
            Ok(Sent::Direct)
        });
        match r {
            None => Err(WriteError::Gone),
            Some(Err(e)) => Err(e),
            Some(Ok(Sent::Lost)) => {
                self.finish_later(id);
                Err(WriteError::NotOpen("the connection was lost"))
            }
            Some(Ok(Sent::Direct)) => Ok(len),
            Some(Ok(Sent::Queued)) => {
                if in_callback || self.in_service.get() {
                    self.pend(id, pend::FLUSH);
                } else {
                    self.after_io(id);
                }
                Ok(len)
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

    /// Asks for one CLIENT_WRITEABLE. 1 when requested, 0 when the connection
    /// cannot write any more, -1 when it is gone.
    pub fn callback_on_writable(&self, id: ConnId) -> i32 {
        let r = self.with_conn(id, |c| match c.phase {
            Phase::Closing | Phase::Done => 0,
            _ => {
                c.want_writeable = true;
                1
            }
        });
        match r {
            Some(1) => {
                self.pend(id, pend::WRITEABLE);
                1
            }
            Some(n) => n,
            None => -1,
        }
    }

    /// Sets the code and reason of the Close frame sent when the application closes.
    pub fn close_reason(&self, id: ConnId, code: u16, reason: &[u8]) -> bool {
        self.with_conn(id, |c| {
            c.close_reason = Some((code, reason[..reason.len().min(123)].to_vec()))
        })
        .is_some()
    }

    pub fn rx_info(&self, id: ConnId) -> Option<crate::connection::RxInfo> {
        self.with_conn(id, |c| c.rx)
    }

    pub fn user(&self, id: ConnId) -> Option<Opaque> {
        self.with_conn(id, |c| c.user)
    }

    pub fn protocol_index(&self, id: ConnId) -> Option<usize> {
        self.with_conn(id, |c| c.protocol)
    }

    /// Part of what `write` accepted is still waiting for the socket.
    pub fn backlogged(&self, id: ConnId) -> Option<bool> {
        self.with_conn(id, |c| c.backlogged())
    }

    pub fn http_status(&self, id: ConnId) -> Option<u16> {
        self.with_conn(id, |c| c.http_status)
    }

    /// A response header, while the response is available (until CLIENT_ESTABLISHED).
    pub fn response_header(&self, id: ConnId, name: &str) -> Option<Vec<u8>> {
        self.with_conn(id, |c| {
            c.response
                .as_ref()
                .and_then(|r| r.header(name).map(<[u8]>::to_vec))
        })
        .flatten()
    }

    pub fn opaque_user_data(&self, id: ConnId) -> Option<Opaque> {
        self.with_conn(id, |c| c.opaque_user_data)
    }

    pub fn set_opaque_user_data(&self, id: ConnId, data: Opaque) -> bool {
        self.with_conn(id, |c| c.opaque_user_data = data).is_some()
    }

    /// Replaces the `user` pointer callbacks receive. Per-session memory the
    /// library allocated stays allocated until the connection is destroyed.
    pub fn set_user(&self, id: ConnId, user: Opaque) -> bool {
        self.with_conn(id, |c| c.user = user).is_some()
    }
}
