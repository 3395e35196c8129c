//! Dialing: name resolution, TCP connect (each resolved address in turn), the TLS handshake.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use mio::net::TcpStream;
use mio::Interest;

use super::Context;
use crate::callbacks::{CbIn, ConnId, Reason};
use crate::connection::{Dialing, Phase};
use crate::error::{ConnectError, TlsFailure};
use crate::log;
use crate::stream::{self, Stream};

impl Context {
    /// First step: WSI_CREATE, then resolve.
    pub(crate) fn start(&self, id: ConnId) {
        self.dispatch(id, Reason::WsiCreate, CbIn::None);
        let (host, port) = match self.with_conn(id, |c| (c.req.address.clone(), c.req.port)) {
            Some(v) => v,
            None => return,
        };
        let secs = self.cfg.connect_timeout_secs;
        self.with_conn(id, |c| {
            self.set_deadline(c, Duration::from_secs(secs.into()))
        });
        match crate::resolve::literal(&host, port) {
            Some(addr) => self.resolved(id, Ok(vec![addr])),
            None => {
                self.with_conn(id, |c| c.phase = Phase::Resolving);
                wlog!(log::INFO, "resolving '{host}'");
                self.remote.resolver.start(id.key(), &host, port);
            }
        }
    }

    /// Name resolution finished.
    pub(crate) fn resolved(&self, id: ConnId, result: crate::resolve::Lookup) {
        let ok = self.with_conn(id, |c| {
            if !matches!(c.phase, Phase::New | Phase::Resolving) {
                return false;
            }
            match result {
                Ok(addrs) => {
                    c.phase = Phase::Connecting(Dialing {
                        addrs,
                        next: 0,
                        last_error: None,
                    });
                    true
                }
                Err(detail) => {
                    c.fail(ConnectError::Dns {
                        host: c.req.address.clone(),
                        detail,
                    });
                    false
                }
            }
        });
        match ok {
            Some(true) => self.connect_next(id),
            Some(false) => self.finish_later(id),
            None => {}
        }
    }

    /// Starts a TCP connection to the next address, or fails when none is left.
    fn connect_next(&self, id: ConnId) {
        let registry_token = id.token();
        let failed = self.with_conn(id, |c| loop {
            if let Some(mut old) = c.sock.take() {
                let _ = self.poll.borrow().registry().deregister(&mut old.tcp);
            }
            let Phase::Connecting(dial) = &mut c.phase else {
                return false;
            };
            let Some(addr) = dial.addrs.get(dial.next).copied() else {
                let error = dial.last_error.take().unwrap_or(ConnectError::Unreachable {
                    addr: c.peer.clone(),
                    detail: "no address to connect to".into(),
                });
                c.fail(error);
                return true;
            };
            dial.next += 1;
            wlog!(log::INFO, "connecting to {addr}");
            match TcpStream::connect(addr) {
                Ok(mut s) => {
                    if let Err(e) = self.poll.borrow().registry().register(
                        &mut s,
                        registry_token,
                        Interest::READABLE | Interest::WRITABLE,
                    ) {
                        dial.last_error = Some(ConnectError::Unreachable {
                            addr: addr.to_string(),
                            detail: format!("cannot register the socket: {e}"),
                        });
                        continue;
                    }
                    c.sock = Some(Stream::plain(s));
                    return false;
                }
                Err(e) => dial.last_error = Some(connect_error(addr, &e)),
            }
        });
        if failed == Some(true) {
            self.finish_later(id);
        }
    }

    /// The socket became writable (or failed) while connecting.
    pub(super) fn on_connect_event(&self, id: ConnId) {
        enum Next {
            Wait,
            Retry,
            Connected,
        }
        let next = self.with_conn(id, |c| {
            let (Some(sock), Phase::Connecting(dial)) = (c.sock.as_mut(), &mut c.phase) else {
                return Next::Wait;
            };
            let addr = dial.addrs.get(dial.next.wrapping_sub(1)).copied();
            if let Ok(Some(e)) | Err(e) = sock.tcp.take_error() {
                if let Some(a) = addr {
                    dial.last_error = Some(connect_error(a, &e));
                }
                return Next::Retry;
            }
            match sock.tcp.peer_addr() {
                Ok(_) => {
                    let _ = sock.tcp.set_nodelay(true);
                    Next::Connected
                }
                Err(e) if e.kind() == io::ErrorKind::NotConnected => Next::Wait,
                Err(e) => {
                    if let Some(a) = addr {
                        dial.last_error = Some(connect_error(a, &e));
                    }
                    Next::Retry
                }
            }
        });
        match next {
            Some(Next::Retry) => self.connect_next(id),
            Some(Next::Connected) => match self.with_conn(id, |c| c.req.tls.is_some()) {
                Some(true) => self.start_tls(id),
                Some(false) => self.send_upgrade(id),
                None => {}
            },
            _ => {}
        }
    }

    /// TCP is up on a wss:// connection: start the TLS handshake.
    fn start_tls(&self, id: ConnId) {
        let secs = self.cfg.timeout_secs;
        let r = self.with_conn(id, |c| {
            let req = c.req.tls.as_ref().expect("a TLS connection");
            let session = self.tls.connect(req)?;
            if let Some(sock) = c.sock.as_mut() {
                sock.start_tls(session);
            }
            c.phase = Phase::Tls;
            self.set_deadline(c, Duration::from_secs(secs.into()));
            Ok(())
        });
        match r {
            Some(Ok(())) => self.tls_io(id),
            Some(Err(failure)) => {
                let target = self.with_conn(id, |c| c.peer.clone()).unwrap_or_default();
                self.fail(id, ConnectError::Tls { target, failure })
            }
            None => {}
        }
    }

    /// Moves the TLS handshake along; sends the upgrade request once it is done.
    pub(super) fn tls_io(&self, id: ConnId) {
        let r = self.with_conn(id, |c| match c.sock.as_mut() {
            Some(sock) => sock.handshake().map_err(|e| tls_failed(&c.peer, &e, true)),
            None => Ok(false),
        });
        match r {
            Some(Ok(true)) => {
                wlog!(
                    log::INFO,
                    "TLS up with {}",
                    self.with_conn(id, |c| c.peer.clone()).unwrap_or_default()
                );
                self.send_upgrade(id)
            }
            Some(Err(e)) => self.fail(id, e),
            _ => {}
        }
    }
}

fn connect_error(addr: SocketAddr, e: &io::Error) -> ConnectError {
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

pub(super) fn read_failed(target: &str, e: &io::Error, received: usize) -> ConnectError {
    if stream::tls_error(e).is_some() {
        return tls_failed(target, e, false);
    }
    match e.kind() {
        io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe => ConnectError::HungUp {
            target: target.to_string(),
            received,
        },
        _ => ConnectError::ReadFailed {
            target: target.to_string(),
            detail: e.to_string(),
        },
    }
}

/// A TLS failure: a rustls error, or the socket failing under it.
fn tls_failed(target: &str, e: &io::Error, handshaking: bool) -> ConnectError {
    let failure = match stream::tls_error(e) {
        Some(t) => crate::tls::classify(t, handshaking),
        None if e.kind() == io::ErrorKind::UnexpectedEof
            || e.kind() == io::ErrorKind::ConnectionReset =>
        {
            TlsFailure::ClosedInHandshake
        }
        None => TlsFailure::Other(e.to_string()),
    };
    ConnectError::Tls {
        target: target.to_string(),
        failure,
    }
}
