//! One proxy setting: the forms it is written in (lws' and URLs), its
//! credentials, where it came from, and how it is shown without its
//! password.

use std::fmt;

use crate::error::{ProxyProtocol, ProxySettingError, ProxySettingProblem};
use crate::url;

/// How the client talks to a proxy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProxyKind {
    /// `http://`: HTTP CONNECT over TCP.
    Http,
    /// `https://`: TLS to the proxy (verified like a server), CONNECT inside.
    Https,
    /// `socks5://` (`remote_dns` false: the client resolves the target and
    /// sends its address) or `socks5h://` and lws' `socks_proxy_address`
    /// (`remote_dns` true: the proxy resolves the name).
    Socks5 { remote_dns: bool },
}

impl ProxyKind {
    pub fn protocol(self) -> ProxyProtocol {
        match self {
            ProxyKind::Http => ProxyProtocol::Http,
            ProxyKind::Https => ProxyProtocol::Https,
            ProxyKind::Socks5 { .. } => ProxyProtocol::Socks5,
        }
    }

    fn scheme(self) -> &'static str {
        match self {
            ProxyKind::Http => "http",
            ProxyKind::Https => "https",
            ProxyKind::Socks5 { remote_dns: false } => "socks5",
            ProxyKind::Socks5 { remote_dns: true } => "socks5h",
        }
    }

    /// curl's default ports: 443 for an HTTPS proxy, 1080 otherwise.
    fn default_port(self) -> u16 {
        match self {
            ProxyKind::Https => 443,
            _ => 1080,
        }
    }
}

/// A user name and password for a proxy. `Debug` and `Display` never show
/// the password.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub user: String,
    pub password: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:***", self.user)
    }
}

/// Where a proxy setting came from; error messages name it as the place to
/// fix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// `http_proxy_address` (and `http_proxy_port`) in the context info.
    HttpProxyAddress,
    /// `socks_proxy_address` (and `socks_proxy_port`) in the context info.
    SocksProxyAddress,
    /// `ws_set_proxy(vhost, ...)`.
    SetProxy,
    /// `ws_set_socks(vhost, ...)`.
    SetSocks,
    /// An environment variable: `http_proxy`, `https_proxy`, `HTTPS_PROXY`,
    /// `all_proxy` or `ALL_PROXY`.
    Env(&'static str),
}

impl Origin {
    /// As messages name it.
    pub fn describe(self) -> &'static str {
        match self {
            Origin::HttpProxyAddress => "http_proxy_address",
            Origin::SocksProxyAddress => "socks_proxy_address",
            Origin::SetProxy => "ws_set_proxy()",
            Origin::SetSocks => "ws_set_socks()",
            Origin::Env("http_proxy") => "the environment variable http_proxy",
            Origin::Env("https_proxy") => "the environment variable https_proxy",
            Origin::Env("HTTPS_PROXY") => "the environment variable HTTPS_PROXY",
            Origin::Env("all_proxy") => "the environment variable all_proxy",
            Origin::Env("ALL_PROXY") => "the environment variable ALL_PROXY",
            Origin::Env(_) => "the environment",
        }
    }
}

/// One proxy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proxy {
    pub kind: ProxyKind,
    /// Name or IP literal, without brackets.
    pub host: String,
    pub port: u16,
    pub credentials: Option<Credentials>,
    pub origin: Origin,
}

impl fmt::Display for Proxy {
    /// As a URL with the password replaced by `***`: safe for log lines.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://", self.kind.scheme())?;
        if let Some(c) = &self.credentials {
            write!(f, "{}:***@", c.user)?;
        }
        f.write_str(&url::host_port(&self.host, self.port))
    }
}

