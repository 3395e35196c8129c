//! The HTTP/1.1 upgrade exchange of RFC 6455 §4.1: the request the client
//! sends and the checks on the server's response.
//!
//! Pure functions over bytes; the connection decides when to call them and
//! turns a [`HandshakeError`] into the application's error message.

use crate::deflate;
use crate::error::HandshakeError;

/// Largest response head accepted (status line and headers).
pub(crate) const MAX_RESPONSE_HEAD: usize = 16 * 1024;
const MAX_HEADERS: usize = 64;

/// What the request is built from.
#[derive(Debug, Clone)]
pub struct RequestParams<'a> {
    /// The request target.
    pub path: &'a str,
    /// The Host header.
    pub host: &'a str,
    /// The Origin header, when set.
    pub origin: Option<&'a str>,
    /// Sent verbatim as `Sec-WebSocket-Protocol` when set.
    pub protocol: Option<&'a str>,
    /// The Sec-WebSocket-Key.
    pub key: &'a str,
    /// The `Sec-WebSocket-Extensions` offer, when one is made.
    pub extensions: Option<&'a str>,
    /// Extra header lines, each ending in CRLF, from the application.
    pub extra: &'a [u8],
}

/// Builds the upgrade request: libwebsockets' headers in libwebsockets'
/// order, so a server (or a proxy) sees the same request from a ported
/// program; the application's own lines come last.
pub fn build_request(p: &RequestParams<'_>) -> Vec<u8> {
    let path = if p.path.is_empty() { "/" } else { p.path };
    let mut r = String::with_capacity(256);
    r.push_str("GET ");
    if !path.starts_with('/') {
        r.push('/');
    }
    r.push_str(path);
    r.push_str(" HTTP/1.1\r\nPragma: no-cache\r\nCache-Control: no-cache\r\nHost: ");
    r.push_str(p.host);
    r.push_str("\r\n");
    if let Some(o) = p.origin {
        r.push_str("Origin: ");
        r.push_str(o);
        r.push_str("\r\n");
    }
    r.push_str("Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ");
    r.push_str(p.key);
    r.push_str("\r\n");
    if let Some(proto) = p.protocol {
        r.push_str("Sec-WebSocket-Protocol: ");
        r.push_str(proto);
        r.push_str("\r\n");
    }
    if let Some(ext) = p.extensions {
        r.push_str("Sec-WebSocket-Extensions: ");
        r.push_str(ext);
        r.push_str("\r\n");
    }
    r.push_str("Sec-WebSocket-Version: 13\r\n");
    let mut out = r.into_bytes();
    out.extend_from_slice(p.extra);
    out.extend_from_slice(b"\r\n");
    out
}

/// The Origin header's value for the connect info's `origin`: as
/// libwebsockets, `http://` + the given host unless `raw`
/// (`WS_SERVER_OPTION_JUST_USE_RAW_ORIGIN`). A value that already has a
/// scheme (`https://app.example`) is sent as given rather than as lws'
/// `http://https://app.example`.
pub fn origin_value(origin: &str, raw: bool) -> String {
    if raw || origin.contains("://") {
        origin.to_string()
    } else {
        format!("http://{origin}")
    }
}

/// A parsed response head.
#[derive(Debug, Clone, Default)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// The reason phrase.
    pub reason: String,
    /// Header names (as sent) and raw values, in order.
    pub headers: Vec<(String, Vec<u8>)>,
}

impl Response {
    /// The first header of that name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice())
    }

    /// Every header of that name (case-insensitive), in order.
    pub fn headers<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice())
    }

    fn header_str(&self, name: &str) -> Option<String> {
        self.header(name)
            .map(|v| String::from_utf8_lossy(v).trim().to_string())
    }
}

