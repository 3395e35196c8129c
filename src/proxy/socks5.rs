//! A SOCKS5 client (RFC 1928) with username/password authentication
//! (RFC 1929), as a state machine: bytes in, bytes out.
//!
//! [`Client::start`] gives the greeting to send; each [`Client::receive`]
//! takes what was read and says whether to wait, what to send next, or that
//! the tunnel is open. The proxy speaks only when spoken to, so a reply
//! followed by more bytes before the client's next message is a protocol
//! error, not data.

use std::net::IpAddr;

use super::config::Credentials;
use super::Progress;
use crate::error::ProxyFailure;

const VERSION: u8 = 0x05;
const NO_AUTH: u8 = 0x00;
const USER_PASS: u8 = 0x02;
const NO_ACCEPTABLE: u8 = 0xff;
const CMD_CONNECT: u8 = 0x01;
const ATYP_V4: u8 = 0x01;
const ATYP_NAME: u8 = 0x03;
const ATYP_V6: u8 = 0x04;

/// What the CONNECT request names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dest {
    /// The proxy resolves it (`socks5h://`, lws' `socks_proxy_address`).
    Name(String),
    /// Resolved by the client (`socks5://`), or an IP literal.
    Ip(IpAddr),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Greeting,
    Auth,
    Connect,
    Open,
}

/// One SOCKS5 handshake.
#[derive(Debug)]
pub struct Client {
    state: State,
    buf: Vec<u8>,
    connect: Vec<u8>,
    credentials: Option<Credentials>,
}

fn too_long(what: &'static str, len: usize) -> Result<(), ProxyFailure> {
    if len > 255 {
        return Err(ProxyFailure::SocksTooLong { what, len });
    }
    Ok(())
}

impl Client {
    /// A handshake to reach `dest:port`, and the greeting to send. A name
    /// that is an IP literal is sent as an address.
    pub fn start(
        dest: Dest,
        port: u16,
        credentials: Option<Credentials>,
    ) -> Result<(Client, Vec<u8>), ProxyFailure> {
        let dest = match dest {
            Dest::Name(n) => match crate::resolve::literal(&n, port) {
                Some(a) => Dest::Ip(a.ip()),
                None => Dest::Name(n),
            },
            ip => ip,
        };
        let mut connect = vec![VERSION, CMD_CONNECT, 0];
        match &dest {
            Dest::Ip(IpAddr::V4(a)) => {
                connect.push(ATYP_V4);
                connect.extend_from_slice(&a.octets());
            }
            Dest::Ip(IpAddr::V6(a)) => {
                connect.push(ATYP_V6);
                connect.extend_from_slice(&a.octets());
            }
            Dest::Name(n) => {
                too_long("target host name", n.len())?;
                connect.push(ATYP_NAME);
                connect.push(n.len() as u8);
                connect.extend_from_slice(n.as_bytes());
            }
        }
        connect.extend_from_slice(&port.to_be_bytes());
        if let Some(c) = &credentials {
            too_long("SOCKS user name", c.user.len())?;
            too_long("SOCKS password", c.password.len())?;
        }
        let greeting = match credentials {
            None => vec![VERSION, 1, NO_AUTH],
            Some(_) => vec![VERSION, 2, NO_AUTH, USER_PASS],
        };
        Ok((
            Client {
                state: State::Greeting,
                buf: Vec::new(),
                connect,
                credentials,
            },
            greeting,
        ))
    }

