//! Why a connection failed, as types; the one-line messages the application
//! receives in `CLIENT_CONNECTION_ERROR` are their `Display`.
//!
//! Each message starts with libwebsockets' wording for the same cause, where
//! it has one, so existing log filters keep matching, then names the peer,
//! the detail, and where useful the fix.

use std::fmt;

mod proxy;
mod redirect;

pub use proxy::{
    socks_reply_words, ProxyError, ProxyFailure, ProxyHop, ProxyProtocol, ProxySettingError,
    ProxySettingProblem,
};
pub use redirect::RedirectError;

/// The server's upgrade response was not acceptable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HandshakeError {
    Status {
        status: u16,
        reason: String,
    },
    UpgradeMissing,
    UpgradeNotWebsocket(String),
    ConnectionMissing,
    ConnectionNotUpgrade(String),
    AcceptMissing,
    AcceptWrong {
        got: String,
        expected: String,
    },
    /// The `Sec-WebSocket-Extensions` answer (RFC 7692 section 7).
    Extension(Box<ExtensionError>),
    ProtocolNotOffered {
        selected: String,
        offered: Option<String>,
    },
    HeadTooLarge {
        limit: usize,
    },
    Malformed(String),
}

/// The server's `Sec-WebSocket-Extensions` answer cannot be accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtensionError {
    pub problem: ExtensionProblem,
    /// What the server sent: the header's value (its lines joined by ", ").
    pub sent: String,
    /// The client's offer, None when it offered no extension.
    pub offered: Option<String>,
}

/// What is wrong with an extension answer, by libwebsockets' categories.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExtensionProblem {
    /// An extension the client did not offer.
    NotOffered(String),
    /// permessage-deflate accepted more than once.
    Repeated,
    /// A parameter that is unknown, repeated, lacks its value or has a bad one.
    BadParameters(String),
    /// Parameters that are well formed but break the offer (RFC 7692 7.1).
    Rejected(String),
}

/// Without the peer's address: the connection's message adds it.
impl fmt::Display for ExtensionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt_extension(f, "the server", self)
    }
}

fn fmt_extension(f: &mut fmt::Formatter<'_>, who: &str, e: &ExtensionError) -> fmt::Result {
    use ExtensionProblem::*;
    let lead = match e.problem {
        NotOffered(_) => "HS: EXT: unknown ext",
        Repeated => "HS: EXT: too many extensions",
        BadParameters(_) => "HS: EXT: failed parsing options",
        Rejected(_) => "HS: EXT: Rejects server options",
    };
    write!(
        f,
        "{lead}: {who} sent 'Sec-WebSocket-Extensions: {}' ",
        e.sent
    )?;
    match &e.offered {
        Some(o) => write!(f, "for the offer '{o}'")?,
        None => f.write_str("but the client offered no extension")?,
    }
    match &e.problem {
        NotOffered(name) => write!(f, ": '{name}' was not offered"),
        Repeated => f.write_str(": permessage-deflate is accepted more than once"),
        BadParameters(d) | Rejected(d) => write!(f, ": {d}"),
    }
}

/// Why a connection never reached `CLIENT_ESTABLISHED`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectError {
    /// Name resolution failed.
    Dns {
        host: String,
        detail: String,
    },
    /// Every address refused the TCP connection.
    Refused {
        addr: String,
    },
    /// The TCP connection failed for another reason.
    Unreachable {
        addr: String,
        detail: String,
    },
    ConnectTimeout {
        target: String,
        secs: u32,
    },
    /// A name with several addresses: none took the connection. Each
    /// address with what became of it.
    EveryAddress {
        target: String,
        tried: Vec<(String, String)>,
    },
    HandshakeTimeout {
        target: String,
        secs: u32,
    },
    /// The server closed the connection before a complete response.
    HungUp {
        target: String,
        received: usize,
    },
    ReadFailed {
        target: String,
        detail: String,
    },
    Handshake {
        target: String,
        error: HandshakeError,
        offered: Option<String>,
    },
    /// TLS failed during or right after its handshake.
    Tls {
        target: String,
        failure: TlsFailure,
    },
    /// The TLS handshake did not finish in time.
    TlsTimeout {
        target: String,
        secs: u32,
    },
    /// The strict subprotocol flag is set and the server selected none.
    NoSubprotocol {
        offered: String,
        local: String,
    },
    RejectedByFilter,
    RejectedAtEstablished,
    /// The context was destroyed while the connection was being made.
    ContextDestroyed,
    /// The application closed the connection before it was established.
    ClosedByApplication,
    /// A `ws_set_timeout` expired before the connection was established.
    TimeoutKilled {
        reason: i32,
    },
    /// A proxy on the way failed, or refused the target.
    Proxy(ProxyError),
    /// A redirect of the upgrade request was not followed.
    Redirect(RedirectError),
}

