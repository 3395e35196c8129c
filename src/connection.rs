//! One client connection: its state and the steps that move it along, from
//! name resolution to the close handshake.
//!
//! The steps are `impl Context` methods because each may call the
//! application, and a callback may reenter the context (write, connect,
//! close). So a step borrows the connection only between callbacks, never
//! across one; a callback sees the connection as the step left it.

use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use mio::net::TcpStream;
use mio::Interest;

use crate::callbacks::{CbIn, ConnId, Opaque, Reason};
use crate::context::{ConnectRequest, Context, Ready, RX_HEADROOM};
use crate::error::{ConnectError, TlsFailure};
use crate::frame::{self, Decoder, Event, OpCode};
use crate::handshake::{self, RequestParams, Response};
use crate::log;
use crate::retry::RetryPolicy;
use crate::stream::{self, Stream};
use crate::timers::{Kind, KINDS};

/// How long a closing connection waits for the peer's Close or TCP close.
pub(crate) const CLOSE_WAIT: Duration = Duration::from_secs(5);
/// Room given to `CLIENT_APPEND_HANDSHAKE_HEADER`.
const HEADER_SPACE: usize = 4096;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Created; WSI_CREATE not yet delivered.
    New,
    Resolving,
    Connecting,
    /// TCP is up; the TLS handshake is under way.
    Tls,
    Handshake,
    Established,
    /// A Close frame was sent; waiting for the peer's Close or TCP close.
    Closing,
    /// Finished; the final callbacks are due.
    Done,
}

/// Work the service loop owes a connection outside socket events.
pub mod pend {
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
pub struct RxInfo {
    pub first: bool,
    pub last: bool,
    pub binary: bool,
    pub remaining: u64,
}

pub struct HandshakeState {
    key: String,
    request: Vec<u8>,
    sent: usize,
    head: Vec<u8>,
}

pub struct Conn {
    pub id: ConnId,
    pub protocol: usize,
    pub user: Opaque,
    /// Zeroed per-session data, 16-byte aligned, when the library owns it.
    pss: Vec<u128>,
    pub opaque_user_data: Opaque,
    pub req: ConnectRequest,
    pub phase: Phase,
    pub established: bool,
    pub sock: Option<Stream>,
    addrs: Vec<SocketAddr>,
    addr_next: usize,
    last_connect_error: Option<ConnectError>,
    pub peer: String,
    hs: Option<Box<HandshakeState>>,
    pub decoder: Decoder,
    pub rx: RxInfo,
    pub out: Vec<u8>,
    pub out_pos: usize,
    pub want_writeable: bool,
    pub close_reason: Option<(u16, Vec<u8>)>,
    pub close_sent: bool,
    tx_message_open: bool,
    /// The live heap entry of each kind of timer (0: none).
    pub timer_seq: [u64; KINDS],
    /// The `ws_set_timeout` reason, for the log.
    pub kill_reason: i32,
    /// `ws_rx_flow_control(wsi, 0)`: nothing is read or delivered.
    pub rx_paused: bool,
    /// Bytes read but not yet decoded when receiving was paused.
    pub rx_stash: Vec<u8>,
    pub policy: RetryPolicy,
    /// When data last arrived (keepalive's proof of life).
    pub last_rx: Instant,
    /// A keepalive PING is out, sent then.
    pub ping_sent: Option<Instant>,
    pub pend: u8,
    /// A write was made during the current callback to this connection.
    pub wrote_in_callback: bool,
    pub failure: Option<ConnectError>,
    pub http_status: u16,
    pub response: Option<Response>,
}

impl Conn {
    pub fn new(
        id: ConnId,
        protocol: usize,
        pss_size: usize,
        req: ConnectRequest,
        max_message: u64,
        policy: RetryPolicy,
    ) -> Conn {
        let pss = if req.userdata.is_null() && pss_size > 0 {
            vec![0u128; pss_size.div_ceil(16)]
        } else {
            Vec::new()
        };
        let mut c = Conn {
            id,
            protocol,
            user: req.userdata,
            pss,
            opaque_user_data: req.opaque_user_data,
            peer: format!("{}:{}", req.address, req.port),
            req,
            phase: Phase::New,
            established: false,
            sock: None,
            addrs: Vec::new(),
            addr_next: 0,
            last_connect_error: None,
            hs: None,
            decoder: Decoder::new(max_message),
            rx: RxInfo::default(),
            out: Vec::new(),
            out_pos: 0,
            want_writeable: false,
            close_reason: None,
            close_sent: false,
            tx_message_open: false,
            timer_seq: [0; KINDS],
            kill_reason: 0,
            rx_paused: false,
            rx_stash: Vec::new(),
            policy,
            last_rx: Instant::now(),
            ping_sent: None,
            pend: 0,
            wrote_in_callback: false,
            failure: None,
            http_status: 0,
            response: None,
        };
        if !c.pss.is_empty() {
            c.user = Opaque(c.pss.as_mut_ptr().cast());
        }
        c
    }

