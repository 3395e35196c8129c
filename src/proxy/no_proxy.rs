//! `no_proxy` with curl's meaning: a comma (or space) separated list of
//! host names, domain suffixes, IP literals and CIDR ranges, or `*` for
//! every host; hosts it matches are reached directly.
//!
//! Matching is on the host as written in the connection (or `Location`),
//! never on what it resolves to: `localhost` in the list does not cover
//! `127.0.0.1`, as with curl.

use std::net::IpAddr;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Entry {
    /// `example.com` or `.example.com`: the name and every name under it.
    Domain(String),
    /// An address, or a range with a prefix length.
    Net(IpAddr, u8),
}

/// A parsed `no_proxy` list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NoProxy {
    all: bool,
    entries: Vec<Entry>,
}

fn bare(host: &str) -> &str {
    let h = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    h.strip_suffix('.').unwrap_or(h)
}

fn net(entry: &str) -> Option<(IpAddr, u8)> {
    let (ip, bits) = match entry.split_once('/') {
        Some((ip, bits)) => (ip, Some(bits)),
        None => (entry, None),
    };
    let ip: IpAddr = bare(ip).parse().ok()?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    let bits = match bits {
        None => max,
        Some(b) => b.parse::<u8>().ok().filter(|b| *b <= max)?,
    };
    Some((ip, bits))
}

fn in_net(ip: IpAddr, net: IpAddr, bits: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(bits)).unwrap_or(0);
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(bits)).unwrap_or(0);
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

impl NoProxy {
    pub fn parse(list: &str) -> NoProxy {
        let mut np = NoProxy::default();
        for raw in list.split(|c: char| c == ',' || c.is_whitespace()) {
            if raw.is_empty() {
                continue;
            }
            if raw == "*" {
                np.all = true;
                continue;
            }
            if let Some((ip, bits)) = net(raw) {
                np.entries.push(Entry::Net(ip, bits));
                continue;
            }
            // A leading dot (or `*.`, which curl does not know but users
            // write) means the same as none: the domain and its subdomains.
            let name = raw
                .strip_prefix("*.")
                .or_else(|| raw.strip_prefix('.'))
                .unwrap_or(raw);
            let name = bare(name).to_ascii_lowercase();
            if !name.is_empty() {
                np.entries.push(Entry::Domain(name));
            }
        }
        np
    }

    /// True when `host` (a name or an IP literal, brackets allowed) is to be
    /// reached without the proxy.
    pub fn matches(&self, host: &str) -> bool {
        if self.all {
            return true;
        }
        let host = bare(host);
        if let Ok(ip) = host.parse::<IpAddr>() {
            return self.entries.iter().any(|e| match e {
                Entry::Net(n, bits) => in_net(ip, *n, *bits),
                Entry::Domain(_) => false,
            });
        }
        let host = host.to_ascii_lowercase();
        self.entries.iter().any(|e| match e {
            Entry::Domain(d) => {
                host == *d
                    || (host.len() > d.len()
                        && host.ends_with(d.as_str())
                        && host.as_bytes()[host.len() - d.len() - 1] == b'.')
            }
            Entry::Net(..) => false,
        })
    }

    pub fn is_empty(&self) -> bool {
        !self.all && self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_domain_suffixes() {
        let np = NoProxy::parse("localhost, .corp.example,Internal.Example ,");
        assert!(np.matches("localhost"));
        assert!(np.matches("LOCALHOST."));
        assert!(np.matches("corp.example"));
        assert!(np.matches("a.b.corp.example"));
        assert!(!np.matches("notcorp.example"));
        assert!(np.matches("internal.example"));
        assert!(np.matches("x.internal.example"));
        assert!(!np.matches("example"));
        assert!(!np.matches("127.0.0.1"), "names never match addresses");
        assert!(!np.is_empty());
        let star = NoProxy::parse("*.svc.example");
        assert!(star.matches("svc.example") && star.matches("a.svc.example"));
    }

    #[test]
    fn ip_literals_and_ranges() {
        let np = NoProxy::parse("127.0.0.1 10.0.0.0/8 ::1 [fd00::]/8 192.168.1.1/33");
        assert!(np.matches("127.0.0.1"));
        assert!(!np.matches("127.0.0.2"));
        assert!(np.matches("10.200.3.4"));
        assert!(!np.matches("11.0.0.1"));
        assert!(np.matches("[::1]"));
        assert!(np.matches("::1"));
        assert!(np.matches("fd12::5"));
        assert!(!np.matches("fe80::1"));
        assert!(!np.matches("localhost"));
        // An invalid prefix length makes the entry a (useless) name, as curl would not match it either.
        assert!(!np.matches("192.168.1.1"));
        let all4 = NoProxy::parse("0.0.0.0/0");
        assert!(all4.matches("8.8.8.8") && !all4.matches("::1"));
    }

    #[test]
    fn star_matches_everything_and_empty_nothing() {
        assert!(NoProxy::parse("*").matches("anything.example"));
        assert!(NoProxy::parse("a.example,*").matches("10.1.1.1"));
        let empty = NoProxy::parse(" , ");
        assert!(empty.is_empty());
        assert!(!empty.matches("localhost"));
    }
}
