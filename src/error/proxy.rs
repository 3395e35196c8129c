//! Why a connection through a proxy failed, naming the hop: the proxy (by
//! its address and where it was configured) or the target behind it.
//!
//! Each message starts with libwebsockets' wording for the same failure
//! (`http_proxy -> 407`, `proxy conn dead`, `socks reply fail`, ...) where
//! it has one. Credentials never appear: only a user name, never a password.

use std::fmt;

/// The protocol spoken to a proxy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProxyProtocol {
    /// HTTP CONNECT over plain TCP.
    Http,
    /// HTTP CONNECT inside TLS to the proxy.
    Https,
    Socks5,
}

impl ProxyProtocol {
    pub fn label(self) -> &'static str {
        match self {
            ProxyProtocol::Http => "HTTP proxy",
            ProxyProtocol::Https => "HTTPS proxy",
            ProxyProtocol::Socks5 => "SOCKS5 proxy",
        }
    }

    fn socks(self) -> bool {
        self == ProxyProtocol::Socks5
    }
}

/// The proxy a failure concerns and the target it was asked to reach.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyHop {
    pub protocol: ProxyProtocol,
    /// `host:port` of the proxy.
    pub proxy: String,
    /// `host:port` of the target behind it.
    pub target: String,
    /// Where the proxy was configured, as the fix should name it:
    /// `http_proxy_address`, `ws_set_socks()`, `the environment variable https_proxy`.
    pub origin: &'static str,
}

/// What went wrong on the way through a proxy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProxyFailure {
    /// The proxy's own name did not resolve.
    Dns {
        detail: String,
    },
    /// The proxy refused the TCP connection.
    Refused,
    Unreachable {
        detail: String,
    },
    /// The proxy's name has several addresses: none took the connection.
    EveryAddress {
        tried: Vec<(String, String)>,
    },
    /// The proxy did not accept the TCP connection in time.
    ConnectTimeout {
        secs: u32,
    },
    /// The proxy did not answer a request in time.
    ReplyTimeout {
        secs: u32,
        waiting_for: &'static str,
    },
    Write {
        detail: String,
    },
    Read {
        detail: String,
    },
    /// The proxy closed the connection before a complete answer.
    HungUp {
        waiting_for: &'static str,
        received: usize,
    },
    /// CONNECT answered with a status other than 2xx and 407.
    Status {
        status: u16,
        status_line: String,
    },
    /// CONNECT answered 407 (or 401, which some proxies send for wrong
    /// credentials).
    AuthRequired {
        status: u16,
        status_line: String,
        realm: Option<String>,
        /// The schemes the proxy offered (`Basic`, `Negotiate`, ...).
        schemes: Vec<String>,
        /// The user whose credentials were sent, if any were.
        sent_user: Option<String>,
    },
    /// The answer to CONNECT is not an HTTP response; its printable start.
    NotHttp {
        start: String,
    },
    HeadTooLarge {
        limit: usize,
    },
    /// The SOCKS5 proxy's reply code to CONNECT (RFC 1928 §6), not 0.
    SocksReply {
        code: u8,
    },
    /// The SOCKS5 proxy accepts none of the offered methods.
    SocksNoMethod {
        offered_auth: bool,
    },
    /// RFC 1929: the proxy refused the user name and password.
    SocksAuthRefused {
        user: String,
        status: u8,
    },
    /// The SOCKS5 proxy's answer does not follow the protocol.
    NotSocks {
        waiting_for: &'static str,
        detail: String,
    },
    /// A name longer than SOCKS5's 255 bytes.
    SocksTooLong {
        what: &'static str,
        len: usize,
    },
}

/// A proxy hop that failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyError {
    /// Boxed to keep `ConnectError` small.
    pub hop: Box<ProxyHop>,
    pub failure: ProxyFailure,
}