    /// `address:port/path`, for messages.
    pub fn target(&self) -> String {
        let path = if self.req.path.starts_with('/') {
            ""
        } else {
            "/"
        };
        format!("{}{}{}", self.peer, path, self.req.path)
    }

    /// Bytes queued but not yet taken by the socket.
    pub fn buffered(&self) -> usize {
        self.out.len() - self.out_pos
    }

    /// Something written is still waiting for the socket: queued frames, or
    /// TLS records rustls holds.
    pub fn backlogged(&self) -> bool {
        self.buffered() > 0 || self.sock.as_ref().is_some_and(Stream::backlogged)
    }

    /// Writes queued bytes until the socket refuses. Err means the connection is dead.
    pub fn flush(&mut self) -> io::Result<()> {
        let Some(sock) = self.sock.as_mut() else {
            return Ok(());
        };
        sock.flush()?;
        // The queue is emptied whenever it drains, so this is the common case.
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

    /// A CLIENT_WRITEABLE was asked for and can be delivered now (nothing
    /// waits for the socket): clears the request and says so.
    pub fn take_writeable(&mut self) -> bool {
        let due = self.want_writeable && self.phase == Phase::Established && !self.backlogged();
        if due {
            self.want_writeable = false;
        }
        due
    }

    /// Appends a masked frame to the send queue.
    pub fn queue_frame(&mut self, op: OpCode, fin: bool, payload: &[u8], mask: [u8; 4]) {
        let mut hdr = [0u8; frame::MAX_HEADER];
        let n = frame::encode_header(&mut hdr, op, fin, payload.len(), mask);
        self.out.reserve(n + payload.len());
        self.out.extend_from_slice(&hdr[..n]);
        let at = self.out.len();
        self.out.extend_from_slice(payload);
        frame::apply_mask(&mut self.out[at..], mask);
    }

    /// Checks a write request against the message in progress; returns the opcode and FIN.
    pub fn tx_frame_kind(&mut self, kind: u32) -> Result<(OpCode, bool), String> {
        let fin = kind & 0x40 == 0;
        let op = match kind & 0x1f {
            0 => OpCode::Text,
            1 => OpCode::Binary,
            2 => OpCode::Continuation,
            5 => OpCode::Ping,
            6 => OpCode::Pong,
            3 => return Err("WS_WRITE_HTTP/RAW is not supported on a WebSocket connection".into()),
            4 => {
                return Err(
                    "WS_WRITE_CLOSE is not a write: use ws_close_reason() and return non-zero"
                        .into(),
                )
            }
            other => return Err(format!("unknown write protocol {other}")),
        };
        match op {
            OpCode::Ping | OpCode::Pong if !fin => {
                return Err("control frames cannot be fragmented (drop WS_WRITE_NO_FIN)".into())
            }
            OpCode::Text | OpCode::Binary if self.tx_message_open => {
                return Err("a new message started before the fragmented one was finished; send its last fragment with WS_WRITE_CONTINUATION and no WS_WRITE_NO_FIN".into())
            }
            OpCode::Continuation if !self.tx_message_open => {
                return Err("WS_WRITE_CONTINUATION with no fragmented message in progress; start it with WS_WRITE_TEXT/BINARY | WS_WRITE_NO_FIN".into())
            }
            OpCode::Text | OpCode::Binary | OpCode::Continuation => self.tx_message_open = !fin,
            _ => {}
        }
        Ok((op, fin))
    }
}

impl Context {
    /// First step: WSI_CREATE, then resolve.
    pub(crate) fn start(&self, id: ConnId) {
        self.dispatch(id, Reason::WsiCreate, CbIn::None);
        let (host, port) = match self.with_conn(id, |c| (c.req.address.clone(), c.req.port)) {
            Some(v) => v,
            None => return,
        };
        let secs = self.cfg.connect_timeout_secs;
        self.with_conn(id, |c| {
            self.set_deadline(c, Duration::from_secs(secs.into()))
        });
        match crate::resolve::literal(&host, port) {
            Some(addr) => self.resolved(id, Ok(vec![addr])),
            None => {
                self.with_conn(id, |c| c.phase = Phase::Resolving);
                wlog!(log::INFO, "resolving '{host}'");
                self.resolver
                    .start(crate::context::conn_key(id), &host, port);
            }
        }
    }

