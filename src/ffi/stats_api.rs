//! Connection and context statistics (wsloop extensions, not in
//! libwebsockets): `ws_get_conn_stats`, `ws_get_context_stats`.
//!
//! Each fills a struct whose first field is its size: the caller sets
//! `size = sizeof(struct)` and the library fills as much as both know, so a
//! program built against an older header keeps working when fields are
//! added at the end.

use std::ffi::c_int;
use std::time::Duration;

use super::handles;
use super::types::*;
use crate::stats::{ConnReport, ContextReport, Counts};

/// wsloop extension: one connection's statistics, filled by
/// ws_get_conn_stats(). Fields are only ever added at the end.
///
/// Wire bytes are WebSocket frames (headers and payloads) as they leave
/// and arrive, after TLS and not counting the HTTP upgrade exchange;
/// payload bytes are what the application wrote with ws_write() (and
/// ws_sender_write()) and what CLIENT_RECEIVE handed it. With compression,
/// payload / wire is the compression ratio. Sent figures count frames when
/// they are made: what the socket has not taken yet is in `queued_bytes`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct ws_conn_stats {
    /// Set by the caller to `sizeof(struct ws_conn_stats)`; set by the
    /// library to the number of bytes it filled.
    pub size: usize,
    /// WebSocket bytes received (frame headers included).
    pub rx_wire_bytes: u64,
    /// WebSocket bytes sent (frame headers included).
    pub tx_wire_bytes: u64,
    /// Payload bytes handed to CLIENT_RECEIVE.
    pub rx_payload_bytes: u64,
    /// Payload bytes the application wrote (data, PING and PONG frames).
    pub tx_payload_bytes: u64,
    /// TEXT and BINARY messages received (counted at their first frame).
    pub rx_messages: u64,
    /// TEXT and BINARY messages the application finished writing.
    pub tx_messages: u64,
    /// Frames received, control frames included.
    pub rx_frames: u64,
    /// Frames sent, the library's own (keepalive PING, PONG, Close) included.
    pub tx_frames: u64,
    /// Microseconds since CLIENT_ESTABLISHED (0 before).
    pub established_usecs: u64,
    /// The last round-trip time measured from a PING to its PONG (the
    /// keepalive's, or one written with WS_WRITE_PING), in microseconds; 0
    /// before the first.
    pub rtt_last_usecs: u64,
    /// The smoothed round-trip time (RFC 6298: 7/8 of the previous plus 1/8
    /// of each sample), in microseconds; 0 before the first sample.
    pub rtt_smoothed_usecs: u64,
    /// How many PONGs answered a PING (round-trip samples).
    pub rtt_samples: u64,
    /// Bytes in the library's send queue, not yet taken by the socket.
    pub queued_bytes: u64,
    /// 1 when TLS holds encrypted records the socket has not taken yet
    /// (the TLS library does not say how many bytes), else 0.
    pub tls_backlogged: u32,
    /// 1 once CLIENT_ESTABLISHED was delivered, else 0.
    pub established: u32,
}

/// wsloop extension: a context's connections by phase and its totals since
/// it was made, filled by ws_get_context_stats(). Fields are only ever
/// added at the end.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct ws_context_stats {
    /// Set by the caller to `sizeof(struct ws_context_stats)`; set by the
    /// library to the number of bytes it filled.
    pub size: usize,
    /// Live connections (the sum of the phases below).
    pub live: u32,
    /// Created, or waiting for name resolution.
    pub resolving: u32,
    /// TCP connect under way.
    pub connecting: u32,
    /// Opening a tunnel through a proxy (TLS to an HTTPS proxy included).
    pub tunneling: u32,
    /// TLS handshake with the server under way.
    pub tls: u32,
    /// Upgrade request sent, response awaited or being checked.
    pub upgrading: u32,
    /// Open for messages.
    pub established: u32,
    /// Closing, or closed with the final callbacks due.
    pub closing: u32,
    /// Connections started since the context was made.
    pub started: u64,
    /// Connections that reached CLIENT_ESTABLISHED.
    pub established_total: u64,
    /// Connections that ended with CLIENT_CONNECTION_ERROR.
    pub failed: u64,
    /// Connections that ended otherwise (CLIENT_CLOSED).
    pub closed: u64,
    /// Over every connection, live and ended: as in struct ws_conn_stats.
    pub rx_wire_bytes: u64,
    /// As in struct ws_conn_stats, summed.
    pub tx_wire_bytes: u64,
    /// As in struct ws_conn_stats, summed.
    pub rx_payload_bytes: u64,
    /// As in struct ws_conn_stats, summed.
    pub tx_payload_bytes: u64,
    /// As in struct ws_conn_stats, summed.
    pub rx_messages: u64,
    /// As in struct ws_conn_stats, summed.
    pub tx_messages: u64,
    /// As in struct ws_conn_stats, summed.
    pub rx_frames: u64,
    /// As in struct ws_conn_stats, summed.
    pub tx_frames: u64,
}

fn usecs(d: Option<Duration>) -> u64 {
    d.map_or(0, |d| d.as_micros().min(u64::MAX as u128) as u64)
}

