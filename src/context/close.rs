//! Closing: the close handshake, failures before establishment, deadlines.

use std::time::Duration;

use super::Context;
use crate::callbacks::ConnId;
use crate::connection::{pend, Phase};
use crate::error::ConnectError;
use crate::frame::OpCode;
use crate::log;

/// How long a closing connection waits for the peer's Close or TCP close.
pub(crate) const CLOSE_WAIT: Duration = Duration::from_secs(5);

impl Context {
    /// Sends our Close (once) and waits a bounded time for the peer.
    pub(crate) fn begin_close(&self, id: ConnId) {
        let mask = self.mask();
        self.with_conn(id, |c| {
            if c.close_sent || c.phase == Phase::Done {
                return;
            }
            let (code, reason) = c.close_reason.take().unwrap_or((1000, Vec::new()));
            let mut payload = Vec::with_capacity(2 + reason.len());
            if code != 0 {
                payload.extend_from_slice(&code.to_be_bytes());
                payload.extend_from_slice(&reason);
            }
            c.queue_frame(OpCode::Close, true, &payload, mask);
            c.close_sent = true;
            c.want_writeable = false;
            c.phase = Phase::Closing;
            self.set_deadline(c, CLOSE_WAIT);
        });
        self.pend(id, pend::FLUSH);
    }

    /// What a callback's return value means for its connection.
    pub(crate) fn after_callback(&self, id: ConnId, r: Option<i32>) {
        if r.unwrap_or(0) != 0 {
            let established = self.with_conn(id, |c| c.established).unwrap_or(false);
            if established {
                self.begin_close(id);
            } else {
                self.fail(id, ConnectError::ClosedByApplication);
            }
        }
    }

    /// `ws_set_timeout` expired: close as if a callback had returned non-zero.
    pub(crate) fn kill(&self, id: ConnId) {
        let Some((established, reason, target)) =
            self.with_conn(id, |c| (c.established, c.kill_reason, c.target()))
        else {
            return;
        };
        wlog!(
            log::INFO,
            "{target}: closing: ws_set_timeout (reason {reason}) expired"
        );
        if established {
            self.begin_close(id);
        } else {
            self.fail(id, ConnectError::TimeoutKilled { reason });
        }
    }

    /// A connection that has not been established fails with `e`.
    pub(crate) fn fail(&self, id: ConnId, e: ConnectError) {
        self.with_conn(id, |c| {
            if c.failure.is_none() {
                c.failure = Some(e);
            }
            c.phase = Phase::Done;
        });
        self.finish_later(id);
    }

    /// A deadline of the connection passed.
    pub(crate) fn on_deadline(&self, id: ConnId) {
        let Some(phase) = self.with_conn(id, |c| c.phase) else {
            return;
        };
        let (connect, timeout) = (self.cfg.connect_timeout_secs, self.cfg.timeout_secs);
        match phase {
            Phase::New | Phase::Resolving | Phase::Connecting => {
                let target = self.with_conn(id, |c| c.peer.clone()).unwrap_or_default();
                self.fail(
                    id,
                    ConnectError::ConnectTimeout {
                        target,
                        secs: connect,
                    },
                )
            }
            Phase::Tls => {
                let target = self.with_conn(id, |c| c.peer.clone()).unwrap_or_default();
                self.fail(
                    id,
                    ConnectError::TlsTimeout {
                        target,
                        secs: timeout,
                    },
                )
            }
            Phase::Handshake => {
                let target = self.with_conn(id, |c| c.target()).unwrap_or_default();
                self.fail(
                    id,
                    ConnectError::HandshakeTimeout {
                        target,
                        secs: timeout,
                    },
                )
            }
            Phase::Closing => {
                self.with_conn(id, |c| {
                    wlog!(
                        log::NOTICE,
                        "{}: no close answer within {} s; dropping the connection",
                        c.target(),
                        CLOSE_WAIT.as_secs()
                    );
                    c.phase = Phase::Done;
                });
                self.finish_later(id);
            }
            Phase::Established | Phase::Done => {}
        }
    }
}

/// The longest prefix of `s` of at most `max` bytes that ends on a char boundary.
pub(super) fn truncate_utf8(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}
