//! Which proxy a connection takes: the environment, read once, and the
//! vhost's settings, in the order of the table in the module above.

use super::config::{setting_error, Origin, Proxy};
use super::no_proxy::NoProxy;
use crate::error::{ProxySettingError, ProxySettingProblem};
use crate::target::Target;

/// The proxy settings found in the environment, read once.
#[derive(Debug, Clone, Default)]
pub struct Environment {
    http: Option<Proxy>,
    https: Option<Proxy>,
    all: Option<Proxy>,
    no_proxy: NoProxy,
    /// Values that could not be used, to log once.
    pub problems: Vec<ProxySettingError>,
}

impl Environment {
    /// Reads the process environment.
    pub fn capture() -> Environment {
        Environment::from_fn(|k| std::env::var(k).ok())
    }

    /// Reads variables through `get`; an empty value counts as unset.
    pub fn from_fn(get: impl Fn(&str) -> Option<String>) -> Environment {
        let mut env = Environment::default();
        let first = |names: &[&'static str], problems: &mut Vec<ProxySettingError>| {
            names.iter().find_map(|&n| {
                let v = get(n).filter(|v| !v.trim().is_empty())?;
                Proxy::env_setting(n, &v).map_err(|e| problems.push(e)).ok()
            })
        };
        let mut problems = Vec::new();
        // Only the lower-case http_proxy, as curl (HTTP_PROXY can be set
        // by a CGI request's `Proxy:` header) and lws read it.
        env.http = first(&["http_proxy"], &mut problems);
        env.https = first(&["https_proxy", "HTTPS_PROXY"], &mut problems);
        env.all = first(&["all_proxy", "ALL_PROXY"], &mut problems);
        env.problems = problems;
        env.no_proxy = ["no_proxy", "NO_PROXY"]
            .iter()
            .find_map(|n| get(n).filter(|v| !v.trim().is_empty()))
            .map(|v| NoProxy::parse(&v))
            .unwrap_or_default();
        env
    }
}

/// The proxy settings of a vhost.
#[derive(Debug, Clone, Default)]
pub struct ProxyConfig {
    /// Set in code: `ws_set_proxy()` / `ws_set_socks()` (the later call
    /// wins), else the context info's `http_proxy_address` or
    /// `socks_proxy_address`.
    pub explicit: Option<Proxy>,
    /// The environment, unless the application asked to ignore it.
    pub env: Option<Environment>,
}

impl ProxyConfig {
    /// The settings of a new context: `http_proxy_address` and
    /// `socks_proxy_address` with their port fields (a port of 0 means none
    /// given), and the environment unless `ignore_env`. Both addresses at
    /// once is refused: which one to use would be a guess.
    pub fn from_info(
        http: Option<(&str, u16)>,
        socks: Option<(&str, u16)>,
        ignore_env: bool,
    ) -> Result<ProxyConfig, ProxySettingError> {
        let explicit = match (http, socks) {
            (Some((h, _)), Some(_)) => {
                return Err(setting_error(
                    h,
                    Origin::HttpProxyAddress,
                    ProxySettingProblem::Invalid(
                        "socks_proxy_address is set too; set only one of them".into(),
                    ),
                ))
            }
            (Some((v, port)), None) => {
                Some(Proxy::http_setting(v, port, Origin::HttpProxyAddress)?)
            }
            (None, Some((v, port))) => {
                Some(Proxy::socks_setting(v, port, Origin::SocksProxyAddress)?)
            }
            (None, None) => None,
        };
        Ok(ProxyConfig {
            explicit,
            env: (!ignore_env).then(Environment::capture),
        })
    }

    /// `ws_set_proxy(vhost, value)`: replaces any explicit proxy; the old
    /// one stays when `value` is unusable.
    pub fn set_proxy(&mut self, value: &str) -> Result<(), ProxySettingError> {
        self.explicit = Some(Proxy::http_setting(value, 0, Origin::SetProxy)?);
        Ok(())
    }

    /// `ws_set_socks(vhost, value)`, likewise.
    pub fn set_socks(&mut self, value: &str) -> Result<(), ProxySettingError> {
        self.explicit = Some(Proxy::socks_setting(value, 0, Origin::SetSocks)?);
        Ok(())
    }

    /// The proxy a connection to `target` takes, None for a direct one.
    pub fn route(&self, target: &Target, tls: bool) -> Option<&Proxy> {
        let Target::Tcp { host, .. } = target else {
            return None;
        };
        if let Some(env) = &self.env {
            if env.no_proxy.matches(host) {
                return None;
            }
        }
        if let Some(p) = &self.explicit {
            return Some(p);
        }
        let env = self.env.as_ref()?;
        if tls {
            // https_proxy first (curl); http_proxy last, because lws sends
            // every connection through it.
            env.https
                .as_ref()
                .or(env.all.as_ref())
                .or(env.http.as_ref())
        } else {
            env.http.as_ref().or(env.all.as_ref())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &[(&str, &str)]) -> Environment {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Environment::from_fn(move |k| vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()))
    }

    fn tcp(host: &str) -> Target {
        Target::Tcp {
            host: host.into(),
            port: 443,
        }
    }

