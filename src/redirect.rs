//! Following redirects of the upgrade request, as lws does: 301, 302, 303,
//! 307 and 308 with a `Location`, relative or absolute, at most
//! [`HOP_LIMIT`] of them, and never from wss:// to ws://.
//!
//! Pure: where the next request goes and whether it may go there. The
//! caller asks the application (`CLIENT_HTTP_REDIRECT`) before following,
//! closes the old connection and dials the new one.

use std::fmt;

use crate::error::RedirectError;
use crate::target::Target;

/// lws' limit (`lws_client_reset`): the fifth redirect fails.
pub const HOP_LIMIT: usize = 4;

/// A status the client follows unless `LCCSCF_HTTP_NO_FOLLOW_REDIRECT`.
pub fn is_redirect(status: u16) -> bool {
    matches!(status, 301 | 302 | 303 | 307 | 308)
}

/// Where an upgrade request goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub tls: bool,
    pub target: Target,
    /// Path and query, starting with `/`.
    pub path: String,
    /// The `Host` header when it is not the target's default.
    pub host: Option<String>,
}

impl fmt::Display for Request {
    /// As a URL: `wss://echo.example:443/chat`, `ws+unix:/run/app.sock:/chat`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.tls { "wss" } else { "ws" };
        match &self.target {
            Target::Tcp { .. } => write!(f, "{scheme}://{}{}", self.target, self.path),
            Target::Unix(u) => {
                let u = u.to_string();
                let rest = u.strip_prefix("unix:").unwrap_or(&u);
                write!(f, "{scheme}+unix:{rest}:{}", self.path)
            }
        }
    }
}

/// RFC 3986 §5.2.4: removes `.` and `..` segments.
fn remove_dot_segments(path: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    let segments: Vec<&str> = path.split('/').collect();
    let last = segments.len() - 1;
    for (i, seg) in segments.iter().enumerate() {
        match *seg {
            "." => {
                if i == last {
                    out.push("");
                }
            }
            ".." => {
                if out.len() > 1 {
                    out.pop();
                }
                if i == last {
                    out.push("");
                }
            }
            s => out.push(s),
        }
    }
    let joined = out.join("/");
    if joined.starts_with('/') {
        joined
    } else {
        format!("/{joined}")
    }
}

/// The path of `path_query` (without its query).
fn path_part(path_query: &str) -> &str {
    path_query.split('?').next().unwrap_or("")
}

/// `path?query` with dot segments removed from the path.
fn normalize(path_query: &str) -> String {
    match path_query.split_once('?') {
        Some((p, q)) => format!("{}?{q}", remove_dot_segments(p)),
        None => remove_dot_segments(path_query),
    }
}

/// Where `location` (a `Location` header value) points, seen from `base`.
pub fn resolve(base: &Request, location: &str) -> Result<Request, String> {
    if location.chars().any(|c| c.is_control() || c == ' ') {
        return Err("it contains spaces or control characters".into());
    }
    let location = location.split('#').next().unwrap_or("");
    if let Some(abs) = crate::url::absolute(location) {
        let tls = match abs.scheme.as_str() {
            "ws" | "http" => false,
            "wss" | "https" => true,
            other => {
                return Err(format!(
                    "the scheme '{other}' is not ws, wss, http or https"
                ))
            }
        };
        return absolute(tls, abs.authority, abs.path);
    }
    if let Some(rest) = location.strip_prefix("//") {
        let end = rest.find(['/', '?']).unwrap_or(rest.len());
        return absolute(base.tls, &rest[..end], &rest[end..]);
    }
    let path = if location.is_empty() {
        base.path.clone()
    } else if location.starts_with('/') {
        normalize(location)
    } else if let Some(q) = location.strip_prefix('?') {
        format!("{}?{q}", path_part(&base.path))
    } else {
        let base_path = path_part(&base.path);
        let dir = &base_path[..base_path.rfind('/').map_or(0, |i| i + 1)];
        normalize(&format!("{dir}{location}"))
    };
    Ok(Request {
        path,
        ..base.clone()
    })
}

