//! Sending: `ws_write` framing in place, the send queue, CLIENT_WRITEABLE.

use super::outbox;
use super::pmd;
use super::Context;
use crate::callbacks::{CbIn, ConnId, Reason};
use std::fmt;

use crate::connection::{pend, Conn, Misframed, Outcome, Phase};
use crate::error::ConnectError;
use crate::frame::{self, OpCode};
use crate::log;

/// Writes smaller than this, made inside a callback after the first write
/// of the loop iteration to the connection (in that callback or an earlier
/// one, e.g. the previous CLIENT_WRITEABLE), are gathered in the send queue
/// and sent together; larger ones, and the first, go straight to the socket.
const DIRECT_WRITE_MIN: usize = 16 * 1024;
/// Bytes a connection's send queue may hold before `ws_write` refuses more:
/// a peer that stops reading must not make the queue grow without end.
/// A write into an empty queue is always taken, whatever its size.
pub(crate) const SEND_QUEUE_LIMIT: usize = 16 * 1024 * 1024;
/// The buffer a message is compressed into is kept for the next one up to
/// this size.
const SCRATCH_KEEP: usize = 1 << 20;

/// Why a write was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum WriteError {
    /// The connection is gone.
    Gone,
    /// The connection cannot take messages now; says why.
    NotOpen(&'static str),
    /// The connection dropped and is reconnecting (WS_CONNECT_RECONNECT):
    /// nothing is queued for the next connection.
    Reconnecting { target: String, attempt: u16 },
    /// The peer is not reading and the send queue is full.
    QueueFull {
        len: usize,
        queued: usize,
        target: String,
    },
    /// A PING or PONG with more than 125 bytes.
    ControlTooLong { op: OpCode, len: usize },
    /// The frame does not fit the message in progress.
    Misframed(Misframed),
}

impl fmt::Display for WriteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WriteError::Gone => f.write_str("the connection is gone"),
            WriteError::NotOpen(why) => f.write_str(why),
            WriteError::Reconnecting { target, attempt } => write!(
                f,
                "the connection to {target} is down and reconnecting (attempt {attempt}): the message was not sent; send it again after WS_CALLBACK_CLIENT_RECONNECTED"
            ),
            WriteError::QueueFull { len, queued, target } => write!(
                f,
                "{len} bytes refused for {target}: {queued} bytes are still queued (limit {SEND_QUEUE_LIMIT}), the peer is not reading; write from CLIENT_WRITEABLE, or check ws_send_pipe_choked() first"
            ),
            WriteError::ControlTooLong { op, len } => write!(
                f,
                "{op:?} payload of {len} bytes refused: control frames carry at most 125 bytes"
            ),
            WriteError::Misframed(Misframed::FragmentedControl) => {
                f.write_str("control frames cannot be fragmented (drop WS_WRITE_NO_FIN)")
            }
            WriteError::Misframed(Misframed::MessageInProgress) => f.write_str(
                "a new message started before the fragmented one was finished; send its last fragment with WS_WRITE_CONTINUATION and no WS_WRITE_NO_FIN",
            ),
            WriteError::Misframed(Misframed::NoMessageInProgress) => f.write_str(
                "WS_WRITE_CONTINUATION with no fragmented message in progress; start it with WS_WRITE_TEXT/BINARY | WS_WRITE_NO_FIN",
            ),
        }
    }
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

/// Ok when the connection takes messages, else why not (for
/// [`WriteError::NotOpen`]; a plain `&str` keeps `ws_write`'s check small).
#[inline]
pub(crate) fn open_for_messages(c: &Conn) -> Result<(), &'static str> {
    match c.phase {
        Phase::Established => Ok(()),
        Phase::Closing => Err("the connection is closing"),
        Phase::Done(_) => Err("the connection is closed"),
        _ => Err("the connection is not established yet (wait for CLIENT_ESTABLISHED)"),
    }
}

/// Why a connection that is not open refuses a write.
#[cold]
pub(crate) fn not_open(c: &Conn, why: &'static str) -> WriteError {
    match &c.restart {
        Some(r) if r.attempt > 0 => WriteError::Reconnecting {
            target: c.target(),
            attempt: r.attempt,
        },
        _ => WriteError::NotOpen(why),
    }
}

