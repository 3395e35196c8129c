//! HTTP CONNECT (RFC 9110 §9.3.6): the request, with Basic credentials
//! (RFC 7617), and the proxy's answer, read as it arrives.
//!
//! Bytes in, bytes out: the caller writes [`request`] and feeds what it
//! reads to [`Reply::receive`] until the tunnel is open or it fails.

use super::config::Credentials;
use super::Progress;
use crate::error::ProxyFailure;

/// The most bytes of response head read before giving up.
pub const HEAD_LIMIT: usize = 16 * 1024;

/// What the caller is waiting for, as messages say it.
pub const WAITING_FOR: &str = "the CONNECT request";

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Base64 with padding (RFC 4648 §4).
pub(crate) fn base64(input: &[u8]) -> String {
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(B64[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The CONNECT request for `host:port` (an IPv6 literal is bracketed).
pub fn request(host: &str, port: u16, credentials: Option<&Credentials>) -> Vec<u8> {
    let authority = crate::url::host_port(host, port);
    let mut r = format!(
        "CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\nUser-Agent: wsloop/{}\r\n",
        env!("CARGO_PKG_VERSION")
    );
    if let Some(c) = credentials {
        let token = base64(format!("{}:{}", c.user, c.password).as_bytes());
        r.push_str(&format!("Proxy-Authorization: Basic {token}\r\n"));
    }
    r.push_str("\r\n");
    r.into_bytes()
}

/// The answer to a CONNECT request, read as it arrives.
#[derive(Debug)]
pub struct Reply {
    buf: Vec<u8>,
    /// The user whose credentials the request carried.
    sent_user: Option<String>,
}

/// The first bytes of `b`, printable, for a message.
pub(crate) fn printable_start(b: &[u8]) -> String {
    let line = b.split(|c| *c == b'\n').next().unwrap_or(b);
    let cut = &line[..line.len().min(40)];
    let mut s = cut.escape_ascii().to_string();
    if line.len() > cut.len() {
        s.push_str("...");
    }
    s
}

const PREFIX: &[u8] = b"HTTP/1.";

impl Reply {
    pub fn new(credentials: Option<&Credentials>) -> Reply {
        Reply {
            buf: Vec::new(),
            sent_user: credentials.map(|c| c.user.clone()),
        }
    }

    /// Takes bytes read from the proxy. Open (with the bytes after the
    /// head, the tunnel's first) on a 2xx answer; NeedMore until the head
    /// is complete. The body of a refusal is not waited for.
    pub fn receive(&mut self, bytes: &[u8]) -> Result<Progress, ProxyFailure> {
        self.buf.extend_from_slice(bytes);
        // Fail at once on what cannot become an HTTP/1.x status line, rather
        // than wait for a blank line that may never come.
        let n = self.buf.len().min(PREFIX.len());
        if self.buf[..n] != PREFIX[..n] {
            return Err(ProxyFailure::NotHttp {
                start: printable_start(&self.buf),
            });
        }
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut resp = httparse::Response::new(&mut headers);
        let head_len = match resp.parse(&self.buf) {
            Ok(httparse::Status::Partial) if self.buf.len() > HEAD_LIMIT => {
                return Err(ProxyFailure::HeadTooLarge { limit: HEAD_LIMIT })
            }
            Ok(httparse::Status::Partial) => return Ok(Progress::NeedMore),
            Ok(httparse::Status::Complete(n)) if n > HEAD_LIMIT => {
                return Err(ProxyFailure::HeadTooLarge { limit: HEAD_LIMIT })
            }
            Ok(httparse::Status::Complete(n)) => n,
            Err(httparse::Error::TooManyHeaders) => {
                return Err(ProxyFailure::HeadTooLarge { limit: HEAD_LIMIT })
            }
            Err(_) => {
                return Err(ProxyFailure::NotHttp {
                    start: printable_start(&self.buf),
                })
            }
        };
        let status = resp.code.unwrap_or(0);
        let status_line = format!(
            "HTTP/1.{} {} {}",
            resp.version.unwrap_or(1),
            status,
            resp.reason.unwrap_or("")
        )
        .trim_end()
        .to_string();
        match status {
            200..=299 => Ok(Progress::Open {
                rest: self.buf.split_off(head_len),
            }),
            // tinyproxy answers wrong credentials with 401 and WWW-Authenticate.
            401 | 407 => {
                let mut schemes = Vec::new();
                let mut realm = None;
                for h in resp.headers.iter() {
                    if h.name.eq_ignore_ascii_case("proxy-authenticate")
                        || h.name.eq_ignore_ascii_case("www-authenticate")
                    {
                        challenges(&String::from_utf8_lossy(h.value), &mut schemes, &mut realm);
                    }
                }
                Err(ProxyFailure::AuthRequired {
                    status,
                    status_line,
                    realm,
                    schemes,
                    sent_user: self.sent_user.clone(),
                })
            }
            _ => Err(ProxyFailure::Status {
                status,
                status_line,
            }),
        }
    }

    /// The proxy closed the connection before a complete answer.
    pub fn closed(&self) -> ProxyFailure {
        ProxyFailure::HungUp {
            waiting_for: WAITING_FOR,
            received: self.buf.len(),
        }
    }
}

/// Reads the auth schemes of a `Proxy-Authenticate` value (RFC 9110 §11.6.1:
/// `Basic realm="x", Negotiate`) into `schemes`, and the first realm seen
/// (Basic's preferred) into `realm`.
fn challenges(value: &str, schemes: &mut Vec<String>, realm: &mut Option<String>) {
    let b = value.as_bytes();
    let mut i = 0;
    let mut scheme = String::new();
    let token_end = |mut j: usize| {
        while j < b.len() && !matches!(b[j], b' ' | b'\t' | b',' | b'=' | b'"') {
            j += 1;
        }
        j
    };
    while i < b.len() {
        if matches!(b[i], b' ' | b'\t' | b',') {
            i += 1;
            continue;
        }
        let end = token_end(i);
        if end == i {
            i += 1;
            continue;
        }
        let token = &value[i..end];
        let mut j = end;
        while j < b.len() && matches!(b[j], b' ' | b'\t') {
            j += 1;
        }
        if j < b.len() && b[j] == b'=' {
            // A parameter of the current scheme (or a token68's padding).
            j += 1;
            while j < b.len() && matches!(b[j], b' ' | b'\t') {
                j += 1;
            }
            let mut v = String::new();
            if j < b.len() && b[j] == b'"' {
                j += 1;
                while j < b.len() && b[j] != b'"' {
                    if b[j] == b'\\' && j + 1 < b.len() {
                        j += 1;
                    }
                    v.push(b[j] as char);
                    j += 1;
                }
                j += 1;
            } else {
                let e = token_end(j);
                v.push_str(&value[j..e]);
                j = e;
            }
            let basic = scheme.eq_ignore_ascii_case("basic");
            if token.eq_ignore_ascii_case("realm") && (realm.is_none() || basic) {
                *realm = Some(v);
            }
            i = j;
        } else {
            scheme = token.to_string();
            schemes.push(scheme.clone());
            i = end;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds() -> Credentials {
        Credentials {
            user: "Aladdin".into(),
            password: "open sesame".into(),
        }
    }

    #[test]
    fn request_with_and_without_basic_auth() {
        let r = String::from_utf8(request("echo.example", 443, None)).unwrap();
        assert!(r.starts_with("CONNECT echo.example:443 HTTP/1.1\r\nHost: echo.example:443\r\n"));
        assert!(r.ends_with("\r\n\r\n") && !r.contains("Proxy-Authorization"));
        let r = String::from_utf8(request("::1", 80, Some(&creds()))).unwrap();
        assert!(
            r.starts_with("CONNECT [::1]:80 HTTP/1.1\r\nHost: [::1]:80\r\n"),
            "{r}"
        );
        // RFC 7617's example.
        assert!(r.contains("\r\nProxy-Authorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==\r\n"));
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
    }

    #[test]
    fn established_in_pieces_keeps_the_tunnel_bytes() {
        let mut r = Reply::new(None);
        let whole = b"HTTP/1.1 200 Connection established\r\nProxy-Agent: x\r\n\r\n\x16\x03\x01";
        for b in &whole[..whole.len() - 4] {
            assert_eq!(r.receive(&[*b]).unwrap(), Progress::NeedMore);
        }
        match r.receive(&whole[whole.len() - 4..]).unwrap() {
            Progress::Open { rest } => assert_eq!(rest, b"\x16\x03\x01"),
            other => panic!("{other:?}"),
        }
        let mut r = Reply::new(None);
        assert!(matches!(
            r.receive(b"HTTP/1.0 200 OK\r\n\r\n").unwrap(),
            Progress::Open { rest } if rest.is_empty()
        ));
    }

    #[test]
    fn auth_required_with_realm_and_schemes() {
        let mut r = Reply::new(Some(&creds()));
        let e = r
            .receive(b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Negotiate\r\nProxy-Authenticate: Basic realm=\"corp \\\"west\\\"\", charset=\"UTF-8\"\r\nContent-Length: 0\r\n\r\n")
            .unwrap_err();
        assert_eq!(
            e,
            ProxyFailure::AuthRequired {
                status: 407,
                status_line: "HTTP/1.1 407 Proxy Authentication Required".into(),
                realm: Some("corp \"west\"".into()),
                schemes: vec!["Negotiate".into(), "Basic".into()],
                sent_user: Some("Aladdin".into()),
            }
        );
        let mut r = Reply::new(None);
        match r.receive(
            b"HTTP/1.0 407 Nope\r\nproxy-authenticate: Digest realm=r1, nonce=\"x\"\r\n\r\n",
        ) {
            Err(ProxyFailure::AuthRequired {
                realm,
                schemes,
                sent_user,
                ..
            }) => {
                assert_eq!(realm.as_deref(), Some("r1"));
                assert_eq!(schemes, vec!["Digest".to_string()]);
                assert_eq!(sent_user, None);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_401_for_wrong_credentials_counts_as_an_auth_failure() {
        let mut r = Reply::new(Some(&creds()));
        match r.receive(
            b"HTTP/1.0 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"Tinyproxy\"\r\n\r\n",
        ) {
            Err(ProxyFailure::AuthRequired {
                status: 401,
                realm,
                sent_user,
                ..
            }) => {
                assert_eq!(realm.as_deref(), Some("Tinyproxy"));
                assert_eq!(sent_user.as_deref(), Some("Aladdin"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn other_statuses_garbage_and_limits() {
        let mut r = Reply::new(None);
        assert_eq!(
            r.receive(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 5\r\n\r\nnope!"),
            Err(ProxyFailure::Status {
                status: 403,
                status_line: "HTTP/1.1 403 Forbidden".into()
            })
        );
        let mut r = Reply::new(None);
        assert_eq!(
            r.receive(b"SSH-2.0-OpenSSH_9.2\r\n"),
            Err(ProxyFailure::NotHttp {
                start: "SSH-2.0-OpenSSH_9.2\\r".into()
            })
        );
        let mut r = Reply::new(None);
        assert!(matches!(
            r.receive(b"\x05\x00"),
            Err(ProxyFailure::NotHttp { .. })
        ));
        let mut r = Reply::new(None);
        assert!(matches!(
            r.receive(b"HTTP/1.1 2x0 OK\r\n\r\n"),
            Err(ProxyFailure::NotHttp { .. })
        ));
        let mut r = Reply::new(None);
        assert_eq!(
            r.receive(b"HTTP/1.1 200 OK\r\n").unwrap(),
            Progress::NeedMore
        );
        let big = vec![b'a'; HEAD_LIMIT];
        assert_eq!(
            r.receive(&big),
            Err(ProxyFailure::HeadTooLarge { limit: HEAD_LIMIT })
        );
        let mut r = Reply::new(None);
        r.receive(b"HTTP/1.1 20").unwrap();
        assert_eq!(
            r.closed(),
            ProxyFailure::HungUp {
                waiting_for: WAITING_FOR,
                received: 11
            }
        );
    }
}