fn absolute(tls: bool, authority: &str, path: &str) -> Result<Request, String> {
    let a = crate::url::authority(authority)?;
    if a.userinfo.is_some() {
        return Err("credentials in a redirect are not followed".into());
    }
    let path = if path.is_empty() {
        "/".to_string()
    } else if path.starts_with('?') {
        format!("/{path}")
    } else {
        normalize(path)
    };
    Ok(Request {
        tls,
        target: Target::Tcp {
            host: a.host.to_string(),
            port: a.port.unwrap_or(if tls { 443 } else { 80 }),
        },
        path,
        host: None,
    })
}

/// The redirects of one connection so far.
#[derive(Debug, Clone)]
pub struct Redirects {
    /// Every URL requested, the first included.
    chain: Vec<String>,
    limit: usize,
    allow_downgrade: bool,
}

impl Redirects {
    /// Starts at the first request; `allow_downgrade` permits wss:// to
    /// ws:// (lws' `LCCSCF_ACCEPT_TLS_DOWNGRADE_REDIRECTS`).
    pub fn new(first: &Request, limit: usize, allow_downgrade: bool) -> Redirects {
        Redirects {
            chain: vec![first.to_string()],
            limit,
            allow_downgrade,
        }
    }

    /// Every URL requested so far.
    #[cfg(test)]
    pub fn chain(&self) -> &[String] {
        &self.chain
    }

    /// `from` answered `status` with `location` (None: no header): the next
    /// request, or why it is not made.
    pub fn follow(
        &mut self,
        from: &Request,
        status: u16,
        location: Option<&str>,
    ) -> Result<Request, RedirectError> {
        let Some(location) = location else {
            return Err(RedirectError::NoLocation {
                from: from.to_string(),
                status,
            });
        };
        let next = resolve(from, location).map_err(|why| RedirectError::BadLocation {
            from: from.to_string(),
            location: location.to_string(),
            why,
        })?;
        if from.tls && !next.tls && !self.allow_downgrade {
            return Err(RedirectError::Downgrade {
                from: from.to_string(),
                to: next.to_string(),
            });
        }
        self.chain.push(next.to_string());
        if self.chain.len() > self.limit + 1 {
            return Err(RedirectError::TooMany {
                limit: self.limit,
                chain: self.chain.clone(),
            });
        }
        Ok(next)
    }

