//! Starting a connection's dial again on the same handle: to follow a
//! redirect of the upgrade request (as lws), or to reconnect after a drop
//! or a failed attempt (`WS_CONNECT_RECONNECT`, wsloop's own).
//!
//! Both go through [`Context::redial`], which resets the connection and
//! starts its dial at once or after a delay. Nothing here delivers the
//! final callbacks: `reap` asks [`Context::reconnect_instead`] first, and
//! delivers them as usual when it says no.

use std::time::Duration;

use super::Context;
use crate::callbacks::{CbIn, ConnId, Reason};
use crate::connection::{Conn, ConnectRequest, Outcome, Phase};
use crate::error::{ConnectError, RedirectError};
use crate::log;
use crate::redirect::{self, Redirects, Request, HOP_LIMIT};
use crate::target::Target;
use crate::timers::Kind;
use crate::tls::{Relax, TlsRequest};

impl Context {
    /// The delay and number of the current reconnect attempt, or None when
    /// the connection is not reconnecting.
    pub fn reconnect_state(&self, id: ConnId) -> Option<(u32, u16)> {
        self.with_conn(id, |c| {
            let r = c.restart.as_deref().filter(|r| r.attempt > 0)?;
            Some((r.delay_ms, r.attempt))
        })
        .flatten()
    }

    /// Ends reconnecting when the server closes with `code`; false when the
    /// connection does not reconnect.
    pub fn reconnect_final_code(&self, id: ConnId, code: u16) -> bool {
        self.with_conn(id, |c| {
            if !c.req.reconnect {
                return false;
            }
            let codes = &mut c.restart().final_codes;
            if !codes.contains(&code) {
                codes.push(code);
            }
            true
        })
        .unwrap_or(false)
    }

    /// Starts `id`'s dial again, toward `req` (its current request when
    /// None), now or after `delay`, keeping its handle, user data and
    /// per-session memory. No WSI_CREATE: it is the same connection.
    pub(crate) fn redial(&self, id: ConnId, req: Option<ConnectRequest>, delay: Duration) {
        let max = self.cfg.max_message_size;
        let old = self.with_conn(id, |c| {
            let req = req.unwrap_or_else(|| c.req.clone());
            let before = super::stats::counts(c);
            c.restart().earlier = before;
            c.stats = Default::default();
            let sock = c.reset_for_redial(req, max);
            if !delay.is_zero() {
                self.arm(c, Kind::Redial, delay);
            }
            sock
        });
        let Some(old) = old else { return };
        // A lookup of the attempt before must not start this one early.
        self.remote.resolver.cancel(id.key());
        if let Some(mut s) = old {
            s.close_notify();
            let _ = self.poll.borrow().registry().deregister(&mut s.tcp);
        }
        if delay.is_zero() {
            self.dial(id);
        }
    }

    /// The backoff delay of a reconnect passed.
    pub(super) fn redial_due(&self, id: ConnId) {
        let target = self.with_conn(id, |c| c.target()).unwrap_or_default();
        wlog!(log::INFO, "{target}: reconnecting now");
        self.dial(id);
    }

    /// A finished connection made with `WS_CONNECT_RECONNECT`: when its
    /// policy allows another attempt, delivers CLIENT_RECONNECTING,
    /// schedules the attempt and says true; the caller then delivers no
    /// final callbacks.
    pub(super) fn reconnect_instead(&self, id: ConnId) -> bool {
        if self.destroyed.get() {
            return false;
        }
        let plan = self.with_conn(id, |c| {
            if !c.req.reconnect || c.restart.as_ref().is_some_and(|r| r.stopped) {
                return None;
            }
            let cause = match &c.phase {
                Phase::Done(Outcome::Failed { error, .. }) if !ends_reconnecting(error) => {
                    error.to_string()
                }
                Phase::Done(Outcome::Closed) => drop_cause(c)?,
                // The application closed it, or it failed for a reason
                // another attempt would not change.
                _ => return None,
            };
            let r = c.restart.get_or_insert_with(Default::default);
            let (ms, go) = self.retry_delay(&c.policy, &mut r.ctry);
            if !go {
                return None;
            }
            r.attempt += 1;
            r.delay_ms = ms;
            r.cause = cause.clone();
            r.redirects = None;
            Some((ms, r.attempt, cause, r.first.take(), c.target()))
        });
        let Some((ms, attempt, cause, first, target)) = plan.flatten() else {
            return false;
        };
        wlog!(
            log::NOTICE,
            "{cause}; reconnecting in {ms} ms (attempt {attempt})"
        );
        if self.dispatch_line(id, Reason::ClientReconnecting, cause) != 0 {
            wlog!(
                log::INFO,
                "{target}: CLIENT_RECONNECTING returned non-zero; not reconnecting"
            );
            self.with_conn(id, |c| c.restart().stopped = true);
            return false;
        }
        self.redial(id, first, Duration::from_millis(ms.into()));
        true
    }

    /// Just before CLIENT_ESTABLISHED: CLIENT_RECONNECTED when this was a
    /// reconnect, with a fresh retry budget for the next drop. Its return
    /// value (0 when there was no reconnect).
    pub(super) fn reconnected(&self, id: ConnId) -> i32 {
        let cause = self.with_conn(id, |c| {
            let r = c.restart.as_deref_mut().filter(|r| r.attempt > 0)?;
            wlog!(
                log::NOTICE,
                "{}: reconnected after {} attempt(s)",
                crate::connection::peer_name(&c.req),
                r.attempt
            );
            r.attempt = 0;
            r.ctry = 0;
            Some(std::mem::take(&mut r.cause))
        });
        let Some(cause) = cause.flatten() else {
            return 0;
        };
        self.dispatch_line(id, Reason::ClientReconnected, cause)
    }

