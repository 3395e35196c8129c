//! The bodies of the fuzz targets, shared by `fuzz_targets/*.rs` (cargo
//! fuzz, nightly) and `tests/fuzz_corpus.rs` (replays the committed corpus
//! on stable Rust).
//!
//! Besides "never panics", each checks that reading the same bytes in other
//! pieces changes nothing the application would see: the connection reads
//! whatever the socket has, so any split is possible.
#![allow(dead_code)] // each fuzz target uses one half

use wsloop::frame::{self, Decoder, Event};
use wsloop::handshake;

/// Piece sizes from 1 to 17 bytes, from a small generator seeded by the input.
fn pieces(seed: u8, total: usize) -> Vec<usize> {
    let mut state = seed as u32 | 0x100;
    let mut out = Vec::new();
    let mut left = total;
    while left > 0 {
        state = state.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        let n = ((state >> 16) as usize % 17 + 1).min(left);
        out.push(n);
        left -= n;
    }
    out
}

/// The RFC 6455 example key; its accept value is
/// `s3pPLMBiTxaQ9kYGzzhZRbK+xOo=` (the corpus has a valid response with it).
const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

/// First byte: read size (1 to 64); the rest: what the server sends.
pub fn handshake_response(data: &[u8]) {
    let Some((&step, bytes)) = data.split_first() else {
        return;
    };
    let step = step as usize % 64 + 1;
    // As the connection reads it: the buffer grows one read at a time and
    // is parsed again until a head is complete or refused.
    let mut end = 0;
    let found = loop {
        if end == bytes.len() {
            break None;
        }
        end = (end + step).min(bytes.len());
        match handshake::parse_response(&bytes[..end]) {
            Ok(None) => continue,
            other => break Some(other),
        }
    };
    let Some(Ok(Some((resp, len)))) = found else {
        return;
    };
    assert!(len <= end, "the head ends inside what was read");
    // The head found early is the head of the whole input.
    match handshake::parse_response(bytes) {
        Ok(Some((whole, whole_len))) => {
            assert_eq!(len, whole_len);
            assert_eq!(resp.status, whole.status);
            assert_eq!(resp.reason, whole.reason);
            assert_eq!(resp.headers, whole.headers);
        }
        other => panic!("prefix parsed as a head, the whole input as {other:?}"),
    }
    let lws_offer = wsloop::deflate::Offer::lws_default();
    for (offered, offer) in [
        (None, None),
        (Some("chat"), Some(&lws_offer)),
        (Some("chat, superchat"), None),
    ] {
        if let Ok(accepted) = handshake::check_response(&resp, KEY, offered, offer) {
            assert_eq!(resp.status, 101);
            assert!(
                accepted.deflate.is_none() || offer.is_some(),
                "deflate not offered"
            );
            if let Some(p) = accepted.protocol {
                let offered = offered.expect("no subprotocol is accepted unless offered");
                assert!(offered.split(',').any(|o| o.trim() == p), "{p} not offered");
            }
        }
    }
}

/// What the application sees of a byte stream.
#[derive(Debug, PartialEq, Eq)]
enum Seen {
    Message {
        binary: bool,
        data: Vec<u8>,
    },
    Ping(Vec<u8>),
    Pong(Vec<u8>),
    Close(Option<u16>, Vec<u8>),
    Fail(u16),
    /// Input ended inside a message, with this much of it delivered.
    Partial(usize),
}

fn decode(bytes: &[u8], sizes: &[usize], chunk_max: usize, max_message: u64) -> Vec<Seen> {
    let mut dec = Decoder::new(max_message);
    let mut seen = Vec::new();
    let mut message: Option<(bool, Vec<u8>)> = None;
    let mut at = 0;
    for &size in sizes {
        let input = &bytes[at..at + size];
        at += size;
        let mut pos = 0;
        loop {
            let before = pos;
            let ev = dec.next(input, &mut pos, chunk_max);
            assert!(
                before <= pos && pos <= input.len(),
                "{before}..{pos} in {}",
                input.len()
            );
            match ev {
                Event::NeedMore => {
                    assert_eq!(pos, input.len(), "NeedMore consumes everything");
                    break;
                }
                Event::Data {
                    start,
                    len,
                    first,
                    last,
                    binary,
                    ..
                } => {
                    assert!(len <= chunk_max);
                    assert!(before <= start && start + len <= pos);
                    if first {
                        assert!(message.is_none(), "a new message inside a message");
                        message = Some((binary, Vec::new()));
                    }
                    let (b, data) = message.as_mut().expect("a chunk outside a message");
                    assert_eq!(*b, binary);
                    data.extend_from_slice(&input[start..start + len]);
                    assert!(data.len() as u64 <= max_message, "over max_message");
                    if last {
                        let (binary, data) = message.take().unwrap();
                        if !binary {
                            assert!(
                                std::str::from_utf8(&data).is_ok(),
                                "invalid UTF-8 delivered"
                            );
                        }
                        seen.push(Seen::Message { binary, data });
                    }
                }
                Event::Ping | Event::Pong => {
                    let p = dec.control_payload().to_vec();
                    assert!(p.len() <= 125);
                    seen.push(if ev == Event::Ping {
                        Seen::Ping(p)
                    } else {
                        Seen::Pong(p)
                    });
                }
                Event::Close(code) => {
                    let reason = dec.control_payload().to_vec();
                    if let Some(c) = code {
                        assert!(frame::close_code_allowed(c), "close code {c} let through");
                    }
                    assert!(std::str::from_utf8(&reason).is_ok());
                    seen.push(Seen::Close(code, reason));
                    return seen; // the connection stops reading data here
                }
                Event::Fail(v) => {
                    assert!(matches!(v.code, 1002 | 1007 | 1009), "{v:?}");
                    seen.push(Seen::Fail(v.code));
                    return seen;
                }
            }
        }
    }
    if let Some((_, data)) = message {
        seen.push(Seen::Partial(data.len()));
    }
    seen
}

/// Bytes 0-2: chunk size (1 to 200), max_message_size (2^0 to 2^23), split
/// seed; the rest: what the server sends after the upgrade.
pub fn frame_receive(data: &[u8]) {
    if data.len() < 3 {
        return;
    }
    let chunk_max = data[0] as usize % 200 + 1;
    let max_message = 1u64 << (data[1] % 24);
    let bytes = &data[3..];
    let whole = decode(bytes, &[bytes.len()], chunk_max, max_message);
    let split = decode(bytes, &pieces(data[2], bytes.len()), chunk_max, max_message);
    // A failure may come with part of a message delivered before it,
    // depending on where the reads ended; everything complete is the same.
    fn complete(s: &[Seen]) -> Vec<&Seen> {
        s.iter()
            .filter(|e| !matches!(e, Seen::Partial(_)))
            .collect()
    }
    if matches!(whole.last(), Some(Seen::Fail(_))) {
        assert_eq!(complete(&whole), complete(&split));
    } else {
        assert_eq!(whole, split);
    }
}
