//! permessage-deflate on a connection: the offer made in the upgrade,
//! compressed messages inflated and delivered in chunks, messages deflated
//! on their way out. [`crate::deflate`] does the compressing; this file
//! decides when and where the bytes go.

use super::receive::RX_HEADROOM;
use super::Context;
use crate::callbacks::{CbIn, ConnId, Opaque, Reason};
use crate::connection::{Conn, RxInfo};
use crate::deflate::{self, Deflater, Inflater, Offer, Params, Progress};
use crate::frame::{self, OpCode, Violation};
use crate::log;

/// The extension's name as CLIENT_CONFIRM_EXTENSION_SUPPORTED's `in`.
const NAME_C: &[u8] = b"permessage-deflate\0";

/// A connection's compression state once the server accepted the offer.
/// Holds no zlib stream until its first compressed message.
pub(crate) struct Pmd {
    inflater: Inflater,
    deflater: Deflater,
    /// A chunk of the compressed message being received was delivered.
    rx_delivered: bool,
    /// Inflating stopped by `ws_rx_flow_control(wsi, 0)`: the rest of the
    /// compressed piece it was working on.
    rx_held: Option<Held>,
}

/// A compressed piece of a frame, not yet (all) inflated.
struct Held {
    input: Vec<u8>,
    last: bool,
    binary: bool,
    remaining: u64,
}

impl Pmd {
    pub(crate) fn new(params: &Params) -> Pmd {
        Pmd {
            inflater: Inflater::new(params),
            deflater: Deflater::new(params),
            rx_delivered: false,
            rx_held: None,
        }
    }
}

/// What one inflate step left to do.
enum Next {
    /// Deliver `len` inflated bytes (possibly 0 for a message's end).
    Deliver {
        len: usize,
        more: bool,
        target: (usize, Opaque),
    },
    /// Nothing to deliver; `more`: call again.
    Skip {
        more: bool,
    },
    Stop,
    Fail(Violation),
}

impl Context {
    /// The offer for a connection about to send its upgrade request: the
    /// context's, unless the connection opted out or protocols[0] declines
    /// it in CLIENT_CONFIRM_EXTENSION_SUPPORTED (as in libwebsockets).
    pub(super) fn deflate_offer(&self, id: ConnId) -> Option<Offer> {
        let offer = self.cfg.deflate.clone()?;
        let user = self.with_conn(id, |c| (!c.req.no_deflate).then_some(c.user))??;
        let name = Opaque(NAME_C.as_ptr().cast_mut().cast());
        let r = self.call_conn(
            id,
            (0, user),
            Reason::ClientConfirmExtensionSupported,
            CbIn::Opaque(name),
        );
        if r != 0 {
            wlog!(
                log::INFO,
                "permessage-deflate not offered: protocols[0]'s CLIENT_CONFIRM_EXTENSION_SUPPORTED returned {r}"
            );
            return None;
        }
        Some(offer)
    }

    /// A compressed piece of a received message (`input`, `last`: it ends
    /// the message): inflated into chunks of at most `chunk_max` bytes,
    /// each checked and delivered as CLIENT_RECEIVE with the headroom and
    /// NUL of uncompressed chunks. Stops where receiving is paused, keeping
    /// the rest for [`Context::resume_inflate`]. The piece's place in its
    /// message (last, binary, compressed bytes left in the frame) is the
    /// connection's `rx`, which the decoder's event set. Out of line and
    /// cold, to keep the uncompressed receive path as it was.
    #[cold]
    #[inline(never)]
    pub(super) fn inflate_rx(
        &self,
        id: ConnId,
        input: &[u8],
        chunk_max: usize,
    ) -> Result<(), Violation> {
        let Some(rx) = self.with_conn(id, |c| c.rx) else {
            return Ok(());
        };
        self.inflate_piece(id, input, (rx.last, rx.binary, rx.remaining), chunk_max)
    }

