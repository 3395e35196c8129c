//! WebSocket framing for the client side of RFC 6455 §5.
//!
//! [`Decoder`] turns the bytes a server sends into [`Event`]s without copying
//! data payloads: a data event names a range of the caller's input, so the
//! payload can be handed to the application where it was read. Every input
//! byte is consumed; a header or control frame split across reads is kept
//! here, so the caller never carries leftovers. Text is UTF-8 checked as it
//! arrives, so an invalid sequence fails the connection in the chunk that
//! holds it.
//!
//! With permessage-deflate (RFC 7692) negotiated, RSV1 on the first frame of
//! a data message marks it compressed: its chunks are compressed bytes, so
//! the UTF-8 and size checks move to the inflated bytes, which the receive
//! stage hands back through [`Decoder::inflated`].
//!
//! [`encode_header`] and [`apply_mask`] build client frames. Nothing here does
//! I/O or calls the application.

use crate::utf8::Utf8Stream;

/// Longest client frame header: 2 bytes, an 8-byte length and a 4-byte mask.
pub(crate) const MAX_HEADER: usize = 14;
/// Longest control frame payload (RFC 6455 §5.5).
pub(crate) const MAX_CONTROL_PAYLOAD: usize = 125;

/// Frame opcodes (RFC 6455 §5.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpCode {
    /// A later fragment of a message.
    Continuation = 0,
    /// The first frame of a text message.
    Text = 1,
    /// The first frame of a binary message.
    Binary = 2,
    /// Close (a control frame).
    Close = 8,
    /// Ping (a control frame).
    Ping = 9,
    /// Pong (a control frame).
    Pong = 10,
}

impl OpCode {
    fn from_bits(bits: u8) -> Option<OpCode> {
        Some(match bits {
            0 => OpCode::Continuation,
            1 => OpCode::Text,
            2 => OpCode::Binary,
            8 => OpCode::Close,
            9 => OpCode::Ping,
            10 => OpCode::Pong,
            _ => return None,
        })
    }

    fn is_control(self) -> bool {
        (self as u8) & 0x8 != 0
    }
}

/// Why the server's byte stream cannot be accepted, with the close code the
/// client answers it with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// The close code to send (1002, 1007 or 1009).
    pub code: u16,
    /// What was wrong, for the log and the close reason.
    pub what: String,
}

impl Violation {
    fn protocol(what: impl Into<String>) -> Violation {
        Violation {
            code: 1002,
            what: what.into(),
        }
    }
}

fn bad_utf8(at: u64) -> Violation {
    Violation {
        code: 1007,
        what: format!("invalid UTF-8 in a text message (at byte {at} of the message)"),
    }
}

fn utf8_truncated() -> Violation {
    Violation {
        code: 1007,
        what: "text message ends inside a UTF-8 sequence".into(),
    }
}

/// The reserved bit permessage-deflate uses, as `(b0 >> 4) & 7` sees it.
const RSV1: u8 = 0x4;

/// One step of decoding.
#[derive(Debug, PartialEq, Eq)]
pub enum Event {
    /// All input so far is consumed; more bytes are needed.
    NeedMore,
    /// A chunk of a text or binary message: `input[start..start + len]`.
    Data {
        /// Where the chunk starts in the input.
        start: usize,
        /// Its length.
        len: usize,
        /// First chunk of the message.
        first: bool,
        /// Last chunk of the message.
        last: bool,
        /// The message is binary (else text).
        binary: bool,
        /// The message is compressed (permessage-deflate): the chunk is
        /// compressed bytes, to be inflated and checked with
        /// [`Decoder::inflated`] before the application sees them.
        compressed: bool,
        /// Payload bytes of the current frame still to come (compressed
        /// bytes for a compressed message, as `lws_remaining_packet_payload`).
        remaining: u64,
    },
    /// A complete Ping; its payload is [`Decoder::control_payload`].
    Ping,
    /// A complete Pong; its payload is [`Decoder::control_payload`].
    Pong,
    /// A close frame: the code (None when the payload was empty).
    Close(Option<u16>),
    /// The stream is broken; nothing more will be decoded.
    Fail(Violation),
}

#[derive(Clone, Copy, Debug)]
enum State {
    Header,
    Data { remaining: u64, fin: bool },
    Control { op: OpCode, remaining: usize },
    Failed,
}

