//! The TCP connect, Happy Eyeballs style (RFC 8305): a name's addresses are
//! tried IPv6 and IPv4 in turn, the next 250 ms after the previous while
//! that one is still pending (at once when it failed), and the first to
//! connect wins; the others are closed without any callback. All of it
//! runs under `connect_timeout_secs` (the connection's deadline).
//!
//! Every attempt's socket is registered under the connection's one token:
//! an event on it checks the pending attempts (at most a few), so the rest
//! of the loop still sees one socket per connection.

use std::io;
use std::net::SocketAddr;

use mio::net::TcpStream;
use mio::Interest;

use super::Context;
use crate::callbacks::ConnId;
use crate::connection::{Conn, ConnectRequest, Dialing, Phase, Via};
use crate::error::{ConnectError, ProxyFailure};
use crate::log;
use crate::stream::Stream;
use crate::timers::Kind;

/// What an event on a dialing connection's socket came to.
pub(super) enum Dialed {
    /// Nothing decided yet.
    Wait,
    /// An attempt failed: start the next if one is due, or give up.
    Step,
    /// TCP is up: `c.sock` is the winner's.
    Connected,
    /// The connection failed (a Unix socket's connect).
    Failed,
}

impl Context {
    /// Starts every attempt that is due, arms the timer for the next one,
    /// and fails the connection when every address has failed. An attempt
    /// may be up as soon as its connect() returns (over loopback the
    /// kernel completes the handshake inside the call): it is checked at
    /// once, so the connection goes on (the upgrade request, TLS, a proxy's
    /// tunnel) without waiting for a poll to report the socket writable.
    pub(crate) fn dial_step(&self, id: ConnId) {
        let token = id.token();
        let now = std::time::Instant::now();
        let mut started = false;
        let failed = self.with_conn(id, |c| {
            let Phase::Connecting(dial) = &mut c.phase else {
                return false;
            };
            while let Some((attempt, addr)) = dial.race.start_due(now) {
                wlog!(log::INFO, "connecting to {addr}");
                let attempt_started = TcpStream::connect(addr).and_then(|mut s| {
                    self.poll
                        .borrow()
                        .registry()
                        .register(&mut s, token, Interest::READABLE | Interest::WRITABLE)
                        .map_err(|e| {
                            io::Error::other(format!("cannot register the socket: {e}"))
                        })?;
                    Ok(s)
                });
                match attempt_started {
                    Ok(s) => {
                        dial.pending.push((attempt, s));
                        started = true;
                    }
                    Err(e) => {
                        dial.race.failed(attempt);
                        dial.failures.push((addr, e));
                    }
                }
            }
            if dial.race.lost() {
                let error = every_address_failed(c, None);
                c.fail(error);
                return true;
            }
            if let Some(at) = dial.race.deadline() {
                self.arm(c, Kind::Attempt, at.saturating_duration_since(now));
            }
            false
        });
        match failed {
            Some(true) => self.finish_later(id),
            Some(false) if started => self.on_connect_event(id, false),
            _ => {}
        }
    }

