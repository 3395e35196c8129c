//! Proxies between the client and the server: which one a connection
//! takes, and the handshakes that open a tunnel through it (HTTP CONNECT,
//! over TCP or TLS, and SOCKS5). No I/O happens here: the dialer moves the
//! bytes, this module says which bytes and what they mean.
//!
//! Which proxy a connection to `ws[s]://host:port` takes, first match wins:
//!
//! | # | setting | effect |
//! |---|---|---|
//! | 1 | `address` is `+/path` or `+@name` (Unix socket) | direct, always |
//! | 2 | `no_proxy`, else `NO_PROXY` (environment) matches `host` | direct |
//! | 3 | `ws_set_proxy(vhost, ...)` / `ws_set_socks(vhost, ...)` | that proxy; the later call replaces the earlier |
//! | 4 | context info `http_proxy_address` (+ `http_proxy_port`) or `socks_proxy_address` (+ `socks_proxy_port`) | that proxy |
//! | 5 | wss://: `https_proxy`, `HTTPS_PROXY`, `all_proxy`, `ALL_PROXY`, then `http_proxy` | that proxy |
//! | 5 | ws://: `http_proxy`, `all_proxy`, `ALL_PROXY` | that proxy |
//! | 6 | nothing set | direct |
//!
//! Rows 2 and 5 read the environment once, when the context is created,
//! and not at all when the application asks to ignore it. `HTTP_PROXY`
//! (upper case) is not read, as curl does not read it. `no_proxy` has
//! curl's meaning ([`NoProxy`]). Settings are written as lws writes them,
//! `[user:password@]host[:port]` (the port field is used when the string
//! has none), or as URLs: `http://`, `https://` (TLS to the proxy),
//! `socks5://` (the client resolves the target), `socks5h://` (the proxy
//! does; lws' SOCKS setting means this). An environment value without a
//! scheme is `http://`; a URL without a port gets curl's default (1080,
//! 443 for `https://`).
//!
//! Credentials never reach a log line: [`Proxy`]'s `Display`, [`mask`] and
//! every error show a user name at most.

mod config;
pub mod http;
mod no_proxy;
mod route;
pub mod socks5;

use std::net::IpAddr;

pub use config::{mask, Credentials, Origin, Proxy, ProxyKind};
pub use no_proxy::NoProxy;
pub use route::{Environment, ProxyConfig};

use crate::error::{ProxyError, ProxyFailure, ProxyHop};

/// What a handshake step asks of the dialer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// Read more.
    NeedMore,
    /// Write these bytes, then read the answer.
    Send(Vec<u8>),
    /// The tunnel is open; `rest` is its first bytes from the target, to be
    /// handed to the next layer (TLS or the upgrade response) before the
    /// socket is read again.
    Open { rest: Vec<u8> },
}

#[derive(Debug)]
enum Codec {
    Http(http::Reply),
    Socks5(socks5::Client),
}

/// One tunnel being opened through a proxy, after the TCP (and, for an
/// HTTPS proxy, TLS) connection to it is up.
#[derive(Debug)]
pub struct Tunnel {
    codec: Codec,
    hop: ProxyHop,
}

impl Proxy {
    /// The hop to `target` (`host:port`) through this proxy, as errors name it.
    pub fn hop(&self, target: &str) -> ProxyHop {
        ProxyHop {
            protocol: self.kind.protocol(),
            proxy: crate::url::host_port(&self.host, self.port),
            target: target.to_string(),
            origin: self.origin.describe(),
        }
    }

    /// A failure of the hop to `target` before any handshake: the proxy's
    /// name did not resolve, its TCP connection failed or timed out.
    pub fn error(&self, target: &str, failure: ProxyFailure) -> ProxyError {
        ProxyError {
            hop: Box::new(self.hop(target)),
            failure,
        }
    }
}

impl Tunnel {
    /// Starts the handshake through `proxy` to `host:port`, and gives the
    /// first bytes to write. For a proxy that
    /// [`resolves_target_locally`](Proxy::resolves_target_locally),
    /// `resolved` is the target's address (the name is sent when it is
    /// None); other proxies get the name.
    pub fn start(
        proxy: &Proxy,
        host: &str,
        port: u16,
        resolved: Option<IpAddr>,
    ) -> Result<(Tunnel, Vec<u8>), ProxyError> {
        let hop = proxy.hop(&crate::url::host_port(host, port));
        let creds = proxy.credentials.as_ref();
        let (codec, first) = match proxy.kind {
            ProxyKind::Http | ProxyKind::Https => (
                Codec::Http(http::Reply::new(creds)),
                http::request(host, port, creds),
            ),
            ProxyKind::Socks5 { remote_dns } => {
                let dest = match resolved {
                    Some(ip) if !remote_dns => socks5::Dest::Ip(ip),
                    _ => socks5::Dest::Name(host.to_string()),
                };
                match socks5::Client::start(dest, port, creds.cloned()) {
                    Ok((c, greeting)) => (Codec::Socks5(c), greeting),
                    Err(failure) => {
                        return Err(ProxyError {
                            hop: Box::new(hop),
                            failure,
                        })
                    }
                }
            }
        };
        Ok((Tunnel { codec, hop }, first))
    }

    /// Takes bytes read from the proxy.
    pub fn receive(&mut self, bytes: &[u8]) -> Result<Progress, ProxyError> {
        let r = match &mut self.codec {
            Codec::Http(r) => r.receive(bytes),
            Codec::Socks5(c) => c.receive(bytes),
        };
        r.map_err(|failure| self.fail(failure))
    }

    /// What the handshake waits for now, as messages say it.
    pub fn waiting_for(&self) -> &'static str {
        match &self.codec {
            Codec::Http(_) => http::WAITING_FOR,
            Codec::Socks5(c) => c.waiting_for(),
        }
    }

    /// The proxy closed the connection (read returned 0).
    pub fn closed(&self) -> ProxyError {
        self.fail(match &self.codec {
            Codec::Http(r) => r.closed(),
            Codec::Socks5(c) => c.closed(),
        })
    }

    /// `timeout_secs` passed without the answer.
    pub fn timed_out(&self, secs: u32) -> ProxyError {
        self.fail(ProxyFailure::ReplyTimeout {
            secs,
            waiting_for: self.waiting_for(),
        })
    }

    /// Reading from (`write` false) or writing to the proxy failed.
    pub fn io_failed(&self, write: bool, e: &std::io::Error) -> ProxyError {
        match e.kind() {
            std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe => self.closed(),
            _ if write => self.fail(ProxyFailure::Write {
                detail: e.to_string(),
            }),
            _ => self.fail(ProxyFailure::Read {
                detail: e.to_string(),
            }),
        }
    }

    pub fn hop(&self) -> &ProxyHop {
        &self.hop
    }

    fn fail(&self, failure: ProxyFailure) -> ProxyError {
        ProxyError {
            hop: Box::new(self.hop.clone()),
            failure,
        }
    }
}

#[cfg(test)]
mod tests;
