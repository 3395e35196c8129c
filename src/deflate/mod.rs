//! permessage-deflate (RFC 7692): negotiation, inflating received messages,
//! deflating sent ones, and the streams both borrow.
//!
//! Pure and safe: bytes in, bytes out. Nothing here does I/O, calls the
//! application or knows about C; the connection decides when to call it and
//! where the bytes go. In data-flow order:
//!
//! - [`negotiate`]: the offer (libwebsockets' `client_offer` strings), the
//!   `Sec-WebSocket-Extensions` request value, the RFC 7692 section 7 check
//!   of the answer, and the [`Params`] it yields.
//! - [`Inflater`]: a received message's compressed payload, in the pieces it
//!   arrives in, inflated into an output slice the caller sizes (one
//!   delivered chunk at a time), the `00 00 ff ff` tail added at its end.
//! - [`Deflater`]: a sent message's fragments compressed as one deflate
//!   stream, the final `00 00 ff ff` taken off.
//! - [`Pool`]: the context's settings and the zlib streams of the directions
//!   that have no context takeover, lent to one connection for one message.
//!
//! Memory: a connection allocates nothing until its first compressed
//! message. Then a direction with context takeover gets its own stream for
//! the rest of the connection; one without borrows a stream from the pool
//! for the message and gives it back at the message's end, so with the loop
//! single-threaded one stream per context serves every connection (more only
//! while several messages are half-way at once). zlib-rs sizes, measured by
//! `tests/deflate_memory.rs`: a deflate stream at a 2^15 window and
//! memLevel 5 holds about 273 KiB, an inflate stream about 46 KiB.

mod deflater;
mod inflater;
pub mod negotiate;
mod pool;

pub use deflater::{DeflateError, Deflater};
pub use inflater::{InflateError, Inflater, Progress, Step};
pub use negotiate::{check_response, ClientWindow, Offer, OfferError, Params};
pub use pool::{Pool, Settings};

