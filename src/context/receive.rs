//! Receiving: socket readiness, reads, frame decoding, delivery to the application.

use std::io;

use super::close::truncate_utf8;
use super::Context;
use crate::callbacks::{CbIn, ConnId, Opaque, Reason};
use crate::clock::Tick;
use crate::connection::{pend, Conn, Outcome, Phase, RxInfo};
use crate::error::ConnectError;
use crate::ffi::events::Ready;
use crate::frame::{Event, OpCode, Violation};
use crate::log;

/// Bytes kept free before received payload (libwebsockets' LWS_PRE).
pub(crate) const RX_HEADROOM: usize = 16;
/// Bytes read from a socket at a time: a 64 KiB message and its header in
/// one read, a 1 MiB message in four (the raw-TCP bench client's size).
const READ_SIZE: usize = 256 * 1024;
/// Reads start at a page boundary. The kernel copies a read with `rep
/// movsb`; into a large heap block (which starts 16 bytes into a page) it took
/// twice the CPU time of the same reads at a page boundary on AMD EPYC
/// (1 MiB echoes), the kind of penalty such copies pay when destination
/// and source sit a few bytes apart modulo 4 KiB.
const PAGE: usize = 4096;
/// The context's receive buffer, and where reads go in it.
pub(crate) struct RxBuf {
    bytes: Vec<u8>,
    /// The first page boundary after the headroom; found once, when the
    /// buffer is made, not for each read.
    at: usize,
}

impl RxBuf {
    /// Headroom, room to reach a page boundary, one read and the NUL after it.
    pub(super) fn new() -> RxBuf {
        let bytes = vec![0; RX_HEADROOM + PAGE + READ_SIZE + 1];
        let addr = bytes.as_ptr() as usize + RX_HEADROOM;
        let at = RX_HEADROOM + (PAGE - addr % PAGE) % PAGE;
        RxBuf { bytes, at }
    }

    /// Where one read goes.
    pub(super) fn read_area(&mut self) -> &mut [u8] {
        &mut self.bytes[self.at..self.at + READ_SIZE]
    }

    #[cold]
    #[inline(never)]
    fn boxed() -> Box<RxBuf> {
        Box::new(RxBuf::new())
    }
}

/// What a socket event on a connection in this phase leads to.
#[derive(Clone, Copy)]
enum Step {
    Connect,
    Tls,
    Upgrade,
    Frames,
    Nothing,
}

impl Step {
    #[inline(always)]
    fn of(phase: &Phase) -> Step {
        match phase {
            Phase::Connecting(_) | Phase::ProxyTls | Phase::Tunneling(_) => Step::Connect,
            Phase::Tls => Step::Tls,
            Phase::Upgrading(_) => Step::Upgrade,
            Phase::Established | Phase::Closing => Step::Frames,
            _ => Step::Nothing,
        }
    }
}

/// Plain data for CLIENT_RECEIVE, `buf[start..start + len]`, to the
/// callback `target`; `more`: something may follow in the input.
struct Deliver {
    start: usize,
    len: usize,
    target: (usize, Opaque),
    more: bool,
}

/// What one decoding step found, taken out of the connection's borrow.
enum Rx {
    Deliver(Deliver),
    /// Anything else, with a control frame's payload.
    Other {
        ev: Event,
        payload: Vec<u8>,
        closing: bool,
    },
}

/// Records what the application may ask about a data event during its
/// callback and says what to do with `ev`; `rest`: input remains after it.
#[inline(always)]
fn step(c: &mut Conn, ev: Event, rest: bool) -> Rx {
    let closing = c.closing();
    match ev {
        Event::Data {
            start,
            len,
            first,
            last,
            binary,
            remaining,
            compressed,
        } => {
            // A compressed frame's payload is counted as it is inflated
            // (pmd.rs), as the application gets it.
            c.stats.rx_payload += len as u64 * u64::from(!compressed);
            // What ws_is_final_fragment() and friends report during the callback.
            c.rx = RxInfo {
                first,
                last,
                binary,
                remaining,
            };
            if compressed || closing {
                return Rx::Other {
                    ev,
                    payload: Vec::new(),
                    closing,
                };
            }
            Rx::Deliver(Deliver {
                start,
                len,
                target: (c.protocol, c.user),
                // Nothing left to decode: the next lookup would only say so.
                more: rest || c.decoder.has_event_without_input(),
            })
        }
        Event::Ping | Event::Pong | Event::Close(_) => Rx::Other {
            payload: c.decoder.control_payload().to_vec(),
            ev,
            closing,
        },
        _ => Rx::Other {
            ev,
            payload: Vec::new(),
            closing,
        },
    }
}