/// RFC 1928 §6's reply codes, in words.
pub fn socks_reply_words(code: u8) -> &'static str {
    match code {
        0x00 => "succeeded",
        0x01 => "general SOCKS server failure",
        0x02 => "connection not allowed by ruleset",
        0x03 => "network unreachable",
        0x04 => "host unreachable",
        0x05 => "connection refused",
        0x06 => "TTL expired",
        0x07 => "command not supported",
        0x08 => "address type not supported",
        _ => "unassigned reply code",
    }
}

fn socks_reply_hint(code: u8) -> &'static str {
    match code {
        0x02 => " (the proxy's rules do not allow this target)",
        0x03 | 0x04 => " (the proxy has no route to the target)",
        0x05 => " (by the target: is the server running and listening on that port?)",
        0x08 => " (socks5h:// lets the proxy resolve the name, socks5:// resolves it here)",
        _ => "",
    }
}

fn status_hint(status: u16) -> &'static str {
    match status {
        403 => " (the proxy's rules do not allow a tunnel to this target or port)",
        400 | 405 | 501 => " (the proxy does not accept CONNECT for this target)",
        500..=599 => " (the proxy could not reach the target: is the server running and listening on that port?)",
        _ => "",
    }
}

impl fmt::Display for ProxyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use ProxyFailure::*;
        let ProxyHop {
            protocol,
            proxy,
            target,
            origin,
        } = &*self.hop;
        let label = protocol.label();
        let socks = protocol.socks();
        match &self.failure {
            Dns { detail } => write!(
                f,
                "DNS lookup failed: cannot resolve the {label} '{proxy}': {detail} (check {origin})"
            ),
            Refused => write!(
                f,
                "Unable to connect: connection refused by the {label} {proxy} (is the proxy running and listening on that port? it comes from {origin})"
            ),
            Unreachable { detail } => write!(
                f,
                "Unable to connect: {label} {proxy}: {detail} (it comes from {origin})"
            ),
            EveryAddress { tried } => write!(
                f,
                "Unable to connect: no address of the {label} {proxy} took the connection: {} (is the proxy running? it comes from {origin})",
                super::tried_list(tried)
            ),
            ConnectTimeout { secs } => write!(
                f,
                "Unable to connect: no answer from the {label} {proxy} within {secs} s (connect_timeout_secs; it comes from {origin})"
            ),
            ReplyTimeout { secs, waiting_for } => write!(
                f,
                "Timed out waiting proxy reply: the {label} {proxy} did not answer {waiting_for} for {target} within {secs} s (timeout_secs)"
            ),
            Write { detail } => write!(
                f,
                "{}: {label} {proxy}: {detail}",
                if socks { "socks write failed" } else { "proxy write failed" }
            ),
            Read { detail } => write!(
                f,
                "{}: {label} {proxy}: {detail}",
                if socks { "socks recv fail" } else { "proxy read err" }
            ),
            HungUp {
                waiting_for,
                received: 0,
            } => write!(
                f,
                "{}: the {label} {proxy} closed the connection before answering {waiting_for} for {target}",
                if socks { "socks conn dead" } else { "proxy conn dead" }
            ),
            HungUp {
                waiting_for,
                received,
            } => write!(
                f,
                "{}: the {label} {proxy} closed the connection after {received} bytes of an incomplete answer to {waiting_for} for {target}",
                if socks { "socks conn dead" } else { "proxy conn dead" }
            ),
            Status {
                status,
                status_line,
            } => write!(
                f,
                "http_proxy -> {status}: the {label} {proxy} refused the tunnel to {target}: '{status_line}'{}",
                status_hint(*status)
            ),
            AuthRequired {
                status,
                status_line,
                realm,
                schemes,
                sent_user,
            } => {
                write!(
                    f,
                    "http_proxy -> {status}: the {label} {proxy} answered '{status_line}'"
                )?;
                if let Some(r) = realm {
                    write!(f, " (realm \"{r}\")")?;
                }
                write!(f, " to the CONNECT request for {target}; ")?;
                match sent_user {
                    None => write!(
                        f,
                        "no credentials were sent (give them as user:password@ before the host in {origin})"
                    )?,
                    Some(u) => write!(
                        f,
                        "the credentials of user '{u}' were refused (check the user name and password in {origin})"
                    )?,
                }
                if !schemes.is_empty() && !schemes.iter().any(|s| s.eq_ignore_ascii_case("basic")) {
                    write!(
                        f,
                        "; it asks for {}, and only Basic is supported",
                        schemes.join(", ")
                    )?;
                }
                Ok(())
            }
            NotHttp { start } => write!(
                f,
                "http_proxy fail: the {label} {proxy} answered the CONNECT request for {target} with something that is not HTTP: '{start}' (is it an HTTP proxy? a SOCKS5 proxy needs socks5:// or socks_proxy_address)"
            ),
            HeadTooLarge { limit } => write!(
                f,
                "http_proxy fail: the {label} {proxy} answered the CONNECT request for {target} with more than {limit} bytes of headers"
            ),
            SocksReply { code } => write!(
                f,
                "socks reply fail: the {label} {proxy} could not connect to {target}: 0x{code:02x} {}{}",
                socks_reply_words(*code),
                socks_reply_hint(*code)
            ),
            SocksNoMethod {
                offered_auth: false,
            } => write!(
                f,
                "socks reply fail: the {label} {proxy} requires authentication and no credentials were given (give them as user:password@ before the host in {origin})"
            ),
            SocksNoMethod { offered_auth: true } => write!(
                f,
                "socks reply fail: the {label} {proxy} accepts neither no authentication nor username/password, the only methods supported"
            ),
            SocksAuthRefused { user, status } => write!(
                f,
                "socks reply fail: the {label} {proxy} refused the credentials of user '{user}' (status 0x{status:02x}; check the user name and password in {origin})"
            ),
            NotSocks {
                waiting_for,
                detail,
            } => write!(
                f,
                "socks reply fail: the {label} {proxy} answered {waiting_for} for {target} with something that is not SOCKS5: {detail} (is it a SOCKS5 proxy? an HTTP proxy needs http:// or http_proxy_address)"
            ),
            SocksTooLong { what, len } => write!(
                f,
                "socks gen msg fail: the {what} is {len} bytes, and SOCKS5 carries at most 255 (target {target}, {label} {proxy})"
            ),
        }
    }
}

