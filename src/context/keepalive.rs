//! Keepalive: the idle half of the retry policy (`secs_since_valid_ping`,
//! `secs_since_valid_hangup`), on libwebsockets' schedule.
//!
//! A PING goes out `ping` seconds after the last proof of life, and again
//! `ping` seconds after the proof its answer brings, so a quiet connection
//! whose PONGs come back is pinged every `ping` seconds. If nothing at all
//! arrives within `hangup` seconds of the last proof of life, the
//! connection is dropped with a log line and the application gets
//! `CLIENT_CLOSED`. Unlike libwebsockets, any received data is proof of
//! life, not only a PONG; a zero in either field turns keepalive off.
//!
//! Receiving does not read the clock. While the connection is quiet (the
//! timer waits for `ping` after the last proof, or for a PONG), the first
//! data read is stamped with the clock and the timer moves to [`STEPS`]
//! of `ping` later. From then on the timer looks at the receive count each
//! time it fires: data since its last look proves life at the time of
//! this look (at most one step after the fact), and it looks again one
//! step later; no data means the connection turned quiet, and the next
//! PING is due `ping` after the last proof. A PING thus goes out at most
//! `ping / STEPS` late, never early, and a connection costs one timer per
//! step while data flows, two per `ping` once it is quiet.

use std::time::Duration;

use super::Context;
use crate::callbacks::ConnId;
use crate::clock::Tick;
use crate::connection::{pend, Conn, Outcome, Phase};
use crate::frame::OpCode;
use crate::log;
use crate::timers::Kind;

/// Shortest wait for the pong, so a policy with hangup == ping still pings.
const MIN_PONG_WAIT: Duration = Duration::from_millis(500);

/// While data flows, the timer looks every `ping / STEPS`: how late a PING
/// can be after the last data, as a fraction of `ping`.
pub(crate) const STEPS: u32 = 16;

impl Context {
    /// The connection is established: start watching it.
    pub(crate) fn start_keepalive(&self, id: ConnId) {
        self.sweep_timers_if_due();
        self.with_conn(id, |c| {
            if let Some((ping, _)) = c.policy.keepalive() {
                c.last_rx = Tick::now();
                c.rx_seen = c.stats.rx_wire;
                c.ping_sent = false;
                c.rx_stamp = true;
                self.arm(c, Kind::Keepalive, ping);
            }
        });
    }

    /// The application vouches for the connection (`ws_validity_confirmed`).
    pub fn validity_confirmed(&self, id: ConnId) -> bool {
        self.with_conn(id, |c| self.proof_of_life(c, Tick::now()))
            .is_some()
    }

    /// Something arrived from the peer at `at` (`rx_wire` already counts
    /// it). A quiet connection's timer moves to a step later (the receive
    /// path stamps no more data until it turned quiet again); a PING out
    /// is answered.
    pub(crate) fn proof_of_life(&self, c: &mut Conn, at: Tick) {
        let quiet = std::mem::take(&mut c.rx_stamp);
        match c.policy.keepalive() {
            Some((ping, _)) if quiet => self.alive(c, at, ping),
            _ => {
                c.last_rx = at.max(c.last_rx);
                c.rx_seen = c.stats.rx_wire;
            }
        }
    }

    /// Life proven at `at`, with `rx_wire` counted up to it: a PING out is
    /// answered, and the timer looks again a step later.
    fn alive(&self, c: &mut Conn, at: Tick, ping: Duration) {
        c.last_rx = at.max(c.last_rx);
        c.rx_seen = c.stats.rx_wire;
        c.ping_sent = false;
        self.arm(c, Kind::Keepalive, ping / STEPS);
    }

    /// Received data on a quiet connection: stamped with the clock, out
    /// of line (the receive path tests `rx_stamp` only).
    #[cold]
    #[inline(never)]
    pub(crate) fn stamp_rx(&self, c: &mut Conn) {
        self.proof_of_life(c, Tick::now());
    }

    /// The keepalive timer fired: ping, wait longer, or give up.
    pub(crate) fn on_keepalive(&self, id: ConnId) {
        /// What the look at the connection asks for.
        enum Then {
            Wait,
            Flush,
            GiveUp,
        }
        let now = Tick::now();
        let then = self.with_conn(id, |c| {
            let Some((ping, hangup)) = c.policy.keepalive() else {
                return Then::Wait;
            };
            if !matches!(c.phase, Phase::Established) {
                return Then::Wait;
            }
            if c.stats.rx_wire != c.rx_seen {
                // Data since the last look, unstamped: alive now, at most a
                // step ago.
                self.alive(c, now, ping);
                return Then::Wait;
            }
            // Quiet since the last look: the next data read is stamped.
            c.rx_stamp = true;
            let idle = now.since(c.last_rx);
            if idle < ping {
                c.ping_sent = false;
                self.arm(c, Kind::Keepalive, ping - idle);
                return Then::Wait;
            }
            if idle >= hangup && c.ping_sent {
                wlog!(
                    log::NOTICE,
                    "{}: nothing received for {} s, not even a PONG to the keepalive PING (secs_since_valid_hangup {}); closing the connection",
                    c.target(),
                    idle.as_secs(),
                    hangup.as_secs()
                );
                c.phase = Phase::Done(Outcome::Closed);
                return Then::GiveUp;
            }
            let mut then = Then::Wait;
            if !c.ping_sent {
                let stamp = (idle.as_micros() as u64).to_be_bytes();
                c.queue_frame(OpCode::Ping, true, &stamp, self.mask());
                c.stats.rtt_mut().keepalive_ping(stamp, now);
                c.ping_sent = true;
                wlog!(log::INFO, "{}: idle for {} s: keepalive PING", c.target(), idle.as_secs());
                then = Then::Flush;
            }
            self.arm(c, Kind::Keepalive, hangup.saturating_sub(idle).max(MIN_PONG_WAIT));
            then
        });
        // Only a queued PING needs sending: a look that moved the timer
        // leaves the connection as it was.
        match then {
            Some(Then::GiveUp) => self.finish_later(id),
            Some(Then::Flush) => self.pend(id, pend::FLUSH),
            _ => {}
        }
    }
}