/// The short cut for a whole message at `buf[*pos..end]` (see
/// `Decoder::whole_message`) on an open connection: records what `step`
/// records for such a message and says where to deliver it.
#[inline(always)]
fn whole(
    c: &mut Conn,
    buf: &[u8],
    pos: &mut usize,
    end: usize,
    chunk_max: usize,
) -> Option<Deliver> {
    if !matches!(c.phase, Phase::Established) {
        return None;
    }
    let w = c.decoder.whole_message(&buf[..end], pos, chunk_max)?;
    c.stats.rx_payload += w.len as u64;
    c.rx = RxInfo {
        first: true,
        last: true,
        binary: w.binary,
        remaining: 0,
    };
    Some(Deliver {
        start: w.start,
        len: w.len,
        target: (c.protocol, c.user),
        more: *pos < end,
    })
}

impl Context {
    /// The receive buffer; a reentrant use (the buffer is out) gets one
    /// of its own, made out of line.
    #[inline]
    pub(super) fn take_rx_buf(&self) -> Box<RxBuf> {
        match self.rx_buf.take() {
            Some(b) => b,
            None => RxBuf::boxed(),
        }
    }

    #[inline]
    pub(super) fn put_rx_buf(&self, b: Box<RxBuf>) {
        self.rx_buf.set(Some(b));
    }

    /// How much of a message one CLIENT_RECEIVE delivers at most.
    #[inline]
    pub(crate) fn chunk_size(&self, protocol: usize) -> usize {
        self.chunks[protocol]
    }

    /// Socket readiness for a connection. A readable one is read at once:
    /// the first read looks up its phase, so an established connection's
    /// read costs one lookup, not two.
    pub(super) fn on_socket(&self, id: ConnId, ready: &Ready) {
        let step = if ready.readable() {
            let outer = self.receiving.replace(id.key());
            let step = self.read_frames_at::<true>(id, ready.closed());
            self.receiving.set(outer);
            step
        } else {
            self.with_conn(id, |c| Step::of(&c.phase))
        };
        match step {
            Some(Step::Connect) => self.on_connect_event(id, ready.readable()),
            Some(Step::Tls) => self.tls_io(id),
            Some(Step::Upgrade) => {
                self.handshake_io(id, ready.writable(), ready.readable(), ready.closed())
            }
            // What was received has been delivered (`receiving` named the
            // connection meanwhile); `after_io` flushes what the socket can
            // take now and delivers a CLIENT_WRITEABLE asked for meanwhile.
            Some(Step::Frames) => self.after_io(id),
            _ => {}
        }
    }

    /// Reads and decodes until the socket is drained. A short read means
    /// it is (the kernel signals data that arrives later as a new event),
    /// unless the stream holds more (TLS records or plaintext read and not
    /// yet given) or the peer has closed: then, and when `all` is asked
    /// for, it reads until the socket would block.
    pub(super) fn read_frames(&self, id: ConnId, all: bool) {
        self.read_frames_at::<false>(id, all);
    }