/// Tries to parse a response head from `buf`. Returns the response and the
/// length of the head, or None when more bytes are needed.
pub fn parse_response(buf: &[u8]) -> Result<Option<(Response, usize)>, HandshakeError> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut resp = httparse::Response::new(&mut headers);
    match resp.parse(buf) {
        Ok(httparse::Status::Complete(n)) => {
            let r = Response {
                status: resp.code.unwrap_or(0),
                reason: resp.reason.unwrap_or("").to_string(),
                headers: resp
                    .headers
                    .iter()
                    .map(|h| (h.name.to_string(), h.value.to_vec()))
                    .collect(),
            };
            Ok(Some((r, n)))
        }
        Ok(httparse::Status::Partial) if buf.len() > MAX_RESPONSE_HEAD => {
            Err(HandshakeError::HeadTooLarge {
                limit: MAX_RESPONSE_HEAD,
            })
        }
        Ok(httparse::Status::Partial) => Ok(None),
        Err(httparse::Error::TooManyHeaders) => Err(HandshakeError::Malformed(format!(
            "more than {MAX_HEADERS} response headers"
        ))),
        Err(e) => Err(HandshakeError::Malformed(e.to_string())),
    }
}

/// Result of a successful upgrade check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    /// The subprotocol the server selected, if any.
    pub protocol: Option<String>,
    /// permessage-deflate as the server accepted it, None when it did not.
    pub deflate: Option<deflate::Params>,
}

/// Checks a response against RFC 6455 §4.1 (client requirements 1-6).
pub fn check_response(
    resp: &Response,
    key: &str,
    offered: Option<&str>,
    offer: Option<&deflate::Offer>,
) -> Result<Accepted, HandshakeError> {
    if resp.status != 101 {
        return Err(HandshakeError::Status {
            status: resp.status,
            reason: resp.reason.clone(),
        });
    }
    match resp.header_str("Upgrade") {
        None => return Err(HandshakeError::UpgradeMissing),
        Some(u) if !u.eq_ignore_ascii_case("websocket") => {
            return Err(HandshakeError::UpgradeNotWebsocket(u))
        }
        _ => {}
    }
    match resp.header_str("Connection") {
        None => return Err(HandshakeError::ConnectionMissing),
        Some(c)
            if !c
                .split(',')
                .any(|t| t.trim().eq_ignore_ascii_case("upgrade")) =>
        {
            return Err(HandshakeError::ConnectionNotUpgrade(c))
        }
        _ => {}
    }
    let expected = tungstenite::handshake::derive_accept_key(key.as_bytes());
    match resp.header_str("Sec-WebSocket-Accept") {
        None => return Err(HandshakeError::AcceptMissing),
        Some(a) if a != expected => return Err(HandshakeError::AcceptWrong { got: a, expected }),
        _ => {}
    }
    let deflate = check_extensions(resp, offer)?;
    let selected = resp
        .header_str("Sec-WebSocket-Protocol")
        .filter(|p| !p.is_empty());
    if let Some(sel) = &selected {
        let offered_list: Vec<&str> = offered
            .map(|o| o.split(',').map(str::trim).collect())
            .unwrap_or_default();
        if !offered_list.iter().any(|o| o == sel) {
            return Err(HandshakeError::ProtocolNotOffered {
                selected: sel.clone(),
                offered: offered.map(str::to_string),
            });
        }
    }
    Ok(Accepted {
        protocol: selected,
        deflate,
    })
}

/// The `Sec-WebSocket-Extensions` answer against the offer (RFC 7692 7).
fn check_extensions(
    resp: &Response,
    offer: Option<&deflate::Offer>,
) -> Result<Option<deflate::Params>, HandshakeError> {
    let values: Vec<String> = resp
        .headers("Sec-WebSocket-Extensions")
        .map(|v| String::from_utf8_lossy(v).into_owned())
        .collect();
    let values: Vec<&str> = values.iter().map(String::as_str).collect();
    deflate::check_response(offer, &values).map_err(|e| HandshakeError::Extension(Box::new(e)))
}

