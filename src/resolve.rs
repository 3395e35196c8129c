//! Name resolution off the loop thread.
//!
//! Literal addresses are parsed in place. Names are looked up with the system
//! resolver (`getaddrinfo`) on a short-lived thread per lookup, so a slow or
//! failing lookup never stalls `ws_service` or other lookups; the result is
//! queued here and the loop is woken through its waker.

use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::sync::{Arc, Mutex};

use mio::Waker;

/// Addresses for a name, or why there are none.
pub type Lookup = Result<Vec<SocketAddr>, String>;

/// Completed lookups, keyed by the caller's token.
#[derive(Clone)]
pub struct Resolver {
    done: Arc<Mutex<Vec<(u64, Lookup)>>>,
    waker: Arc<Waker>,
}

impl Resolver {
    pub fn new(waker: Arc<Waker>) -> Resolver {
        Resolver {
            done: Arc::new(Mutex::new(Vec::new())),
            waker,
        }
    }

    /// Starts a lookup of `host`; its result comes back from [`Resolver::take`] under `key`.
    pub fn start(&self, key: u64, host: &str, port: u16) {
        let done = Arc::clone(&self.done);
        let waker = Arc::clone(&self.waker);
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
                done.lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push((key, result));
                let _ = waker.wake();
            });
        if let Err(e) = spawned {
            self.done
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push((key, Err(format!("cannot start a resolver thread: {e}"))));
            let _ = self.waker.wake();
        }
    }

    /// Takes the lookups finished so far.
    pub fn take(&self) -> Vec<(u64, Lookup)> {
        std::mem::take(&mut *self.done.lock().unwrap_or_else(|e| e.into_inner()))
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