    /// Calls the connection's callback with `line` NUL-terminated in
    /// `in`/`len`; its return value (0 when the connection is gone).
    fn dispatch_line(&self, id: ConnId, reason: Reason, line: String) -> i32 {
        let mut text = line.into_bytes();
        let len = text.len();
        text.push(0);
        let data = CbIn::Data {
            buf: &mut text,
            start: 0,
            len,
        };
        self.dispatch(id, reason, data).unwrap_or(0)
    }

    /// The upgrade response is a redirect the connection follows: asks
    /// the application (CLIENT_HTTP_REDIRECT), then dials the new place or
    /// fails with why not. False when the response is not such a redirect.
    pub(super) fn follow_redirect(&self, id: ConnId) -> bool {
        let answer = self.with_conn(id, |c| match &c.phase {
            Phase::Accepting(resp)
                if c.req.follow_redirects && redirect::is_redirect(resp.status) =>
            {
                let location = resp.header("location");
                Some((
                    resp.status,
                    location.map(|l| String::from_utf8_lossy(l).into_owned()),
                ))
            }
            _ => None,
        });
        let Some((status, location)) = answer.flatten() else {
            return false;
        };
        let Some(location) = location else {
            let from = self.with_conn(id, |c| request_of(c).to_string());
            let e = RedirectError::NoLocation {
                from: from.unwrap_or_default(),
                status,
            };
            self.fail(id, ConnectError::Redirect(e));
            return true;
        };
        // lws' order: the application hears of it (and may read the
        // response's headers) before the Location is parsed.
        let mut text = location.clone().into_bytes();
        text.push(0);
        let data = CbIn::Text {
            text: &text,
            len: status.into(),
        };
        let vetoed = self
            .dispatch(id, Reason::ClientHttpRedirect, data)
            .unwrap_or(0)
            != 0;
        let next = self.with_conn(id, |c| {
            let from = request_of(c);
            if vetoed {
                return Err(Redirects::vetoed(&from, status, &location));
            }
            let r = c.restart.get_or_insert_with(Default::default);
            let chain = r
                .redirects
                .get_or_insert_with(|| Redirects::new(&from, HOP_LIMIT, false));
            let next = chain.follow(&from, status, Some(&location))?;
            r.first.get_or_insert_with(|| c.req.clone());
            wlog!(log::INFO, "{from}: {status} redirect to {next}");
            Ok(request_for(&c.req, &next))
        });
        match next {
            Some(Ok(req)) => self.redial(id, Some(req), Duration::ZERO),
            Some(Err(e)) => self.fail(id, ConnectError::Redirect(e)),
            None => {}
        }
        true
    }
}

/// Failures that are the application's decision or that another attempt
/// would meet again: they end a reconnecting connection.
fn ends_reconnecting(e: &ConnectError) -> bool {
    matches!(
        e,
        ConnectError::ClosedByApplication
            | ConnectError::ContextDestroyed
            | ConnectError::TimeoutKilled { .. }
            | ConnectError::RejectedByFilter
            | ConnectError::RejectedAtEstablished
            | ConnectError::Redirect(_)
    )
}

/// Why an established connection ended, or None when its end is final
/// (the peer's close code is one the application marked).
fn drop_cause(c: &Conn) -> Option<String> {
    let r = c.restart.as_deref();
    match r.and_then(|r| r.peer_close.as_ref()) {
        Some((code, _)) if r.is_some_and(|r| r.final_codes.contains(code)) => None,
        Some((code, reason)) if reason.is_empty() => {
            Some(format!("{} closed the connection with {code}", c.target()))
        }
        Some((code, reason)) => Some(format!(
            "{} closed the connection with {code} '{reason}'",
            c.target()
        )),
        None => Some(format!(
            "the connection to {} was lost without a close frame (1006)",
            c.target()
        )),
    }
}

/// Where the connection's upgrade request went, as redirects see it.
fn request_of(c: &Conn) -> Request {
    Request {
        tls: c.req.tls.is_some(),
        target: Target::parse(c.req.address(), c.req.port).unwrap_or(Target::Tcp {
            host: c.req.address().to_string(),
            port: c.req.port,
        }),
        path: c.req.path().to_string(),
        host: Some(c.req.host().to_string()),
    }
}

/// `old` redirected to `next`: same options, new place, and for TLS the
/// new host's name to check.
fn request_for(old: &ConnectRequest, next: &Request) -> ConnectRequest {
    let mut req = old.clone();
    let host_header = next
        .host
        .clone()
        .unwrap_or_else(|| next.target.default_host_header(next.tls));
    let address = match &next.target {
        Target::Tcp { host, .. } => Some(host.as_str()),
        _ => None,
    };
    req.names = old.names.with(address, &next.path, &host_header);
    if let Target::Tcp { host, port } = &next.target {
        req.port = *port;
        req.tls = next.tls.then(|| match &old.tls {
            Some(t) => Box::new(TlsRequest {
                server_name: host.clone(),
                ..TlsRequest::clone(t)
            }),
            None => Box::new(TlsRequest {
                server_name: host.clone(),
                alpn: vec![b"http/1.1".to_vec()],
                relax: Relax::default(),
            }),
        });
    }
    req
}
