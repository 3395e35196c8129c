//! Connection statistics (`ws_get_conn_stats`, `ws_get_context_stats`).
//!
//! The data path only adds to counters here; everything derived (times,
//! what is queued, the context's view) is worked out when the application
//! asks. Sent counts are taken when a frame is made (whether the socket
//! took it at once or it waits in the queue: the queued figures tell that
//! apart); received ones as the decoder reads frames and the application
//! is handed their payload.

use std::time::{Duration, Instant};

use crate::clock::Tick;

/// What one connection has done so far.
#[derive(Clone, Debug, Default)]
pub(crate) struct Stats {
    /// WebSocket bytes read (frame headers and payloads; after TLS).
    pub(crate) rx_wire: u64,
    /// Payload bytes handed to CLIENT_RECEIVE.
    pub(crate) rx_payload: u64,
    // The sent counts are interleaved so that no two counted together
    // (a frame's, or a write's) sit side by side: the compiler then adds
    // each with one instruction instead of packing them into a vector.
    /// Frames made for sending, and their bytes (headers included).
    pub(crate) tx_frames: u64,
    /// What the application wrote: payload bytes and finished messages.
    pub(crate) tx_payload: u64,
    pub(crate) tx_wire: u64,
    pub(crate) tx_messages: u64,
    /// When CLIENT_ESTABLISHED came.
    pub(crate) established: Option<Instant>,
    /// Made at the first PING: most connections never send one.
    pub(crate) rtt: Option<Box<Rtt>>,
}

impl Stats {
    /// A frame of `len` payload bytes, `hlen` header bytes, was made.
    #[inline(always)]
    pub(crate) fn frame_out(&mut self, hlen: usize, len: usize) {
        self.tx_frames += 1;
        self.tx_wire += (hlen + len) as u64;
    }

    /// The application wrote `len` payload bytes (finished messages are
    /// counted by `Conn::tx_check`, which knows them).
    #[inline(always)]
    pub(crate) fn written(&mut self, len: usize) {
        self.tx_payload += len as u64;
    }

    /// The round-trip state, made on first use.
    pub(crate) fn rtt_mut(&mut self) -> &mut Rtt {
        self.rtt.get_or_insert_with(Default::default)
    }
}

/// Round-trip times measured from PING to PONG: the keepalive's and the
/// application's (`ws_write` with WS_WRITE_PING).
#[derive(Clone, Debug, Default)]
pub(crate) struct Rtt {
    /// The PING waiting for its PONG, by payload, and when it went out: the
    /// keepalive's, and the application's latest.
    keepalive: Option<([u8; 8], Tick)>,
    app: Option<(Vec<u8>, Tick)>,
    pub(crate) last: Option<Duration>,
    /// RFC 6298's smoothed round-trip time: 7/8 of the old plus 1/8 of
    /// each new sample.
    pub(crate) smoothed: Option<Duration>,
    pub(crate) samples: u64,
}

impl Rtt {
    pub(crate) fn keepalive_ping(&mut self, payload: [u8; 8], at: Tick) {
        self.keepalive = Some((payload, at));
    }

    pub(crate) fn app_ping(&mut self, payload: &[u8], at: Tick) {
        self.app = Some((payload.to_vec(), at));
    }

    /// A PONG with `payload` arrived at `at`: a sample when it answers the
    /// PING that is out (an unsolicited or stale PONG is none).
    pub(crate) fn pong(&mut self, payload: &[u8], at: Tick) {
        let sent = match (&self.keepalive, &self.app) {
            (Some((p, t)), _) if p[..] == *payload => {
                let t = *t;
                self.keepalive = None;
                t
            }
            (_, Some((p, t))) if p[..] == *payload => {
                let t = *t;
                self.app = None;
                t
            }
            _ => return,
        };
        let sample = at.since(sent);
        self.last = Some(sample);
        self.smoothed = Some(match self.smoothed {
            None => sample,
            Some(s) => (s * 7 + sample) / 8,
        });
        self.samples += 1;
    }
}

/// Per-context figures, totals over every connection since the context
/// was made.
#[derive(Clone, Debug, Default)]
pub(crate) struct Totals {
    pub(crate) started: u64,
    pub(crate) established: u64,
    pub(crate) failed: u64,
    pub(crate) closed: u64,
    /// The byte and message counts of connections that have ended.
    pub(crate) ended: Counts,
}

/// Byte, frame and message counts (one connection, or a sum).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub rx_wire: u64,
    pub tx_wire: u64,
    pub rx_payload: u64,
    pub tx_payload: u64,
    pub rx_messages: u64,
    pub tx_messages: u64,
    pub rx_frames: u64,
    pub tx_frames: u64,
}

impl std::ops::AddAssign for Counts {
    fn add_assign(&mut self, o: Counts) {
        self.rx_wire += o.rx_wire;
        self.tx_wire += o.tx_wire;
        self.rx_payload += o.rx_payload;
        self.tx_payload += o.tx_payload;
        self.rx_messages += o.rx_messages;
        self.tx_messages += o.tx_messages;
        self.rx_frames += o.rx_frames;
        self.tx_frames += o.tx_frames;
    }
}

/// One connection's statistics as `ws_get_conn_stats` reports them.
#[derive(Clone, Copy, Debug, Default)]
pub struct ConnReport {
    pub counts: Counts,
    pub established: Option<Duration>,
    pub rtt_last: Option<Duration>,
    pub rtt_smoothed: Option<Duration>,
    pub rtt_samples: u64,
    /// Bytes in our send queue, not yet taken by the socket.
    pub queued: u64,
    /// TLS records rustls holds for the socket (it does not say how many bytes).
    pub tls_backlogged: bool,
}

/// Connections by phase, as `ws_get_context_stats` reports them.
#[derive(Clone, Copy, Debug, Default)]
pub struct ContextReport {
    pub resolving: u32,
    pub connecting: u32,
    pub tunneling: u32,
    pub tls: u32,
    pub upgrading: u32,
    pub established: u32,
    pub closing: u32,
    pub started: u64,
    pub established_total: u64,
    pub failed: u64,
    pub closed: u64,
    /// Every connection's counts, the live ones' included.
    pub counts: Counts,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pong_answering_the_ping_is_a_sample_and_others_are_not() {
        let t0 = Tick::now();
        let mut r = Rtt::default();
        r.pong(b"unsolicited", t0);
        assert_eq!(r.samples, 0);
        r.keepalive_ping(*b"12345678", t0);
        r.app_ping(b"app", t0 + Duration::from_millis(5));
        r.pong(b"app", t0 + Duration::from_millis(25));
        assert_eq!(r.last, Some(Duration::from_millis(20)));
        assert_eq!(r.smoothed, Some(Duration::from_millis(20)));
        r.pong(b"app", t0 + Duration::from_millis(30));
        assert_eq!(r.samples, 1, "answered once");
        r.pong(b"12345678", t0 + Duration::from_millis(100));
        assert_eq!(r.last, Some(Duration::from_millis(100)));
        assert_eq!(r.smoothed, Some(Duration::from_millis(30)), "(7*20+100)/8");
        assert_eq!(r.samples, 2);
    }

    #[test]
    fn payload_frames_and_wire_bytes_add_up() {
        let mut s = Stats::default();
        for len in [10, 5, 3, 0] {
            s.written(len);
        }
        assert_eq!(s.tx_payload, 18);
        s.frame_out(6, 10);
        assert_eq!((s.tx_frames, s.tx_wire), (1, 16));
    }
}
