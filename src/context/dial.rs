//! Dialing: the route (a Unix socket, direct, or through a proxy), name
//! resolution, TCP connect (`eyeballs.rs`), the proxy's tunnel, the TLS
//! handshake.

use std::io;
use std::time::Duration;

use mio::net::TcpStream;
use mio::Interest;

use super::eyeballs::Dialed;
use super::Context;
use crate::callbacks::{CbIn, ConnId, Reason};
use crate::connection::{Conn, Phase, Tunneling, Via};
use crate::error::{ConnectError, ProxyFailure, ProxySettingError, TlsFailure};
use crate::log;
use crate::proxy::{Progress, ProxyKind, Tunnel};
use crate::stream::{self, Stream};
use crate::target::{Target, UnixAddr};

impl Context {
    /// First step: WSI_CREATE, then dial.
    pub(crate) fn start(&self, id: ConnId) {
        self.sweep_timers_if_due();
        self.dispatch(id, Reason::WsiCreate, CbIn::None);
        self.dial(id);
    }

    /// The route (a Unix socket, direct, or through a proxy), then
    /// resolve; also where a redial (restart.rs) starts again.
    pub(crate) fn dial(&self, id: ConnId) {
        let secs = self.cfg.connect_timeout_secs;
        let unix = self.with_conn(id, |c| {
            self.set_deadline(c, Duration::from_secs(secs.into()));
            let target = match Target::parse(c.req.address(), c.req.port) {
                Ok(Target::Unix(u)) => return Some(u),
                Ok(t) => t,
                // Checked by ws_client_connect_via_info; kept as given.
                Err(_) => Target::Tcp {
                    host: c.req.address().to_string(),
                    port: c.req.port,
                },
            };
            let proxy = self
                .proxy
                .borrow()
                .route(&target, c.req.tls.is_some())
                .cloned();
            if let Some(proxy) = proxy {
                wlog!(
                    log::INFO,
                    "{}: through the {} {proxy} (from {})",
                    c.peer(),
                    proxy.kind.protocol().label(),
                    proxy.origin.describe()
                );
                c.via = Some(Box::new(Via {
                    proxy,
                    target_ip: None,
                }));
            }
            None
        });
        match unix {
            Some(Some(addr)) => self.connect_unix(id, &addr),
            Some(None) => self.resolve_next(id),
            None => {}
        }
    }

    /// Connects to a Unix socket. The connect completes or fails at once
    /// (a full backlog fails it too), so the connection goes on (the
    /// upgrade request) at once, as a TCP one that is up when its connect
    /// returns does.
    fn connect_unix(&self, id: ConnId, addr: &UnixAddr) {
        let registry_token = id.token();
        let r = self.with_conn(id, |c| {
            wlog!(log::INFO, "connecting to {}", c.peer());
            let failed = |e: io::Error| ConnectError::Unreachable {
                addr: c.peer(),
                detail: match e.kind() {
                    io::ErrorKind::ConnectionRefused => {
                        "connection refused (is the server running and listening on this socket?)"
                            .into()
                    }
                    _ => e.to_string(),
                },
            };
            let sock = unix_connect(addr).map_err(failed)?;
            // A socket is a socket: reads, writes, shutdown and SO_ERROR
            // mean the same on both kinds, so the Unix one travels in the
            // TCP type and the data path has one kind of stream. Nothing
            // calls its TCP-only methods (peer_addr, set_nodelay).
            let fd = std::os::fd::OwnedFd::from(sock);
            let mut s = TcpStream::from_std(std::net::TcpStream::from(fd));
            self.poll
                .borrow()
                .registry()
                .register(
                    &mut s,
                    registry_token,
                    Interest::READABLE | Interest::WRITABLE,
                )
                .map_err(|e| ConnectError::Unreachable {
                    addr: c.peer(),
                    detail: format!("cannot register the socket: {e}"),
                })?;
            c.sock = Some(Stream::plain(s));
            c.phase = super::eyeballs::dialing(&[]);
            Ok(())
        });
        match r {
            Some(Ok(())) => self.on_connect_event(id, false),
            Some(Err(e)) => self.fail(id, e),
            None => {}
        }
    }