    /// Name resolution finished.
    pub(crate) fn resolved(&self, id: ConnId, result: crate::resolve::Lookup) {
        let ok = self.with_conn(id, |c| {
            if !matches!(c.phase, Phase::New | Phase::Resolving) {
                return false;
            }
            match result {
                Ok(addrs) => {
                    c.addrs = addrs;
                    c.addr_next = 0;
                    c.phase = Phase::Connecting;
                    true
                }
                Err(detail) => {
                    c.failure = Some(ConnectError::Dns {
                        host: c.req.address.clone(),
                        detail,
                    });
                    false
                }
            }
        });
        match ok {
            Some(true) => self.connect_next(id),
            Some(false) => self.finish_later(id),
            None => {}
        }
    }

    /// Starts a TCP connection to the next address, or fails when none is left.
    fn connect_next(&self, id: ConnId) {
        let registry_token = crate::context::conn_token(id);
        let failed = self.with_conn(id, |c| loop {
            if let Some(mut old) = c.sock.take() {
                let _ = self.poll.borrow().registry().deregister(&mut old.tcp);
            }
            let Some(addr) = c.addrs.get(c.addr_next).copied() else {
                if c.failure.is_none() {
                    c.failure = c
                        .last_connect_error
                        .take()
                        .or(Some(ConnectError::Unreachable {
                            addr: c.peer.clone(),
                            detail: "no address to connect to".into(),
                        }));
                }
                return true;
            };
            c.addr_next += 1;
            wlog!(log::INFO, "connecting to {addr}");
            match TcpStream::connect(addr) {
                Ok(mut s) => {
                    if let Err(e) = self.poll.borrow().registry().register(
                        &mut s,
                        registry_token,
                        Interest::READABLE | Interest::WRITABLE,
                    ) {
                        c.last_connect_error = Some(ConnectError::Unreachable {
                            addr: addr.to_string(),
                            detail: format!("cannot register the socket: {e}"),
                        });
                        continue;
                    }
                    c.sock = Some(Stream::plain(s));
                    return false;
                }
                Err(e) => c.last_connect_error = Some(connect_error(addr, &e)),
            }
        });
        if failed == Some(true) {
            self.finish_later(id);
        }
    }

    /// The socket became writable (or failed) while connecting.
    fn on_connect_event(&self, id: ConnId) {
        enum Next {
            Wait,
            Retry,
            Connected,
        }
        let next = self.with_conn(id, |c| {
            let Some(sock) = c.sock.as_mut() else {
                return Next::Wait;
            };
            let addr = c.addrs.get(c.addr_next.wrapping_sub(1)).copied();
            if let Ok(Some(e)) | Err(e) = sock.tcp.take_error() {
                if let Some(a) = addr {
                    c.last_connect_error = Some(connect_error(a, &e));
                }
                return Next::Retry;
            }
            match sock.tcp.peer_addr() {
                Ok(_) => {
                    let _ = sock.tcp.set_nodelay(true);
                    Next::Connected
                }
                Err(e) if e.kind() == io::ErrorKind::NotConnected => Next::Wait,
                Err(e) => {
                    if let Some(a) = addr {
                        c.last_connect_error = Some(connect_error(a, &e));
                    }
                    Next::Retry
                }
            }
        });
        match next {
            Some(Next::Retry) => self.connect_next(id),
            Some(Next::Connected) => match self.with_conn(id, |c| c.req.tls.is_some()) {
                Some(true) => self.start_tls(id),
                Some(false) => self.send_upgrade(id),
                None => {}
            },
            _ => {}
        }
    }

    /// TCP is up on a wss:// connection: start the TLS handshake.
    fn start_tls(&self, id: ConnId) {
        let secs = self.cfg.timeout_secs;
        let r = self.with_conn(id, |c| {
            let req = c.req.tls.as_ref().expect("a TLS connection");
            let session = self.tls.connect(req)?;
            if let Some(sock) = c.sock.as_mut() {
                sock.start_tls(session);
            }
            c.phase = Phase::Tls;
            self.set_deadline(c, Duration::from_secs(secs.into()));
            Ok(())
        });
        match r {
            Some(Ok(())) => self.tls_io(id),
            Some(Err(failure)) => {
                let target = self.with_conn(id, |c| c.peer.clone()).unwrap_or_default();
                self.fail(id, ConnectError::Tls { target, failure })
            }
            None => {}
        }
    }

