//! Name resolution off the loop thread.
//!
//! Literal addresses are parsed in place. Names are looked up with the system
//! resolver (`getaddrinfo`) on a short-lived thread per lookup, so a slow or
//! failing lookup never stalls `ws_service` or other lookups; the result is
//! left in the context's [`Remote`], which wakes the loop.

use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::sync::Arc;

use crate::context::Remote;

/// Addresses for a name, or why there are none.
pub type Lookup = Result<Vec<SocketAddr>, String>;

/// Starts lookups for one context.
pub struct Resolver {
    remote: Arc<Remote>,
}

impl Resolver {
    pub fn new(remote: Arc<Remote>) -> Resolver {
        Resolver { remote }
    }

    /// Starts a lookup of `host`; its result reaches the context's
    /// [`Remote`] under `key`.
    pub fn start(&self, key: u64, host: &str, port: u16) {
        let remote = Arc::clone(&self.remote);
        let name = host.to_string();
        let spawned = std::thread::Builder::new()
            .name("wsloop-dns".into())
            .spawn(move || {
                let result = match (name.as_str(), port).to_socket_addrs() {
                    Ok(addrs) => {
                        let v: Vec<SocketAddr> = addrs.collect();
                        if v.is_empty() {
                            Err("no addresses".to_string())
                        } else {
                            Ok(v)
                        }
                    }
                    Err(e) => Err(e.to_string()),
                };
                remote.lookup_done(key, result);
            });
        if let Err(e) = spawned {
            self.remote
                .lookup_done(key, Err(format!("cannot start a resolver thread: {e}")));
        }
    }
}

/// Parses an IPv4 or IPv6 literal (with or without brackets).
pub fn literal(host: &str, port: u16) -> Option<SocketAddr> {
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    bare.parse::<IpAddr>()
        .ok()
        .map(|ip| SocketAddr::new(ip, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals() {
        assert_eq!(
            literal("127.0.0.1", 80),
            Some("127.0.0.1:80".parse().unwrap())
        );
        assert_eq!(literal("[::1]", 81), Some("[::1]:81".parse().unwrap()));
        assert_eq!(literal("::1", 81), Some("[::1]:81".parse().unwrap()));
        assert_eq!(literal("localhost", 80), None);
    }
}