impl Context {
    /// Frames and sends (or queues) one message or fragment. `buf` holds
    /// `head` bytes of headroom, then the payload; the headroom and payload
    /// may be overwritten. `op` and `fin` are the frame's opcode and FIN
    /// bit. Returns the payload length.
    pub(crate) fn write(
        &self,
        id: ConnId,
        buf: &mut [u8],
        head: usize,
        op: OpCode,
        fin: bool,
    ) -> Result<usize, WriteError> {
        let len = buf.len() - head;
        if fin && op == OpCode::Continuation {
            // Other threads' messages wait for the end of a fragmented one.
            self.pend(id, pend::FLUSH);
        }
        let mask = self.mask();
        let r = self.with_conn(id, |c| {
            open_for_messages(c).map_err(|why| not_open(c, why))?;
            let queued = c.buffered();
            if queued > 0 && queued + len > SEND_QUEUE_LIMIT {
                return Err(WriteError::QueueFull {
                    len,
                    queued,
                    target: c.target(),
                });
            }
            c.tx_check(op, fin).map_err(WriteError::Misframed)?;
            if (op as u8) >= 8 {
                control(c, op, &buf[head..])?;
            }
            c.stats.written(len);
            // The first write of an iteration goes straight out, framed in
            // place; more small ones from callbacks in the same iteration
            // (the next CLIENT_WRITEABLEs) are gathered and sent together.
            let iteration = self.iteration.get();
            let gather = self.in_callback() && len < DIRECT_WRITE_MIN && c.wrote_at == iteration;
            c.wrote_at = iteration;
            // Frames queued behind what the socket refused are not gathered:
            // they wait for its writable event.
            let backlogged = queued > 0 || c.tls_backlogged();
            if c.pmd.is_some() {
                if let Some(sent) = self.write_compressed(c, (op, fin, &buf[head..]), mask) {
                    c.gathering |= gather && !backlogged;
                    return Ok(sent);
                }
            }
            if backlogged || gather {
                c.gathering |= !backlogged;
                c.queue_frame(op, fin, &buf[head..], mask);
                return Ok(Sent::Queued);
            }
            // Frame in place in the headroom and hand it straight to the socket.
            let start = frame::encode_header_before(buf, head, op, fin, len, mask);
            c.stats.frame_out(head - start, len);
            frame::apply_mask(&mut buf[head..], mask);
            let frame_bytes = &buf[start..];
            // A plain socket that takes the frame whole (the common case)
            // returns at once, before its answer could meet TLS' in one value.
            let r = match c.sock.as_mut() {
                Some(s) => match s.send_plain(frame_bytes) {
                    Some(Ok(n)) if n == frame_bytes.len() => return Ok(Sent::Direct),
                    Some(r) => Some(r),
                    None => Some(s.write(frame_bytes)),
                },
                None => None,
            };
            Ok(not_taken_whole(c, r, frame_bytes))
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
                if self.in_callback() || self.in_service.get() > 0 {
                    self.pend(id, pend::FLUSH);
                } else {
                    self.after_io(id);
                }
                Ok(len)
            }
        }
    }

    /// Compresses and queues a frame of a message that goes out compressed;
    /// None for one that goes out plain. Out of line: uncompressed
    /// connections pay one check in `write`.
    #[inline(never)]
    fn write_compressed(
        &self,
        c: &mut Conn,
        frame: (OpCode, bool, &[u8]),
        mask: [u8; 4],
    ) -> Option<Sent> {
        let (op, fin, payload) = frame;
        let mut pool = self.pmd_pool.borrow_mut();
        if !pmd::compresses(c, &pool, op, payload.len(), fin) {
            return None;
        }
        let mut scratch = self.pmd_scratch.borrow_mut();
        let r = pmd::queue_compressed(c, &mut pool, &mut scratch, frame, mask);
        if scratch.capacity() > SCRATCH_KEEP {
            *scratch = Vec::new();
        }
        if let Err(e) = r {
            wlog!(log::ERR, "closing {}: {e}", c.target());
            c.phase = Phase::Done(Outcome::Closed);
            return Some(Sent::Lost);
        }
        Some(Sent::Queued)
    }

