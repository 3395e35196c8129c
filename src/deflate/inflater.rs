//! Receiving: a compressed message inflated in the pieces it arrives in,
//! into output the caller sizes, so no message is ever held whole.

use std::fmt;

use zlib_rs::{Inflate, InflateFlush, Status};

use super::pool::Lease;
use super::{Params, Pool, TAIL};

/// Where one call left the message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Progress {
    /// The input given is used up and its output written: call again with
    /// the message's next compressed bytes.
    NeedInput,
    /// The output slice is full and more may follow: call again with the
    /// input not yet consumed (possibly none).
    OutputFull,
    /// The message is complete; this call's output is its last (possibly
    /// empty) piece.
    MessageEnd,
}

/// What one call did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Step {
    /// Input bytes used.
    pub consumed: usize,
    /// Bytes written at the start of the output slice.
    pub produced: usize,
    pub progress: Progress,
}

/// The compressed bytes of a message do not inflate. Fails the connection
/// with [`InflateError::close_code`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InflateError {
    /// Offset in the message's compressed payload where inflating stopped.
    pub at: u64,
    pub reason: String,
}

impl InflateError {
    /// 1007: the message's data is not what its RSV1 says (invalid payload).
    pub fn close_code(&self) -> u16 {
        1007
    }
}

impl fmt::Display for InflateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "compressed data does not inflate (at byte {} of the message's compressed payload): {}",
            self.at, self.reason
        )
    }
}

/// A connection's receiving side of permessage-deflate. Allocates nothing
/// until its first compressed message.
pub struct Inflater {
    stream: Lease<Inflate>,
    /// Bytes of [`TAIL`] given to the stream at the message's end.
    tail_fed: usize,
    /// The peer ended its deflate stream (a BFINAL block) in this message.
    ended: bool,
    /// Compressed bytes of the message consumed so far.
    consumed: u64,
}

impl Inflater {
    pub fn new(params: &Params) -> Inflater {
        Inflater {
            // Inflating ignores the window size (see Params).
            stream: Lease::new(!params.server_no_context_takeover, 15),
            tail_fed: 0,
            ended: false,
            consumed: 0,
        }
    }

    /// Inflates the next compressed bytes of a message into `out` (not
    /// empty). `fin`: `input` ends the message's payload (its last frame's
    /// last bytes; it may be empty). Call again as [`Step::progress`] says;
    /// a new message starts with the first call after `MessageEnd`.
    pub fn inflate(
        &mut self,
        pool: &mut Pool,
        input: &[u8],
        fin: bool,
        out: &mut [u8],
    ) -> Result<Step, InflateError> {
        debug_assert!(!out.is_empty(), "no room to inflate into");
        let (stream, started) = self.stream.stream(pool);
        if started {
            self.tail_fed = 0;
            self.ended = false;
            self.consumed = 0;
        }
        let mut consumed = 0;
        let mut produced = 0;
        let mut failed = None;
        if self.ended {
            if !input.is_empty() {
                failed = Some((
                    self.consumed,
                    "data follows the end of its deflate stream (a block with BFINAL set)".into(),
                ));
            }
        } else {
            match run(stream, input, out) {
                Ok((c, p, end)) => {
                    (consumed, produced) = (c, p);
                    self.ended = end;
                    if end && c < input.len() {
                        failed = Some((
                            self.consumed + c as u64,
                            "data follows the end of its deflate stream (a block with BFINAL set)"
                                .into(),
                        ));
                    }
                }
                Err((c, reason)) => failed = Some((self.consumed + c as u64, reason)),
            }
        }
        self.consumed += consumed as u64;
        // The tail, once the payload is in and there is room for its output.
        let payload_in = fin && consumed == input.len();
        if failed.is_none()
            && payload_in
            && !self.ended
            && self.tail_fed < TAIL.len()
            && produced < out.len()
        {
            match run(stream, &TAIL[self.tail_fed..], &mut out[produced..]) {
                Ok((c, p, end)) => {
                    self.tail_fed += c;
                    produced += p;
                    self.ended = end;
                }
                Err((_, reason)) => failed = Some((self.consumed, reason)),
            }
        }
        if let Some((at, reason)) = failed {
            self.stream.abandon(pool);
            return Err(InflateError { at, reason });
        }
        let progress = if produced == out.len() {
            Progress::OutputFull
        } else if payload_in && (self.ended || self.tail_fed == TAIL.len()) {
            // A peer that ended its stream starts its next message afresh.
            self.stream.finish(pool, self.ended);
            Progress::MessageEnd
        } else {
            Progress::NeedInput
        };
        Ok(Step {
            consumed,
            produced,
            progress,
        })
    }