/// A fresh random `Sec-WebSocket-Key`.
pub fn new_key() -> String {
    tungstenite::handshake::client::generate_key()
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
    const ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

    fn resp(extra: &str) -> Response {
        let raw = format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {ACCEPT}\r\n{extra}\r\n"
        );
        parse_response(raw.as_bytes()).unwrap().unwrap().0
    }

    #[test]
    fn request_has_the_rfc_headers() {
        let req = build_request(&RequestParams {
            path: "/chat?x=1",
            host: "example.com:8080",
            origin: Some("http://example.com"),
            protocol: Some("chat, superchat"),
            key: KEY,
            extensions: Some("permessage-deflate; client_max_window_bits"),
            extra: b"X-Token: 1\r\n",
        });
        let s = String::from_utf8(req).unwrap();
        assert_eq!(
            s,
            format!(
                "GET /chat?x=1 HTTP/1.1\r\nPragma: no-cache\r\nCache-Control: no-cache\r\n\
                 Host: example.com:8080\r\nOrigin: http://example.com\r\n\
                 Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {KEY}\r\n\
                 Sec-WebSocket-Protocol: chat, superchat\r\n\
                 Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\
                 Sec-WebSocket-Version: 13\r\n\
                 X-Token: 1\r\n\r\n"
            )
        );
    }

    #[test]
    fn origin_gets_lws_scheme_unless_raw_or_present() {
        assert_eq!(origin_value("example.com", false), "http://example.com");
        assert_eq!(origin_value("example.com", true), "example.com");
        assert_eq!(
            origin_value("https://app.example", false),
            "https://app.example"
        );
    }

    #[test]
    fn accepts_a_good_response() {
        assert_eq!(
            check_response(&resp(""), KEY, None, None).unwrap(),
            Accepted {
                protocol: None,
                deflate: None
            }
        );
        let r = resp("Sec-WebSocket-Protocol: superchat\r\n");
        assert_eq!(
            check_response(&r, KEY, Some("chat, superchat"), None)
                .unwrap()
                .protocol
                .as_deref(),
            Some("superchat")
        );
        let offer = deflate::Offer::lws_default();
        let r = resp("Sec-WebSocket-Extensions: permessage-deflate; client_no_context_takeover; client_max_window_bits=10\r\n");
        assert_eq!(
            check_response(&r, KEY, None, Some(&offer)).unwrap().deflate,
            Some(deflate::Params {
                server_no_context_takeover: false,
                client_no_context_takeover: true,
                server_max_window_bits: 15,
                client_max_window_bits: 10,
            })
        );
    }

    #[test]
    fn rejects_bad_responses() {
        let r = resp("Sec-WebSocket-Protocol: other\r\n");
        assert!(matches!(
            check_response(&r, KEY, Some("chat"), None),
            Err(HandshakeError::ProtocolNotOffered { .. })
        ));
        assert!(matches!(
            check_response(&r, "AAAAAAAAAAAAAAAAAAAAAA==", None, None),
            Err(HandshakeError::AcceptWrong { .. })
        ));
        let r = resp("Sec-WebSocket-Extensions: permessage-deflate\r\n");
        assert!(matches!(
            check_response(&r, KEY, None, None),
            Err(HandshakeError::Extension(_))
        ));
        let raw = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";
        let (r, n) = parse_response(raw).unwrap().unwrap();
        assert_eq!(n, raw.len());
        assert!(matches!(
            check_response(&r, KEY, None, None),
            Err(HandshakeError::Status { status: 404, .. })
        ));
    }

    #[test]
    fn head_size_is_bounded() {
        let mut raw = b"HTTP/1.1 101 OK\r\n".to_vec();
        while raw.len() <= MAX_RESPONSE_HEAD {
            raw.extend_from_slice(b"X: 0123456789012345678901234567890123456789\r\n");
        }
        assert!(matches!(
            parse_response(&raw),
            Err(HandshakeError::HeadTooLarge { .. }) | Err(HandshakeError::Malformed(_))
        ));
    }
}