/// Why TLS failed, in the terms the application can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsFailure {
    UnknownIssuer,
    SelfSigned,
    NameMismatch {
        asked: String,
        /// The subjectAltName's DNS names and IP addresses.
        presented: Vec<String>,
        /// The subject's common names (None: not read).
        common_names: Option<Vec<String>>,
        /// A common name matched, but the context requires the name in a
        /// subjectAltName (`WS_CONTEXT_REQUIRE_SUBJECT_ALT_NAME`).
        cn_refused: bool,
    },
    Expired {
        not_after: String,
        now: String,
    },
    NotYetValid {
        not_before: String,
        now: String,
    },
    BadCertificate(String),
    Alert {
        alert: String,
        hint: Option<&'static str>,
    },
    /// The peer's bytes are not TLS records.
    NotTls,
    /// The peer closed TCP during the TLS handshake.
    ClosedInHandshake,
    Other(String),
}

/// `'a', 'b'`.
fn quoted(names: &[String]) -> String {
    names
        .iter()
        .map(|n| format!("'{n}'"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What the certificate covers, its subject CN included, and the way out.
fn fmt_name_mismatch(
    f: &mut fmt::Formatter<'_>,
    target: &str,
    asked: &str,
    presented: &[String],
    common_names: Option<&[String]>,
    cn_refused: bool,
) -> fmt::Result {
    const SKIP: &str = "LCCSCF_SKIP_SERVER_CERT_HOSTNAME_CHECK";
    let lead = "tls: hostname mismatch";
    let cns = common_names.unwrap_or_default();
    if cn_refused {
        return write!(
            f,
            "{lead}: asked for '{asked}', which the certificate of {target} names only in its subject CN {} (it has no DNS subjectAltName), and WS_CONTEXT_REQUIRE_SUBJECT_ALT_NAME refuses that (reissue the certificate with a subjectAltName, or drop the flag)",
            quoted(cns)
        );
    }
    if !presented.is_empty() {
        write!(
            f,
            "{lead}: asked for '{asked}', but the certificate of {target} is for {} (",
            quoted(presented)
        )?;
        if !cns.is_empty() {
            write!(f, "subject CN {}; ", quoted(cns))?;
        }
        return write!(f, "set .host to one of those, or {SKIP})");
    }
    match common_names {
        None => write!(
            f,
            "{lead}: the certificate of {target} is not valid for '{asked}' (set .host to a name it covers, or {SKIP})"
        ),
        Some([]) => write!(
            f,
            "{lead}: asked for '{asked}', but the certificate of {target} names no host: no subjectAltName names, no subject CN ({SKIP} accepts it)"
        ),
        Some(cns) => {
            let ip = if asked.parse::<std::net::IpAddr>().is_ok() {
                ", which is never compared with an IP address"
            } else {
                ""
            };
            write!(
                f,
                "{lead}: asked for '{asked}', but the certificate of {target} has no subjectAltName names, only the subject CN {}{ip} (set .host to a name the CN covers, or {SKIP})",
                quoted(cns)
            )
        }
    }
}

fn fmt_tls(f: &mut fmt::Formatter<'_>, target: &str, e: &TlsFailure) -> fmt::Result {
    use TlsFailure::*;
    match e {
        UnknownIssuer => write!(
            f,
            "tls: unknown issuer: the certificate of {target} is not signed by a trusted CA (give that CA with client_ssl_ca_filepath or client_ssl_ca_mem; LCCSCF_ALLOW_INSECURE accepts any issuer)"
        ),
        SelfSigned => write!(
            f,
            "tls: self-signed certificate from {target} (trust it with client_ssl_ca_filepath or client_ssl_ca_mem, or accept it with LCCSCF_ALLOW_SELFSIGNED)"
        ),
        NameMismatch {
            asked,
            presented,
            common_names,
            cn_refused,
        } => fmt_name_mismatch(f, target, asked, presented, common_names.as_deref(), *cn_refused),
        Expired { not_after, now } => write!(
            f,
            "tls: certificate expired: the certificate of {target} was valid until {not_after}, and it is {now} (renew it or check the clock; LCCSCF_ALLOW_EXPIRED accepts it)"
        ),
        NotYetValid { not_before, now } => write!(
            f,
            "tls: certificate not yet valid: the certificate of {target} is valid from {not_before}, and it is {now} (check the clock; LCCSCF_ALLOW_EXPIRED accepts it)"
        ),
        BadCertificate(what) => write!(f, "tls: bad certificate from {target}: {what}"),
        Alert { alert, hint } => {
            write!(f, "tls: {target} sent the TLS alert {alert}")?;
            match hint {
                Some(h) => write!(f, ": {h}"),
                None => Ok(()),
            }
        }
        NotTls => write!(
            f,
            "tls: {target} is not speaking TLS: its reply is not a TLS record (is it a plain ws:// server? drop LCCSCF_USE_SSL or use its TLS port)"
        ),
        ClosedInHandshake => write!(
            f,
            "tls: {target} closed the connection during the TLS handshake (is it a TLS server?)"
        ),
        Other(what) => write!(f, "tls: {target}: {what}"),
    }
}

impl ConnectError {
    /// Where the connection was when it failed, for the library's own log line.
    pub fn stage(&self) -> &'static str {
        use ConnectError::*;
        match self {
            Dns { .. } => "while resolving the name",
            Refused { .. } | Unreachable { .. } | ConnectTimeout { .. } | EveryAddress { .. } => {
                "in the TCP connect"
            }
            Tls { .. } | TlsTimeout { .. } => "in the TLS handshake",
            HandshakeTimeout { .. }
            | HungUp { .. }
            | ReadFailed { .. }
            | Handshake { .. }
            | NoSubprotocol { .. }
            | RejectedByFilter
            | RejectedAtEstablished => "in the upgrade exchange",
            Proxy(_) => "at the proxy",
            Redirect(_) => "following a redirect",
            ContextDestroyed | ClosedByApplication | TimeoutKilled { .. } => {
                "before it was established"
            }
        }
    }
}

/// `addr: why; addr: why`, for the errors that name every address tried.
pub(crate) fn tried_list(tried: &[(String, String)]) -> String {
    let each: Vec<String> = tried.iter().map(|(a, why)| format!("{a}: {why}")).collect();
    each.join("; ")
}

fn subprotocol_fix(offered: &str) -> String {
    format!(
        "set .protocol = NULL to offer none, and .local_protocol_name = \"{offered}\" to keep your callbacks bound"
    )
}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use ConnectError::*;
        match self {
            Dns { host, detail } => write!(
                f,
                "DNS lookup failed: cannot resolve '{host}': {detail} (check .address)"
            ),
            Refused { addr } => write!(
                f,
                "Unable to connect: connection refused by {addr} (is the server running and listening on that port?)"
            ),
            Unreachable { addr, detail } => write!(f, "Unable to connect: {addr}: {detail}"),
            EveryAddress { target, tried } => write!(
                f,
                "Unable to connect: no address of {target} took the connection: {} (is the server running and listening on that port?)",
                tried_list(tried)
            ),
            ConnectTimeout { target, secs } => write!(
                f,
                "Unable to connect: no answer from {target} within {secs} s (connect_timeout_secs)"
            ),
            HandshakeTimeout { target, secs } => write!(
                f,
                "Timed out waiting server reply: {target} did not answer the upgrade request within {secs} s (timeout_secs; is it a WebSocket server?)"
            ),
            HungUp { target, received: 0 } => write!(
                f,
                "read failed: {target} closed the connection before answering the upgrade request (is it a WebSocket server? does it expect TLS?)"
            ),
            HungUp { target, received } => write!(
                f,
                "read failed: {target} closed the connection after {received} bytes of an incomplete upgrade response"
            ),
            ReadFailed { target, detail } => write!(f, "read failed: {target}: {detail}"),
            Handshake { target, error, offered } => fmt_handshake(f, target, error, offered.as_deref()),
            Tls { target, failure } => fmt_tls(f, target, failure),
            TlsTimeout { target, secs } => write!(
                f,
                "Timed out waiting SSL: {target} did not complete the TLS handshake within {secs} s (timeout_secs; is it a TLS server?)"
            ),
            NoSubprotocol { offered, local } => write!(
                f,
                "subprotocol mismatch: offered '{offered}', server selected none (WS_CONNECT_REQUIRE_SUBPROTOCOL is set; local protocol '{local}'); {}",
                subprotocol_fix(offered)
            ),
            RejectedByFilter => f.write_str(
                "HS: Rejected by filter cb: CLIENT_FILTER_PRE_ESTABLISH returned non-zero",
            ),
            RejectedAtEstablished => {
                f.write_str("HS: Rejected at CLIENT_ESTABLISHED: the callback returned non-zero")
            }
            ContextDestroyed => f.write_str("Closed before conn: the context was destroyed"),
            ClosedByApplication => {
                f.write_str("Closed before conn: closed by the application before it was established")
            }
            TimeoutKilled { reason } => write!(
                f,
                "Closed before conn: ws_set_timeout (reason {reason}) expired before the connection was established"
            ),
            Proxy(e) => e.fmt(f),
            Redirect(e) => e.fmt(f),
        }
    }
}

