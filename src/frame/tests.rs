//! The decoder and the masking, against hand-built frames.

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

#[test]
fn close_codes_on_the_wire() {
    for code in [1000, 1001, 1003, 1007, 1011, 1013, 3000, 3999, 4000, 4999] {
        assert!(close_code_allowed(code), "{code} is allowed");
    }
    for code in [0, 999, 1004, 1005, 1006, 1014, 1015, 1016, 2999, 5000] {
        assert!(!close_code_allowed(code), "{code} is refused");
    }
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
        (
            1002,
            "RSV1 set in the first frame of message 1, but permessage-deflate was not negotiated"
        )
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
fn headers_hold_opcode_fin_length_and_mask_right_before_the_payload() {
    let m = [0xa1, 0x02, 0x73, 0xf4];
    let cases: [(usize, &[u8]); 4] = [
        (125, &[0x82, 0x80 | 125]),
        (126, &[0x82, 0xfe, 0, 126]),
        (65535, &[0x82, 0xfe, 0xff, 0xff]),
        (65536, &[0x82, 0xff, 0, 0, 0, 0, 0, 1, 0, 0]),
    ];
    for (len, fixed) in cases {
        let want: Vec<u8> = fixed.iter().chain(&m).copied().collect();
        // In headroom, as ws_write builds it: the bytes before stay.
        let mut buf = [0x55u8; 20];
        let start = encode_header_before(&mut buf, 18, OpCode::Binary, true, len, m);
        assert_eq!(&buf[start..18], &want[..], "len {len}");
        assert!(buf[..start].iter().chain(&buf[18..]).all(|&b| b == 0x55));
        let mut out = [0u8; MAX_HEADER];
        let n = encode_header(&mut out, OpCode::Binary, true, len, m);
        assert_eq!(&out[..n], &want[..], "len {len}");
    }
    // No FIN, another opcode.
    let mut out = [0u8; MAX_HEADER];
    encode_header(&mut out, OpCode::Continuation, false, 3, m);
    assert_eq!(out[..2], [0x00, 0x83]);
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
    // Past two turns of the eight-block loop, with every remainder.
    let buf: Vec<u8> = (0..600u32).map(|i| (i * 7 + 3) as u8).collect();
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