    /// The application's `CLIENT_HTTP_REDIRECT` returned non-zero.
    pub fn vetoed(from: &Request, status: u16, location: &str) -> RedirectError {
        RedirectError::Vetoed {
            from: from.to_string(),
            status,
            location: location.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::target::UnixAddr;

    fn req(url_tls: bool, host: &str, port: u16, path: &str) -> Request {
        Request {
            tls: url_tls,
            target: Target::Tcp {
                host: host.into(),
                port,
            },
            path: path.into(),
            host: None,
        }
    }

    #[test]
    fn codes() {
        for s in [301, 302, 303, 307, 308] {
            assert!(is_redirect(s));
        }
        for s in [300, 304, 305, 306, 200, 101] {
            assert!(!is_redirect(s));
        }
    }

    #[test]
    fn relative_locations() {
        let base = Request {
            host: Some("custom.example".into()),
            ..req(true, "a.example", 8443, "/app/v1/chat?x=1")
        };
        let r = |l: &str| resolve(&base, l).unwrap();
        assert_eq!(r("/other").path, "/other");
        assert_eq!(
            r("/other").host.as_deref(),
            Some("custom.example"),
            "Host kept"
        );
        assert_eq!(r("next").path, "/app/v1/next");
        assert_eq!(r("../v2/chat?y").path, "/app/v2/chat?y");
        assert_eq!(r("./").path, "/app/v1/");
        assert_eq!(r("../../../../x").path, "/x");
        assert_eq!(r("?z=2").path, "/app/v1/chat?z=2");
        assert_eq!(r("").path, "/app/v1/chat?x=1");
        assert_eq!(r("/a/./b/../c#frag").path, "/a/c");
        let n = r("//b.example:9/p");
        assert_eq!(n.to_string(), "wss://b.example:9/p");
        assert_eq!(n.host, None);
        let unix = Request {
            target: Target::Unix(UnixAddr::Path("/run/app.sock".into())),
            ..req(false, "x", 0, "/a/b")
        };
        let n = resolve(&unix, "c").unwrap();
        assert_eq!(n.to_string(), "ws+unix:/run/app.sock:/a/c");
    }

    #[test]
    fn absolute_locations() {
        let base = req(false, "a.example", 80, "/");
        let n = resolve(&base, "https://B.example/x?y").unwrap();
        assert_eq!(n.to_string(), "wss://B.example:443/x?y");
        let n = resolve(&base, "ws://[::1]:7681").unwrap();
        assert_eq!(n.to_string(), "ws://[::1]:7681/");
        let n = resolve(&base, "http://h?q").unwrap();
        assert_eq!(n.path, "/?q");
        let bad = |l: &str| resolve(&base, l).unwrap_err();
        assert_eq!(
            bad("ftp://h/"),
            "the scheme 'ftp' is not ws, wss, http or https"
        );
        assert_eq!(
            bad("ws://u:p@h/"),
            "credentials in a redirect are not followed"
        );
        assert_eq!(bad("ws://h:0/"), "'0' is not a port number (1-65535)");
        assert_eq!(bad("/a b"), "it contains spaces or control characters");
    }

    #[test]
    fn downgrade_is_refused_unless_allowed() {
        let from = req(true, "a.example", 443, "/chat");
        let mut r = Redirects::new(&from, HOP_LIMIT, false);
        let e = r
            .follow(&from, 302, Some("ws://a.example/chat"))
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "HS: Redirect attempted SSL downgrade: wss://a.example:443/chat redirected to ws://a.example:80/chat; refusing to leave TLS (the server should redirect to wss://)"
        );
        let mut r = Redirects::new(&from, HOP_LIMIT, true);
        assert!(!r.follow(&from, 302, Some("http://a.example/")).unwrap().tls);
        // ws:// to wss:// is an upgrade, always fine.
        let plain = req(false, "a.example", 80, "/");
        let mut r = Redirects::new(&plain, HOP_LIMIT, false);
        assert!(r.follow(&plain, 301, Some("wss://a.example/")).unwrap().tls);
    }

    #[test]
    fn hop_limit_names_the_chain() {
        let first = req(false, "127.0.0.1", 7681, "/0");
        let mut r = Redirects::new(&first, HOP_LIMIT, false);
        let mut at = first;
        for i in 1..=HOP_LIMIT {
            at = r.follow(&at, 307, Some(&format!("/{i}"))).unwrap();
        }
        assert_eq!(r.chain().len(), HOP_LIMIT + 1);
        let e = r.follow(&at, 308, Some("/5")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "HS: Redirect failed: more than 4 redirects: ws://127.0.0.1:7681/0 -> ws://127.0.0.1:7681/1 -> ws://127.0.0.1:7681/2 -> ws://127.0.0.1:7681/3 -> ws://127.0.0.1:7681/4 -> ws://127.0.0.1:7681/5 (does the server redirect in a loop?)"
        );
    }

    #[test]
    fn other_failures_in_words() {
        let from = req(false, "127.0.0.1", 7681, "/");
        let mut r = Redirects::new(&from, HOP_LIMIT, false);
        assert_eq!(
            r.follow(&from, 302, None).unwrap_err().to_string(),
            "HS: Redirect code but no Location: ws://127.0.0.1:7681/ answered 302 without a Location header"
        );
        assert_eq!(
            r.follow(&from, 301, Some("gopher://h/")).unwrap_err().to_string(),
            "HS: URI did not parse: ws://127.0.0.1:7681/ redirected to 'gopher://h/': the scheme 'gopher' is not ws, wss, http or https"
        );
        assert_eq!(
            Redirects::vetoed(&from, 303, "/elsewhere").to_string(),
            "HS: user code rejected redirect: CLIENT_HTTP_REDIRECT returned non-zero for the 303 from ws://127.0.0.1:7681/ to '/elsewhere'"
        );
        assert_eq!(r.chain().len(), 1, "failed hops are not in the chain");
    }
}