fn fmt_handshake(
    f: &mut fmt::Formatter<'_>,
    target: &str,
    e: &HandshakeError,
    offered: Option<&str>,
) -> fmt::Result {
    use HandshakeError::*;
    match e {
        Status { status, reason } => {
            let lead = match status {
                401 => "HS: ws upgrade unauthorized",
                _ => "HS: ws upgrade response not 101",
            };
            write!(f, "{lead}: HTTP {status} {reason} from {target}")?;
            match offered {
                Some(p) if (400..500).contains(status) => write!(
                    f,
                    "; the server may not support the offered subprotocol '{p}' ({})",
                    subprotocol_fix(p)
                ),
                _ if (300..400).contains(status) => f.write_str(" (redirects are not followed)"),
                _ => f.write_str(": the server did not upgrade"),
            }
        }
        UpgradeMissing => write!(f, "HS: UPGRADE missing: the 101 response from {target} has no Upgrade header"),
        UpgradeNotWebsocket(u) => write!(
            f,
            "HS: Upgrade to something other than websocket: {target} answered 'Upgrade: {u}'"
        ),
        ConnectionMissing => write!(
            f,
            "HS: UPGRADE malformed: the 101 response from {target} has no Connection header"
        ),
        ConnectionNotUpgrade(c) => write!(
            f,
            "HS: UPGRADE malformed: {target} answered 'Connection: {c}', which lacks 'upgrade'"
        ),
        AcceptMissing => write!(f, "HS: ACCEPT missing: the 101 response from {target} has no Sec-WebSocket-Accept"),
        AcceptWrong { got, expected } => write!(
            f,
            "HS: Accept hash wrong: {target} sent Sec-WebSocket-Accept '{got}', expected '{expected}'"
        ),
        Extension(x) => fmt_extension(f, target, x),
        ProtocolNotOffered { selected, offered } => write!(
            f,
            "HS: PROTOCOL malformed: {target} selected subprotocol '{selected}', but the client offered {}",
            match offered {
                Some(o) => format!("'{o}'"),
                None => "none (.protocol is NULL)".to_string(),
            }
        ),
        HeadTooLarge { limit } => write!(
            f,
            "problems parsing header: the response from {target} exceeds {limit} bytes of headers"
        ),
        Malformed(detail) => write!(f, "problems parsing header: bad HTTP response from {target}: {detail}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refused_subprotocol_message_names_the_fix() {
        let e = ConnectError::Handshake {
            target: "127.0.0.1:7681/chat".into(),
            error: HandshakeError::Status {
                status: 400,
                reason: "Bad Request".into(),
            },
            offered: Some("chat".into()),
        };
        let s = e.to_string();
        assert!(s.starts_with(
            "HS: ws upgrade response not 101: HTTP 400 Bad Request from 127.0.0.1:7681/chat"
        ));
        assert!(s.contains("may not support the offered subprotocol 'chat'"));
        assert!(s.contains(".protocol = NULL"));
        assert!(!s.contains('\n'));
    }

    #[test]
    fn extension_message_names_the_server_and_both_sides() {
        let e = ConnectError::Handshake {
            target: "127.0.0.1:7681/".into(),
            error: HandshakeError::Extension(Box::new(ExtensionError {
                problem: ExtensionProblem::Rejected(
                    "client_max_window_bits=10, which the client did not offer".into(),
                ),
                sent: "permessage-deflate; client_max_window_bits=10".into(),
                offered: Some("permessage-deflate".into()),
            })),
            offered: None,
        };
        assert_eq!(
            e.to_string(),
            "HS: EXT: Rejects server options: 127.0.0.1:7681/ sent 'Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=10' for the offer 'permessage-deflate': client_max_window_bits=10, which the client did not offer"
        );
    }
}
