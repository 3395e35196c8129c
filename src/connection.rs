//! One client connection's data: what it was asked to do, its phase and its
//! queues. The steps that move it along live in `context/`, one file per
//! stage of the data path; nothing here calls the application.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::rc::Rc;

use crate::callbacks::{ConnId, Opaque};
use crate::clock::Tick;
use crate::error::ConnectError;
use crate::frame::{self, Decoder, OpCode};
use crate::handshake::Response;
use crate::happy_eyeballs::Attempt;
use crate::proxy::{Proxy, Tunnel};
use crate::retry::RetryPolicy;
use crate::stream::Stream;
use crate::timers::KINDS;

mod names;
mod redial;
pub(crate) use names::Names;
pub(crate) use redial::{peer_name, Restart};

/// Where a connection is, with the data that is valid only there. Each
/// stage in `context/` moves a connection out of its phase in one place.
///
/// `repr(u8)` gives it a plain tag byte: the per-message checks (open?
/// closing?) read one byte instead of decoding a niche in the variants' data.
#[repr(u8)]
pub(crate) enum Phase {
    /// Created; WSI_CREATE not yet delivered.
    New,
    /// Waiting for the resolver.
    Resolving,
    /// TCP connects to the resolved addresses are under way (Happy
    /// Eyeballs), or a Unix socket's connect.
    Connecting(Box<Dialing>),
    /// TCP to a proxy is up; the tunnel handshake (CONNECT or SOCKS5) is
    /// under way.
    Tunneling(Box<Tunneling>),
    /// TCP to an HTTPS proxy is up; the TLS handshake with it is under way.
    ProxyTls,
    /// TCP is up; the TLS handshake is under way.
    Tls,
    /// The upgrade request is going out and the response head coming in.
    /// Held inline: it allocates nothing unless the socket takes the
    /// request in pieces or the answer's head arrives in pieces.
    Upgrading(Exchange),
    /// The response head arrived and is being checked; the application may
    /// read its headers (CLIENT_FILTER_PRE_ESTABLISH).
    Accepting(Box<Response>),
    /// Open for messages both ways.
    Established,
    /// A Close frame was sent; waiting for the peer's Close or TCP close.
    Closing,
    /// Finished; the final callbacks are due.
    Done(Outcome),
}

/// The TCP attempts to a name's addresses (RFC 8305: the next starts
/// 250 ms after the previous while it is pending, the first to connect
/// wins). A Unix socket's connect has no addresses: its socket is the
/// connection's own from the start.
pub(crate) struct Dialing {
    pub(crate) race: crate::happy_eyeballs::Race,
    /// Attempts under way, each socket registered under the connection's token.
    pub(crate) pending: crate::few::Few<(Attempt, mio::net::TcpStream)>,
    /// Each address that failed and why, in the order they failed.
    pub(crate) failures: Vec<(SocketAddr, io::Error)>,
}

/// The proxy a connection goes through, from its first step until the
/// tunnel is open.
pub(crate) struct Via {
    pub(crate) proxy: Proxy,
    /// The target's address, for a `socks5://` proxy (the client resolves
    /// the target): set once the target's name is resolved.
    pub(crate) target_ip: Option<IpAddr>,
}

impl Via {
    /// The target's name must be resolved here before the proxy's.
    pub(crate) fn needs_target_ip(&self) -> bool {
        self.proxy.resolves_target_locally() && self.target_ip.is_none()
    }
}

/// A tunnel handshake with a proxy: bytes going out, the answer coming in.
pub(crate) struct Tunneling {
    pub(crate) tunnel: Tunnel,
    pub(crate) out: Vec<u8>,
    pub(crate) sent: usize,
}

/// The upgrade exchange: the request going out, the response head coming in.
pub(crate) struct Exchange {
    /// The random bytes of the Sec-WebSocket-Key sent, to check the answer
    /// against.
    pub(crate) nonce: [u8; 16],
    /// The permessage-deflate offer sent, to check the answer against.
    pub(crate) offer: Option<crate::deflate::Offer>,
    /// What the socket has not taken yet of the request, and the start of
    /// the answer's head: made only when either comes in pieces.
    pub(crate) partial: Option<Box<Partial>>,
}

