//! The application's other calls on the context and its connections: timers,
//! timeouts, flow control, retry arithmetic, writeable requests, getters.

use std::time::Duration;

use super::Context;
use crate::callbacks::{ConnId, Opaque};
use crate::clock::Tick;
use crate::connection::{pend, Phase};
use crate::retry::RetryPolicy;
use crate::timers::Kind;
use rand::RngCore;

impl Context {
    /// Schedules (or moves) the callback behind `key` to run after `after`.
    pub fn sul_schedule(&self, key: usize, after: Duration) {
        self.timers_mut().schedule_sul(key, Tick::now() + after);
        self.nudge();
    }

    /// Unschedules it; false when it was not scheduled.
    pub fn sul_cancel(&self, key: usize) -> bool {
        self.timers_mut().cancel_sul(key)
    }

    /// `CALLBACK_TIMER` for the connection after `after`; None cancels.
    pub fn set_timer(&self, id: ConnId, after: Option<Duration>) -> bool {
        self.sweep_timers_if_due();
        self.with_conn(id, |c| match after {
            Some(d) => self.arm(c, Kind::User, d),
            None => c.timer_seq[Kind::User as usize] = 0,
        })
        .inspect(|_| self.nudge())
        .is_some()
    }

    /// Closes the connection after `after` (None cancels; zero closes at
    /// the next service). `reason` is the application's, for the log.
    pub fn set_timeout(&self, id: ConnId, reason: i32, after: Option<Duration>) -> bool {
        self.sweep_timers_if_due();
        let r = self.with_conn(id, |c| {
            c.kill_reason = reason;
            match after {
                None => {
                    c.timer_seq[Kind::Kill as usize] = 0;
                    false
                }
                Some(d) if d.is_zero() => true,
                Some(d) => {
                    self.arm(c, Kind::Kill, d);
                    self.nudge();
                    false
                }
            }
        });
        match r {
            Some(now) => {
                if now {
                    self.pend(id, pend::KILL);
                }
                true
            }
            None => false,
        }
    }

    /// Pauses (false) or resumes (true) receiving on the connection.
    pub fn rx_flow(&self, id: ConnId, enable: bool) -> bool {
        let resume = self.with_conn(id, |c| {
            let was = c.rx_paused;
            c.rx_paused = !enable;
            was && enable
        });
        match resume {
            Some(true) => {
                self.pend(id, pend::READ);
                true
            }
            Some(false) => true,
            None => false,
        }
    }

    /// Fills `buf` from the context's random generator (seeded by the OS).
    pub fn random(&self, buf: &mut [u8]) {
        self.rng.borrow_mut().fill_bytes(buf);
    }

    /// The connection's retry and keepalive policy.
    pub fn retry_policy(&self, id: ConnId) -> Option<RetryPolicy> {
        self.with_conn(id, |c| (*c.policy).clone())
    }

    /// The next backoff delay under `policy` (lws_retry_get_delay_ms).
    pub fn retry_delay(&self, policy: &RetryPolicy, ctry: &mut u16) -> (u32, bool) {
        let mut r = [0u8; 2];
        self.random(&mut r);
        policy.next_delay(ctry, u16::from_ne_bytes(r))
    }

    /// Asks for one CLIENT_WRITEABLE. 1 when requested, 0 when the connection
    /// cannot write any more, -1 when it is gone.
    #[inline(always)]
    pub fn callback_on_writable(&self, id: ConnId) -> i32 {
        // The connection whose received data is being delivered has its
        // `after_io` next, which delivers the CLIENT_WRITEABLE: no deferred
        // work for it.
        let r = self.with_conn(id, |c| match c.phase {
            Phase::Closing | Phase::Done(_) => None,
            _ => {
                c.want_writeable = true;
                let followed = self.receiving.get() == id.key();
                Some(!followed && c.add_pend(pend::WRITEABLE))
            }
        });
        match r {
            Some(Some(first)) => {
                if first {
                    self.queue_pending(id);
                }
                1
            }
            Some(None) => 0,
            None => -1,
        }
    }

    /// Sets the code and reason of the Close frame sent when the application closes.
    pub fn close_reason(&self, id: ConnId, code: u16, reason: &[u8]) -> bool {
        self.with_conn(id, |c| {
            c.close_reason = Some(Box::new((code, reason[..reason.len().min(123)].to_vec())))
        })
        .is_some()
    }

    pub fn rx_info(&self, id: ConnId) -> Option<crate::connection::RxInfo> {
        self.with_conn(id, |c| c.rx)
    }

    pub fn user(&self, id: ConnId) -> Option<Opaque> {
        self.with_conn(id, |c| c.user)
    }

    pub fn protocol_index(&self, id: ConnId) -> Option<usize> {
        self.with_conn(id, |c| c.protocol)
    }

    /// Part of what `write` accepted was refused by the socket and waits
    /// for it (frames gathered in this loop iteration go out before it
    /// ends, and do not count below [`crate::connection::GATHER_MAX`]).
    pub fn choked(&self, id: ConnId) -> Option<bool> {
        self.with_conn(id, |c| c.choked())
    }

    pub fn http_status(&self, id: ConnId) -> Option<u16> {
        self.with_conn(id, |c| c.http_status)
    }

    /// A response header, while the response is readable (from its arrival
    /// until CLIENT_ESTABLISHED, and during CLIENT_CONNECTION_ERROR).
    pub fn response_header(&self, id: ConnId, name: &str) -> Option<Vec<u8>> {
        self.with_conn(id, |c| c.response()?.header(name).map(<[u8]>::to_vec))
            .flatten()
    }

    pub fn opaque_user_data(&self, id: ConnId) -> Option<Opaque> {
        self.with_conn(id, |c| c.opaque_user_data)
    }

    pub fn set_opaque_user_data(&self, id: ConnId, data: Opaque) -> bool {
        self.with_conn(id, |c| c.opaque_user_data = data).is_some()
    }

    /// Replaces the `user` pointer callbacks receive. Per-session memory the
    /// library allocated stays allocated until the connection is destroyed.
    pub fn set_user(&self, id: ConnId, user: Opaque) -> bool {
        self.with_conn(id, |c| c.user = user).is_some()
    }
}