    /// Gives back what the connection holds for a message in progress (it is
    /// closing); a stream of its own is freed with it.
    pub fn release(&mut self, pool: &mut Pool) {
        if self.stream.in_message() {
            self.stream.abandon(pool);
        }
    }

    /// Whether the connection holds a stream now (for tests and memory
    /// accounting).
    pub fn holds_stream(&self) -> bool {
        self.stream.holds_stream()
    }
}

/// One inflate call: (input used, output written, the stream ended), or
/// (input used before the error, why).
fn run(
    s: &mut Inflate,
    input: &[u8],
    out: &mut [u8],
) -> Result<(usize, usize, bool), (usize, String)> {
    let (in0, out0) = (s.total_in(), s.total_out());
    let r = s.decompress(input, out, InflateFlush::SyncFlush);
    let used = (s.total_in() - in0) as usize;
    let written = (s.total_out() - out0) as usize;
    match r {
        Ok(Status::StreamEnd) => Ok((used, written, true)),
        Ok(Status::Ok | Status::BufError) => Ok((used, written, false)),
        Err(e) => Err((
            used,
            s.error_message()
                .map(str::to_string)
                .unwrap_or_else(|| format!("{e:?}")),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deflate::{Deflater, Settings};
    use zlib_rs::Deflate;

    fn params(server_nct: bool) -> Params {
        Params {
            server_no_context_takeover: server_nct,
            client_no_context_takeover: false,
            server_max_window_bits: 15,
            client_max_window_bits: 15,
        }
    }

    /// A server's compressed message: sync-flushed, tail removed.
    fn compress(d: &mut Deflate, msg: &[u8]) -> Vec<u8> {
        let mut out = vec![0; msg.len() + 64];
        let before = d.total_out();
        d.compress(msg, &mut out, zlib_rs::DeflateFlush::SyncFlush)
            .unwrap();
        out.truncate((d.total_out() - before) as usize);
        if out.is_empty() {
            // Nothing since the last flush: an empty stored block's first byte.
            return vec![0];
        }
        assert!(out.ends_with(&TAIL));
        out.truncate(out.len() - 4);
        out
    }

    /// Feeds `wire` in pieces of `piece` bytes, inflating into chunks of at
    /// most `chunk`; returns the chunks.
    fn receive(
        inf: &mut Inflater,
        pool: &mut Pool,
        wire: &[u8],
        piece: usize,
        chunk: usize,
    ) -> Result<Vec<Vec<u8>>, InflateError> {
        let mut chunks = Vec::new();
        let mut out = vec![0; chunk];
        let pieces: Vec<&[u8]> = if wire.is_empty() {
            vec![&[]]
        } else {
            wire.chunks(piece).collect()
        };
        for (i, p) in pieces.iter().enumerate() {
            let fin = i + 1 == pieces.len();
            let mut input = *p;
            loop {
                let s = inf.inflate(pool, input, fin, &mut out)?;
                input = &input[s.consumed..];
                assert!(s.produced <= chunk);
                if s.produced > 0 || s.progress == Progress::MessageEnd {
                    chunks.push(out[..s.produced].to_vec());
                }
                match s.progress {
                    Progress::OutputFull => continue,
                    Progress::NeedInput => {
                        assert!(input.is_empty());
                        assert!(!fin, "a complete message not reported");
                        break;
                    }
                    Progress::MessageEnd => {
                        assert!(fin && input.is_empty());
                        return Ok(chunks);
                    }
                }
            }
        }
        unreachable!("the last piece ends the message")
    }

    fn text(n: usize, seed: u32) -> Vec<u8> {
        (0..n as u32)
            .map(|i| b"{\"id\": 12, \"name\": \"wsloop\"}, "[((i * 7 + seed) % 29) as usize])
            .collect()
    }

    #[test]
    fn inflates_in_every_piece_and_chunk_size() {
        let msg = text(70_000, 1);
        let mut d = Deflate::new(6, false, 15);
        let wire = compress(&mut d, &msg);
        for (piece, chunk) in [
            (1, 4096),
            (7, 1),
            (wire.len(), 4096),
            (100, 70_000),
            (3, 4095),
        ] {
            let mut pool = Pool::new(Settings::default());
            let mut inf = Inflater::new(&params(true));
            let chunks = receive(&mut inf, &mut pool, &wire, piece, chunk).unwrap();
            assert!(chunks.iter().all(|c| c.len() <= chunk));
            assert_eq!(chunks.concat(), msg, "pieces of {piece}, chunks of {chunk}");
            assert!(!inf.holds_stream(), "the stream went back to the pool");
            assert_eq!(pool.idle(), (1, 0));
        }
    }

    #[test]
    fn context_takeover_keeps_the_window() {
        let mut d = Deflate::new(6, false, 15);
        let mut pool = Pool::new(Settings::default());
        let mut inf = Inflater::new(&params(false));
        let first = text(3000, 3);
        for round in 0..3 {
            // The same message again: back-references into the last one.
            let wire = compress(&mut d, &first);
            if round > 0 {
                // 3000 bytes as matches of at most 258: a dozen references.
                assert!(
                    wire.len() < 64,
                    "{} bytes: the window was not used",
                    wire.len()
                );
            }
            let got = receive(&mut inf, &mut pool, &wire, 11, 512)
                .unwrap()
                .concat();
            assert_eq!(got, first);
            assert!(inf.holds_stream(), "kept between messages");
        }
        assert_eq!(pool.idle(), (0, 0), "nothing lent");
    }

    #[test]
    fn empty_and_tiny_messages() {
        let mut d = Deflate::new(1, false, 15);
        let mut pool = Pool::new(Settings::default());
        let mut inf = Inflater::new(&params(false));
        for msg in [&b""[..], b"a", b"", b"hello"] {
            let wire = compress(&mut d, msg);
            let chunks = receive(&mut inf, &mut pool, &wire, 1, 1).unwrap();
            assert_eq!(chunks.concat(), msg);
        }
        // RFC 7692 7.2.3.6: an empty message is the single byte 0x00.
        assert_eq!(compress(&mut Deflate::new(1, false, 15), b""), [0]);
    }

    #[test]
    fn a_peer_that_ends_its_stream_starts_again() {
        // Z_FINISH instead of a sync flush: BFINAL, no tail to remove.
        let mut pool = Pool::new(Settings::default());
        let mut inf = Inflater::new(&params(false));
        for msg in [text(500, 1), text(700, 2)] {
            let mut d = Deflate::new(6, false, 15);
            let mut wire = vec![0; 2000];
            d.compress(&msg, &mut wire, zlib_rs::DeflateFlush::Finish)
                .unwrap();
            wire.truncate(d.total_out() as usize);
            let got = receive(&mut inf, &mut pool, &wire, 64, 256)
                .unwrap()
                .concat();
            assert_eq!(got, msg);
            // Data after the end of that stream is not accepted.
            let mut more = wire.clone();
            more.push(0x00);
            let e = receive(&mut inf, &mut pool, &more, more.len(), 4096).unwrap_err();
            assert!(e.reason.contains("follows the end"), "{e}");
        }
    }

    #[test]
    fn bad_data_names_the_byte() {
        let msg = text(1000, 5);
        let mut d = Deflate::new(6, false, 15);
        let mut wire = compress(&mut d, &msg);
        wire[0] |= 0x06; // BTYPE 11: reserved
        let mut pool = Pool::new(Settings::default());
        let mut inf = Inflater::new(&params(true));
        let e = receive(&mut inf, &mut pool, &wire, 5, 100).unwrap_err();
        // zlib had taken in the byte that holds the block header.
        assert_eq!(e.at, 1);
        assert_eq!(e.reason, "invalid block type");
        assert_eq!(
            e.to_string(),
            "compressed data does not inflate (at byte 1 of the message's compressed payload): invalid block type"
        );
        assert_eq!(pool.idle(), (1, 0), "the stream went back, reset");
        // The next message inflates.
        let wire = compress(&mut Deflate::new(6, false, 15), &msg);
        assert_eq!(
            receive(&mut inf, &mut pool, &wire, 5, 100)
                .unwrap()
                .concat(),
            msg
        );
        // A server that keeps its window but said server_no_context_takeover:
        // its second message refers to the first, which this side forgot.
        let mut d = Deflate::new(6, false, 15);
        let first = compress(&mut d, &msg);
        let second = compress(&mut d, &msg);
        assert_eq!(
            receive(&mut inf, &mut pool, &first, 5, 100)
                .unwrap()
                .concat(),
            msg
        );
        let e = receive(&mut inf, &mut pool, &second, 5, 100).unwrap_err();
        assert_eq!(e.reason, "invalid distance too far back");
    }

    #[test]
    fn a_bomb_is_inflated_one_chunk_at_a_time() {
        // 2 MiB of zeros compress to about 2 KiB; the caller sees them
        // 4 KiB at a time and can stop at any chunk.
        let zeros = vec![0u8; 1 << 20];
        let mut d = Deflate::new(9, false, 15);
        let mut wire = Vec::new();
        for _ in 0..2 {
            let mut out = vec![0; 4096];
            let before = d.total_out();
            d.compress(&zeros, &mut out, zlib_rs::DeflateFlush::SyncFlush)
                .unwrap();
            wire.extend_from_slice(&out[..(d.total_out() - before) as usize]);
        }
        let mut pool = Pool::new(Settings::default());
        let mut inf = Inflater::new(&params(true));
        let mut out = vec![0; 4096];
        let mut input = &wire[..];
        let mut total = 0;
        let limit = 1 << 20;
        while total <= limit {
            let s = inf.inflate(&mut pool, input, false, &mut out).unwrap();
            input = &input[s.consumed..];
            total += s.produced;
            assert_eq!(s.progress, Progress::OutputFull);
        }
        assert_eq!(total, limit + 4096);
        assert!(wire.len() - input.len() < 4096, "little input was used");
        inf.release(&mut pool);
        assert_eq!(pool.idle(), (1, 0));
    }

    #[test]
    fn reads_what_the_deflater_writes() {
        let mut pool = Pool::new(Settings {
            threshold: 0,
            ..Settings::default()
        });
        for nct in [false, true] {
            let p = Params {
                server_no_context_takeover: nct,
                client_no_context_takeover: nct,
                server_max_window_bits: 15,
                client_max_window_bits: 15,
            };
            let mut tx = Deflater::new(&p);
            let mut rx = Inflater::new(&p);
            for (i, msg) in [text(5000, 1), Vec::new(), text(40, 2), text(100_000, 3)]
                .iter()
                .enumerate()
            {
                let mut wire = Vec::new();
                let frags: Vec<&[u8]> = if msg.is_empty() {
                    vec![&[]]
                } else {
                    msg.chunks(1 + i * 997).collect()
                };
                for (k, f) in frags.iter().enumerate() {
                    tx.compress(&mut pool, f, k + 1 == frags.len(), &mut wire)
                        .unwrap();
                }
                let got = receive(&mut rx, &mut pool, &wire, 13, 1000).unwrap();
                assert_eq!(got.concat(), *msg, "message {i}, no takeover: {nct}");
            }
        }
    }
}