    /// Flushes and delivers a due CLIENT_WRITEABLE.
    pub(crate) fn after_io(&self, id: ConnId) {
        // One borrow: flush, then see whether a CLIENT_WRITEABLE is due,
        // and for whom (the callback follows).
        let state = self.with_conn(id, |c| {
            let due = if c.idle() {
                // Nothing to flush or feed, and nothing holds a
                // CLIENT_WRITEABLE back: only the request and the phase count.
                let due = c.want_writeable && matches!(c.phase, Phase::Established);
                c.want_writeable &= !due;
                due
            } else {
                flush_and_feed(c)?
            };
            Ok(due.then(|| {
                let first = c.gathering && c.add_pend(pend::FLUSH);
                ((c.protocol, c.user), first)
            }))
        });
        match state {
            Some(Err(())) => self.finish_later(id),
            Some(Ok(Some((target, first)))) => {
                if first {
                    self.queue_pending(id);
                }
                let r = self.call_conn(id, target, Reason::ClientWriteable, CbIn::None);
                self.after_callback(id, Some(r));
            }
            _ => {}
        }
    }

    /// Sends the frames gathered for a connection, with no CLIENT_WRITEABLE:
    /// for those still queued when `run_pending` stops.
    pub(crate) fn send_gathered(&self, id: ConnId) {
        let r = self.with_conn(id, |c| {
            if c.gathering {
                c.flush().map_err(|e| write_failed(c, e))
            } else {
                Ok(())
            }
        });
        if r == Some(Err(())) {
            self.finish_later(id);
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
}

/// A frame the socket did not take whole: what it refused is queued (its
/// writable event drains it), or the connection is lost. Out of line: the
/// socket takes most frames whole.
#[inline(never)]
fn not_taken_whole(c: &mut Conn, r: Option<std::io::Result<usize>>, frame: &[u8]) -> Sent {
    let sent = match r {
        Some(Ok(n)) => n,
        Some(Err(e)) if e.kind() == std::io::ErrorKind::WouldBlock => 0,
        Some(Err(e)) if e.kind() == std::io::ErrorKind::Interrupted => 0,
        Some(Err(e)) => {
            wlog!(log::NOTICE, "write to {} failed: {e}", c.target());
            c.phase = Phase::Done(Outcome::Closed);
            return Sent::Lost;
        }
        None => 0,
    };
    // Only what the socket refused is copied.
    c.out.extend_from_slice(&frame[sent..]);
    Sent::Direct
}

/// A PING or PONG's own checks (its length), and a PING's start of a
/// round-trip measurement. Out of line: most writes are data.
#[inline(never)]
fn control(c: &mut Conn, op: OpCode, payload: &[u8]) -> Result<(), WriteError> {
    let len = payload.len();
    if len > frame::MAX_CONTROL_PAYLOAD {
        return Err(WriteError::ControlTooLong { op, len });
    }
    if op == OpCode::Ping {
        c.stats
            .rtt_mut()
            .app_ping(payload, crate::clock::Tick::now());
    }
    Ok(())
}

/// `after_io` for a connection with something queued, a TLS session or an
/// outbox: flushes, feeds the outbox, and says whether a CLIENT_WRITEABLE
/// is due (taking the request); Err(()) when the socket failed. Frames
/// gathered in this iteration are not flushed while a CLIENT_WRITEABLE is
/// due: they go out with what it writes, by the FLUSH `after_io` queues,
/// later in this iteration, or at once when they reach GATHER_MAX.
#[inline(never)]
fn flush_and_feed(c: &mut Conn) -> Result<bool, ()> {
    let hold = c.gathering && c.writeable_due();
    let flushed = if hold { Ok(()) } else { c.flush() };
    match flushed.and_then(|()| outbox::feed(c)) {
        Ok(()) => Ok(c.take_writeable()),
        Err(e) => {
            write_failed(c, e);
            Err(())
        }
    }
}

/// Ends a connection whose socket failed while sending.
fn write_failed(c: &mut Conn, e: std::io::Error) {
    if !c.is_done() {
        wlog!(log::NOTICE, "write to {} failed: {e}", c.target());
    }
    c.end(|c| ConnectError::ReadFailed {
        target: c.target(),
        detail: format!("write failed: {e}"),
    });
}
