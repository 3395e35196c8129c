//! The small part of URL syntax (RFC 3986) the client needs: splitting an
//! absolute URL into scheme, authority and path, an authority into
//! credentials, host and port, and percent-decoding credentials.
//!
//! Shared by proxy URLs (`http://user:pass@proxy:3128`) and redirect
//! `Location` values. It never resolves names and never allocates more than
//! the parts it returns.

/// `scheme://authority/path?query`, split; `path` keeps its leading `/`
/// (or is empty) and the query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Absolute<'a> {
    /// Lower-cased.
    pub scheme: String,
    pub authority: &'a str,
    pub path: &'a str,
}

/// An authority: `[user[:password]@]host[:port]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authority<'a> {
    /// The text before the last `@`, undecoded.
    pub userinfo: Option<&'a str>,
    /// Without brackets for an IPv6 literal.
    pub host: &'a str,
    pub port: Option<u16>,
}

/// Splits `scheme://rest`; None when `s` does not start with a scheme
/// followed by `://`.
pub fn absolute(s: &str) -> Option<Absolute<'_>> {
    let (scheme, rest) = s.split_once("://")?;
    let mut chars = scheme.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic());
    if !first_ok || !chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')) {
        return None;
    }
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(end);
    let path = path.split('#').next().unwrap_or("");
    Some(Absolute {
        scheme: scheme.to_ascii_lowercase(),
        authority,
        path,
    })
}

/// Splits an authority. The credentials end at the last `@` (a password may
/// contain `@`); an IPv6 host must be bracketed when a port follows.
pub fn authority(s: &str) -> Result<Authority<'_>, String> {
    let (userinfo, hostport) = match s.rfind('@') {
        Some(at) => (Some(&s[..at]), &s[at + 1..]),
        None => (None, s),
    };
    let (host, port) = if let Some(rest) = hostport.strip_prefix('[') {
        let (host, after) = rest
            .split_once(']')
            .ok_or_else(|| format!("'{hostport}' opens '[' without closing it"))?;
        match after {
            "" => (host, None),
            p => match p.strip_prefix(':') {
                Some(p) => (host, Some(p)),
                None => return Err(format!("unexpected '{p}' after '[{host}]'")),
            },
        }
    } else if hostport.matches(':').count() > 1 {
        // A bare IPv6 literal: no port can be told apart.
        (hostport, None)
    } else {
        match hostport.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (hostport, None),
        }
    };
    if host.is_empty() {
        return Err(format!("no host in '{s}'"));
    }
    if host.contains(|c: char| c.is_whitespace() || c == '/') {
        return Err(format!("'{host}' is not a host name"));
    }
    let port = match port {
        None | Some("") => None,
        Some(p) => Some(parse_port(p)?),
    };
    Ok(Authority {
        userinfo,
        host,
        port,
    })
}

/// A TCP port number, 1 to 65535.
pub fn parse_port(p: &str) -> Result<u16, String> {
    match p.parse::<u16>() {
        Ok(n) if n > 0 && p.bytes().all(|b| b.is_ascii_digit()) => Ok(n),
        _ => Err(format!("'{p}' is not a port number (1-65535)")),
    }
}

/// Decodes `%XX` escapes; None when an escape is malformed or the result is
/// not UTF-8.
pub fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// `host:port`, with brackets around an IPv6 literal.
pub fn host_port(host: &str, port: u16) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_absolute_urls() {
        let a = absolute("HTTP://u:p@h:1/x?y#z").unwrap();
        assert_eq!(a.scheme, "http");
        assert_eq!(a.authority, "u:p@h:1");
        assert_eq!(a.path, "/x?y");
        let a = absolute("wss://h?q").unwrap();
        assert_eq!((a.authority, a.path), ("h", "?q"));
        assert!(absolute("/relative").is_none());
        assert!(absolute("host:80").is_none());
        assert!(absolute("1http://h").is_none());
    }

    #[test]
    fn splits_authorities() {
        let a = authority("user:p@ss@proxy.corp:3128").unwrap();
        assert_eq!(a.userinfo, Some("user:p@ss"));
        assert_eq!((a.host, a.port), ("proxy.corp", Some(3128)));
        let a = authority("[::1]:8080").unwrap();
        assert_eq!((a.host, a.port), ("::1", Some(8080)));
        let a = authority("::1").unwrap();
        assert_eq!((a.host, a.port), ("::1", None));
        assert_eq!(authority("h:").unwrap().port, None);
        assert!(authority("h:0").is_err());
        assert!(authority("h:99999").is_err());
        assert!(authority("h:+80").is_err());
        assert!(authority("[::1").is_err());
        assert!(authority("[::1]x").is_err());
        assert!(authority("user@").is_err());
        assert!(authority("a b").is_err());
    }

    #[test]
    fn decodes_percent_escapes() {
        assert_eq!(percent_decode("p%40ss%3a").as_deref(), Some("p@ss:"));
        assert_eq!(percent_decode("plain").as_deref(), Some("plain"));
        assert_eq!(percent_decode("bad%4"), None);
        assert_eq!(percent_decode("bad%zz"), None);
        assert_eq!(percent_decode("%ff"), None);
    }

    #[test]
    fn formats_host_port() {
        assert_eq!(host_port("::1", 80), "[::1]:80");
        assert_eq!(host_port("a.example", 443), "a.example:443");
    }
}
