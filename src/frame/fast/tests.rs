//! The short cut against the general path: the same events, payloads,
//! failures and counters for every input, however it is split.

use super::super::tests::frame;
use super::super::{Decoder, Event};

/// One decoding step as the receive stage sees it, with the payload copied.
#[derive(Debug, PartialEq)]
enum Seen {
    Data {
        bytes: Vec<u8>,
        first: bool,
        last: bool,
        binary: bool,
        remaining: u64,
    },
    Other(Event),
}

/// Decodes `input` fed in pieces of `step` bytes, trying the short cut
/// first when `fast`, as the receive stage does; also returns how many
/// messages the short cut took and the decoder's counters.
fn decode(input: &[u8], step: usize, chunk: usize, fast: bool) -> (Vec<Seen>, usize, (u64, u64)) {
    let mut d = Decoder::new(1000);
    let mut seen = Vec::new();
    let mut taken = 0;
    'pieces: for piece in input.chunks(step) {
        let mut pos = 0;
        loop {
            if fast {
                if let Some(w) = d.whole_message(piece, &mut pos, chunk) {
                    taken += 1;
                    seen.push(Seen::Data {
                        bytes: piece[w.start..w.start + w.len].to_vec(),
                        first: true,
                        last: true,
                        binary: w.binary,
                        remaining: 0,
                    });
                    continue;
                }
            }
            match d.next(piece, &mut pos, chunk) {
                Event::NeedMore => break,
                Event::Data {
                    start,
                    len,
                    first,
                    last,
                    binary,
                    remaining,
                    ..
                } => seen.push(Seen::Data {
                    bytes: piece[start..start + len].to_vec(),
                    first,
                    last,
                    binary,
                    remaining,
                }),
                ev @ Event::Fail(_) => {
                    seen.push(Seen::Other(ev));
                    break 'pieces;
                }
                ev => seen.push(Seen::Other(ev)),
            }
        }
        assert_eq!(pos, piece.len(), "every byte is consumed");
    }
    (seen, taken, (d.frames, d.message_number()))
}

fn same_both_ways(input: &[u8]) -> usize {
    let mut taken = 0;
    for step in [1, 2, 3, 5, 130, input.len().max(1)] {
        for chunk in [1, 3, 200, 4096] {
            let general = decode(input, step, chunk, false);
            let fast = decode(input, step, chunk, true);
            assert_eq!(fast.0, general.0, "step {step}, chunk {chunk}");
            assert_eq!(fast.2, general.2, "counters, step {step}, chunk {chunk}");
            taken += fast.1;
        }
    }
    taken
}

fn cat(frames: &[Vec<u8>]) -> Vec<u8> {
    frames.concat()
}

#[test]
fn whole_messages_between_everything_else() {
    let input = cat(&[
        frame(0x82, &[7; 125]),
        frame(0x81, "κόσμε €𝄞".as_bytes()),
        frame(0x82, b""),
        frame(0x81, &[b'a'; 126]),
        frame(0x89, b"ping"),
        // A message in fragments: a whole-looking frame in between is not one.
        frame(0x01, "ab\u{20ac}".as_bytes()[..3].as_ref()),
        frame(0x8a, b"pong"),
        frame(0x80, "ab\u{20ac}".as_bytes()[3..].as_ref()),
        frame(0x82, &[1; 999]),
        frame(0x82, &[2; 1000]),
        frame(0x88, &1000u16.to_be_bytes()),
    ]);
    assert!(same_both_ways(&input) > 0, "the short cut is taken");
}

#[test]
fn bytes_inside_a_frame_that_look_like_a_message_are_not_one() {
    // Read in pieces, the rest of each payload starts a read: a PING's (no
    // message is in progress; in 5-byte pieces its payload is the second
    // piece, whole) and a binary message's.
    let input = cat(&[
        frame(0x82, b"q"),
        frame(0x89, &[0x82, 3, b'a', b'b', b'c']),
        frame(0x82, &[0x82, 1, b'z', 0x81, 0]),
        frame(0x82, b"x"),
    ]);
    same_both_ways(&input);
    // A header split after its first byte (in 5-byte pieces), whose rest
    // looks like a whole text message: the general path fails it (masked).
    same_both_ways(&[0x82, 2, b'q', b'q', 0x82, 0x81, 1, b'z', 0]);
}

#[test]
fn failures_are_the_general_paths() {
    let cases = [
        // Invalid UTF-8 in a whole text message.
        frame(0x81, b"ok\xed\xa0\x80"),
        // Text split inside a code point across two whole messages.
        cat(&[frame(0x81, &"€".as_bytes()[..2]), frame(0x81, b"x")]),
        // Over max_message in one frame.
        frame(0x82, &[0; 1001]),
        // A new message while a fragmented one is in progress.
        cat(&[frame(0x02, b"a"), frame(0x82, b"b")]),
        // A masked frame, reserved bits, a length in 8 bytes.
        vec![0x82, 0x81, 1, 2, 3, 4, 9],
        cat(&[frame(0x82, b"fine"), frame(0xc2, b"x")]),
        vec![0x82, 127, 0, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3],
    ];
    for input in cases {
        same_both_ways(&input);
    }
}

#[test]
fn header_split_across_reads_goes_the_general_way() {
    let mut d = Decoder::new(1 << 20);
    let input = frame(0x82, &[5; 300]);
    let mut pos = 0;
    assert_eq!(d.whole_message(&input[..3], &mut pos, 4096), None);
    assert_eq!(pos, 0);
    assert_eq!(d.next(&input[..3], &mut pos, 4096), Event::NeedMore);
    // The header's rest: the decoder is inside a header, not between messages.
    let mut pos = 0;
    assert_eq!(d.whole_message(&input[3..], &mut pos, 4096), None);
    assert!(matches!(
        d.next(&input[3..], &mut pos, 4096),
        Event::Data {
            start: 1,
            len: 300,
            first: true,
            last: true,
            ..
        }
    ));
}

#[test]
fn frame_exactly_filling_the_input() {
    let mut d = Decoder::new(1 << 20);
    let input = cat(&[frame(0x81, b"one"), frame(0x82, &[9; 4096])]);
    let mut pos = 0;
    let w = d.whole_message(&input, &mut pos, 4096).unwrap();
    assert_eq!((w.start, w.len, w.binary), (2, 3, false));
    let w = d.whole_message(&input, &mut pos, 4096).unwrap();
    assert_eq!((w.start, w.len, w.binary), (9, 4096, true));
    assert_eq!(pos, input.len());
    assert_eq!(d.whole_message(&input, &mut pos, 4096), None);
    assert!(!d.has_event_without_input());
    // One byte short of the payload, or over the chunk size: not whole.
    let mut pos = 0;
    assert_eq!(
        d.whole_message(&input[..input.len() - 1], &mut { 5 }, 4096),
        None
    );
    assert_eq!(d.whole_message(&input[5..], &mut pos, 4095), None);
}