/// An upgrade request the socket took in part, or a response head that
/// arrived in part.
#[derive(Default)]
pub(crate) struct Partial {
    pub(crate) unsent: Vec<u8>,
    pub(crate) head: Vec<u8>,
}

impl Exchange {
    /// Bytes of the answer's head received so far.
    pub(crate) fn head_len(&self) -> usize {
        self.partial.as_ref().map_or(0, |p| p.head.len())
    }
}

/// How a connection ended.
pub(crate) enum Outcome {
    /// It was established: the application gets CLIENT_CLOSED.
    Closed,
    /// It never was: the application gets CLIENT_CONNECTION_ERROR. The
    /// response, when one came, stays readable during that callback.
    Failed {
        /// Boxed: an open connection's phase stays small.
        error: Box<ConnectError>,
        response: Option<Box<Response>>,
    },
}

/// Bytes of frames gathered in one loop iteration after which they are sent
/// without waiting for more (and `ws_send_pipe_choked()` says 1).
pub(crate) const GATHER_MAX: usize = 64 * 1024;

/// Work the service loop owes a connection outside socket events.
pub(crate) mod pend {
    pub(crate) const START: u8 = 1;
    pub(crate) const WRITEABLE: u8 = 2;
    pub(crate) const FLUSH: u8 = 4;
    pub(crate) const REAP: u8 = 8;
    /// `ws_set_timeout` asked for an immediate close.
    pub(crate) const KILL: u8 = 16;
    /// Receiving was resumed: deliver what was held back, then read.
    pub(crate) const READ: u8 = 32;
}

/// Receive state the application reads during `CLIENT_RECEIVE`.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct RxInfo {
    pub(crate) first: bool,
    pub(crate) last: bool,
    pub(crate) binary: bool,
    pub(crate) remaining: u64,
}

/// Why a write request does not fit the message in progress.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Misframed {
    /// PING or PONG without FIN.
    FragmentedControl,
    /// TEXT or BINARY while a fragmented message is unfinished.
    MessageInProgress,
    /// CONTINUATION with no fragmented message started.
    NoMessageInProgress,
}

/// One client connection.
pub(crate) struct Conn {
    pub(crate) id: ConnId,
    /// The protocol table entry its callbacks go to.
    pub(crate) protocol: usize,
    /// The `user` pointer its callbacks get.
    pub(crate) user: Opaque,
    /// Zeroed per-session data, 16-byte aligned, when the library owns it.
    pss: Box<[u128]>,
    pub(crate) opaque_user_data: Opaque,
    pub(crate) req: ConnectRequest,
    pub(crate) phase: Phase,
    /// The socket, from the first connect attempt on.
    pub(crate) sock: Option<Stream>,
    /// The proxy on the way, until the tunnel through it is open.
    pub(crate) via: Option<Box<Via>>,
    pub(crate) decoder: Decoder,
    /// What the current CLIENT_RECEIVE is.
    pub(crate) rx: RxInfo,
    /// Frames the socket has not taken yet, from `out_pos` on.
    pub(crate) out: Vec<u8>,
    pub(crate) out_pos: usize,
    /// A CLIENT_WRITEABLE was asked for.
    pub(crate) want_writeable: bool,
    /// The Close the application asked for (`ws_close_reason`), or the peer's to echo.
    pub(crate) close_reason: Option<Box<(u16, Vec<u8>)>>,
    /// A message sent with WS_WRITE_NO_FIN is unfinished.
    tx_message_open: bool,
    /// The live heap entry of each kind of timer (0: none).
    pub(crate) timer_seq: [u64; KINDS],
    /// The `ws_set_timeout` reason, for the log.
    pub(crate) kill_reason: i32,
    /// `ws_rx_flow_control(wsi, 0)`: nothing is read or delivered.
    pub(crate) rx_paused: bool,
    /// Bytes read but not yet decoded when receiving was paused.
    pub(crate) rx_stash: Vec<u8>,
    /// Usually the context's own, shared.
    pub(crate) policy: Rc<RetryPolicy>,
    /// When data last arrived (keepalive's proof of life), at most a
    /// keepalive step late (`context/keepalive.rs`).
    pub(crate) last_rx: Tick,
    /// `stats.rx_wire` when keepalive last looked: more means data since.
    pub(crate) rx_seen: u64,
    /// Keepalive waits for quiet to end: the next data read is stamped
    /// with the clock.
    pub(crate) rx_stamp: bool,
    /// A keepalive PING is out.
    pub(crate) ping_sent: bool,
    /// `pend` bits of deferred work.
    pub(crate) pend: u8,
    /// The loop iteration (`Context::iteration`) of the last write: a
    /// callback's small write after another in the same iteration is
    /// gathered into the send queue rather than sent on its own.
    pub(crate) wrote_at: u32,
    /// The send queue holds only frames gathered in this iteration, not yet
    /// offered to the socket: they do not hold back CLIENT_WRITEABLE or make
    /// the pipe choked (below [`GATHER_MAX`]), and go out together.
    pub(crate) gathering: bool,
    /// The upgrade response's status, once one arrived.
    pub(crate) http_status: u16,
    /// Messages other threads write (`ws_sender_write`), once asked for.
    pub(crate) outbox: Option<crate::outbox::Link>,
    /// Redirects followed and reconnect attempts, from the first of either.
    pub(crate) restart: Option<Box<Restart>>,
    /// What `ws_get_conn_stats` reports.
    pub(crate) stats: crate::stats::Stats,
    /// permessage-deflate, once the server accepted it.
    pub(crate) pmd: Option<Box<crate::context::Pmd>>,
}