    /// Moves the TLS handshake along; sends the upgrade request once it is done.
    fn tls_io(&self, id: ConnId) {
        let r = self.with_conn(id, |c| match c.sock.as_mut() {
            Some(sock) => sock.handshake().map_err(|e| tls_failed(&c.peer, &e, true)),
            None => Ok(false),
        });
        match r {
            Some(Ok(true)) => {
                wlog!(
                    log::INFO,
                    "TLS up with {}",
                    self.with_conn(id, |c| c.peer.clone()).unwrap_or_default()
                );
                self.send_upgrade(id)
            }
            Some(Err(e)) => self.fail(id, e),
            _ => {}
        }
    }

    /// TCP is up: ask the application for extra headers, then send the request.
    fn send_upgrade(&self, id: ConnId) {
        let mut space = vec![0u8; HEADER_SPACE];
        let mut used = 0usize;
        let r = self.dispatch(
            id,
            Reason::ClientAppendHandshakeHeader,
            CbIn::HeaderSpace {
                space: &mut space,
                used: &mut used,
            },
        );
        if r.unwrap_or(0) != 0 {
            self.fail(id, ConnectError::RejectedByFilter);
            return;
        }
        let secs = self.cfg.timeout_secs;
        self.with_conn(id, |c| {
            let key = handshake::new_key();
            let request = handshake::build_request(&RequestParams {
                path: &c.req.path,
                host: &c.req.host,
                origin: c.req.origin.as_deref(),
                protocol: c.req.protocol.as_deref(),
                key: &key,
                extra: &space[..used.min(HEADER_SPACE)],
            });
            if log::enabled(log::HEADER) {
                wlog!(
                    log::HEADER,
                    "upgrade request to {}:\n{}",
                    c.peer,
                    String::from_utf8_lossy(&request).trim_end()
                );
            }
            c.hs = Some(Box::new(HandshakeState {
                key,
                request,
                sent: 0,
                head: Vec::new(),
            }));
            c.phase = Phase::Handshake;
            self.set_deadline(c, Duration::from_secs(secs.into()));
        });
        self.handshake_io(id, true, true);
    }