    fn inflate_piece(
        &self,
        id: ConnId,
        mut input: &[u8],
        (last, binary, remaining): (bool, bool, u64),
        chunk_max: usize,
    ) -> Result<(), Violation> {
        let mut out = std::mem::take(&mut *self.pmd_buf.borrow_mut());
        out.resize(out.len().max(RX_HEADROOM + chunk_max + 1), 0);
        let room = RX_HEADROOM..RX_HEADROOM + chunk_max;
        let r = loop {
            let next = self.with_conn(id, |c| {
                if c.is_done() || c.closing() {
                    return Next::Stop;
                }
                let paused = c.rx_paused;
                let Some(p) = c.pmd.as_mut() else {
                    return Next::Stop;
                };
                if paused {
                    p.rx_held = Some(Held {
                        input: input.to_vec(),
                        last,
                        binary,
                        remaining,
                    });
                    return Next::Stop;
                }
                let mut pool = self.pmd_pool.borrow_mut();
                let step = match p
                    .inflater
                    .inflate(&mut pool, input, last, &mut out[room.clone()])
                {
                    Ok(s) => s,
                    Err(e) => {
                        return Next::Fail(Violation {
                            code: e.close_code(),
                            what: format!("message {}: {e}", c.decoder.message_number()),
                        })
                    }
                };
                input = &input[step.consumed..];
                let end = step.progress == Progress::MessageEnd;
                let more = step.progress == Progress::OutputFull;
                if step.produced == 0 && !end {
                    return Next::Skip { more };
                }
                let chunk = &out[RX_HEADROOM..RX_HEADROOM + step.produced];
                if let Err(v) = c.decoder.inflated(chunk, end) {
                    return Next::Fail(v);
                }
                let first = !std::mem::replace(&mut p.rx_delivered, !end);
                c.rx = RxInfo {
                    first,
                    last: end,
                    binary,
                    remaining: remaining + input.len() as u64,
                };
                c.stats.rx_payload += step.produced as u64;
                Next::Deliver {
                    len: step.produced,
                    more,
                    target: (c.protocol, c.user),
                }
            });
            match next {
                None | Some(Next::Stop) | Some(Next::Skip { more: false }) => break Ok(()),
                Some(Next::Fail(v)) => break Err(v),
                Some(Next::Skip { more: true }) => {}
                Some(Next::Deliver { len, more, target }) => {
                    out[RX_HEADROOM + len] = 0;
                    let data = CbIn::Data {
                        buf: &mut out,
                        start: RX_HEADROOM,
                        len,
                    };
                    let r = self.call_conn(id, target, Reason::ClientReceive, data);
                    self.after_callback(id, Some(r));
                    if !more {
                        break Ok(());
                    }
                }
            }
        };
        *self.pmd_buf.borrow_mut() = out;
        r
    }

    /// Receiving resumed: inflates what a pause held back. Ok(false): it
    /// paused again.
    pub(super) fn resume_inflate(&self, id: ConnId) -> Result<bool, Violation> {
        let held = self.with_conn(id, |c| {
            let chunk_max = self.chunk_size(c.protocol);
            c.pmd
                .as_mut()
                .and_then(|p| p.rx_held.take())
                .map(|h| (h, chunk_max))
        });
        let Some(Some((h, chunk_max))) = held else {
            return Ok(true);
        };
        self.inflate_piece(id, &h.input, (h.last, h.binary, h.remaining), chunk_max)?;
        Ok(self.with_conn(id, |c| !c.rx_paused) == Some(true))
    }
}

/// Sending: whether this frame of a message goes out compressed (a new
/// message that [`Deflater::compresses`], or a fragment of one that does).
#[inline]
pub(super) fn compresses(
    c: &Conn,
    pool: &deflate::Pool,
    op: OpCode,
    len: usize,
    fin: bool,
) -> bool {
    let Some(p) = c.pmd.as_ref() else {
        return false;
    };
    match op {
        OpCode::Text | OpCode::Binary => p.deflater.compresses(pool, len, fin),
        OpCode::Continuation => p.deflater.in_message(),
        _ => false,
    }
}

/// Compresses one frame's payload and appends the masked frame to the send
/// queue, RSV1 set on a message's first frame.
pub(super) fn queue_compressed(
    c: &mut Conn,
    pool: &mut deflate::Pool,
    scratch: &mut Vec<u8>,
    (op, fin, payload): (OpCode, bool, &[u8]),
    mask: [u8; 4],
) -> Result<(), deflate::DeflateError> {
    let Some(p) = c.pmd.as_mut() else {
        return Ok(());
    };
    scratch.clear();
    p.deflater.compress(pool, payload, fin, scratch)?;
    let at = c.out.len();
    c.queue_frame(op, fin, scratch, mask);
    if op != OpCode::Continuation {
        frame::mark_compressed(&mut c.out[at..]);
    }
    Ok(())
}