impl Conn {
    pub(crate) fn new(
        id: ConnId,
        protocol: usize,
        pss_size: usize,
        req: ConnectRequest,
        max_message: u64,
        policy: Rc<RetryPolicy>,
    ) -> Conn {
        let pss = if req.userdata.is_null() && pss_size > 0 {
            vec![0u128; pss_size.div_ceil(16)].into_boxed_slice()
        } else {
            Box::default()
        };
        let mut c = Conn {
            id,
            protocol,
            user: req.userdata,
            pss,
            opaque_user_data: req.opaque_user_data,
            req,
            via: None,
            phase: Phase::New,
            sock: None,
            decoder: Decoder::new(max_message),
            rx: RxInfo::default(),
            out: Vec::new(),
            out_pos: 0,
            want_writeable: false,
            close_reason: None,
            tx_message_open: false,
            timer_seq: [0; KINDS],
            kill_reason: 0,
            rx_paused: false,
            rx_stash: Vec::new(),
            policy,
            last_rx: Tick::now(),
            rx_seen: 0,
            rx_stamp: false,
            ping_sent: false,
            pend: 0,
            wrote_at: 0,
            gathering: false,
            http_status: 0,
            outbox: None,
            restart: None,
            stats: Default::default(),
            pmd: None,
        };
        if !c.pss.is_empty() {
            c.user = Opaque(c.pss.as_mut_ptr().cast());
        }
        c
    }

    /// `address:port` (`unix:/path`, `unix:@name`), for messages: made
    /// when asked for rather than kept by every connection.
    pub(crate) fn peer(&self) -> String {
        redial::peer_name(&self.req)
    }

    /// `address:port/path`, for messages.
    pub(crate) fn target(&self) -> String {
        let path = if self.req.path().starts_with('/') {
            ""
        } else {
            "/"
        };
        format!("{}{}{}", self.peer(), path, self.req.path())
    }

    /// CLIENT_ESTABLISHED was delivered: the connection ends with
    /// CLIENT_CLOSED, not CLIENT_CONNECTION_ERROR.
    #[inline]
    pub(crate) fn was_established(&self) -> bool {
        matches!(
            self.phase,
            Phase::Established | Phase::Closing | Phase::Done(Outcome::Closed)
        )
    }

    /// Our Close frame is out.
    #[inline]
    pub(crate) fn closing(&self) -> bool {
        matches!(self.phase, Phase::Closing)
    }

    #[inline]
    pub(crate) fn is_done(&self) -> bool {
        matches!(self.phase, Phase::Done(_))
    }