/// Incremental decoder for server-to-client frames.
#[derive(Debug)]
pub struct Decoder {
    state: State,
    hdr: [u8; MAX_HEADER],
    hdr_len: usize,
    /// Opcode of the message in progress (Text or Binary), None between messages.
    message: Option<OpCode>,
    /// Between messages, at the start of a frame (no header bytes held):
    /// where [`Decoder::whole_message`] may take one. Set by `next`, the
    /// only one to move the state, the header and the message.
    between: bool,
    /// The next data chunk is the first of its message.
    first: bool,
    /// A zero-length frame still owes its (empty) chunk.
    empty_pending: bool,
    /// Bytes of the message so far, as they came on the wire.
    message_len: u64,
    /// Inflated bytes of the compressed message so far ([`Decoder::inflated`]).
    inflated_len: u64,
    max_message: u64,
    /// permessage-deflate was negotiated: RSV1 may mark a message compressed.
    deflate: bool,
    /// The message in progress is compressed (its bytes are checked once
    /// inflated), and whether it is text (set only for compressed ones).
    compressed: bool,
    compressed_text: bool,
    /// Data messages begun so far: the number of the current one.
    messages: u64,
    /// Frame headers read so far (`ws_get_conn_stats`).
    pub(crate) frames: u64,
    utf8: Utf8Stream,
    control: Vec<u8>,
    /// Bytes of `control` before the payload proper (the close code).
    control_skip: usize,
}

impl Decoder {
    /// `max_message`: the largest message accepted before failing with 1009.
    pub fn new(max_message: u64) -> Decoder {
        Decoder {
            state: State::Header,
            hdr: [0; MAX_HEADER],
            hdr_len: 0,
            message: None,
            between: true,
            first: false,
            empty_pending: false,
            message_len: 0,
            inflated_len: 0,
            max_message,
            deflate: false,
            compressed: false,
            compressed_text: false,
            messages: 0,
            frames: 0,
            utf8: Utf8Stream::default(),
            control: Vec::new(),
            control_skip: 0,
        }
    }

    /// Payload of the last Ping, Pong or Close event (for Close: after the code).
    pub fn control_payload(&self) -> &[u8] {
        &self.control[self.control_skip..]
    }

    /// Accept RSV1 on the first frame of a data message as "compressed"
    /// (permessage-deflate was negotiated). Off by default: RSV1 then fails
    /// the connection like any reserved bit.
    pub fn set_permessage_deflate(&mut self, negotiated: bool) {
        self.deflate = negotiated;
    }

    /// The number of the data message in progress, or of the last one
    /// (1 for the first), for messages that name where something went wrong.
    pub fn message_number(&self) -> u64 {
        self.messages
    }

    /// Checks inflated bytes of the current (compressed) message, as the
    /// decoder checks an uncompressed message's bytes: the message's size
    /// against `max_message` (1009) and, for text, UTF-8 (1007; `last`: this
    /// is the message's final piece). Call it with every inflated chunk before
    /// delivering it, also after the message's last `Data` event.
    pub fn inflated(&mut self, data: &[u8], last: bool) -> Result<(), Violation> {
        self.inflated_len = self.inflated_len.saturating_add(data.len() as u64);
        if self.inflated_len > self.max_message {
            return Err(self.too_big(self.inflated_len));
        }
        if self.compressed && self.compressed_text {
            if let Err(at) = self.utf8.feed(data) {
                return Err(bad_utf8(at));
            }
            if last && !self.utf8.is_complete() {
                return Err(utf8_truncated());
            }
        }
        Ok(())
    }

    /// Whether `next` can return something other than `NeedMore` with no
    /// input left: an empty data or control frame whose header was the
    /// last thing read.
    pub fn has_event_without_input(&self) -> bool {
        match self.state {
            State::Data { remaining, .. } => remaining == 0 && self.empty_pending,
            State::Control { remaining, .. } => remaining == 0,
            State::Header | State::Failed => false,
        }
    }

    /// Decodes from `input`, consuming what it uses into `*pos`. A data chunk
    /// is at most `chunk_max` bytes.
    pub fn next(&mut self, input: &[u8], pos: &mut usize, chunk_max: usize) -> Event {
        let ev = self.step(input, pos, chunk_max);
        self.between =
            matches!(self.state, State::Header) && self.hdr_len == 0 && self.message.is_none();
        ev
    }

    #[inline(always)]
    fn step(&mut self, input: &[u8], pos: &mut usize, chunk_max: usize) -> Event {
        loop {
            match self.state {
                State::Failed => return Event::NeedMore,
                State::Header => {
                    if let Some(ev) = self.read_header(input, pos) {
                        return ev;
                    }
                }
                State::Data { remaining, fin } => {
                    return self.data(input, pos, remaining, fin, chunk_max)
                }
                State::Control { op, remaining } => {
                    let take = remaining.min(input.len() - *pos);
                    self.control.extend_from_slice(&input[*pos..*pos + take]);
                    *pos += take;
                    if take < remaining {
                        self.state = State::Control {
                            op,
                            remaining: remaining - take,
                        };
                        return Event::NeedMore;
                    }
                    self.state = State::Header;
                    return self.control_frame(op);
                }
            }
        }
    }

