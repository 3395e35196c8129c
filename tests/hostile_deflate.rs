//! permessage-deflate against servers that misbehave on purpose: one
//! scenario per receive failure and per bad negotiation answer, each next
//! to a healthy bystander in the same context. The client offers
//! permessage-deflate from an extension table, as libwebsockets programs
//! do; the raw server answers what the scenario needs and sends frames made
//! here by hand (deflate data included), so no compressor of ours is on the
//! server's side.

mod common;

use std::ffi::{c_void, CStr};
use std::sync::mpsc;

use common::hostile::*;
use common::*;
use wsloop::ffi::*;

/// lws' examples' offer.
const LWS_OFFER: &CStr = c"permessage-deflate; client_no_context_takeover; client_max_window_bits";

/// A creation-info hook offering permessage-deflate with `offer`, from a
/// table that lives as long as the test (lws keeps the pointer).
fn offering(offer: &'static CStr) -> impl FnOnce(&mut ws_context_creation_info) {
    move |info| {
        let table: &'static [ws_extension; 2] = Box::leak(Box::new([
            ws_extension {
                name: c"permessage-deflate".as_ptr(),
                callback: ws_extension_callback_pm_deflate as *const () as *mut c_void,
                client_offer: offer.as_ptr(),
            },
            ws_extension {
                name: std::ptr::null(),
                callback: std::ptr::null_mut(),
                client_offer: std::ptr::null(),
            },
        ]));
        info.extensions = table.as_ptr();
    }
}

/// The 101's header line accepting permessage-deflate as lws' offer asks.
const ACCEPTED: &str =
    "Sec-WebSocket-Extensions: permessage-deflate; client_no_context_takeover\r\n";

/// A frame with RSV1 set: `b0` is FIN and the opcode.
fn rsv1_frame(b0: u8, payload: &[u8]) -> Vec<u8> {
    server_frame(b0 | 0x40, payload)
}

/// Deflate bits, least significant first (RFC 1951 3.1.1).
#[derive(Default)]
struct Bits {
    out: Vec<u8>,
    acc: u32,
    n: u32,
}

impl Bits {
    fn put(&mut self, value: u32, bits: u32) {
        self.acc |= value << self.n;
        self.n += bits;
        while self.n >= 8 {
            self.out.push(self.acc as u8);
            self.acc >>= 8;
            self.n -= 8;
        }
    }

    /// A Huffman code: its most significant bit goes first.
    fn code(&mut self, code: u32, bits: u32) {
        let reversed = code.reverse_bits() >> (32 - bits);
        self.put(reversed, bits);
    }

    fn bytes(mut self) -> Vec<u8> {
        if self.n > 0 {
            self.out.push(self.acc as u8);
        }
        self.out
    }
}

/// A message's compressed payload that inflates to `len` bytes of 'a'
/// (len = 1 + k * 258): one fixed-Huffman block of a literal and k copies
/// of 258 bytes at distance 1, 13 bits each, then the empty stored block of
/// a sync flush whose `00 00 ff ff` the sender leaves off (RFC 7692 7.2.1).
fn bomb(copies: usize) -> Vec<u8> {
    let mut b = Bits::default();
    b.put(0, 1); // not the last block
    b.put(1, 2); // fixed Huffman codes
    b.code(0x30 + u32::from(b'a'), 8); // literal 'a'
    for _ in 0..copies {
        b.code(0xc0 + (285 - 280), 8); // length 258
        b.code(0, 5); // distance 1
    }
    b.code(0, 7); // end of block
    b.put(0, 3); // the flush's stored block: not last, type 00
    b.bytes()
}

/// The scenario of a frame the client must refuse with permessage-deflate
/// negotiated.
fn refused_with_deflate(bytes: Vec<u8>, code: u16, what: &str) {
    refused_frame_with(ACCEPTED, offering(LWS_OFFER), bytes, code, what);
}

#[test]
fn rsv1_on_a_control_frame() {
    refused_with_deflate(
        rsv1_frame(0x89, b"p"),
        1002,
        "RSV1 set in a Ping frame before any message: control frames are never compressed (RFC 7692 6.1)",
    );
}

#[test]
fn rsv1_on_a_continuation_frame() {
    // An uncompressed message's second frame claims compression.
    let mut bytes = server_frame(0x01, b"ab");
    bytes.extend(rsv1_frame(0x80, b"cd"));
    let (port, rx) = sends_with(ACCEPTED, bytes);
    let (c, wsi, b) = against_with(port, CtxOpts::default(), offering(LWS_OFFER));
    assert_eq!(close_code(rx.recv_timeout(SECS5).unwrap()), 1002);
    logged_for(
        port,
        "with 1002: RSV1 set in a continuation frame at byte 2 of message 1: only a message's first frame carries it (RFC 7692 6.1)",
    );
    assert!(received(&c, wsi).iter().all(|e| !e.last), "no message ends");
    closed_once(&c, wsi);
    b.check(&c);
}

#[test]
fn rsv1_when_the_server_declined_the_offer() {
    // Offered, and the 101 has no Sec-WebSocket-Extensions: uncompressed.
    refused_frame_with(
        "",
        offering(LWS_OFFER),
        rsv1_frame(0x81, b"x"),
        1002,
        "RSV1 set in the first frame of message 1, but permessage-deflate was not negotiated",
    );
}