/// A proxy setting that cannot be used, reported when it is given
/// (`ws_create_context`, `ws_set_proxy`, `ws_set_socks`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxySettingError {
    /// The value with any password replaced by `***`.
    pub value: String,
    pub origin: &'static str,
    pub problem: ProxySettingProblem,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProxySettingProblem {
    /// No `:port` and no separate port field.
    NoPort { socks: bool },
    /// A URL scheme other than http, https, socks5, socks5h.
    Scheme(String),
    /// Anything else: what is wrong.
    Invalid(String),
}

impl fmt::Display for ProxySettingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ProxySettingError {
            value,
            origin,
            problem,
        } = self;
        match problem {
            ProxySettingProblem::NoPort { socks: false } => write!(
                f,
                "http_proxy needs to be ads:port: '{value}' in {origin} has no port (append :port, or set http_proxy_port)"
            ),
            ProxySettingProblem::NoPort { socks: true } => write!(
                f,
                "socks_proxy needs to be address:port: '{value}' in {origin} has no port (append :port, or set socks_proxy_port)"
            ),
            ProxySettingProblem::Scheme(s) => write!(
                f,
                "unsupported proxy scheme '{s}://' in {origin} ('{value}'): use http://, https://, socks5:// or socks5h://"
            ),
            ProxySettingProblem::Invalid(why) => {
                write!(f, "invalid proxy '{value}' in {origin}: {why}")
            }
        }
    }
}
