//! One client connection's data: what it was asked to do, its phase and its
//! queues. The steps that move it along live in `context/`, one file per
//! stage of the data path; nothing here calls the application.

use std::io;
use std::net::SocketAddr;
use std::time::Instant;

use crate::callbacks::{ConnId, Opaque};
use crate::error::ConnectError;
use crate::frame::{self, Decoder, OpCode};
use crate::handshake::Response;
use crate::retry::RetryPolicy;
use crate::stream::Stream;
use crate::timers::KINDS;

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
    pub(crate) key: String,
    pub(crate) request: Vec<u8>,
    pub(crate) sent: usize,
    pub(crate) head: Vec<u8>,
}

pub struct Conn {
    pub id: ConnId,
    pub protocol: usize,
    pub user: Opaque,
    /// Zeroed per-session data, 16-byte aligned, when the library owns it.
    pub(crate) pss: Vec<u128>,
    pub opaque_user_data: Opaque,
    pub req: ConnectRequest,
    pub phase: Phase,
    pub established: bool,
    pub sock: Option<Stream>,
    pub(crate) addrs: Vec<SocketAddr>,
    pub(crate) addr_next: usize,
    pub(crate) last_connect_error: Option<ConnectError>,
    pub peer: String,
    pub(crate) hs: Option<Box<HandshakeState>>,
    pub decoder: Decoder,
    pub rx: RxInfo,
    pub out: Vec<u8>,
    pub out_pos: usize,
    pub want_writeable: bool,
    pub close_reason: Option<(u16, Vec<u8>)>,
    pub close_sent: bool,
    pub(crate) tx_message_open: bool,
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