    /// Ends the connection: CLIENT_CLOSED when it was established, else
    /// CLIENT_CONNECTION_ERROR with `error(self)`. An ended connection stays as it ended.
    pub(crate) fn end(&mut self, error: impl FnOnce(&Conn) -> ConnectError) {
        if self.is_done() {
            return;
        }
        if self.was_established() {
            self.phase = Phase::Done(Outcome::Closed);
        } else {
            let e = error(self);
            self.fail(e);
        }
    }

    /// Fails the connection with `error` (CLIENT_CONNECTION_ERROR), unless it
    /// already failed: the first error is the one reported. (CLIENT_ESTABLISHED
    /// returning non-zero fails an established connection this way.)
    pub(crate) fn fail(&mut self, error: ConnectError) {
        if let Phase::Done(Outcome::Failed { .. }) = self.phase {
            return;
        }
        let response = match std::mem::replace(&mut self.phase, Phase::New) {
            Phase::Accepting(r) => Some(r),
            _ => None,
        };
        self.phase = Phase::Done(Outcome::Failed {
            error: Box::new(error),
            response,
        });
    }

    /// The upgrade response, while the application may read it: from its
    /// arrival until CLIENT_ESTABLISHED, and during CLIENT_CONNECTION_ERROR.
    pub(crate) fn response(&self) -> Option<&Response> {
        match &self.phase {
            Phase::Accepting(r)
            | Phase::Done(Outcome::Failed {
                response: Some(r), ..
            }) => Some(r),
            _ => None,
        }
    }

    /// Bytes queued but not yet taken by the socket.
    #[inline]
    pub(crate) fn buffered(&self) -> usize {
        self.out.len() - self.out_pos
    }

    /// TLS records rustls holds for the socket. With queued frames
    /// ([`Conn::buffered`]), what a new frame must go behind.
    #[inline]
    pub(crate) fn tls_backlogged(&self) -> bool {
        self.sock.as_ref().is_some_and(Stream::backlogged)
    }

    /// The socket has refused something written (or frames gathered in
    /// this iteration reached [`GATHER_MAX`]): the application should wait
    /// for CLIENT_WRITEABLE. What `ws_send_pipe_choked()` reports.
    #[inline]
    pub(crate) fn choked(&self) -> bool {
        let queued = self.buffered();
        (queued > 0 && (!self.gathering || queued >= GATHER_MAX)) || self.tls_backlogged()
    }

    /// Nothing is queued, on a plain socket (or none), and no other thread
    /// writes to the connection: [`Conn::flush`] and `outbox::feed` have
    /// nothing to do, and nothing chokes it.
    #[inline]
    pub(crate) fn idle(&self) -> bool {
        self.out.is_empty()
            && self.outbox.is_none()
            && !self.sock.as_ref().is_some_and(Stream::is_tls)
    }

    /// Writes queued bytes until the socket refuses. Err means the connection is dead.
    #[inline]
    pub(crate) fn flush(&mut self) -> io::Result<()> {
        // The queue is emptied whenever it drains, so a plain connection
        // with nothing queued is the common case.
        match &self.sock {
            Some(s) if self.out.is_empty() && !s.is_tls() => Ok(()),
            Some(_) => self.flush_queue(),
            None => Ok(()),
        }
    }

