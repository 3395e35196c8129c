//! Where a connection goes, from the connect info's `address`: a host name
//! or IP literal reached over TCP, or, as in libwebsockets, a Unix domain
//! socket written `+/path/to.sock` (a path in the file system) or `+@name`
//! (Linux' abstract namespace).
//!
//! Parsing only: nothing here opens a socket.

use std::fmt;
use std::path::PathBuf;

/// The most bytes `sun_path` holds: 108 on Linux, one of them the NUL that
/// ends a path (an abstract name has no NUL but starts with one).
const SUN_PATH: usize = 108;

/// A connection's destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A host name or IP literal (brackets removed) and a port.
    Tcp {
        host: String,
        port: u16,
    },
    Unix(UnixAddr),
}

/// A Unix domain socket address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UnixAddr {
    /// `+/path/to.sock`: a socket in the file system.
    Path(PathBuf),
    /// `+@name`: a name in the abstract namespace (without the leading NUL).
    Abstract(Vec<u8>),
}

/// Why an `address` is not usable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressError {
    pub address: String,
    pub why: String,
}

impl fmt::Display for AddressError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid .address '{}': {}", self.address, self.why)
    }
}

impl Target {
    /// Reads the connect info's `address` (and `port`, for TCP).
    pub fn parse(address: &str, port: u16) -> Result<Target, AddressError> {
        let err = |why: String| AddressError {
            address: address.to_string(),
            why,
        };
        let Some(rest) = address.strip_prefix('+') else {
            let host = address
                .strip_prefix('[')
                .and_then(|h| h.strip_suffix(']'))
                .unwrap_or(address);
            if host.is_empty() {
                return Err(err("it is empty".into()));
            }
            return Ok(Target::Tcp {
                host: host.to_string(),
                port,
            });
        };
        if let Some(name) = rest.strip_prefix('@') {
            if name.is_empty() {
                return Err(err(
                    "'+@' needs an abstract socket name after it, as in '+@my.socket'".into(),
                ));
            }
            if name.len() > SUN_PATH - 1 {
                return Err(err(format!(
                    "the abstract socket name is {} bytes; at most {} fit",
                    name.len(),
                    SUN_PATH - 1
                )));
            }
            return Ok(Target::Unix(UnixAddr::Abstract(name.as_bytes().to_vec())));
        }
        if rest.is_empty() {
            return Err(err(
                "'+' needs a socket path after it, as in '+/run/app.sock' (or '+@name' for an abstract socket)".into(),
            ));
        }
        if rest.len() > SUN_PATH - 1 {
            return Err(err(format!(
                "the socket path is {} bytes; at most {} fit in a Unix socket address",
                rest.len(),
                SUN_PATH - 1
            )));
        }
        Ok(Target::Unix(UnixAddr::Path(PathBuf::from(rest))))
    }

    /// The `Host` header when `.host` is not set: the host (with its port
    /// unless it is the scheme's default), or `localhost` for a Unix socket.
    pub fn default_host_header(&self, tls: bool) -> String {
        match self {
            Target::Tcp { host, port } if *port == if tls { 443 } else { 80 } => {
                if host.contains(':') {
                    format!("[{host}]")
                } else {
                    host.clone()
                }
            }
            Target::Tcp { host, port } => crate::url::host_port(host, *port),
            Target::Unix(_) => "localhost".into(),
        }
    }
}

impl fmt::Display for Target {
    /// `host:port`, `unix:/path` or `unix:@name`, as log lines and errors show it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Tcp { host, port } => f.write_str(&crate::url::host_port(host, *port)),
            Target::Unix(u) => write!(f, "{u}"),
        }
    }
}

impl fmt::Display for UnixAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UnixAddr::Path(p) => write!(f, "unix:{}", p.display()),
            UnixAddr::Abstract(n) => write!(f, "unix:@{}", String::from_utf8_lossy(n)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tcp_addresses() {
        assert_eq!(
            Target::parse("echo.example", 80).unwrap(),
            Target::Tcp {
                host: "echo.example".into(),
                port: 80
            }
        );
        let t = Target::parse("[::1]", 7681).unwrap();
        assert_eq!(t.to_string(), "[::1]:7681");
        assert_eq!(t.default_host_header(false), "[::1]:7681");
        assert_eq!(
            Target::parse("a.example", 443)
                .unwrap()
                .default_host_header(true),
            "a.example"
        );
        assert!(Target::parse("", 80).is_err());
    }

    #[test]
    fn unix_paths_and_abstract_names() {
        let t = Target::parse("+/run/app.sock", 0).unwrap();
        assert_eq!(t, Target::Unix(UnixAddr::Path("/run/app.sock".into())));
        assert_eq!(t.to_string(), "unix:/run/app.sock");
        assert_eq!(t.default_host_header(true), "localhost");
        let t = Target::parse("+@wsloop.test", 0).unwrap();
        assert_eq!(t, Target::Unix(UnixAddr::Abstract(b"wsloop.test".to_vec())));
        assert_eq!(t.to_string(), "unix:@wsloop.test");
        assert_eq!(
            Target::parse("+relative.sock", 0).unwrap(),
            Target::Unix(UnixAddr::Path("relative.sock".into()))
        );
    }

    #[test]
    fn bad_unix_addresses_say_why() {
        let e = Target::parse("+", 0).unwrap_err().to_string();
        assert!(
            e.starts_with("invalid .address '+': '+' needs a socket path"),
            "{e}"
        );
        let e = Target::parse("+@", 0).unwrap_err().to_string();
        assert!(e.contains("needs an abstract socket name"), "{e}");
        let long = format!("+/{}", "x".repeat(107));
        let e = Target::parse(&long, 0).unwrap_err().to_string();
        assert!(e.contains("108 bytes; at most 107 fit"), "{e}");
        let fits = format!("+/{}", "x".repeat(106));
        assert!(Target::parse(&fits, 0).is_ok());
    }
}