    fn routed(cfg: &ProxyConfig, host: &str, tls: bool) -> Option<String> {
        cfg.route(&tcp(host), tls).map(|p| p.to_string())
    }

    #[test]
    fn precedence() {
        let e = env(&[
            ("http_proxy", "http://plain:1"),
            ("HTTP_PROXY", "http://ignored:1"),
            ("HTTPS_PROXY", "http://secure:2"),
            ("ALL_PROXY", "socks5h://all:3"),
            ("NO_PROXY", "internal.example, 10.0.0.0/8"),
        ]);
        let cfg = ProxyConfig {
            explicit: None,
            env: Some(e.clone()),
        };
        assert_eq!(
            routed(&cfg, "a.example", false).as_deref(),
            Some("http://plain:1")
        );
        assert_eq!(
            routed(&cfg, "a.example", true).as_deref(),
            Some("http://secure:2")
        );
        assert_eq!(routed(&cfg, "x.internal.example", true), None);
        assert_eq!(routed(&cfg, "10.1.2.3", false), None);
        let unix = Target::parse("+/run/s.sock", 0).unwrap();
        assert_eq!(
            cfg.route(&unix, false),
            None,
            "Unix sockets never use a proxy"
        );

        // Only all_proxy: both schemes; only http_proxy: wss:// too (as lws).
        let cfg = ProxyConfig {
            explicit: None,
            env: Some(env(&[("all_proxy", "socks5://all:3")])),
        };
        assert_eq!(
            routed(&cfg, "a.example", true).as_deref(),
            Some("socks5://all:3")
        );
        assert_eq!(
            routed(&cfg, "a.example", false).as_deref(),
            Some("socks5://all:3")
        );
        let cfg = ProxyConfig {
            explicit: None,
            env: Some(env(&[("http_proxy", "plain:8")])),
        };
        assert_eq!(
            routed(&cfg, "a.example", true).as_deref(),
            Some("http://plain:8")
        );
        let cfg = ProxyConfig {
            explicit: None,
            env: Some(env(&[("HTTP_PROXY", "plain:8")])),
        };
        assert_eq!(
            routed(&cfg, "a.example", false),
            None,
            "HTTP_PROXY is not read"
        );

        // Explicit settings beat the environment; no_proxy still applies.
        let cfg = ProxyConfig {
            explicit: Some(Proxy::http_setting("mine:9", 0, Origin::HttpProxyAddress).unwrap()),
            env: Some(e),
        };
        assert_eq!(
            routed(&cfg, "a.example", true).as_deref(),
            Some("http://mine:9")
        );
        assert_eq!(routed(&cfg, "internal.example", true), None);
        // Ignoring the environment ignores no_proxy too.
        let cfg = ProxyConfig { env: None, ..cfg };
        assert_eq!(
            routed(&cfg, "internal.example", true).as_deref(),
            Some("http://mine:9")
        );
        assert_eq!(ProxyConfig::default().route(&tcp("a.example"), true), None);
    }

    #[test]
    fn settings_from_the_context_and_calls() {
        let cfg = ProxyConfig::from_info(Some(("u:pw@proxy.corp", 3128)), None, true).unwrap();
        assert!(cfg.env.is_none());
        let mut cfg2 = cfg.clone();
        assert_eq!(
            routed(&cfg, "a.example", false).as_deref(),
            Some("http://u:***@proxy.corp:3128")
        );
        let e = ProxyConfig::from_info(Some(("u:pw@h:1", 0)), Some(("s:2", 0)), true)
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "invalid proxy 'u:***@h:1' in http_proxy_address: socks_proxy_address is set too; set only one of them"
        );
        let cfg = ProxyConfig::from_info(None, Some(("s", 1080)), false).unwrap();
        assert_eq!(cfg.explicit.unwrap().to_string(), "socks5h://s:1080");
        assert!(cfg2.set_socks("127.0.0.1:9050").is_ok());
        assert_eq!(
            routed(&cfg2, "a.example", true).as_deref(),
            Some("socks5h://127.0.0.1:9050")
        );
        let e = cfg2.set_proxy("nohost").unwrap_err().to_string();
        assert!(
            e.starts_with("http_proxy needs to be ads:port: 'nohost' in ws_set_proxy()"),
            "{e}"
        );
        assert_eq!(
            routed(&cfg2, "a.example", true).as_deref(),
            Some("socks5h://127.0.0.1:9050"),
            "kept"
        );
        assert!(cfg2.set_proxy("127.0.0.1:3128").is_ok());
        assert_eq!(
            routed(&cfg2, "a.example", true).as_deref(),
            Some("http://127.0.0.1:3128")
        );
    }

    #[test]
    fn bad_environment_values_are_reported_not_used() {
        let e = env(&[
            ("https_proxy", "gopher://x:1"),
            ("HTTPS_PROXY", "good:2"),
            ("all_proxy", " "),
        ]);
        let cfg = ProxyConfig {
            explicit: None,
            env: Some(e.clone()),
        };
        assert_eq!(
            routed(&cfg, "a.example", true).as_deref(),
            Some("http://good:2")
        );
        assert_eq!(e.problems.len(), 1);
        assert!(e.problems[0]
            .to_string()
            .contains("environment variable https_proxy"));
    }
}
