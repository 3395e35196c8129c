//! Closing: the close handshake, failures before establishment, deadlines.

use std::time::Duration;

use super::Context;
use crate::callbacks::ConnId;
use crate::connection::{pend, Outcome, Phase};
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
            if !matches!(c.phase, Phase::Established) {
                return;
            }
            let (code, reason) = c.close_reason.take().map_or((1000, Vec::new()), |b| *b);
            let mut payload = Vec::with_capacity(2 + reason.len());
            if code != 0 {
                payload.extend_from_slice(&code.to_be_bytes());
                payload.extend_from_slice(&reason);
            }
            c.queue_frame(OpCode::Close, true, &payload, mask);
            c.want_writeable = false;
            c.phase = Phase::Closing;
            self.set_deadline(c, CLOSE_WAIT);
        });
        self.pend(id, pend::FLUSH);
    }

    /// What a callback's return value means for its connection.
    #[inline]
    pub(crate) fn after_callback(&self, id: ConnId, r: Option<i32>) {
        if r.unwrap_or(0) != 0 {
            self.closed_by_callback(id);
        }
    }

    /// A callback returned non-zero: close, and do not reconnect.
    #[cold]
    fn closed_by_callback(&self, id: ConnId) {
        let established = self.with_conn(id, |c| {
            c.stop_reconnecting();
            c.was_established()
        });
        if established == Some(true) {
            self.begin_close(id);
        } else {
            self.fail(id, ConnectError::ClosedByApplication);
        }
    }

    /// `ws_set_timeout` expired: close as if a callback had returned non-zero.
    pub(crate) fn kill(&self, id: ConnId) {
        let Some((established, reason, target)) = self.with_conn(id, |c| {
            c.stop_reconnecting();
            (c.was_established(), c.kill_reason, c.target())
        }) else {
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

    /// The connection fails with `e` (CLIENT_CONNECTION_ERROR), unless it
    /// already failed with another error.
    pub(crate) fn fail(&self, id: ConnId, e: ConnectError) {
        self.with_conn(id, |c| c.fail(e));
        self.finish_later(id);
    }

    /// A deadline of the connection passed.
    pub(crate) fn on_deadline(&self, id: ConnId) {
        let (connect, timeout) = (self.cfg.connect_timeout_secs, self.cfg.timeout_secs);
        let ended = self.with_conn(id, |c| {
            let error = match c.phase {
                Phase::New | Phase::Resolving => super::dial::dial_timeout(c, connect),
                Phase::Connecting(_) => super::eyeballs::every_address_failed(c, Some(connect)),
                Phase::Tunneling(ref t) => ConnectError::Proxy(t.tunnel.timed_out(timeout)),
                Phase::ProxyTls => ConnectError::TlsTimeout {
                    target: super::dial::proxy_tls_target(c),
                    secs: timeout,
                },
                Phase::Tls => ConnectError::TlsTimeout {
                    target: c.peer(),
                    secs: timeout,
                },
                Phase::Upgrading(_) | Phase::Accepting(_) => ConnectError::HandshakeTimeout {
                    target: c.target(),
                    secs: timeout,
                },
                Phase::Closing => {
                    wlog!(
                        log::NOTICE,
                        "{}: no close answer within {} s; dropping the connection",
                        c.target(),
                        CLOSE_WAIT.as_secs()
                    );
                    c.phase = Phase::Done(Outcome::Closed);
                    return true;
                }
                Phase::Established | Phase::Done(_) => return false,
            };
            c.fail(error);
            true
        });
        if ended == Some(true) {
            self.finish_later(id);
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