    /// A socket event while dialing: checks each pending attempt; the
    /// first connected one becomes the connection's socket and the others
    /// are closed.
    pub(super) fn on_dial_event(&self, c: &mut Conn) -> Dialed {
        let Phase::Connecting(dial) = &mut c.phase else {
            return Dialed::Wait;
        };
        if dial.race.addrs().is_empty() {
            // A Unix socket: connected since its connect returned.
            return match c.sock.as_mut().map(|s| s.tcp.take_error()) {
                Some(Ok(None)) => Dialed::Connected,
                Some(Ok(Some(e)) | Err(e)) => {
                    let error = ConnectError::Unreachable {
                        addr: c.peer(),
                        detail: e.to_string(),
                    };
                    c.fail(error);
                    Dialed::Failed
                }
                None => Dialed::Wait,
            };
        }
        let mut step = false;
        let mut i = 0;
        while i < dial.pending.len() {
            let (attempt, ref s) = dial.pending[i];
            // A peer address means the handshake completed; without one, the
            // socket's error (if any) says why the attempt failed.
            let error = match s.peer_addr() {
                Ok(_) => {
                    let (_, won) = dial.pending.swap_remove(i);
                    for (loser, mut s) in dial.pending.take_all() {
                        let _ = self.poll.borrow().registry().deregister(&mut s);
                        wlog!(
                            log::INFO,
                            "{}: {} lost the race; closed",
                            crate::connection::peer_name(&c.req),
                            dial.race.addrs()[loser.0]
                        );
                    }
                    dial.race.connected(attempt);
                    let _ = won.set_nodelay(true);
                    c.sock = Some(Stream::plain(won));
                    return Dialed::Connected;
                }
                Err(e) if e.kind() == io::ErrorKind::NotConnected => match s.take_error() {
                    Ok(None) => {
                        i += 1;
                        continue;
                    }
                    Ok(Some(e)) | Err(e) => e,
                },
                Err(e) => e,
            };
            let (_, mut s) = dial.pending.swap_remove(i);
            let _ = self.poll.borrow().registry().deregister(&mut s);
            let addr = dial.race.addrs()[attempt.0];
            wlog!(
                log::INFO,
                "{}: {addr} failed: {error}",
                crate::connection::peer_name(&c.req)
            );
            dial.race.failed(attempt);
            dial.failures.push((addr, error));
            step = true;
        }
        if step {
            Dialed::Step
        } else {
            Dialed::Wait
        }
    }
}

/// Every address failed, or `timeout` (connect_timeout_secs) passed: one
/// address keeps the error it always had; several are named each with
/// what became of it.
pub(super) fn every_address_failed(c: &Conn, timeout: Option<u32>) -> ConnectError {
    let Phase::Connecting(dial) = &c.phase else {
        return super::dial::dial_timeout(c, timeout.unwrap_or_default());
    };
    let addrs = dial.race.addrs();
    match (addrs.len(), timeout, dial.failures.first()) {
        (1, None, Some((addr, e))) => return connect_error(c.via.as_deref(), &c.req, *addr, e),
        (0 | 1, Some(secs), _) => return super::dial::dial_timeout(c, secs),
        _ => {}
    }
    let tried = addrs
        .iter()
        .map(|a| {
            let why = match dial.failures.iter().find(|(f, _)| f == a) {
                Some((_, e)) if e.kind() == io::ErrorKind::ConnectionRefused => {
                    "connection refused".to_string()
                }
                Some((_, e)) => e.to_string(),
                None if dial.pending.iter().any(|(p, _)| addrs[p.0] == *a) => {
                    format!("no answer within {} s", timeout.unwrap_or_default())
                }
                None => "not tried before connect_timeout_secs ran out".to_string(),
            };
            (a.to_string(), why)
        })
        .collect();
    match c.via.as_deref().filter(|v| !v.needs_target_ip()) {
        Some(v) => ConnectError::Proxy(v.proxy.error(
            &crate::url::host_port(c.req.address(), c.req.port),
            ProxyFailure::EveryAddress { tried },
        )),
        None => ConnectError::EveryAddress {
            target: c.peer(),
            tried,
        },
    }
}

/// A TCP connect failed: to the target, or to the proxy on the way.
pub(super) fn connect_error(
    via: Option<&Via>,
    req: &ConnectRequest,
    addr: SocketAddr,
    e: &io::Error,
) -> ConnectError {
    if let Some(v) = via.filter(|v| !v.needs_target_ip()) {
        let failure = match e.kind() {
            io::ErrorKind::ConnectionRefused => ProxyFailure::Refused,
            _ => ProxyFailure::Unreachable {
                detail: e.to_string(),
            },
        };
        return ConnectError::Proxy(
            v.proxy
                .error(&crate::url::host_port(req.address(), req.port), failure),
        );
    }
    match e.kind() {
        io::ErrorKind::ConnectionRefused => ConnectError::Refused {
            addr: addr.to_string(),
        },
        _ => ConnectError::Unreachable {
            addr: addr.to_string(),
            detail: e.to_string(),
        },
    }
}

/// A dialing phase over `addrs`.
pub(super) fn dialing(addrs: &[SocketAddr]) -> Phase {
    Phase::Connecting(Box::new(Dialing {
        race: crate::happy_eyeballs::Race::new(addrs),
        pending: Default::default(),
        failures: Vec::new(),
    }))
}