#[test]
fn compressed_data_that_does_not_inflate() {
    // Block type 11 is reserved (RFC 1951 3.2.3).
    refused_with_deflate(
        rsv1_frame(0x82, &[0xff, 0xff, 0xff]),
        1007,
        "message 1: compressed data does not inflate (at byte 1 of the message's compressed payload): invalid block type",
    );
}

#[test]
fn decompression_bomb_fails_with_1009_at_the_limit() {
    // 8 MiB of 'a' from 53 KB on the wire, against a 1 MiB limit.
    let limit = 1 << 20;
    let payload = bomb((8 << 20) / 258);
    assert!(payload.len() < 64 << 10, "{} bytes", payload.len());
    let (tx, rx) = mpsc::channel();
    let port = upgraded_with(ACCEPTED, move |s| {
        write_all(s, &rsv1_frame(0x82, &payload));
        let _ = tx.send(read_client_frame(s));
    });
    let opts = CtxOpts {
        max_message_size: limit,
        rx_buffer_size: 4096,
        ..Default::default()
    };
    let (c, wsi, b) = against_with(port, opts, offering(LWS_OFFER));
    assert_eq!(close_code(rx.recv_timeout(SECS5).unwrap()), 1009);
    // Found in the delivery chunk that passed the limit: the message was
    // never held whole.
    let line = log_for(port)
        .into_iter()
        .find(|l| l.contains("with 1009: message of at least "))
        .expect("the 1009 is logged");
    let seen: u64 = line
        .split("with 1009: message of at least ")
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{line}"));
    assert!(seen > limit && seen <= limit + 4096, "{line}");
    assert!(
        line.ends_with(" bytes exceeds the limit of 1048576 bytes (max_message_size)"),
        "{line}"
    );
    let rx = received(&c, wsi);
    let delivered: u64 = rx.iter().map(|e| e.data.len() as u64).sum();
    assert!(delivered <= limit, "{delivered} bytes delivered");
    assert!(rx
        .iter()
        .all(|e| !e.last && e.data.iter().all(|&x| x == b'a')));
    closed_once(&c, wsi);
    b.check(&c);
}

/// A 101 answering `answer` to `offer`: the connection error the
/// application gets (the bystander unharmed).
fn answered(offer: Option<&'static CStr>, answer: &str) -> (u16, String) {
    let extra = format!("Sec-WebSocket-Extensions: {answer}\r\n");
    let port = upgraded_with(&extra, |_| std::thread::sleep(SECS5 / 10));
    let (c, wsi, b) = match offer {
        Some(o) => against_with(port, CtxOpts::default(), offering(o)),
        None => against(port, CtxOpts::default()),
    };
    let error = connection_error_of(&c, wsi);
    b.check(&c);
    (port, error)
}

#[test]
fn bad_negotiation_answers_fail_with_lws_wording() {
    let no_window = c"permessage-deflate; client_no_context_takeover";
    for (offer, answer, lead, detail) in [
        (
            LWS_OFFER,
            "permessage-deflate; foo",
            "HS: EXT: failed parsing options",
            "unknown parameter 'foo'",
        ),
        (
            LWS_OFFER,
            "permessage-deflate; client_no_context_takeover; client_no_context_takeover",
            "HS: EXT: failed parsing options",
            "parameter 'client_no_context_takeover' appears twice",
        ),
        (
            LWS_OFFER,
            "permessage-deflate; server_max_window_bits=7",
            "HS: EXT: failed parsing options",
            "server_max_window_bits=7 is not a number from 8 to 15",
        ),
        (
            LWS_OFFER,
            "permessage-deflate; client_max_window_bits=16",
            "HS: EXT: failed parsing options",
            "client_max_window_bits=16 is not a number from 8 to 15",
        ),
        (
            no_window,
            "permessage-deflate; client_max_window_bits=10",
            "HS: EXT: Rejects server options",
            "client_max_window_bits=10, which the client did not offer",
        ),
        (
            LWS_OFFER,
            "x-webkit-deflate-frame",
            "HS: EXT: unknown ext",
            "'x-webkit-deflate-frame' was not offered",
        ),
        (
            LWS_OFFER,
            "permessage-deflate, permessage-deflate",
            "HS: EXT: too many extensions",
            "permessage-deflate is accepted more than once",
        ),
    ] {
        let (port, error) = answered(Some(offer), answer);
        let offer = offer.to_str().unwrap();
        assert_eq!(
            error,
            format!(
                "{lead}: 127.0.0.1:{port}/ sent 'Sec-WebSocket-Extensions: {answer}' for the offer '{offer}': {detail}"
            )
        );
    }
}

#[test]
fn permessage_deflate_accepted_without_an_offer() {
    let (port, error) = answered(None, "permessage-deflate");
    assert_eq!(
        error,
        format!(
            "HS: EXT: unknown ext: 127.0.0.1:{port}/ sent 'Sec-WebSocket-Extensions: permessage-deflate' but the client offered no extension: 'permessage-deflate' was not offered"
        )
    );
}