    fn fail(&mut self, v: Violation) -> Event {
        self.state = State::Failed;
        Event::Fail(v)
    }

    /// Gathers header bytes; returns an event when one is due, None once the
    /// state has moved on past the header.
    fn read_header(&mut self, input: &[u8], pos: &mut usize) -> Option<Event> {
        let avail = &input[*pos..];
        // Fast path: the whole header is in the input, read where it lies.
        if self.hdr_len == 0 && avail.len() >= 2 {
            let n = header_size(avail[1]);
            if avail.len() >= n {
                *pos += n;
                return self.header(&avail[..n]);
            }
        }
        loop {
            let n = match self.hdr_len {
                0 | 1 => 2,
                _ => header_size(self.hdr[1]),
            };
            if self.hdr_len >= n {
                break;
            }
            if *pos >= input.len() {
                return Some(Event::NeedMore);
            }
            let take = (n - self.hdr_len).min(input.len() - *pos);
            self.hdr[self.hdr_len..self.hdr_len + take].copy_from_slice(&input[*pos..*pos + take]);
            self.hdr_len += take;
            *pos += take;
        }
        let (hdr, n) = (self.hdr, self.hdr_len);
        self.hdr_len = 0;
        self.header(&hdr[..n])
    }

    /// Acts on a complete header: fails the stream, or moves the state on
    /// to the frame's payload.
    #[inline(always)]
    fn header(&mut self, hdr: &[u8]) -> Option<Event> {
        self.frames += 1;
        let b0 = hdr[0];
        let b1 = hdr[1];
        let fin = b0 & 0x80 != 0;
        let rsv = (b0 >> 4) & 0x7;
        let masked = b1 & 0x80 != 0;
        let payload_len = match b1 & 0x7f {
            126 => u16::from_be_bytes([hdr[2], hdr[3]]) as u64,
            127 => u64::from_be_bytes(hdr[2..10].try_into().expect("8 bytes")),
            n => n as u64,
        };
        let Some(op) = OpCode::from_bits(b0 & 0x0f) else {
            return Some(self.fail(Violation::protocol(format!(
                "unknown opcode {:#x}",
                b0 & 0x0f
            ))));
        };
        if rsv != 0 {
            if let Some(v) = self.reserved_bits(rsv, op) {
                return Some(self.fail(v));
            }
        }
        if masked {
            return Some(self.fail(Violation::protocol(
                "the server sent a masked frame (RFC 6455 5.1: a client must fail the connection)",
            )));
        }
        if payload_len >> 63 != 0 {
            return Some(self.fail(Violation::protocol(
                "frame length has its most significant bit set",
            )));
        }
        if op.is_control() {
            if !fin {
                return Some(self.fail(Violation::protocol(format!(
                    "fragmented control frame ({op:?})"
                ))));
            }
            if payload_len > MAX_CONTROL_PAYLOAD as u64 {
                return Some(self.fail(Violation::protocol(format!(
                    "{op:?} frame with {payload_len} bytes of payload (control frames carry at most 125)"
                ))));
            }
            self.control.clear();
            self.control_skip = 0;
            self.state = State::Control {
                op,
                remaining: payload_len as usize,
            };
            return None;
        }
        if op == OpCode::Continuation {
            if self.message.is_none() {
                return Some(self.fail(Violation::protocol(
                    "continuation frame with no message in progress",
                )));
            }
        } else {
            if self.message.is_some() {
                return Some(self.fail(Violation::protocol(
                    "new data frame while a fragmented message is still in progress",
                )));
            }
            self.message = Some(op);
            self.first = true;
            self.messages += 1;
            // RSV1 got here only when permessage-deflate allows it.
            self.compressed = rsv != 0;
            self.message_len = 0;
            // Only text is UTF-8 checked (inflated, when compressed).
            if op == OpCode::Text {
                self.utf8 = Utf8Stream::default();
            }
        }
        // A compressed message is measured once inflated (`inflated`).
        self.message_len = self.message_len.saturating_add(payload_len);
        if self.message_len > self.max_message && !self.compressed {
            return Some(self.fail(self.too_big(self.message_len)));
        }
        self.empty_pending = payload_len == 0;
        self.state = State::Data {
            remaining: payload_len,
            fin,
        };
        None
    }