/// What a sender removes from the end of each compressed message and the
/// receiver appends before inflating it: the end of an empty stored block,
/// which a sync flush leaves (RFC 7692 7.2.1 and 7.2.2).
pub(crate) const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// The receive stage's use of the module, end to end: frames from the wire,
/// [`crate::frame::Decoder`] with permessage-deflate on, an [`Inflater`]
/// writing into a chunk buffer with headroom before and a NUL after, and
/// [`crate::frame::Decoder::inflated`] checking each chunk before delivery.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::{Decoder, Event, Violation};

    const HEADROOM: usize = 16;

    /// A delivered chunk: (bytes, first, last, binary).
    type Chunk = (Vec<u8>, bool, bool, bool);

    /// An unmasked server frame.
    fn frame(op: u8, fin: bool, rsv1: bool, payload: &[u8]) -> Vec<u8> {
        let b0 = op | if fin { 0x80 } else { 0 } | if rsv1 { 0x40 } else { 0 };
        crate::frame::tests::frame(b0, payload)
    }

    struct Receiver {
        decoder: Decoder,
        inflater: Inflater,
        pool: Pool,
        /// HEADROOM + chunk_max + 1: where inflated chunks are delivered.
        out: Vec<u8>,
        chunk_max: usize,
        /// A chunk of the current message was delivered.
        delivered: bool,
        chunks: Vec<Chunk>,
    }

    impl Receiver {
        fn new(params: &Params, chunk_max: usize, max_message: u64) -> Receiver {
            let mut decoder = Decoder::new(max_message);
            decoder.set_permessage_deflate(true);
            Receiver {
                decoder,
                inflater: Inflater::new(params),
                pool: Pool::new(Settings::default()),
                out: vec![0; HEADROOM + chunk_max + 1],
                chunk_max,
                delivered: false,
                chunks: Vec::new(),
            }
        }

        /// What the receive stage does with one read.
        fn read(&mut self, input: &[u8]) -> Result<(), Violation> {
            let mut pos = 0;
            loop {
                match self.decoder.next(input, &mut pos, self.chunk_max) {
                    Event::NeedMore => return Ok(()),
                    Event::Fail(v) => return Err(v),
                    Event::Data {
                        start,
                        len,
                        first,
                        last,
                        binary,
                        compressed: false,
                        ..
                    } => {
                        self.chunks
                            .push((input[start..start + len].to_vec(), first, last, binary))
                    }
                    Event::Data {
                        start,
                        len,
                        last,
                        binary,
                        compressed: true,
                        ..
                    } => self.inflate(&input[start..start + len], last, binary)?,
                    ev => panic!("unexpected {ev:?}"),
                }
            }
        }

        fn inflate(&mut self, mut input: &[u8], last: bool, binary: bool) -> Result<(), Violation> {
            loop {
                let room = &mut self.out[HEADROOM..HEADROOM + self.chunk_max];
                let step = self
                    .inflater
                    .inflate(&mut self.pool, input, last, room)
                    .map_err(|e| Violation {
                        code: e.close_code(),
                        what: format!("message {}: {e}", self.decoder.message_number()),
                    })?;
                input = &input[step.consumed..];
                let end = step.progress == Progress::MessageEnd;
                if step.produced > 0 || end {
                    let chunk = HEADROOM..HEADROOM + step.produced;
                    self.decoder.inflated(&self.out[chunk.clone()], end)?;
                    self.out[chunk.end] = 0; // the NUL after the chunk
                    let first = !std::mem::replace(&mut self.delivered, !end);
                    self.chunks
                        .push((self.out[chunk].to_vec(), first, end, binary));
                }
                if step.progress != Progress::OutputFull {
                    return Ok(());
                }
            }
        }
    }

    fn messages(chunks: &[Chunk]) -> Vec<(Vec<u8>, bool)> {
        let mut out = Vec::new();
        let mut cur: Option<(Vec<u8>, bool)> = None;
        for (bytes, first, last, binary) in chunks {
            assert_eq!(*first, cur.is_none(), "first flag");
            let m = cur.get_or_insert_with(|| (Vec::new(), *binary));
            m.0.extend_from_slice(bytes);
            if *last {
                out.push(cur.take().unwrap());
            }
        }
        assert!(cur.is_none(), "a message without its last chunk");
        out
    }

    /// A server's messages: compressed by a [`Deflater`] (its side's
    /// parameters mirror ours), split into frames of `frag` bytes.
    fn server_wire(params: &Params, msgs: &[(Vec<u8>, bool)], frag: usize) -> Vec<u8> {
        let mirrored = Params {
            client_no_context_takeover: params.server_no_context_takeover,
            client_max_window_bits: params.server_max_window_bits,
            ..*params
        };
        let mut pool = Pool::new(Settings::default());
        let mut d = Deflater::new(&mirrored);
        let mut wire = Vec::new();
        for (msg, binary) in msgs {
            let op = if *binary { 2 } else { 1 };
            if !d.compresses(&pool, msg.len(), true) {
                wire.extend(frame(op, true, false, msg));
                continue;
            }
            let mut z = Vec::new();
            d.compress(&mut pool, msg, true, &mut z).unwrap();
            let parts: Vec<&[u8]> = if z.len() <= frag {
                vec![&z]
            } else {
                z.chunks(frag).collect()
            };
            for (k, p) in parts.iter().enumerate() {
                let (op, rsv1) = if k == 0 { (op, true) } else { (0, false) };
                wire.extend(frame(op, k + 1 == parts.len(), rsv1, p));
            }
        }
        wire
    }

    fn sample(n: usize, seed: u32) -> Vec<u8> {
        (0..n as u32)
            .map(|i| {
                b"abcdefghij {}\":,0123456789"
                    [(((i * 31 + seed) % 26) ^ (i / 97 % 3)) as usize % 26]
            })
            .collect()
    }

    #[test]
    fn compressed_messages_arrive_in_chunks_with_headroom_and_nul() {
        for (takeover, frag, chunk_max, read) in [
            (true, 10_000, 4096, 65_536),
            (false, 7, 100, 3),
            (true, 300, 1, 1000),
        ] {
            let params = Params {
                server_no_context_takeover: !takeover,
                client_no_context_takeover: false,
                server_max_window_bits: 15,
                client_max_window_bits: 15,
            };
            let msgs: Vec<(Vec<u8>, bool)> = vec![
                (sample(20_000, 1), false),
                (sample(20_000, 1), true),
                (b"short".to_vec(), false),
                (Vec::new(), true),
                (sample(3000, 7), false),
            ];
            let wire = server_wire(&params, &msgs, frag);
            let mut rx = Receiver::new(&params, chunk_max, 1 << 20);
            for piece in wire.chunks(read) {
                rx.read(piece).unwrap();
            }
            assert!(rx.chunks.iter().all(|c| c.0.len() <= chunk_max));
            assert_eq!(
                messages(&rx.chunks),
                msgs,
                "takeover {takeover}, frames of {frag}"
            );
            assert_eq!(rx.pool.idle().0, usize::from(!takeover));
        }
    }

    #[test]
    fn a_decompression_bomb_fails_with_1009_before_growing() {
        let params = Params {
            server_no_context_takeover: true,
            client_no_context_takeover: true,
            server_max_window_bits: 15,
            client_max_window_bits: 15,
        };
        // 8 MiB of one byte: about 80 KiB on the wire at level 1.
        let wire = server_wire(&params, &[(vec![b'a'; 8 << 20], false)], 1 << 20);
        assert!(wire.len() < 128 << 10, "{} bytes", wire.len());
        let mut rx = Receiver::new(&params, 4096, 1 << 20);
        let v = rx.read(&wire).unwrap_err();
        assert_eq!(v.code, 1009);
        // Found in the chunk that passed the limit, before delivering it.
        let seen: usize = v.what["message of at least ".len()..]
            .split(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert!(seen > 1 << 20 && seen <= (1 << 20) + 4096, "{}", v.what);
        assert!(v
            .what
            .ends_with(" bytes exceeds the limit of 1048576 bytes (max_message_size)"));
        let delivered: usize = rx.chunks.iter().map(|c| c.0.len()).sum();
        assert!(
            delivered <= 1 << 20 && delivered + 4096 >= seen,
            "{delivered}"
        );
    }

    #[test]
    fn bad_compressed_data_fails_with_1007_naming_the_message() {
        let params = Params {
            server_no_context_takeover: false,
            client_no_context_takeover: false,
            server_max_window_bits: 15,
            client_max_window_bits: 15,
        };
        let mut wire = frame(1, true, false, b"plain");
        wire.extend(frame(2, true, true, &[0xff, 0xff, 0xff]));
        let mut rx = Receiver::new(&params, 4096, 1 << 20);
        let v = rx.read(&wire).unwrap_err();
        assert_eq!(v.code, 1007);
        assert_eq!(
            v.what,
            "message 2: compressed data does not inflate (at byte 1 of the message's compressed payload): invalid block type"
        );
        // Inflated text that is not UTF-8 (compressed whatever the threshold).
        let mut rx = Receiver::new(&params, 4096, 1 << 20);
        let mut pool = Pool::new(Settings {
            threshold: 0,
            ..Settings::default()
        });
        let mut d = Deflater::new(&params);
        let mut z = Vec::new();
        d.compress(&mut pool, &[b'a', 0xc3, 0x28, b'b'], true, &mut z)
            .unwrap();
        let v = rx.read(&frame(1, true, true, &z)).unwrap_err();
        assert_eq!(
            (v.code, v.what.as_str()),
            (
                1007,
                "invalid UTF-8 in a text message (at byte 1 of the message)"
            )
        );
    }
}