    /// Resolves the next name: the target's (direct, or for a `socks5://`
    /// proxy until its address is known), else the proxy's.
    fn resolve_next(&self, id: ConnId) {
        let Some((host, port)) = self.with_conn(id, |c| match c.via.as_deref() {
            Some(v) if !v.needs_target_ip() => (v.proxy.host.clone(), v.proxy.port),
            _ => (c.req.address().to_string(), c.req.port),
        }) else {
            return;
        };
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
        enum Next {
            Connect,
            Resolve,
            Failed,
        }
        let next = self.with_conn(id, |c| {
            if !matches!(c.phase, Phase::New | Phase::Resolving) {
                return None;
            }
            let result = match result {
                Ok(addrs) if addrs.is_empty() => Err("no address found".to_string()),
                r => r,
            };
            let addrs = match result {
                Ok(addrs) => addrs,
                Err(detail) => {
                    let error = match c.via.as_deref() {
                        Some(v) if !v.needs_target_ip() => ConnectError::Proxy(
                            v.proxy.error(&hop_target(c), ProxyFailure::Dns { detail }),
                        ),
                        _ => ConnectError::Dns {
                            host: c.req.address().to_string(),
                            detail,
                        },
                    };
                    c.fail(error);
                    return Some(Next::Failed);
                }
            };
            if let Some(v) = c.via.as_deref_mut().filter(|v| v.needs_target_ip()) {
                v.target_ip = Some(addrs[0].ip());
                return Some(Next::Resolve);
            }
            c.phase = super::eyeballs::dialing(&addrs);
            Some(Next::Connect)
        });
        match next.flatten() {
            Some(Next::Connect) => self.dial_step(id),
            Some(Next::Resolve) => self.resolve_next(id),
            Some(Next::Failed) => self.finish_later(id),
            None => {}
        }
    }

    /// The socket became writable (or failed) while connecting, or readable
    /// or writable while a proxy tunnel is being opened.
    /// `readable`: the event says data has arrived (a server that talks
    /// before the request; after the request, its answer is a new event).
    pub(super) fn on_connect_event(&self, id: ConnId, readable: bool) {
        enum Next {
            Dialed(Dialed),
            Tunnel,
            ProxyTls,
        }
        let next = self.with_conn(id, |c| match c.phase {
            Phase::Tunneling(_) => Next::Tunnel,
            Phase::ProxyTls => Next::ProxyTls,
            _ => Next::Dialed(self.on_dial_event(c)),
        });
        match next {
            Some(Next::Dialed(Dialed::Step)) => self.dial_step(id),
            Some(Next::Dialed(Dialed::Failed)) => self.finish_later(id),
            Some(Next::Tunnel) => self.tunnel_io(id),
            Some(Next::ProxyTls) => self.proxy_tls_io(id),
            Some(Next::Dialed(Dialed::Connected)) => {
                let https = |v: &Via| v.proxy.kind == ProxyKind::Https;
                match self.with_conn(id, |c| (c.via.as_deref().map(https), c.req.tls.is_some())) {
                    Some((Some(true), _)) => self.start_proxy_tls(id),
                    Some((Some(false), _)) => self.start_tunnel(id),
                    Some((None, true)) => self.start_tls(id),
                    Some((None, false)) => self.send_upgrade(id, readable),
                    None => {}
                }
            }
            _ => {}
        }
    }