    fn data(
        &mut self,
        input: &[u8],
        pos: &mut usize,
        remaining: u64,
        fin: bool,
        chunk_max: usize,
    ) -> Event {
        let avail = input.len() - *pos;
        let len = (remaining.min(avail as u64) as usize).min(chunk_max.max(1));
        if len == 0 && !self.empty_pending {
            return Event::NeedMore;
        }
        self.empty_pending = false;
        let start = *pos;
        *pos += len;
        let remaining = remaining - len as u64;
        let last = fin && remaining == 0;
        let binary = self.message == Some(OpCode::Binary);
        if !binary && !self.compressed {
            if let Err(at) = self.utf8.feed(&input[start..start + len]) {
                return self.fail(bad_utf8(at));
            }
            if last && !self.utf8.is_complete() {
                return self.fail(utf8_truncated());
            }
        }
        let first = std::mem::replace(&mut self.first, false);
        if remaining == 0 {
            self.state = State::Header;
            if fin {
                self.message = None;
            }
        } else {
            self.state = State::Data { remaining, fin };
        }
        Event::Data {
            start,
            len,
            first,
            last,
            binary,
            compressed: self.compressed,
            remaining,
        }
    }

    fn too_big(&self, len: u64) -> Violation {
        Violation {
            code: 1009,
            what: format!(
                "message of at least {len} bytes exceeds the limit of {} bytes (max_message_size)",
                self.max_message
            ),
        }
    }

    /// RSV1 marks a compressed message (RFC 7692 6.1) on the first frame of
    /// a data message, once permessage-deflate is negotiated; anything else
    /// in the reserved bits fails the connection, naming the frame by its
    /// message and byte.
    #[cold]
    fn reserved_bits(&mut self, rsv: u8, op: OpCode) -> Option<Violation> {
        let n = self.messages;
        let frame = match (op, self.message) {
            (OpCode::Text | OpCode::Binary, _) => format!("the first frame of message {}", n + 1),
            (OpCode::Continuation, Some(_)) => format!(
                "a continuation frame at byte {} of message {n}",
                self.message_len
            ),
            (_, Some(_)) => format!("a {op:?} frame at byte {} of message {n}", self.message_len),
            (_, None) if n == 0 => format!("a {op:?} frame before any message"),
            (_, None) => format!("a {op:?} frame after message {n}"),
        };
        let what = if rsv != RSV1 {
            format!(
                "reserved bits {rsv:#x} set in {frame}, but no extension using them was negotiated"
            )
        } else if !self.deflate {
            format!("RSV1 set in {frame}, but permessage-deflate was not negotiated")
        } else if op.is_control() {
            format!("RSV1 set in {frame}: control frames are never compressed (RFC 7692 6.1)")
        } else if op == OpCode::Continuation {
            // A stray continuation fails as that, later.
            self.message?;
            format!("RSV1 set in {frame}: only a message's first frame carries it (RFC 7692 6.1)")
        } else {
            // A compressed message starts: measured and checked once inflated.
            self.compressed_text = op == OpCode::Text;
            self.inflated_len = 0;
            return None;
        };
        Some(Violation::protocol(what))
    }

    fn control_frame(&mut self, op: OpCode) -> Event {
        match op {
            OpCode::Ping => Event::Ping,
            OpCode::Pong => Event::Pong,
            OpCode::Close => match self.control.len() {
                0 => Event::Close(None),
                1 => self.fail(Violation::protocol("close frame with a 1-byte payload")),
                _ => {
                    let code = u16::from_be_bytes([self.control[0], self.control[1]]);
                    if !close_code_allowed(code) {
                        return self.fail(Violation::protocol(format!(
                            "close code {code} is not allowed on the wire"
                        )));
                    }
                    if std::str::from_utf8(&self.control[2..]).is_err() {
                        return self.fail(Violation {
                            code: 1007,
                            what: "close reason is not valid UTF-8".into(),
                        });
                    }
                    self.control_skip = 2;
                    Event::Close(Some(code))
                }
            },
            _ => unreachable!("only control opcodes reach here"),
        }
    }
}

/// May a peer send this close code (RFC 6455 §7.4): 1000-1003, 1007-1013
/// (not the reserved 1004-1006 and 1015), and the ranges 3000-4999.
pub fn close_code_allowed(code: u16) -> bool {
    matches!(code, 1000..=1003 | 1007..=1013 | 3000..=4999)
}

/// The size of a server frame header whose second byte is `b1`.
#[inline]
fn header_size(b1: u8) -> usize {
    let mask = if b1 & 0x80 != 0 { 4 } else { 0 };
    2 + mask
        + match b1 & 0x7f {
            126 => 2,
            127 => 8,
            _ => 0,
        }
}

mod encode;
mod fast;
pub use encode::{apply_mask, encode_header, encode_header_before, header_len, mark_compressed};
pub use fast::Whole;

#[cfg(test)]
pub(crate) mod tests;