    /// [`read_frames`](Self::read_frames); with `EVENT`, on a socket event
    /// whose phase is not yet known: a connection that is not established
    /// or closing is not read, and its step is returned (Frames when it
    /// was read, None when it was gone).
    #[inline(never)]
    fn read_frames_at<const EVENT: bool>(&self, id: ConnId, all: bool) -> Option<Step> {
        let mut rx = self.take_rx_buf();
        let (buf, at) = (&mut rx.bytes, rx.at);
        let cap = READ_SIZE;
        let mut step = Some(Step::Frames);
        // The phase is looked at before the first read only.
        let mut look = EVENT;
        loop {
            let r = self.with_conn(id, |c| {
                if look {
                    look = false;
                    match Step::of(&c.phase) {
                        Step::Frames => {}
                        other => return Err(other),
                    }
                }
                let open = !c.is_done() && !c.rx_paused;
                Ok(match c.sock.as_mut() {
                    Some(s) if open => {
                        let r = s.read(&mut buf[at..at + cap]);
                        let drain = all || s.holds_more();
                        let mut first = None;
                        if let Ok(n @ 1..) = r {
                            c.stats.rx_wire += n as u64;
                            if c.rx_stamp {
                                self.stamp_rx(c);
                            }
                            // A whole message at the start of the read is
                            // delivered without a second lookup.
                            let mut pos = at;
                            let chunk_max = self.chunk_size(c.protocol);
                            first = whole(c, buf, &mut pos, at + n, chunk_max).map(|d| (d, pos));
                        }
                        Some((r, drain, first))
                    }
                    _ => None,
                })
            });
            let r = match r {
                None => {
                    step = None;
                    break;
                }
                Some(Err(other)) => {
                    step = Some(other);
                    break;
                }
                Some(Ok(r)) => r,
            };
            match r {
                None => break,
                Some((Ok(0), ..)) => {
                    self.peer_gone(id, None);
                    break;
                }
                Some((Ok(n), drain, first)) => {
                    let mut pos = at;
                    if let Some((d, after)) = first {
                        self.deliver(id, buf, d);
                        pos = after;
                    }
                    // After a whole message the decoder owes nothing: only
                    // input left needs another look.
                    if pos < at + n {
                        self.process_rx(id, buf, pos, at + n);
                    }
                    if n < cap && !drain {
                        break;
                    }
                }
                Some((Err(e), ..)) if e.kind() == io::ErrorKind::WouldBlock => break,
                Some((Err(e), ..)) if e.kind() == io::ErrorKind::Interrupted => continue,
                Some((Err(e), ..)) => {
                    self.peer_gone(id, Some(e));
                    break;
                }
            }
        }
        self.put_rx_buf(rx);
        step
    }

    /// Decodes bytes that did not come from a socket read (what followed the
    /// upgrade response, what was held back while receiving was paused),
    /// through the receive buffer so the chunks keep their headroom and NUL.
    pub(super) fn process_bytes(&self, id: ConnId, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        let mut rx = self.take_rx_buf();
        let end = RX_HEADROOM + bytes.len();
        if rx.bytes.len() < end + 1 {
            // Longer than a read: a buffer of its own, the usual one stays.
            let mut buf = vec![0; end + 1];
            buf[RX_HEADROOM..end].copy_from_slice(bytes);
            self.put_rx_buf(rx);
            return self.process_rx(id, &mut buf, RX_HEADROOM, end);
        }
        rx.bytes[RX_HEADROOM..end].copy_from_slice(bytes);
        self.process_rx(id, &mut rx.bytes, RX_HEADROOM, end);
        self.put_rx_buf(rx);
    }

