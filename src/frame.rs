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
            first: false,
            empty_pending: false,
            message_len: 0,
            inflated_len: 0,
            max_message,
            deflate: false,
            compressed: false,
            compressed_text: false,
            messages: 0,
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
        let need = |h: &[u8]| -> usize {
            if h.len() < 2 {
                return 2;
            }
            let masked = if h[1] & 0x80 != 0 { 4 } else { 0 };
            2 + masked
                + match h[1] & 0x7f {
                    126 => 2,
                    127 => 8,
                    _ => 0,
                }
        };
        // Fast path: the whole header is in the input.
        let avail = &input[*pos..];
        let hdr: &[u8] = if self.hdr_len == 0 && avail.len() >= 2 && avail.len() >= need(avail) {
            let n = need(avail);
            self.hdr[..n].copy_from_slice(&avail[..n]);
            *pos += n;
            &self.hdr[..n]
        } else {
            loop {
                let n = need(&self.hdr[..self.hdr_len]);
                if self.hdr_len >= n {
                    break;
                }
                if *pos >= input.len() {
                    return Some(Event::NeedMore);
                }
                let take = (n - self.hdr_len).min(input.len() - *pos);
                self.hdr[self.hdr_len..self.hdr_len + take]
                    .copy_from_slice(&input[*pos..*pos + take]);
                self.hdr_len += take;
                *pos += take;
            }
            let n = self.hdr_len;
            self.hdr_len = 0;
            &self.hdr[..n]
        };
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
            self.utf8 = Utf8Stream::default();
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

/// May a peer send this close code (RFC 6455 §7.4)?
pub fn close_code_allowed(code: u16) -> bool {
    use tungstenite::protocol::frame::coding::CloseCode;
    (1000..5000).contains(&code) && CloseCode::from(code).is_allowed()
}

/// Writes a masked client frame header into `out` (at least [`MAX_HEADER`]
/// bytes) and returns its length.
pub fn encode_header(
    out: &mut [u8],
    op: OpCode,
    fin: bool,
    payload_len: usize,
    mask: [u8; 4],
) -> usize {
    out[0] = (if fin { 0x80 } else { 0 }) | op as u8;
    let n = if payload_len < 126 {
        out[1] = 0x80 | payload_len as u8;
        2
    } else if payload_len <= u16::MAX as usize {
        out[1] = 0x80 | 126;
        out[2..4].copy_from_slice(&(payload_len as u16).to_be_bytes());
        4
    } else {
        out[1] = 0x80 | 127;
        out[2..10].copy_from_slice(&(payload_len as u64).to_be_bytes());
        10
    };
    out[n..n + 4].copy_from_slice(&mask);
    n + 4
}

/// Sets RSV1 in a header [`encode_header`] wrote: the first frame of a
/// compressed message (permessage-deflate, RFC 7692 6).
pub fn mark_compressed(header: &mut [u8]) {
    header[0] |= 0x40;
}

/// The header length [`encode_header`] writes for this payload length.
pub fn header_len(payload_len: usize) -> usize {
    match payload_len {
        0..=125 => 6,
        126..=65535 => 8,
        _ => 14,
    }
}