impl ws_conn_stats {
    fn from(r: &ConnReport) -> ws_conn_stats {
        let c = &r.counts;
        ws_conn_stats {
            size: std::mem::size_of::<ws_conn_stats>(),
            rx_wire_bytes: c.rx_wire,
            tx_wire_bytes: c.tx_wire,
            rx_payload_bytes: c.rx_payload,
            tx_payload_bytes: c.tx_payload,
            rx_messages: c.rx_messages,
            tx_messages: c.tx_messages,
            rx_frames: c.rx_frames,
            tx_frames: c.tx_frames,
            established_usecs: usecs(r.established),
            rtt_last_usecs: usecs(r.rtt_last),
            rtt_smoothed_usecs: usecs(r.rtt_smoothed),
            rtt_samples: r.rtt_samples,
            queued_bytes: r.queued,
            tls_backlogged: r.tls_backlogged as u32,
            established: r.established.is_some() as u32,
        }
    }
}

impl ws_context_stats {
    fn from(r: &ContextReport) -> ws_context_stats {
        let Counts {
            rx_wire,
            tx_wire,
            rx_payload,
            tx_payload,
            rx_messages,
            tx_messages,
            rx_frames,
            tx_frames,
        } = r.counts;
        ws_context_stats {
            size: std::mem::size_of::<ws_context_stats>(),
            live: r.resolving
                + r.connecting
                + r.tunneling
                + r.tls
                + r.upgrading
                + r.established
                + r.closing,
            resolving: r.resolving,
            connecting: r.connecting,
            tunneling: r.tunneling,
            tls: r.tls,
            upgrading: r.upgrading,
            established: r.established,
            closing: r.closing,
            started: r.started,
            established_total: r.established_total,
            failed: r.failed,
            closed: r.closed,
            rx_wire_bytes: rx_wire,
            tx_wire_bytes: tx_wire,
            rx_payload_bytes: rx_payload,
            tx_payload_bytes: tx_payload,
            rx_messages,
            tx_messages,
            rx_frames,
            tx_frames,
        }
    }
}

/// Copies `full` into the caller's `out`, as many bytes as both know of.
/// False (logged) when `out` is NULL or its size is too small for the size field.
unsafe fn fill<T: Copy>(func: &str, full: T, out: *mut T) -> bool {
    if out.is_null() {
        wlog!(
            crate::log::ERR,
            "{func}: out is NULL; pass a struct whose size field is set to its sizeof"
        );
        return false;
    }
    let theirs = *(out as *const usize);
    if theirs < std::mem::size_of::<usize>() {
        wlog!(
            crate::log::ERR,
            "{func}: out->size is {theirs}; set it to the struct's sizeof before the call"
        );
        return false;
    }
    let n = theirs.min(std::mem::size_of::<T>());
    std::ptr::copy_nonoverlapping(&full as *const T as *const u8, out as *mut u8, n);
    *(out as *mut usize) = n;
    true
}

/// wsloop extension (lws has no equivalent): fills `*out` with the
/// connection's statistics. Set `out->size = sizeof(*out)` first; the
/// library fills that many bytes at most (fewer when it knows fewer
/// fields) and sets `out->size` to what it filled. Reading them costs a
/// few loads; keeping them costs counter increments.
///
/// Returns 0, or -1 (with a log line) when `wsi` is not a live connection,
/// `out` is NULL or `out->size` is not set.
#[no_mangle]
pub unsafe extern "C" fn ws_get_conn_stats(wsi: *mut ws, out: *mut ws_conn_stats) -> c_int {
    guard!(
        "ws_get_conn_stats",
        -1,
        ctx = handles::any_wsi_shell(wsi).map(|(s, _)| s),
        {
            let Some((s, id)) = handles::live_conn(wsi, "ws_get_conn_stats") else {
                return -1;
            };
            let Some(r) = s.core.conn_stats(id) else {
                return -1;
            };
            if fill("ws_get_conn_stats", ws_conn_stats::from(&r), out) {
                0
            } else {
                -1
            }
        }
    )
}

/// wsloop extension (lws has no equivalent): fills `*out` with the
/// context's connections by phase and its totals over every connection
/// since it was made. Set `out->size = sizeof(*out)` first; the library
/// fills that many bytes at most and sets `out->size` to what it filled.
/// It walks the live connections: call it for monitoring, not per message.
///
/// Returns 0, or -1 (with a log line) when `context` is not a live
/// context, `out` is NULL or `out->size` is not set.
#[no_mangle]
pub unsafe extern "C" fn ws_get_context_stats(
    context: *mut ws_context,
    out: *mut ws_context_stats,
) -> c_int {
    guard!(
        "ws_get_context_stats",
        -1,
        ctx = handles::any_shell(context),
        {
            let Some(s) = handles::shell(context) else {
                refuse!(-1, "ws_get_context_stats: not a live context");
            };
            let r = s.core.context_stats();
            if fill("ws_get_context_stats", ws_context_stats::from(&r), out) {
                0
            } else {
                -1
            }
        }
    )
}