    /// What the handshake waits for, as messages say it.
    pub fn waiting_for(&self) -> &'static str {
        match self.state {
            State::Greeting => "the SOCKS5 greeting",
            State::Auth => "the SOCKS5 username/password",
            State::Connect | State::Open => "the SOCKS5 CONNECT request",
        }
    }

    fn not_socks(&self, detail: String) -> ProxyFailure {
        ProxyFailure::NotSocks {
            waiting_for: self.waiting_for(),
            detail,
        }
    }

    fn bad_version(&self, expected: u8) -> ProxyFailure {
        if self.buf.starts_with(b"HTTP/") {
            return self.not_socks(format!(
                "an HTTP response '{}'",
                super::http::printable_start(&self.buf)
            ));
        }
        self.not_socks(format!(
            "version byte 0x{:02x} where 0x{expected:02x} belongs",
            self.buf[0]
        ))
    }

    /// The reply is `n` bytes; anything after it came unasked.
    fn exact(&mut self, n: usize) -> Result<(), ProxyFailure> {
        if self.buf.len() > n {
            return Err(self.not_socks(format!(
                "{} bytes more than its {n}-byte reply",
                self.buf.len() - n
            )));
        }
        self.buf.clear();
        Ok(())
    }

    /// Takes bytes read from the proxy.
    pub fn receive(&mut self, bytes: &[u8]) -> Result<Progress, ProxyFailure> {
        self.buf.extend_from_slice(bytes);
        if self.buf.is_empty() {
            return Ok(Progress::NeedMore);
        }
        match self.state {
            State::Greeting => {
                if self.buf[0] != VERSION {
                    return Err(self.bad_version(VERSION));
                }
                if self.buf.len() < 2 {
                    return Ok(Progress::NeedMore);
                }
                let method = self.buf[1];
                self.exact(2)?;
                match (method, &self.credentials) {
                    (NO_AUTH, _) => {
                        self.state = State::Connect;
                        Ok(Progress::Send(self.connect.clone()))
                    }
                    (USER_PASS, Some(c)) => {
                        let mut m = vec![0x01, c.user.len() as u8];
                        m.extend_from_slice(c.user.as_bytes());
                        m.push(c.password.len() as u8);
                        m.extend_from_slice(c.password.as_bytes());
                        self.state = State::Auth;
                        Ok(Progress::Send(m))
                    }
                    (NO_ACCEPTABLE, c) => Err(ProxyFailure::SocksNoMethod {
                        offered_auth: c.is_some(),
                    }),
                    (m, _) => Err(self.not_socks(format!(
                        "it chose authentication method 0x{m:02x}, which was not offered"
                    ))),
                }
            }
            State::Auth => {
                // RFC 1929 says version 1; some servers echo SOCKS' 5.
                if !matches!(self.buf[0], 0x01 | VERSION) {
                    return Err(self.bad_version(0x01));
                }
                if self.buf.len() < 2 {
                    return Ok(Progress::NeedMore);
                }
                let status = self.buf[1];
                self.exact(2)?;
                if status != 0 {
                    return Err(ProxyFailure::SocksAuthRefused {
                        user: self
                            .credentials
                            .as_ref()
                            .map(|c| c.user.clone())
                            .unwrap_or_default(),
                        status,
                    });
                }
                self.state = State::Connect;
                Ok(Progress::Send(self.connect.clone()))
            }
            State::Connect => {
                if self.buf[0] != VERSION {
                    return Err(self.bad_version(VERSION));
                }
                if self.buf.len() >= 2 && self.buf[1] != 0 {
                    return Err(ProxyFailure::SocksReply { code: self.buf[1] });
                }
                if self.buf.len() < 5 {
                    return Ok(Progress::NeedMore);
                }
                let len = match self.buf[3] {
                    ATYP_V4 => 4 + 4 + 2,
                    ATYP_V6 => 4 + 16 + 2,
                    ATYP_NAME => 4 + 1 + usize::from(self.buf[4]) + 2,
                    t => return Err(self.not_socks(format!("address type 0x{t:02x} in its reply"))),
                };
                if self.buf.len() < len {
                    return Ok(Progress::NeedMore);
                }
                self.state = State::Open;
                Ok(Progress::Open {
                    rest: self.buf.split_off(len),
                })
            }
            State::Open => Ok(Progress::Open {
                rest: std::mem::take(&mut self.buf),
            }),
        }
    }

    /// The proxy closed the connection before the handshake finished.
    pub fn closed(&self) -> ProxyFailure {
        ProxyFailure::HungUp {
            waiting_for: self.waiting_for(),
            received: self.buf.len(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds() -> Option<Credentials> {
        Some(Credentials {
            user: "bob".into(),
            password: "pw".into(),
        })
    }

    fn send(p: Progress) -> Vec<u8> {
        match p {
            Progress::Send(b) => b,
            other => panic!("expected Send, got {other:?}"),
        }
    }

    #[test]
    fn no_auth_to_a_name() {
        let (mut c, hello) = Client::start(Dest::Name("echo.example".into()), 443, None).unwrap();
        assert_eq!(hello, [5, 1, 0]);
        assert_eq!(c.receive(&[5]).unwrap(), Progress::NeedMore);
        let req = send(c.receive(&[0]).unwrap());
        let mut want = vec![5, 1, 0, 3, 12];
        want.extend_from_slice(b"echo.example");
        want.extend_from_slice(&[1, 187]);
        assert_eq!(req, want);
        // A reply with a bound IPv4 address, in two reads, then tunnel bytes.
        assert_eq!(c.receive(&[5, 0, 0, 1, 127]).unwrap(), Progress::NeedMore);
        assert_eq!(
            c.receive(&[0, 0, 1, 0x1f, 0x90, b'x']).unwrap(),
            Progress::Open {
                rest: b"x".to_vec()
            }
        );
    }

    #[test]
    fn username_password_to_addresses() {
        let (mut c, hello) = Client::start(Dest::Name("127.0.0.1".into()), 80, creds()).unwrap();
        assert_eq!(hello, [5, 2, 0, 2]);
        assert_eq!(
            send(c.receive(&[5, 2]).unwrap()),
            [1, 3, b'b', b'o', b'b', 2, b'p', b'w']
        );
        assert_eq!(c.waiting_for(), "the SOCKS5 username/password");
        assert_eq!(
            send(c.receive(&[1, 0]).unwrap()),
            [5, 1, 0, 1, 127, 0, 0, 1, 0, 80]
        );
        assert_eq!(
            c.receive(&[5, 0, 0, 3, 3, b'a', b'.', b'b', 0, 1]).unwrap(),
            Progress::Open { rest: vec![] }
        );
        let (mut c, _) = Client::start(Dest::Ip("::1".parse().unwrap()), 7, None).unwrap();
        let req = send(c.receive(&[5, 0]).unwrap());
        assert_eq!(&req[..4], &[5, 1, 0, 4]);
        assert_eq!(req.len(), 4 + 16 + 2);
        let mut reply = vec![5, 0, 0, 4];
        reply.extend_from_slice(&[0; 18]);
        assert_eq!(c.receive(&reply).unwrap(), Progress::Open { rest: vec![] });
    }

    #[test]
    fn failures_in_words() {
        let (mut c, _) = Client::start(Dest::Name("h".into()), 1, creds()).unwrap();
        send(c.receive(&[5, 2]).unwrap());
        assert_eq!(
            c.receive(&[1, 1]),
            Err(ProxyFailure::SocksAuthRefused {
                user: "bob".into(),
                status: 1
            })
        );
        let (mut c, _) = Client::start(Dest::Name("h".into()), 1, None).unwrap();
        assert_eq!(
            c.receive(&[5, 0xff]),
            Err(ProxyFailure::SocksNoMethod {
                offered_auth: false
            })
        );
        let (mut c, _) = Client::start(Dest::Name("h".into()), 1, None).unwrap();
        assert!(matches!(
            c.receive(&[5, 2]),
            Err(ProxyFailure::NotSocks { detail, .. }) if detail.contains("method 0x02, which was not offered")
        ));
        let (mut c, _) = Client::start(Dest::Name("h".into()), 1, None).unwrap();
        send(c.receive(&[5, 0]).unwrap());
        assert_eq!(
            c.receive(&[5, 5]),
            Err(ProxyFailure::SocksReply { code: 5 })
        );
        let (mut c, _) = Client::start(Dest::Name("h".into()), 1, None).unwrap();
        assert_eq!(
            c.receive(b"HTTP/1.1 400 Bad Request\r\n"),
            Err(ProxyFailure::NotSocks {
                waiting_for: "the SOCKS5 greeting",
                detail: "an HTTP response 'HTTP/1.1 400 Bad Request\\r'".into()
            })
        );
        let (mut c, _) = Client::start(Dest::Name("h".into()), 1, None).unwrap();
        assert!(matches!(
            c.receive(&[5, 0, 9]),
            Err(ProxyFailure::NotSocks { detail, .. }) if detail == "1 bytes more than its 2-byte reply"
        ));
        let (mut c, _) = Client::start(Dest::Name("h".into()), 1, None).unwrap();
        send(c.receive(&[5, 0]).unwrap());
        assert!(matches!(
            c.receive(&[5, 0, 0, 9, 0]),
            Err(ProxyFailure::NotSocks { detail, .. }) if detail == "address type 0x09 in its reply"
        ));
        assert_eq!(
            c.closed(),
            ProxyFailure::HungUp {
                waiting_for: "the SOCKS5 CONNECT request",
                received: 5
            }
        );
        let long = "a".repeat(256);
        assert_eq!(
            Client::start(Dest::Name(long), 1, None).unwrap_err(),
            ProxyFailure::SocksTooLong {
                what: "target host name",
                len: 256
            }
        );
    }
}