    /// TCP to an HTTPS proxy is up: TLS with it, verified like a server's
    /// (the context's CAs, its name or IP address, and a wss://
    /// connection's LCCSCF_ALLOW_* relaxations).
    fn start_proxy_tls(&self, id: ConnId) {
        let secs = self.cfg.timeout_secs;
        let r = self.with_conn(id, |c| {
            let via = c.via.as_deref().expect("a connection through a proxy");
            let req = crate::tls::TlsRequest {
                server_name: via.proxy.host.clone(),
                alpn: vec![b"http/1.1".to_vec()],
                relax: c.req.tls.as_ref().map(|t| t.relax).unwrap_or_default(),
            };
            let session = self
                .tls
                .connect(&req)
                .map_err(|failure| ConnectError::Tls {
                    target: proxy_tls_target(c),
                    failure,
                })?;
            if let Some(sock) = c.sock.as_mut() {
                sock.start_tls(session);
            }
            c.phase = Phase::ProxyTls;
            self.set_deadline(c, Duration::from_secs(secs.into()));
            Ok(())
        });
        match r {
            Some(Ok(())) => self.proxy_tls_io(id),
            Some(Err(e)) => self.fail(id, e),
            None => {}
        }
    }

    /// Moves the TLS handshake with an HTTPS proxy along; asks it for the
    /// tunnel once it is done.
    fn proxy_tls_io(&self, id: ConnId) {
        if self.tls_step(id, proxy_tls_target) {
            self.start_tunnel(id);
        }
    }

    /// TCP (and TLS, for an HTTPS proxy) to the proxy is up: ask it for a
    /// tunnel to the target.
    fn start_tunnel(&self, id: ConnId) {
        let secs = self.cfg.timeout_secs;
        let r = self.with_conn(id, |c| {
            let via = c.via.as_deref().expect("a connection through a proxy");
            let (tunnel, out) =
                Tunnel::start(&via.proxy, c.req.address(), c.req.port, via.target_ip)?;
            wlog!(
                log::INFO,
                "{}: asking the {} {} for a tunnel",
                c.peer(),
                via.proxy.kind.protocol().label(),
                via.proxy
            );
            c.phase = Phase::Tunneling(Box::new(Tunneling {
                tunnel,
                out,
                sent: 0,
            }));
            self.set_deadline(c, Duration::from_secs(secs.into()));
            Ok(())
        });
        match r {
            Some(Ok(())) => self.tunnel_io(id),
            Some(Err(e)) => self.fail(id, ConnectError::Proxy(e)),
            None => {}
        }
    }