    fn flush_queue(&mut self) -> io::Result<()> {
        let Some(sock) = self.sock.as_mut() else {
            return Ok(());
        };
        self.gathering = false;
        sock.flush()?;
        if self.out.is_empty() {
            return Ok(());
        }
        while self.out_pos < self.out.len() {
            match sock.write(&self.out[self.out_pos..]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => self.out_pos += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
        if self.out_pos == self.out.len() {
            self.out.clear();
            self.out_pos = 0;
            if self.out.capacity() > 256 * 1024 {
                self.out = Vec::new();
            }
        }
        Ok(())
    }

    /// Adds `pend` bits; true when they are the first (the connection then
    /// goes into the context's queue).
    #[inline]
    pub(crate) fn add_pend(&mut self, what: u8) -> bool {
        let first = self.pend == 0;
        self.pend |= what;
        first
    }

    /// A CLIENT_WRITEABLE was asked for and can be delivered now (the
    /// socket refuses nothing).
    #[inline]
    pub(crate) fn writeable_due(&self) -> bool {
        self.want_writeable && matches!(self.phase, Phase::Established) && !self.choked()
    }

    /// [`Conn::writeable_due`], clearing the request when it is.
    #[inline]
    pub(crate) fn take_writeable(&mut self) -> bool {
        let due = self.writeable_due();
        if due {
            self.want_writeable = false;
        }
        due
    }

    /// Appends a masked frame to the send queue.
    pub(crate) fn queue_frame(&mut self, op: OpCode, fin: bool, payload: &[u8], mask: [u8; 4]) {
        let mut hdr = [0u8; frame::MAX_HEADER];
        let n = frame::encode_header(&mut hdr, op, fin, payload.len(), mask);
        self.stats.frame_out(n, payload.len());
        self.out.reserve(n + payload.len());
        self.out.extend_from_slice(&hdr[..n]);
        let at = self.out.len();
        self.out.extend_from_slice(payload);
        frame::apply_mask(&mut self.out[at..], mask);
    }

    /// A message sent with WS_WRITE_NO_FIN is unfinished.
    pub(crate) fn tx_message_open(&self) -> bool {
        self.tx_message_open
    }

    /// Checks a frame the application writes against the message in
    /// progress, opens or closes the message, and counts it once finished.
    /// Ok(true) when the frame ends a fragmented message.
    #[inline]
    pub(crate) fn tx_check(&mut self, op: OpCode, fin: bool) -> Result<bool, Misframed> {
        if (op as u8) < 8 {
            // A data frame: CONTINUATION exactly when a message is open.
            let continuation = op == OpCode::Continuation;
            if continuation != self.tx_message_open {
                return Err(if continuation {
                    Misframed::NoMessageInProgress
                } else {
                    Misframed::MessageInProgress
                });
            }
            self.tx_message_open = !fin;
            self.stats.tx_messages += u64::from(fin);
            return Ok(continuation && fin);
        }
        if !fin && matches!(op, OpCode::Ping | OpCode::Pong) {
            return Err(Misframed::FragmentedControl);
        }
        Ok(false)
    }
}

/// A connection to make.
#[derive(Clone, Debug)]
pub(crate) struct ConnectRequest {
    /// Address, path, Host, Origin and the subprotocols offered.
    pub(crate) names: Names,
    pub(crate) port: u16,
    /// The protocol table entry the connection is bound to.
    pub(crate) protocol_index: usize,
    pub(crate) userdata: Opaque,
    pub(crate) opaque_user_data: Opaque,
    /// Where the application keeps the handle; cleared on failure.
    pub(crate) pwsi: Opaque,
    pub(crate) require_subprotocol: bool,
    /// `WS_CONNECT_NO_PERMESSAGE_DEFLATE`: no compression offered.
    pub(crate) no_deflate: bool,
    /// Set for wss://.
    pub(crate) tls: Option<Box<crate::tls::TlsRequest>>,
    /// Overrides the context's retry and keepalive policy.
    pub(crate) retry: Option<Rc<RetryPolicy>>,
    /// Follow 3xx answers to the upgrade (no LCCSCF_HTTP_NO_FOLLOW_REDIRECT).
    pub(crate) follow_redirects: bool,
    /// WS_CONNECT_RECONNECT.
    pub(crate) reconnect: bool,
}

impl ConnectRequest {
    pub(crate) fn address(&self) -> &str {
        self.names.address()
    }

    pub(crate) fn path(&self) -> &str {
        self.names.path()
    }

    /// The Host header.
    pub(crate) fn host(&self) -> &str {
        self.names.host()
    }

    pub(crate) fn origin(&self) -> Option<&str> {
        self.names.origin()
    }

    /// Sent verbatim as Sec-WebSocket-Protocol.
    pub(crate) fn protocol(&self) -> Option<&str> {
        self.names.protocol()
    }
}

#[cfg(test)]
mod tests;
