//! Sending: each message compressed as one deflate stream across its
//! fragments, every fragment sync-flushed so it can go out at once.

use std::fmt;

use zlib_rs::{Deflate, DeflateFlush};

use super::pool::Lease;
use super::{Params, Pool, TAIL};

/// The smallest window zlib deflates raw data with.
const MIN_BITS: u8 = 9;

/// Compressing failed (zlib-rs refused its state). The message cannot be
/// sent; the connection cannot go on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeflateError {
    pub reason: String,
}

impl fmt::Display for DeflateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "permessage-deflate: compressing a message failed: {}",
            self.reason
        )
    }
}

/// A connection's sending side of permessage-deflate. Allocates nothing
/// until its first compressed message.
pub struct Deflater {
    stream: Lease<Deflate>,
    bits: u8,
}

impl Deflater {
    pub fn new(params: &Params) -> Deflater {
        let bits = params.client_max_window_bits;
        Deflater {
            stream: Lease::new(!params.client_no_context_takeover, bits),
            bits,
        }
    }

    /// Whether a new message goes out compressed (RSV1 on its first frame),
    /// judged on its first fragment: `len` bytes, `fin` when it is the whole
    /// message. A fragmented message is compressed whatever its first
    /// fragment's size (its total is not known); a whole one when it reaches
    /// the threshold. Never with a window of 8 (see [`Params`]).
    pub fn compresses(&self, pool: &Pool, len: usize, fin: bool) -> bool {
        self.bits >= MIN_BITS && (!fin || len >= pool.settings().threshold)
    }

    /// A compressed message is in progress: its continuation fragments go
    /// through [`Deflater::compress`] too.
    pub fn in_message(&self) -> bool {
        self.stream.in_message()
    }