/// XORs `data` with the mask, 32 bytes at a time.
#[multiversion::multiversion(targets("x86_64+avx2"))]
pub fn apply_mask(data: &mut [u8], mask: [u8; 4]) {
    // 32 bytes at a time against a 32-byte key (a multiple of 4, so the key
    // stays in phase): the compiler turns each block into vector XORs, with
    // AVX2 (one 32-byte XOR per block) where the CPU has it, chosen once at
    // run time by `multiversion`, else SSE2.
    let mut key = [0u8; 32];
    for k in key.chunks_exact_mut(4) {
        k.copy_from_slice(&mask);
    }
    let mut blocks = data.chunks_exact_mut(32);
    for block in &mut blocks {
        let block: &mut [u8; 32] = block.try_into().expect("32 bytes");
        for (d, k) in block.iter_mut().zip(key) {
            *d ^= k;
        }
    }
    for (d, k) in blocks.into_remainder().iter_mut().zip(key) {
        *d ^= k;
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// An unmasked server frame: `b0` (FIN, RSV, opcode), then the payload.
    pub(crate) fn frame(b0: u8, payload: &[u8]) -> Vec<u8> {
        let mut v = vec![b0];
        match payload.len() {
            n if n < 126 => v.push(n as u8),
            n if n <= 65535 => {
                v.push(126);
                v.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                v.push(127);
                v.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        v.extend_from_slice(payload);
        v
    }

    /// Feeds `input` split at every `step` bytes; returns the events and the data.
    fn run(input: &[u8], step: usize, chunk: usize) -> (Vec<Event>, Vec<u8>) {
        let mut d = Decoder::new(1 << 20);
        let mut events = Vec::new();
        let mut data = Vec::new();
        for piece in input.chunks(step) {
            let mut pos = 0;
            loop {
                let ev = d.next(piece, &mut pos, chunk);
                match &ev {
                    Event::NeedMore => break,
                    Event::Data { start, len, .. } => {
                        data.extend_from_slice(&piece[*start..*start + *len])
                    }
                    Event::Fail(_) => {
                        events.push(ev);
                        return (events, data);
                    }
                    _ => {}
                }
                events.push(ev);
            }
            assert_eq!(pos, piece.len(), "every byte is consumed");
        }
        (events, data)
    }

    #[test]
    fn whole_and_split_frames_give_the_same_payload() {
        let payload: Vec<u8> = (0..70000u32).map(|i| i as u8).collect();
        let input = frame(0x82, &payload);
        for step in [1, 2, 3, 7, 4096, input.len()] {
            let (events, data) = run(&input, step, 4096);
            assert_eq!(data, payload, "step {step}");
            let firsts = events
                .iter()
                .filter(|e| matches!(e, Event::Data { first: true, .. }))
                .count();
            let lasts = events
                .iter()
                .filter(|e| matches!(e, Event::Data { last: true, .. }))
                .count();
            assert_eq!((firsts, lasts), (1, 1), "step {step}");
            assert!(events
                .iter()
                .all(|e| matches!(e, Event::Data { len, .. } if *len <= 4096)));
        }
    }

    #[test]
    fn fragments_report_first_last_and_remaining() {
        let mut input = frame(0x01, b"hel");
        input.extend(frame(0x80, b"lo"));
        let (events, data) = run(&input, input.len(), 4096);
        assert_eq!(data, b"hello");
        assert_eq!(
            events,
            vec![
                Event::Data {
                    start: 2,
                    len: 3,
                    first: true,
                    last: false,
                    binary: false,
                    compressed: false,
                    remaining: 0
                },
                Event::Data {
                    start: 7,
                    len: 2,
                    first: false,
                    last: true,
                    binary: false,
                    compressed: false,
                    remaining: 0
                },
            ]
        );
    }

    #[test]
    fn empty_message_gives_one_empty_chunk() {
        let (events, _) = run(&frame(0x81, b""), 2, 4096);
        assert_eq!(
            events,
            vec![Event::Data {
                start: 2,
                len: 0,
                first: true,
                last: true,
                binary: false,
                compressed: false,
                remaining: 0
            }]
        );
    }

    #[test]
    fn control_frames_between_fragments() {
        let mut input = frame(0x02, b"ab");
        input.extend(frame(0x89, b"ping!"));
        input.extend(frame(0x80, b"cd"));
        let (events, data) = run(&input, 1, 4096);
        assert_eq!(data, b"abcd");
        assert!(events.contains(&Event::Ping));
    }

    fn fails_with(input: &[u8]) -> u16 {
        for step in [1, input.len()] {
            let (events, _) = run(input, step, 4096);
            if let Some(Event::Fail(v)) = events.last() {
                if step == input.len() {
                    return v.code;
                }
                continue;
            }
            panic!("no failure for {input:?} (step {step}): {events:?}");
        }
        unreachable!()
    }

    #[test]
    fn protocol_violations_fail_with_their_codes() {
        assert_eq!(fails_with(&frame(0xC1, b"x")), 1002, "rsv1");
        assert_eq!(fails_with(&frame(0x83, b"x")), 1002, "opcode 3");
        assert_eq!(fails_with(&frame(0x8B, b"")), 1002, "opcode 11");
        assert_eq!(fails_with(&[0x81, 0x81, 1, 2, 3, 4, b'x']), 1002, "masked");
        assert_eq!(fails_with(&frame(0x09, b"")), 1002, "fragmented ping");
        assert_eq!(fails_with(&frame(0x89, &[0; 126])), 1002, "126-byte ping");
        assert_eq!(fails_with(&frame(0x80, b"x")), 1002, "stray continuation");
        let mut two_starts = frame(0x01, b"a");
        two_starts.extend(frame(0x81, b"b"));
        assert_eq!(
            fails_with(&two_starts),
            1002,
            "new message inside a message"
        );
        assert_eq!(fails_with(&frame(0x88, &[3])), 1002, "1-byte close");
        assert_eq!(
            fails_with(&frame(0x88, &999u16.to_be_bytes())),
            1002,
            "close 999"
        );
        let mut bad_reason = 1000u16.to_be_bytes().to_vec();
        bad_reason.extend([0xff, 0xfe]);
        assert_eq!(
            fails_with(&frame(0x88, &bad_reason)),
            1007,
            "close reason not utf-8"
        );
        assert_eq!(
            fails_with(&frame(0x81, &[0xce, 0xba, 0xff])),
            1007,
            "bad utf-8"
        );
        assert_eq!(fails_with(&frame(0x81, &[0xce])), 1007, "truncated utf-8");
        let huge = [0x82, 127, 0, 0, 0, 0x80, 0, 0, 0, 0];
        assert_eq!(fails_with(&huge), 1009, "2 GiB frame");
    }

    /// Decodes `input` in one piece with permessage-deflate negotiated.
    fn run_pmd(input: &[u8], max_message: u64) -> (Decoder, Vec<Event>) {
        let mut d = Decoder::new(max_message);
        d.set_permessage_deflate(true);
        let mut events = Vec::new();
        let mut pos = 0;
        loop {
            let ev = d.next(input, &mut pos, 4096);
            if ev == Event::NeedMore {
                return (d, events);
            }
            let fail = matches!(ev, Event::Fail(_));
            events.push(ev);
            if fail {
                return (d, events);
            }
        }
    }

    fn violation(events: &[Event]) -> &Violation {
        match events.last() {
            Some(Event::Fail(v)) => v,
            other => panic!("no failure: {other:?}"),
        }
    }

    #[test]
    fn rsv1_marks_a_compressed_message_once_negotiated() {
        // Text whose wire bytes are not UTF-8 and exceed max_message: both
        // are checked on the inflated bytes instead.
        let mut input = frame(0x41, &[0xff, 0xfe, 0xfd]);
        input.extend(frame(0x80, &[0xfc; 20]));
        input.extend(frame(0x82, b"plain"));
        let (d, events) = run_pmd(&input, 10);
        let flags: Vec<_> = events
            .iter()
            .map(|e| match e {
                Event::Data {
                    first,
                    last,
                    binary,
                    compressed,
                    ..
                } => (*first, *last, *binary, *compressed),
                _ => panic!("{e:?}"),
            })
            .collect();
        assert_eq!(
            flags,
            [
                (true, false, false, true),
                (false, true, false, true),
                (true, true, true, false)
            ]
        );
        assert_eq!(d.message_number(), 2);
        // A third message, compressed text: its inflated bytes are checked.
        let (mut d2, _) = run_pmd(&frame(0xc1, &[1, 2, 3]), 10);
        assert_eq!(d2.inflated("κό".as_bytes(), false), Ok(()));
        assert_eq!(d2.inflated(&[0xcf], false), Ok(()));
        assert_eq!(d2.inflated(&[0x83, b'!'], true), Ok(()));
        let (mut d3, _) = run_pmd(&frame(0xc1, &[1]), 10);
        let v = d3.inflated(&[b'a', 0xff], false).unwrap_err();
        assert_eq!(
            (v.code, v.what.as_str()),
            (
                1007,
                "invalid UTF-8 in a text message (at byte 1 of the message)"
            )
        );
        let (mut d4, _) = run_pmd(&frame(0xc1, &[1]), 10);
        assert_eq!(d4.inflated(&[0xce], true).unwrap_err().code, 1007);
        // Size: the inflated bytes count, 1009 as soon as they pass the limit.
        let (mut d5, _) = run_pmd(&frame(0xc2, &[1]), 10);
        assert_eq!(d5.inflated(&[0; 10], false), Ok(()));
        let v = d5.inflated(&[0; 1], true).unwrap_err();
        assert_eq!(
            (v.code, v.what.as_str()),
            (
                1009,
                "message of at least 11 bytes exceeds the limit of 10 bytes (max_message_size)"
            )
        );
        // Binary is not UTF-8 checked.
        let (mut d6, _) = run_pmd(&frame(0xc2, &[1]), 10);
        assert_eq!(d6.inflated(&[0xff], true), Ok(()));
        // The uncompressed path still checks as it did.
        assert_eq!(violation(&run_pmd(&frame(0x81, &[0xff]), 10).1).code, 1007);
        assert_eq!(violation(&run_pmd(&frame(0x82, &[0; 11]), 10).1).code, 1009);
    }

    #[test]
    fn rsv1_where_it_does_not_belong() {
        let mut cont = frame(0x41, b"ab");
        cont.extend(frame(0xc0, b"cd"));
        let v = violation(&run_pmd(&cont, 100).1).clone();
        assert_eq!(v.code, 1002);
        assert_eq!(
            v.what,
            "RSV1 set in a continuation frame at byte 2 of message 1: only a message's first frame carries it (RFC 7692 6.1)"
        );
        let mut ping = frame(0x82, b"x");
        ping.extend(frame(0xc9, b""));
        let v = violation(&run_pmd(&ping, 100).1).clone();
        assert_eq!(
            (v.code, v.what.as_str()),
            (1002, "RSV1 set in a Ping frame after message 1: control frames are never compressed (RFC 7692 6.1)")
        );
        let v = violation(&run_pmd(&frame(0xa1, b"x"), 100).1).clone();
        assert_eq!(
            (v.code, v.what.as_str()),
            (1002, "reserved bits 0x2 set in the first frame of message 1, but no extension using them was negotiated")
        );
        // Without permessage-deflate, RSV1 is a reserved bit like the others.
        let (events, _) = run(&frame(0xc1, b"x"), 1, 4096);
        let v = violation(&events);
        assert_eq!(
            (v.code, v.what.as_str()),
            (1002, "RSV1 set in the first frame of message 1, but permessage-deflate was not negotiated")
        );
        // A stray continuation is that, whatever its bits.
        let v = violation(&run_pmd(&frame(0xc0, b"x"), 100).1).clone();
        assert_eq!(v.what, "continuation frame with no message in progress");
    }

    #[test]
    fn invalid_utf8_fails_before_the_frame_ends() {
        let mut d = Decoder::new(1 << 20);
        let mut input = vec![0x81, 126, 0x10, 0x00];
        input.extend_from_slice(b"ok");
        input.extend_from_slice(&[0xed, 0xa0, 0x80]); // a surrogate
        let mut pos = 0;
        let ev = d.next(&input, &mut pos, 4096);
        assert!(
            matches!(ev, Event::Fail(Violation { code: 1007, .. })),
            "{ev:?}"
        );
    }

    #[test]
    fn utf8_split_across_chunks_is_accepted() {
        let text = "κόσμε-€-𝄞".as_bytes();
        let input = frame(0x81, text);
        for chunk in 1..5 {
            let (events, data) = run(&input, 1, chunk);
            assert!(!events.iter().any(|e| matches!(e, Event::Fail(_))));
            assert_eq!(data, text);
        }
    }

    #[test]
    fn close_payload_and_code() {
        let mut p = 1001u16.to_be_bytes().to_vec();
        p.extend_from_slice(b"bye");
        let mut d = Decoder::new(100);
        let input = frame(0x88, &p);
        let mut pos = 0;
        assert_eq!(d.next(&input, &mut pos, 10), Event::Close(Some(1001)));
        assert_eq!(d.control_payload(), b"bye");
    }

    #[test]
    fn header_encoding_round_trips_through_mask() {
        for len in [0usize, 125, 126, 65535, 65536] {
            let mut out = [0u8; MAX_HEADER];
            let n = encode_header(&mut out, OpCode::Binary, true, len, [1, 2, 3, 4]);
            assert_eq!(n, header_len(len));
        }
        let mut data: Vec<u8> = (0..37u8).collect();
        let orig = data.clone();
        apply_mask(&mut data, [9, 8, 7, 6]);
        assert_ne!(data, orig);
        apply_mask(&mut data, [9, 8, 7, 6]);
        assert_eq!(data, orig);
        let mut byte_wise = orig.clone();
        for (i, b) in byte_wise.iter_mut().enumerate() {
            *b ^= [9, 8, 7, 6][i % 4];
        }
        let mut word_wise = orig.clone();
        apply_mask(&mut word_wise, [9, 8, 7, 6]);
        assert_eq!(word_wise, byte_wise);
    }

    #[test]
    fn mask_matches_bytewise_at_every_length_and_alignment() {
        let buf: Vec<u8> = (0..300u32).map(|i| (i * 7 + 3) as u8).collect();
        for start in 0..9 {
            for len in 0..buf.len() - start {
                let mut fast = buf[start..start + len].to_vec();
                apply_mask(&mut fast, [0xa1, 0x02, 0x73, 0xf4]);
                let slow: Vec<u8> = buf[start..start + len]
                    .iter()
                    .enumerate()
                    .map(|(i, b)| b ^ [0xa1, 0x02, 0x73, 0xf4][i % 4])
                    .collect();
                assert_eq!(fast, slow, "start {start} len {len}");
            }
        }
    }
}