    /// Decodes `buf[start..end]` and delivers what it holds.
    pub(crate) fn process_rx(&self, id: ConnId, buf: &mut [u8], start: usize, end: usize) {
        let mut chunk_max = 0;
        let mut pos = start;
        loop {
            let step = self.with_conn(id, |c| {
                if c.is_done() || (pos == end && !c.decoder.has_event_without_input()) {
                    return None;
                }
                if c.rx_paused {
                    // ws_rx_flow_control(wsi, 0) in a callback: keep the rest for later.
                    c.rx_stash.extend_from_slice(&buf[pos..end]);
                    return None;
                }
                if chunk_max == 0 {
                    chunk_max = self.chunk_size(c.protocol);
                }
                if let Some(d) = whole(c, buf, &mut pos, end, chunk_max) {
                    return Some(Rx::Deliver(d));
                }
                let ev = c.decoder.next(&buf[..end], &mut pos, chunk_max);
                Some(step(c, ev, pos < end))
            });
            let Some(Some(step)) = step else {
                return;
            };
            let (ev, mut payload, closing) = match step {
                Rx::Deliver(d) => {
                    if !self.deliver(id, buf, d) {
                        return;
                    }
                    continue;
                }
                Rx::Other {
                    ev,
                    payload,
                    closing,
                } => (ev, payload, closing),
            };
            match ev {
                Event::NeedMore => return,
                Event::Data {
                    start: s,
                    len,
                    compressed,
                    ..
                } => {
                    if compressed {
                        // Inflated and delivered chunk by chunk, as c.rx says.
                        if let Err(v) = self.inflate_rx(id, &buf[s..s + len], chunk_max) {
                            return self.fail_rx(id, v);
                        }
                    }
                    // Plain data that arrives once our Close is out is dropped.
                }
                Event::Ping => {
                    if !closing {
                        let mask = self.mask();
                        self.with_conn(id, |c| c.queue_frame(OpCode::Pong, true, &payload, mask));
                        self.pend(id, pend::FLUSH);
                    }
                }
                Event::Pong => {
                    let at = Tick::now();
                    self.with_conn(id, |c| {
                        if let Some(r) = c.stats.rtt.as_deref_mut() {
                            // No PING was ever sent: not a sample.
                            r.pong(&payload, at)
                        }
                    });
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
                Event::Fail(v) => return self.fail_rx(id, v),
            }
        }
    }

    /// CLIENT_RECEIVE with `buf[d.start..d.start + d.len]`, a NUL after it
    /// for the callback's duration; returns `d.more`.
    #[inline(always)]
    fn deliver(&self, id: ConnId, buf: &mut [u8], d: Deliver) -> bool {
        let end = d.start + d.len;
        let saved = buf[end];
        buf[end] = 0;
        let data = CbIn::Data {
            buf,
            start: d.start,
            len: d.len,
        };
        let r = Some(self.call_conn(id, d.target, Reason::ClientReceive, data));
        buf[end] = saved;
        self.after_callback(id, r);
        d.more
    }

    /// What was received breaks the protocol: log it and close with its code.
    fn fail_rx(&self, id: ConnId, v: Violation) {
        let target = self.with_conn(id, |c| c.target()).unwrap_or_default();
        wlog!(log::ERR, "closing {target} with {}: {}", v.code, v.what);
        let reason = truncate_utf8(&v.what, 123).as_bytes().to_vec();
        self.with_conn(id, |c| c.close_reason = Some(Box::new((v.code, reason))));
        // Answers to the messages before the violation go out
        // before the Close: a CLIENT_WRITEABLE asked for is kept.
        self.deliver_writeable(id);
        self.begin_close(id);
    }

    /// The peer's Close frame.
    fn on_peer_close(&self, id: ConnId, code: Option<u16>, reason: Vec<u8>) {
        let Some(we_closed) = self.with_conn(id, |c| c.closing()) else {
            return;
        };
        if we_closed {
            // The answer to our Close: the handshake is complete.
            self.with_conn(id, |c| c.phase = Phase::Done(Outcome::Closed));
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
            c.note_peer_close(code, &reason);
            if c.close_reason.is_none() {
                c.close_reason = Some(Box::new(match code {
                    Some(code) => (code, reason),
                    None => (0, Vec::new()),
                }));
            }
        });
        self.begin_close(id);
    }

    /// The peer closed TCP (or reading failed).
    fn peer_gone(&self, id: ConnId, err: Option<io::Error>) {
        self.with_conn(id, |c| {
            match (&err, c.closing()) {
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
            c.end(|c| ConnectError::HungUp {
                target: c.target(),
                received: 0,
            });
        });
        self.finish_later(id);
    }

    /// Receiving resumed: decode what was held back, then read the socket.
    pub(crate) fn resume_rx(&self, id: ConnId) {
        if self.with_conn(id, |c| c.rx_paused) != Some(false) {
            return;
        }
        match self.resume_inflate(id) {
            Ok(true) => {}
            Ok(false) => return self.after_io(id),
            Err(v) => return self.fail_rx(id, v),
        }
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
        let open = self.with_conn(id, |c| {
            matches!(c.phase, Phase::Established | Phase::Closing)
        });
        if open == Some(true) {
            self.read_frames(id, true);
        }
        self.after_io(id);
    }
}