/// Replaces the password in a proxy setting as written (`user:pass@host`,
/// `scheme://user:pass@host`) by `***`, for log lines; a user part without
/// a password is hidden whole.
pub fn mask(value: &str) -> String {
    let (prefix, rest) = match value.find("://") {
        Some(i) => value.split_at(i + 3),
        None => ("", value),
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let Some(at) = rest[..authority_end].rfind('@') else {
        return value.to_string();
    };
    let userinfo = &rest[..at];
    let shown = match userinfo.split_once(':') {
        Some((user, _)) => format!("{user}:***"),
        None => "***".to_string(),
    };
    format!("{prefix}{shown}{}", &rest[at..])
}

pub(super) fn setting_error(
    value: &str,
    origin: Origin,
    problem: ProxySettingProblem,
) -> ProxySettingError {
    ProxySettingError {
        value: mask(value),
        origin: origin.describe(),
        problem,
    }
}

/// Reads a proxy written either as a URL (`http://`, `https://`,
/// `socks5://`, `socks5h://`; credentials percent-decoded) or in lws'
/// form `[user:password@]host[:port]` (credentials taken as written).
/// `kind` is the lws form's kind; `port_field` the separate port setting
/// (0: none), used when the value has no port; a URL without either gets
/// curl's default, lws' form gets an error, as lws gives.
fn parse(
    value: &str,
    kind: ProxyKind,
    port_field: u16,
    origin: Origin,
) -> Result<Proxy, ProxySettingError> {
    let err = |p| setting_error(value, origin, p);
    let value_t = value.trim();
    let (kind, authority, is_url) = match url::absolute(value_t) {
        Some(abs) => {
            let kind = match abs.scheme.as_str() {
                "http" => ProxyKind::Http,
                "https" => ProxyKind::Https,
                "socks5" => ProxyKind::Socks5 { remote_dns: false },
                "socks5h" => ProxyKind::Socks5 { remote_dns: true },
                other => return Err(err(ProxySettingProblem::Scheme(other.to_string()))),
            };
            if !matches!(abs.path, "" | "/") {
                return Err(err(ProxySettingProblem::Invalid(format!(
                    "a proxy URL has no path, but this one has '{}'",
                    abs.path
                ))));
            }
            (kind, abs.authority, true)
        }
        None => (kind, value_t, false),
    };
    let a = url::authority(authority).map_err(|w| err(ProxySettingProblem::Invalid(w)))?;
    let port = match (a.port, port_field) {
        (Some(p), _) => p,
        (None, p) if p != 0 => p,
        (None, _) if is_url => kind.default_port(),
        (None, _) => {
            return Err(err(ProxySettingProblem::NoPort {
                socks: matches!(kind, ProxyKind::Socks5 { .. }),
            }))
        }
    };
    let credentials = match a.userinfo {
        None => None,
        Some(ui) => {
            let (user, password) = ui.split_once(':').unwrap_or((ui, ""));
            let decode = |s: &str| {
                if is_url {
                    url::percent_decode(s).ok_or_else(|| {
                        err(ProxySettingProblem::Invalid(
                            "a %-escape in the credentials is malformed".into(),
                        ))
                    })
                } else {
                    Ok(s.to_string())
                }
            };
            let (user, password) = (decode(user)?, decode(password)?);
            if user.is_empty() {
                return Err(err(ProxySettingProblem::Invalid(
                    "the credentials before '@' have no user name".into(),
                )));
            }
            Some(Credentials { user, password })
        }
    };
    Ok(Proxy {
        kind,
        host: a.host.to_string(),
        port,
        credentials,
        origin,
    })
}

impl Proxy {
    /// `http_proxy_address` with `http_proxy_port`, or `ws_set_proxy()`'s
    /// argument (origin [`Origin::SetProxy`], port 0): lws' form, or a URL.
    pub fn http_setting(
        value: &str,
        port: u16,
        origin: Origin,
    ) -> Result<Proxy, ProxySettingError> {
        parse(value, ProxyKind::Http, port, origin)
    }

    /// `socks_proxy_address` with `socks_proxy_port`, or `ws_set_socks()`'s
    /// argument: lws' form (the proxy resolves names, as lws has it), or a URL.
    pub fn socks_setting(
        value: &str,
        port: u16,
        origin: Origin,
    ) -> Result<Proxy, ProxySettingError> {
        parse(value, ProxyKind::Socks5 { remote_dns: true }, port, origin)
    }

    /// An environment variable's value: a URL, `http://` when the scheme is
    /// left out (as curl reads it).
    pub fn env_setting(name: &'static str, value: &str) -> Result<Proxy, ProxySettingError> {
        let origin = Origin::Env(name);
        if url::absolute(value.trim()).is_some() {
            parse(value, ProxyKind::Http, 0, origin)
        } else {
            parse(
                &format!("http://{}", value.trim()),
                ProxyKind::Http,
                0,
                origin,
            )
            .map_err(|mut e| {
                e.value = mask(value);
                e
            })
        }
    }

    /// The client resolves the target itself and hands the proxy an address
    /// (`socks5://`); every other kind hands over the name.
    pub fn resolves_target_locally(&self) -> bool {
        self.kind == ProxyKind::Socks5 { remote_dns: false }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds(u: &str, p: &str) -> Option<Credentials> {
        Some(Credentials {
            user: u.into(),
            password: p.into(),
        })
    }

    #[test]
    fn lws_forms() {
        let p =
            Proxy::http_setting("bob:s3cr:t@proxy.corp:3128", 0, Origin::HttpProxyAddress).unwrap();
        assert_eq!(p.kind, ProxyKind::Http);
        assert_eq!((p.host.as_str(), p.port), ("proxy.corp", 3128));
        assert_eq!(p.credentials, creds("bob", "s3cr:t"));
        assert_eq!(p.to_string(), "http://bob:***@proxy.corp:3128");
        // http_proxy_port is used when the address has none; lws strips http://.
        let p = Proxy::http_setting("proxy.corp", 8080, Origin::HttpProxyAddress).unwrap();
        assert_eq!(p.port, 8080);
        let p = Proxy::http_setting("http://[::1]:3128", 9, Origin::SetProxy).unwrap();
        assert_eq!((p.host.as_str(), p.port), ("::1", 3128));
        assert_eq!(p.to_string(), "http://[::1]:3128");
        let s = Proxy::socks_setting("u:p%41@127.0.0.1:1080", 0, Origin::SetSocks).unwrap();
        assert_eq!(s.kind, ProxyKind::Socks5 { remote_dns: true });
        assert_eq!(
            s.credentials,
            creds("u", "p%41"),
            "lws' form is not decoded"
        );
        assert!(!s.resolves_target_locally());
    }

    #[test]
    fn urls() {
        let p =
            Proxy::http_setting("socks5://u:p%40ss@h:9050", 0, Origin::HttpProxyAddress).unwrap();
        assert_eq!(p.kind, ProxyKind::Socks5 { remote_dns: false });
        assert_eq!(p.credentials, creds("u", "p@ss"));
        assert!(p.resolves_target_locally());
        let p = Proxy::env_setting("https_proxy", "https://proxy.corp").unwrap();
        assert_eq!((p.kind, p.port), (ProxyKind::Https, 443));
        let p = Proxy::env_setting("http_proxy", "proxy.corp").unwrap();
        assert_eq!((p.kind, p.port), (ProxyKind::Http, 1080));
        let p = Proxy::env_setting("all_proxy", "socks5h://h/").unwrap();
        assert_eq!(
            (p.kind, p.port),
            (ProxyKind::Socks5 { remote_dns: true }, 1080)
        );
    }

    #[test]
    fn setting_errors_say_what_and_hide_passwords() {
        let e = Proxy::http_setting("bob:hunter2@proxy.corp", 0, Origin::HttpProxyAddress)
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "http_proxy needs to be ads:port: 'bob:***@proxy.corp' in http_proxy_address has no port (append :port, or set http_proxy_port)"
        );
        let e = Proxy::socks_setting("h", 0, Origin::SetSocks)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("socks_proxy needs to be address:port: 'h' in ws_set_socks()"),
            "{e}"
        );
        let e = Proxy::env_setting("all_proxy", "ftp://u:hunter2@h:21")
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "unsupported proxy scheme 'ftp://' in the environment variable all_proxy ('ftp://u:***@h:21'): use http://, https://, socks5:// or socks5h://"
        );
        let e = Proxy::env_setting("http_proxy", "h:99999")
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "invalid proxy 'h:99999' in the environment variable http_proxy: '99999' is not a port number (1-65535)"
        );
        let e = Proxy::env_setting("http_proxy", "http://h:1/path")
            .unwrap_err()
            .to_string();
        assert!(e.contains("has '/path'"), "{e}");
        let e = Proxy::env_setting("http_proxy", "http://:pw@h:1")
            .unwrap_err()
            .to_string();
        assert!(e.contains("no user name") && !e.contains("pw"), "{e}");
    }

    #[test]
    fn masking() {
        assert_eq!(mask("user:pw@h:1"), "user:***@h:1");
        assert_eq!(mask("http://user:p@w@h:1/"), "http://user:***@h:1/");
        assert_eq!(mask("token@h:1"), "***@h:1");
        assert_eq!(mask("h:1"), "h:1");
        assert_eq!(mask("http://h:1/a@b"), "http://h:1/a@b");
        assert_eq!(format!("{:?}", creds("u", "pw").unwrap()), "u:***");
    }
}
