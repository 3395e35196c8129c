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
//! Receiving costs one store of the loop time, and re-arms the timer only
//! when a PING is waiting for its answer; otherwise the timer is re-armed
//! when it fires.

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

impl Context {
    /// The connection is established: start watching it.
    pub(crate) fn start_keepalive(&self, id: ConnId) {
        self.sweep_timers_if_due();
        self.with_conn(id, |c| {
            if let Some((ping, _)) = c.policy.keepalive() {
                c.last_rx = Tick::now();
                c.ping_sent = None;
                self.arm(c, Kind::Keepalive, ping);
            }
        });
    }

    /// The application vouches for the connection (`ws_validity_confirmed`).
    pub fn validity_confirmed(&self, id: ConnId) -> bool {
        self.with_conn(id, |c| self.proof_of_life(c, Tick::now()))
            .is_some()
    }

    /// Something arrived from the peer at `at`. The next PING is due `ping`
    /// seconds later: when one is out, its wait for the answer ends here.
    pub(crate) fn proof_of_life(&self, c: &mut Conn, at: Tick) {
        c.last_rx = at.max(c.last_rx);
        if c.ping_sent.take().is_some() {
            if let Some((ping, _)) = c.policy.keepalive() {
                self.arm(c, Kind::Keepalive, ping);
            }
        }
    }

    /// The keepalive timer fired: ping, wait longer, or give up.
    pub(crate) fn on_keepalive(&self, id: ConnId) {
        let mask = self.mask();
        let now = Tick::now();
        let give_up = self.with_conn(id, |c| {
            let (ping, hangup) = c.policy.keepalive()?;
            if !matches!(c.phase, Phase::Established) {
                return None;
            }
            let idle = now.since(c.last_rx);
            if idle < ping {
                c.ping_sent = None;
                self.arm(c, Kind::Keepalive, ping - idle);
                return None;
            }
            if idle >= hangup && c.ping_sent.is_some() {
                wlog!(
                    log::NOTICE,
                    "{}: nothing received for {} s, not even a PONG to the keepalive PING (secs_since_valid_hangup {}); closing the connection",
                    c.target(),
                    idle.as_secs(),
                    hangup.as_secs()
                );
                c.phase = Phase::Done(Outcome::Closed);
                return Some(());
            }
            if c.ping_sent.is_none() {
                let stamp = (idle.as_micros() as u64).to_be_bytes();
                c.queue_frame(OpCode::Ping, true, &stamp, mask);
                c.stats.rtt_mut().keepalive_ping(stamp, now);
                c.ping_sent = Some(now);
                wlog!(log::INFO, "{}: idle for {} s: keepalive PING", c.target(), idle.as_secs());
            }
            self.arm(c, Kind::Keepalive, hangup.saturating_sub(idle).max(MIN_PONG_WAIT));
            None
        });
        match give_up {
            Some(Some(())) => self.finish_later(id),
            Some(None) => self.pend(id, pend::FLUSH),
            None => {}
        }
    }
}