    /// Compresses the next fragment of a compressed message and appends the
    /// result to `out`; `fin`: the message's last fragment. Each fragment is
    /// sync-flushed; the last one's trailing `00 00 ff ff` is removed
    /// (RFC 7692 7.2.1). A fragment may compress to nothing but the last
    /// one, which is at least one byte.
    pub fn compress(
        &mut self,
        pool: &mut Pool,
        input: &[u8],
        fin: bool,
        out: &mut Vec<u8>,
    ) -> Result<(), DeflateError> {
        let (stream, _) = self.stream.stream(pool);
        let start = out.len();
        let mut used = 0;
        loop {
            // Room for all of it at once, but for a pathological expansion.
            let room = zlib_rs::compress_bound(input.len() - used) + 16;
            let at = out.len();
            out.resize(at + room, 0);
            let (in0, out0) = (stream.total_in(), stream.total_out());
            let r = stream.compress(&input[used..], &mut out[at..], DeflateFlush::SyncFlush);
            used += (stream.total_in() - in0) as usize;
            let written = (stream.total_out() - out0) as usize;
            out.truncate(at + written);
            if let Err(e) = r {
                let reason = stream
                    .error_message()
                    .map(str::to_string)
                    .unwrap_or_else(|| format!("{e:?}"));
                self.stream.abandon(pool);
                return Err(DeflateError { reason });
            }
            if used == input.len() && written < room {
                break;
            }
        }
        if fin {
            match out[start..] {
                // Nothing new since the last fragment's flush: an empty
                // stored block's first byte stands for the message's end
                // (with the receiver's tail it is that block, 7.2.3.6).
                [] => out.push(0),
                [.., 0x00, 0x00, 0xff, 0xff] => out.truncate(out.len() - TAIL.len()),
                _ => {
                    self.stream.abandon(pool);
                    return Err(DeflateError {
                        reason: "the sync flush did not end with 00 00 ff ff".into(),
                    });
                }
            }
            self.stream.finish(pool, false);
        }
        Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deflate::Settings;
    use zlib_rs::{Inflate, InflateFlush};

    fn params(client_nct: bool, bits: u8) -> Params {
        Params {
            server_no_context_takeover: false,
            client_no_context_takeover: client_nct,
            server_max_window_bits: 15,
            client_max_window_bits: bits,
        }
    }

    /// What a server does: appends the tail and inflates, with its own
    /// window (2^bits) so a longer reference fails.
    fn server_inflate(inf: &mut Inflate, wire: &[u8]) -> Vec<u8> {
        let mut input = wire.to_vec();
        input.extend_from_slice(&TAIL);
        let mut out = vec![0; 1 << 20];
        let before = (inf.total_in(), inf.total_out());
        inf.decompress(&input, &mut out, InflateFlush::SyncFlush)
            .unwrap_or_else(|e| panic!("{e:?}: {:?}", inf.error_message()));
        assert_eq!(
            inf.total_in() - before.0,
            input.len() as u64,
            "all input used"
        );
        out.truncate((inf.total_out() - before.1) as usize);
        out
    }

    fn json(n: usize, seed: u64) -> Vec<u8> {
        let mut s = String::new();
        let mut i = seed;
        while s.len() < n {
            s.push_str(&format!(
                "{{\"id\":{i},\"user\":\"u{}\",\"ok\":true}},",
                i * 7 % 1000
            ));
            i += 1;
        }
        s.truncate(n);
        s.into_bytes()
    }

    fn send(d: &mut Deflater, pool: &mut Pool, msg: &[u8], frag: usize) -> Vec<u8> {
        let mut wire = Vec::new();
        if msg.is_empty() {
            d.compress(pool, msg, true, &mut wire).unwrap();
            return wire;
        }
        let n = msg.len().div_ceil(frag);
        for (k, f) in msg.chunks(frag).enumerate() {
            d.compress(pool, f, k + 1 == n, &mut wire).unwrap();
        }
        wire
    }

    #[test]
    fn a_server_reads_every_message_at_every_window() {
        for bits in 9..=15u8 {
            for nct in [false, true] {
                let mut pool = Pool::new(Settings::default());
                let mut d = Deflater::new(&params(nct, bits));
                // The server's inflater: a new one per message without
                // context takeover, one for all with it.
                let mut inf = Inflate::new(false, bits);
                for (i, msg) in [json(20_000, 1), json(20_000, 1), Vec::new(), json(3000, 9)]
                    .iter()
                    .enumerate()
                {
                    if nct {
                        inf = Inflate::new(false, bits);
                    }
                    let wire = send(&mut d, &mut pool, msg, [20_000, 1024, 1, 7][i]);
                    assert!(!wire.ends_with(&TAIL) || wire.len() < 4);
                    assert_eq!(
                        server_inflate(&mut inf, &wire),
                        *msg,
                        "bits {bits} nct {nct} message {i}"
                    );
                    if i == 1 && !nct && bits == 15 {
                        // About 4,400 bytes without the window.
                        assert!(
                            wire.len() < 1000,
                            "the repeat used the window: {}",
                            wire.len()
                        );
                    }
                }
                assert_eq!(d.holds_stream(), !nct);
                assert_eq!(pool.idle().1, usize::from(nct));
            }
        }
    }

    #[test]
    fn fragments_share_one_stream() {
        let mut pool = Pool::new(Settings::default());
        let mut d = Deflater::new(&params(true, 15));
        let msg = json(133_700, 0);
        let mut inf = Inflate::new(false, 15);
        let mut wire = Vec::new();
        for (k, f) in msg.chunks(1024).enumerate() {
            let mut frame = Vec::new();
            d.compress(&mut pool, f, (k + 1) * 1024 >= msg.len(), &mut frame)
                .unwrap();
            assert!(d.in_message() || (k + 1) * 1024 >= msg.len());
            wire.extend_from_slice(&frame);
        }
        assert!(!d.in_message());
        assert_eq!(server_inflate(&mut inf, &wire), msg);
        assert!(wire.len() < msg.len() / 3, "{} bytes", wire.len());
    }

    #[test]
    fn empty_last_fragments() {
        let mut pool = Pool::new(Settings::default());
        for nct in [false, true] {
            let mut d = Deflater::new(&params(nct, 15));
            let mut inf = Inflate::new(false, 15);
            for msg in [&b"abc"[..], b""] {
                let mut wire = Vec::new();
                d.compress(&mut pool, msg, false, &mut wire).unwrap();
                d.compress(&mut pool, b"", false, &mut wire).unwrap();
                d.compress(&mut pool, b"", true, &mut wire).unwrap();
                if nct {
                    inf = Inflate::new(false, 15);
                }
                assert_eq!(server_inflate(&mut inf, &wire), msg);
            }
            // An empty message alone is the single byte 0x00 (RFC 7692 7.2.3.6).
            let mut wire = Vec::new();
            d.compress(&mut pool, b"", true, &mut wire).unwrap();
            assert_eq!(wire, [0]);
        }
    }

    #[test]
    fn threshold_and_window_8_decide_compression() {
        let pool = Pool::new(Settings {
            level: 1,
            threshold: 100,
        });
        let d = Deflater::new(&params(true, 15));
        assert!(!d.compresses(&pool, 99, true));
        assert!(d.compresses(&pool, 100, true));
        assert!(d.compresses(&pool, 10, false), "fragmented: compressed");
        let eight = Deflater::new(&params(true, 8));
        assert!(!eight.compresses(&pool, 1 << 20, true));
        assert!(!eight.compresses(&pool, 10, false));
        assert_eq!(
            Pool::new(Settings {
                level: 12,
                threshold: 0
            })
            .settings()
            .level,
            9
        );
    }

    #[test]
    fn release_gives_back_a_lent_stream() {
        let mut pool = Pool::new(Settings::default());
        let mut d = Deflater::new(&params(true, 12));
        let mut wire = Vec::new();
        d.compress(&mut pool, &json(500, 0), false, &mut wire)
            .unwrap();
        assert_eq!(pool.idle(), (0, 0));
        d.release(&mut pool);
        assert_eq!(pool.idle(), (0, 1));
        // The next message starts a fresh stream.
        let wire = send(&mut d, &mut pool, &json(500, 3), 500);
        assert_eq!(
            server_inflate(&mut Inflate::new(false, 12), &wire),
            json(500, 3)
        );
    }
}