    /// Moves the tunnel handshake along: writes what the proxy is owed,
    /// reads its answers until the socket would block or the tunnel is open.
    fn tunnel_io(&self, id: ConnId) {
        let r = self.with_conn(id, |c| {
            let (Some(sock), Phase::Tunneling(t)) = (c.sock.as_mut(), &mut c.phase) else {
                return Ok(false);
            };
            let mut buf = [0u8; 1024];
            loop {
                while t.sent < t.out.len() {
                    match sock.write(&t.out[t.sent..]) {
                        Ok(0) => return Err(t.tunnel.closed()),
                        Ok(n) => t.sent += n,
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) => return Err(t.tunnel.io_failed(true, &e)),
                    }
                }
                let n = match sock.read(&mut buf) {
                    Ok(0) => return Err(t.tunnel.closed()),
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(t.tunnel.io_failed(false, &e)),
                };
                match t.tunnel.receive(&buf[..n])? {
                    Progress::NeedMore => {}
                    Progress::Send(b) => {
                        t.out = b;
                        t.sent = 0;
                    }
                    // A WebSocket server (and a TLS one) waits for the
                    // client: bytes from it before our first are a broken
                    // proxy or the wrong server.
                    Progress::Open { rest } if !rest.is_empty() => {
                        return Err(t.tunnel.io_failed(
                            false,
                            &io::Error::other(format!(
                                "{} bytes arrived from the target before the client sent anything; a WebSocket server waits for the request",
                                rest.len()
                            )),
                        ))
                    }
                    Progress::Open { .. } => {
                        wlog!(
                            log::INFO,
                            "{}: tunnel open through the {} {}",
                            crate::connection::peer_name(&c.req),
                            t.tunnel.hop().protocol.label(),
                            t.tunnel.hop().proxy
                        );
                        c.via = None;
                        return Ok(true);
                    }
                }
            }
        });
        match r {
            Some(Ok(true)) => match self.with_conn(id, |c| c.req.tls.is_some()) {
                Some(true) => self.start_tls(id),
                Some(false) => self.send_upgrade(id, true),
                None => {}
            },
            Some(Err(e)) => self.fail(id, ConnectError::Proxy(e)),
            _ => {}
        }
    }

    /// `ws_set_proxy()` (`socks` false) or `ws_set_socks()`: connections
    /// started from now on take this proxy.
    pub fn set_proxy(&self, value: &str, socks: bool) -> Result<(), ProxySettingError> {
        let mut cfg = self.proxy.borrow_mut();
        if socks {
            cfg.set_socks(value)
        } else {
            cfg.set_proxy(value)
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
                let target = self.with_conn(id, |c| c.peer()).unwrap_or_default();
                self.fail(id, ConnectError::Tls { target, failure })
            }
            None => {}
        }
    }

    /// Moves the TLS handshake along; sends the upgrade request once it is done.
    pub(super) fn tls_io(&self, id: ConnId) {
        if self.tls_step(id, |c| c.peer()) {
            wlog!(
                log::INFO,
                "TLS up with {}",
                self.with_conn(id, |c| c.peer()).unwrap_or_default()
            );
            self.send_upgrade(id, true)
        }
    }

    /// Moves a TLS handshake along (with the server, or with an HTTPS
    /// proxy: `target` names it in errors). True once it is done; a
    /// failure fails the connection.
    fn tls_step(&self, id: ConnId, target: fn(&Conn) -> String) -> bool {
        let r = self.with_conn(id, |c| {
            let r = match c.sock.as_mut() {
                Some(sock) => sock.handshake(),
                None => return Ok(false),
            };
            r.map_err(|e| tls_failed(&target(c), &e, true))
        });
        match r {
            Some(Ok(done)) => done,
            Some(Err(e)) => {
                self.fail(id, e);
                false
            }
            None => false,
        }
    }
}

fn unix_connect(addr: &UnixAddr) -> io::Result<mio::net::UnixStream> {
    match addr {
        UnixAddr::Path(p) => mio::net::UnixStream::connect(p),
        #[cfg(any(target_os = "linux", target_os = "android"))]
        UnixAddr::Abstract(name) => {
            use std::os::linux::net::SocketAddrExt;
            let a = std::os::unix::net::SocketAddr::from_abstract_name(name)?;
            mio::net::UnixStream::connect_addr(&a)
        }
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        UnixAddr::Abstract(_) => Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "abstract socket names exist only on Linux",
        )),
    }
}

/// An HTTPS proxy, as TLS errors name it.
pub(super) fn proxy_tls_target(c: &Conn) -> String {
    match c.via.as_deref() {
        Some(v) => format!(
            "the HTTPS proxy {}",
            crate::url::host_port(&v.proxy.host, v.proxy.port)
        ),
        None => c.peer(),
    }
}

/// `host:port` of the target, as proxy errors name it.
fn hop_target(c: &Conn) -> String {
    crate::url::host_port(c.req.address(), c.req.port)
}

/// `connect_timeout_secs` passed before TCP was up: to the target, or to
/// the proxy on the way.
pub(super) fn dial_timeout(c: &Conn, secs: u32) -> ConnectError {
    match c.via.as_deref() {
        Some(v) if !v.needs_target_ip() => ConnectError::Proxy(
            v.proxy
                .error(&hop_target(c), ProxyFailure::ConnectTimeout { secs }),
        ),
        _ => ConnectError::ConnectTimeout {
            target: c.peer(),
            secs,
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