    /// Moves the upgrade request out and the response in.
    fn handshake_io(&self, id: ConnId, writable: bool, readable: bool) {
        enum Next {
            Wait,
            Fail(ConnectError),
            Head(Response, Vec<u8>, String),
        }
        let next = self.with_conn(id, |c| {
            let target = c.target();
            let (Some(sock), Some(hs)) = (c.sock.as_mut(), c.hs.as_mut()) else {
                return Next::Wait;
            };
            if writable {
                while hs.sent < hs.request.len() {
                    match sock.write(&hs.request[hs.sent..]) {
                        Ok(n) => hs.sent += n,
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                        Err(e) => return Next::Fail(read_failed(&target, &e, hs.head.len())),
                    }
                }
            }
            if !readable {
                return Next::Wait;
            }
            let mut chunk = [0u8; 4096];
            loop {
                match sock.read(&mut chunk) {
                    Ok(0) => {
                        return Next::Fail(ConnectError::HungUp {
                            target,
                            received: hs.head.len(),
                        })
                    }
                    Ok(n) => {
                        hs.head.extend_from_slice(&chunk[..n]);
                        match handshake::parse_response(&hs.head) {
                            Ok(Some((resp, len))) => {
                                let rest = hs.head.split_off(len);
                                return Next::Head(resp, rest, hs.key.clone());
                            }
                            Ok(None) => continue,
                            Err(error) => {
                                return Next::Fail(ConnectError::Handshake {
                                    target,
                                    error,
                                    offered: c.req.protocol.clone(),
                                })
                            }
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Next::Wait,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Next::Fail(read_failed(&target, &e, hs.head.len())),
                }
            }
        });
        match next {
            Some(Next::Fail(e)) => self.fail(id, e),
            Some(Next::Head(resp, rest, key)) => {
                self.on_response(id, resp, rest, &key);
                // Readiness is edge-triggered: whatever came after the head
                // in the same burst (frames, the peer's FIN) brings no new
                // event, so read on until the socket is drained.
                if self.with_conn(id, |c| c.phase == Phase::Established) == Some(true) {
                    self.read_frames(id, true);
                    self.after_io(id);
                }
            }
            _ => {}
        }
    }

    /// A complete response head arrived.
    fn on_response(&self, id: ConnId, resp: Response, rest: Vec<u8>, key: &str) {
        if log::enabled(log::HEADER) {
            let lines: Vec<String> = resp
                .headers
                .iter()
                .map(|(n, v)| format!("{n}: {}", String::from_utf8_lossy(v)))
                .collect();
            wlog!(
                log::HEADER,
                "upgrade response: {} {}\n{}",
                resp.status,
                resp.reason,
                lines.join("\n")
            );
        }
        let checked = self.with_conn(id, |c| {
            c.http_status = resp.status;
            let result = handshake::check_response(&resp, key, c.req.protocol.as_deref());
            c.response = Some(resp);
            c.hs = None;
            result.map_err(|error| ConnectError::Handshake {
                target: c.target(),
                error,
                offered: c.req.protocol.clone(),
            })
        });
        let accepted = match checked {
            Some(Ok(a)) => a,
            Some(Err(e)) => return self.fail(id, e),
            None => return,
        };
        if accepted.protocol.is_none() {
            let strict = self.with_conn(id, |c| {
                let offered = c.req.protocol.clone()?;
                let local = self.cfg.protocols[c.protocol]
                    .name
                    .clone()
                    .unwrap_or_default();
                if c.req.require_subprotocol {
                    return Some(Err(ConnectError::NoSubprotocol { offered, local }));
                }
                Some(Ok((offered, local)))
            });
            match strict.flatten() {
                Some(Err(e)) => return self.fail(id, e),
                Some(Ok((offered, local))) => wlog!(
                    log::WARN,
                    "subprotocol mismatch: offered '{offered}', server selected none; continuing bound to local protocol '{local}' (set WS_CONNECT_REQUIRE_SUBPROTOCOL in wsloop_flags to fail instead)"
                ),
                None => {}
            }
        }
        if self
            .dispatch(id, Reason::ClientFilterPreEstablish, CbIn::None)
            .unwrap_or(0)
            != 0
        {
            return self.fail(id, ConnectError::RejectedByFilter);
        }
        self.with_conn(id, |c| {
            c.phase = Phase::Established;
            c.established = true;
            c.response = None;
            c.timer_seq[Kind::Deadline as usize] = 0;
        });
        self.start_keepalive(id);
        wlog!(
            log::INFO,
            "established {}",
            self.with_conn(id, |c| c.target()).unwrap_or_default()
        );
        if self
            .dispatch(id, Reason::ClientEstablished, CbIn::None)
            .unwrap_or(0)
            != 0
        {
            self.with_conn(id, |c| c.established = false);
            return self.fail(id, ConnectError::RejectedAtEstablished);
        }
        self.process_bytes(id, &rest);
        self.after_io(id);
    }

    /// Socket readiness for a connection.
    pub(crate) fn on_socket(&self, id: ConnId, ready: &Ready) {
        let Some(phase) = self.with_conn(id, |c| c.phase) else {
            return;
        };
        match phase {
            Phase::Connecting => self.on_connect_event(id),
            Phase::Tls => self.tls_io(id),
            Phase::Handshake => self.handshake_io(id, ready.writable, ready.readable),
            Phase::Established | Phase::Closing => {
                if ready.readable {
                    self.read_frames(id, ready.closed);
                }
                if ready.writable {
                    self.pend(id, pend::FLUSH);
                }
                self.after_io(id);
            }
            _ => {}
        }
    }

    /// Reads and decodes until the socket is drained. A short read from a
    /// plain TCP socket means it is (the kernel signals data that arrives
    /// later as a new event), unless the peer has closed: then, and under
    /// TLS (rustls may hold records back) or when `all` is asked for, it
    /// reads until the socket would block.
    fn read_frames(&self, id: ConnId, all: bool) {
        let mut buf = self.take_rx_buf();
        let cap = buf.len() - RX_HEADROOM - 1;
        loop {
            let r = self.with_conn(id, |c| match c.sock.as_mut() {
                Some(s) if c.phase != Phase::Done && !c.rx_paused => {
                    let r = s.read(&mut buf[RX_HEADROOM..RX_HEADROOM + cap]);
                    if matches!(r, Ok(n) if n > 0) {
                        c.last_rx = self.loop_time();
                    }
                    Some((r, all || s.is_tls()))
                }
                _ => None,
            });
            match r.flatten() {
                None => break,
                Some((Ok(0), _)) => {
                    self.peer_gone(id, None);
                    break;
                }
                Some((Ok(n), drain)) => {
                    self.process_rx(id, &mut buf, RX_HEADROOM, RX_HEADROOM + n);
                    if n < cap && !drain {
                        break;
                    }
                }
                Some((Err(e), _)) if e.kind() == io::ErrorKind::WouldBlock => break,
                Some((Err(e), _)) if e.kind() == io::ErrorKind::Interrupted => continue,
                Some((Err(e), _)) => {
                    self.peer_gone(id, Some(e));
                    break;
                }
            }
        }
        self.put_rx_buf(buf);
    }

    /// Decodes bytes that did not come from a socket read (what followed the
    /// upgrade response, what was held back while receiving was paused),
    /// through the receive buffer so the chunks keep their headroom and NUL.
    fn process_bytes(&self, id: ConnId, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        let mut buf = self.take_rx_buf();
        let end = RX_HEADROOM + bytes.len();
        if buf.len() < end + 1 {
            buf.resize(end + 1, 0);
        }
        buf[RX_HEADROOM..end].copy_from_slice(bytes);
        self.process_rx(id, &mut buf, RX_HEADROOM, end);
        self.put_rx_buf(buf);
    }

    /// Decodes `buf[start..end]` and delivers what it holds.
    pub(crate) fn process_rx(&self, id: ConnId, buf: &mut [u8], start: usize, end: usize) {
        let Some(chunk_max) = self.with_conn(id, |c| self.chunk_size(c.protocol)) else {
            return;
        };
        let mut pos = start;
        loop {
            let step = self.with_conn(id, |c| {
                if c.phase == Phase::Done || (pos == end && !c.decoder.has_event_without_input()) {
                    return None;
                }
                if c.rx_paused {
                    // ws_rx_flow_control(wsi, 0) in a callback: keep the rest for later.
                    c.rx_stash.extend_from_slice(&buf[pos..end]);
                    return None;
                }
                let ev = c.decoder.next(&buf[..end], &mut pos, chunk_max);
                let payload = match ev {
                    Event::Ping | Event::Pong | Event::Close(_) => {
                        c.decoder.control_payload().to_vec()
                    }
                    Event::Data {
                        first,
                        last,
                        binary,
                        remaining,
                        ..
                    } => {
                        // What ws_is_final_fragment() and friends report during the callback.
                        c.rx = RxInfo {
                            first,
                            last,
                            binary,
                            remaining,
                        };
                        // The callback is about to run: this lookup serves it too.
                        c.wrote_in_callback = false;
                        Vec::new()
                    }
                    _ => Vec::new(),
                };
                Some((ev, payload, c.close_sent, (c.protocol, c.user)))
            });
            let Some(Some((ev, mut payload, closing, target))) = step else {
                return;
            };
            match ev {
                Event::NeedMore => return,
                Event::Data { start: s, len, .. } => {
                    if closing {
                        continue;
                    }
                    let saved = buf[s + len];
                    buf[s + len] = 0;
                    let data = CbIn::Data { buf, start: s, len };
                    let r = Some(self.call_conn(id, target, Reason::ClientReceive, data));
                    buf[s + len] = saved;
                    self.after_callback(id, r);
                }
                Event::Ping => {
                    if !closing {
                        let mask = self.mask();
                        self.with_conn(id, |c| c.queue_frame(OpCode::Pong, true, &payload, mask));
                        self.pend(id, pend::FLUSH);
                    }
                }
                Event::Pong => {
                    let len = payload.len();
                    payload.push(0);
                    let r = self.dispatch(
                        id,
                        Reason::ClientReceivePong,
                        CbIn::Data {
                            buf: &mut payload,
                            start: 0,
                            len,
                        },
                    );
                    self.after_callback(id, r);
                }
                Event::Close(code) => self.on_peer_close(id, code, payload),
                Event::Fail(v) => {
                    let target = self.with_conn(id, |c| c.target()).unwrap_or_default();
                    wlog!(log::ERR, "closing {target} with {}: {}", v.code, v.what);
                    let reason = truncate_utf8(&v.what, 123).as_bytes().to_vec();
                    self.with_conn(id, |c| c.close_reason = Some((v.code, reason)));
                    // Answers to the messages before the violation go out
                    // before the Close: a CLIENT_WRITEABLE asked for is kept.
                    self.deliver_writeable(id);
                    self.begin_close(id);
                    return;
                }
            }
        }
    }

    /// The peer's Close frame.
    fn on_peer_close(&self, id: ConnId, code: Option<u16>, reason: Vec<u8>) {
        let Some(we_closed) = self.with_conn(id, |c| c.close_sent) else {
            return;
        };
        if we_closed {
            // The answer to our Close: the handshake is complete.
            self.with_conn(id, |c| c.phase = Phase::Done);
            self.finish_later(id);
            return;
        }
        let mut raw = Vec::with_capacity(reason.len() + 3);
        if let Some(code) = code {
            raw.extend_from_slice(&code.to_be_bytes());
        }
        raw.extend_from_slice(&reason);
        let len = raw.len();
        raw.push(0);
        wlog!(log::INFO, "peer closed with {:?}", code);
        self.dispatch(
            id,
            Reason::WsPeerInitiatedClose,
            CbIn::Data {
                buf: &mut raw,
                start: 0,
                len,
            },
        );
        self.with_conn(id, |c| {
            if c.close_reason.is_none() {
                c.close_reason = Some(match code {
                    Some(code) => (code, reason),
                    None => (0, Vec::new()),
                });
            }
        });
        self.begin_close(id);
    }

    /// Sends our Close (once) and waits a bounded time for the peer.
    pub(crate) fn begin_close(&self, id: ConnId) {
        let mask = self.mask();
        self.with_conn(id, |c| {
            if c.close_sent || c.phase == Phase::Done {
                return;
            }
            let (code, reason) = c.close_reason.take().unwrap_or((1000, Vec::new()));
            let mut payload = Vec::with_capacity(2 + reason.len());
            if code != 0 {
                payload.extend_from_slice(&code.to_be_bytes());
                payload.extend_from_slice(&reason);
            }
            c.queue_frame(OpCode::Close, true, &payload, mask);
            c.close_sent = true;
            c.want_writeable = false;
            c.phase = Phase::Closing;
            self.set_deadline(c, CLOSE_WAIT);
        });
        self.pend(id, pend::FLUSH);
    }

    /// The peer closed TCP (or reading failed).
    fn peer_gone(&self, id: ConnId, err: Option<io::Error>) {
        self.with_conn(id, |c| {
            match (&err, c.close_sent) {
                // A TLS peer that drops TCP without close_notify may have lost data.
                (Some(e), true) if e.kind() == io::ErrorKind::UnexpectedEof => {
                    wlog!(log::NOTICE, "{}: {e}", c.target())
                }
                (_, true) => {}
                (None, false) => wlog!(
                    log::NOTICE,
                    "{} closed the connection without a close frame (1006)",
                    c.target()
                ),
                (Some(e), false) => {
                    wlog!(log::NOTICE, "read from {} failed: {e} (1006)", c.target())
                }
            }
            c.phase = Phase::Done;
        });
        self.finish_later(id);
    }

    /// What a callback's return value means for its connection.
    pub(crate) fn after_callback(&self, id: ConnId, r: Option<i32>) {
        if r.unwrap_or(0) != 0 {
            let established = self.with_conn(id, |c| c.established).unwrap_or(false);
            if established {
                self.begin_close(id);
            } else {
                self.fail(id, ConnectError::ClosedByApplication);
            }
        }
    }

    /// Flushes and delivers a due CLIENT_WRITEABLE.
    pub(crate) fn after_io(&self, id: ConnId) {
        // One borrow: flush, then see whether a CLIENT_WRITEABLE is due.
        let state = self.with_conn(id, |c| match c.flush() {
            Ok(()) => Ok(c.take_writeable()),
            Err(e) => {
                if c.phase != Phase::Done {
                    wlog!(log::NOTICE, "write to {} failed: {e}", c.target());
                }
                c.phase = Phase::Done;
                Err(())
            }
        });
        match state {
            Some(Err(())) => self.finish_later(id),
            Some(Ok(true)) => self.writeable_now(id),
            _ => {}
        }
    }

    pub(crate) fn deliver_writeable(&self, id: ConnId) {
        if self.with_conn(id, Conn::take_writeable) == Some(true) {
            self.writeable_now(id);
        }
    }

    /// Delivers the CLIENT_WRITEABLE `take_writeable` found due. What the
    /// callback queued is flushed by the deferred work its writes asked for,
    /// in this loop iteration.
    fn writeable_now(&self, id: ConnId) {
        let r = self.dispatch(id, Reason::ClientWriteable, CbIn::None);
        self.after_callback(id, r);
    }

    /// `ws_set_timeout` expired: close as if a callback had returned non-zero.
    pub(crate) fn kill(&self, id: ConnId) {
        let Some((established, reason, target)) =
            self.with_conn(id, |c| (c.established, c.kill_reason, c.target()))
        else {
            return;
        };
        wlog!(
            log::INFO,
            "{target}: closing: ws_set_timeout (reason {reason}) expired"
        );
        if established {
            self.begin_close(id);
        } else {
            self.fail(id, ConnectError::TimeoutKilled { reason });
        }
    }

    /// Receiving resumed: decode what was held back, then read the socket.
    pub(crate) fn resume_rx(&self, id: ConnId) {
        let Some(stash) = self.with_conn(id, |c| {
            if c.rx_paused {
                None
            } else {
                Some(std::mem::take(&mut c.rx_stash))
            }
        }) else {
            return;
        };
        let Some(stash) = stash else { return };
        self.process_bytes(id, &stash);
        let phase = self.with_conn(id, |c| c.phase);
        if matches!(phase, Some(Phase::Established | Phase::Closing)) {
            self.read_frames(id, true);
        }
        self.after_io(id);
    }

    /// A connection that has not been established fails with `e`.
    pub(crate) fn fail(&self, id: ConnId, e: ConnectError) {
        self.with_conn(id, |c| {
            if c.failure.is_none() {
                c.failure = Some(e);
            }
            c.phase = Phase::Done;
        });
        self.finish_later(id);
    }

    /// A deadline of the connection passed.
    pub(crate) fn on_deadline(&self, id: ConnId) {
        let Some(phase) = self.with_conn(id, |c| c.phase) else {
            return;
        };
        let (connect, timeout) = (self.cfg.connect_timeout_secs, self.cfg.timeout_secs);
        match phase {
            Phase::New | Phase::Resolving | Phase::Connecting => {
                let target = self.with_conn(id, |c| c.peer.clone()).unwrap_or_default();
                self.fail(
                    id,
                    ConnectError::ConnectTimeout {
                        target,
                        secs: connect,
                    },
                )
            }
            Phase::Tls => {
                let target = self.with_conn(id, |c| c.peer.clone()).unwrap_or_default();
                self.fail(
                    id,
                    ConnectError::TlsTimeout {
                        target,
                        secs: timeout,
                    },
                )
            }
            Phase::Handshake => {
                let target = self.with_conn(id, |c| c.target()).unwrap_or_default();
                self.fail(
                    id,
                    ConnectError::HandshakeTimeout {
                        target,
                        secs: timeout,
                    },
                )
            }
            Phase::Closing => {
                self.with_conn(id, |c| {
                    wlog!(
                        log::NOTICE,
                        "{}: no close answer within {} s; dropping the connection",
                        c.target(),
                        CLOSE_WAIT.as_secs()
                    );
                    c.phase = Phase::Done;
                });
                self.finish_later(id);
            }
            Phase::Established | Phase::Done => {}
        }
    }
}

fn connect_error(addr: SocketAddr, e: &io::Error) -> ConnectError {
    match e.kind() {
        io::ErrorKind::ConnectionRefused => ConnectError::Refused {
            addr: addr.to_string(),
        },
        _ => ConnectError::Unreachable {
            addr: addr.to_string(),
            detail: e.to_string(),
        },
    }
}

fn read_failed(target: &str, e: &io::Error, received: usize) -> ConnectError {
    if stream::tls_error(e).is_some() {
        return tls_failed(target, e, false);
    }
    match e.kind() {
        io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe => ConnectError::HungUp {
            target: target.to_string(),
            received,
        },
        _ => ConnectError::ReadFailed {
            target: target.to_string(),
            detail: e.to_string(),
        },
    }
}

/// A TLS failure: a rustls error, or the socket failing under it.
fn tls_failed(target: &str, e: &io::Error, handshaking: bool) -> ConnectError {
    let failure = match stream::tls_error(e) {
        Some(t) => crate::tls::classify(t, handshaking),
        None if e.kind() == io::ErrorKind::UnexpectedEof
            || e.kind() == io::ErrorKind::ConnectionReset =>
        {
            TlsFailure::ClosedInHandshake
        }
        None => TlsFailure::Other(e.to_string()),
    };
    ConnectError::Tls {
        target: target.to_string(),
        failure,
    }
}

/// The longest prefix of `s` of at most `max` bytes that ends on a char boundary.
fn truncate_utf8(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}
