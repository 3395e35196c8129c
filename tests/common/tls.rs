//! TLS peers for the tests: certificates generated at run time (a CA, leaves
//! for `localhost` and 127.0.0.1 that are good, expired, not yet valid or
//! self-signed, one from a CA nobody trusts, and a client certificate), and
//! a rustls WebSocket echo server (tungstenite on the server side) that
//! reports what it saw.

use std::ffi::CString;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig, ServerConnection, StreamOwned};
use wsloop::ffi::{ws, WS_LCCSCF_USE_SSL, WS_SERVER_OPTION_DISABLE_OS_CA_CERTS};

use super::{Ctx, CtxOpts};

/// A certificate chain and its key.
#[derive(Clone)]
pub struct Leaf {
    pub chain: Vec<CertificateDer<'static>>,
    pub key_der: Vec<u8>,
    pub cert_pem: String,
    pub key_pem: String,
}

pub struct Pki {
    pub dir: PathBuf,
    pub ca_pem: String,
    /// Trusted by no test: signs `untrusted`.
    pub other_ca_pem: String,
    pub good: Leaf,
    pub expired: Leaf,
    pub not_yet_valid: Leaf,
    pub self_signed: Leaf,
    pub untrusted: Leaf,
    pub client: Leaf,
    pub client_ca: CertificateDer<'static>,
    /// Made like libwebsockets' `localhost-100y.cert`: version 3,
    /// self-signed, subject CN=localhost only, no extensions.
    pub cn_only: Leaf,
    /// Self-signed and marked as a CA, with the usual names, as
    /// `openssl req -x509` makes them.
    pub self_signed_ca: Leaf,
}

impl Pki {
    /// Writes `contents` under the test directory and returns its path.
    pub fn file(&self, name: &str, contents: &str) -> String {
        let p = self.dir.join(name);
        std::fs::write(&p, contents).unwrap();
        p.to_string_lossy().into_owned()
    }
}

const NAMES: [&str; 2] = ["localhost", "127.0.0.1"];

fn new_ca(name: &str) -> (Issuer<'static, KeyPair>, String) {
    let key = KeyPair::generate().unwrap();
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.distinguished_name.push(DnType::CommonName, name);
    let cert = p.self_signed(&key).unwrap();
    (Issuer::new(p, key), cert.pem())
}

fn leaf(
    issuer: Option<&Issuer<'static, KeyPair>>,
    names: &[&str],
    dates: Option<(i32, i32)>,
    client: bool,
) -> Leaf {
    let key = KeyPair::generate().unwrap();
    let mut p =
        CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap();
    p.distinguished_name.push(
        DnType::CommonName,
        names.first().copied().unwrap_or("client"),
    );
    if let Some((from, to)) = dates {
        p.not_before = rcgen::date_time_ymd(from, 1, 1);
        p.not_after = rcgen::date_time_ymd(to, 1, 1);
    }
    p.extended_key_usages = vec![if client {
        ExtendedKeyUsagePurpose::ClientAuth
    } else {
        ExtendedKeyUsagePurpose::ServerAuth
    }];
    let cert = match issuer {
        Some(i) => p.signed_by(&key, i).unwrap(),
        None => p.self_signed(&key).unwrap(),
    };
    Leaf {
        chain: vec![cert.der().clone()],
        key_der: key.serialize_der(),
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    }
}

/// A self-signed certificate whose subject is only `CN=cn`, with no
/// extensions at all unless it is marked as a CA for `names`.
fn self_signed(cn: &str, ca_names: Option<&[&str]>) -> Leaf {
    let key = KeyPair::generate().unwrap();
    let names = ca_names.unwrap_or_default();
    let mut p =
        CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap();
    p.distinguished_name = rcgen::DistinguishedName::new();
    p.distinguished_name.push(DnType::CommonName, cn);
    if ca_names.is_some() {
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    }
    let cert = p.self_signed(&key).unwrap();
    Leaf {
        chain: vec![cert.der().clone()],
        key_der: key.serialize_der(),
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    }
}

/// The test certificates, made once per test binary.
pub fn pki() -> &'static Pki {
    static PKI: OnceLock<Pki> = OnceLock::new();
    PKI.get_or_init(|| {
        let dir = super::root()
            .join("target")
            .join("tmp")
            .join(format!("tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (ca, ca_pem) = new_ca("wsloop test CA");
        let (other, other_ca_pem) = new_ca("untrusted test CA");
        let (client_ca, client_ca_pem) = new_ca("wsloop client CA");
        let pki = Pki {
            good: leaf(Some(&ca), &NAMES, None, false),
            expired: leaf(Some(&ca), &NAMES, Some((2020, 2021)), false),
            not_yet_valid: leaf(Some(&ca), &NAMES, Some((2090, 2091)), false),
            self_signed: leaf(None, &NAMES, None, false),
            untrusted: leaf(Some(&other), &NAMES, None, false),
            client: leaf(Some(&client_ca), &["test client"], None, true),
            client_ca: CertificateDer::from_pem_slice(client_ca_pem.as_bytes()).unwrap(),
            cn_only: self_signed("localhost", None),
            self_signed_ca: self_signed("localhost", Some(&NAMES)),
            ca_pem,
            other_ca_pem,
            dir,
        };
        pki.file("ca.pem", &pki.ca_pem);
        pki
    })
}

use rustls::pki_types::pem::PemObject;

/// How the TLS echo server behaves.
#[derive(Clone)]
pub struct TlsOpts {
    pub leaf: Leaf,
    /// Require a client certificate from this CA.
    pub client_ca: Option<CertificateDer<'static>>,
    /// Send close_notify before closing TCP.
    pub close_notify: bool,
    pub alpn: Vec<Vec<u8>>,
    /// Close the WebSocket (1000) after echoing this many messages.
    pub close_after: Option<usize>,
    /// SO_SNDBUF and SO_RCVBUF for each connection: small ones make the
    /// server block writing to a client that does not read, and then stop
    /// reading itself.
    pub socket_buffers: Option<i32>,
}

impl TlsOpts {
    pub fn new(leaf: &Leaf) -> TlsOpts {
        TlsOpts {
            leaf: leaf.clone(),
            client_ca: None,
            close_notify: true,
            alpn: vec![b"http/1.1".to_vec()],
            close_after: None,
            socket_buffers: None,
        }
    }
}

/// A TLS WebSocket echo server on 127.0.0.1; one thread per connection.
pub struct TlsServer {
    pub port: u16,
    /// What the server saw: `sni:`, `alpn:`, `client-cert:`, `error:`,
    /// `close_notify` or `eof-without-close_notify`, `done`.
    pub seen: Arc<Mutex<Vec<String>>>,
}

impl TlsServer {
    pub fn start(o: TlsOpts) -> TlsServer {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .unwrap();
        let builder = match &o.client_ca {
            Some(ca) => {
                let mut roots = RootCertStore::empty();
                roots.add(ca.clone()).unwrap();
                builder.with_client_cert_verifier(
                    WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                        .build()
                        .unwrap(),
                )
            }
            None => builder.with_no_client_auth(),
        };
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(o.leaf.key_der.clone()));
        let mut config = builder.with_single_cert(o.leaf.chain.clone(), key).unwrap();
        config.alpn_protocols = o.alpn.clone();
        let config = Arc::new(config);
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let seen2 = seen.clone();
        std::thread::spawn(move || {
            for tcp in listener.incoming() {
                let Ok(tcp) = tcp else { return };
                let (config, seen, o) = (config.clone(), seen2.clone(), o.clone());
                std::thread::spawn(move || serve(tcp, config, seen, o));
            }
        });
        TlsServer { port, seen }
    }

    pub fn saw(&self, what: &str) -> bool {
        self.seen.lock().unwrap().iter().any(|s| s == what)
    }

    /// Waits up to 5 s for the server to record `what`.
    pub fn wait_for(&self, what: &str) -> bool {
        let start = std::time::Instant::now();
        while start.elapsed() < Duration::from_secs(5) {
            if self.saw(what) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        false
    }
}

fn serve(tcp: TcpStream, config: Arc<ServerConfig>, seen: Arc<Mutex<Vec<String>>>, o: TlsOpts) {
    let note = |s: String| seen.lock().unwrap().push(s);
    if let Some(size) = o.socket_buffers {
        set_socket_buffers(std::os::fd::AsRawFd::as_raw_fd(&tcp), size);
    }
    tcp.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut tls = StreamOwned::new(ServerConnection::new(config).unwrap(), tcp);
    while tls.conn.is_handshaking() {
        if let Err(e) = tls.conn.complete_io(&mut tls.sock) {
            note(format!("error: {e}"));
            return;
        }
    }
    if let Some(sni) = tls.conn.server_name() {
        note(format!("sni: {sni}"));
    }
    if let Some(a) = tls.conn.alpn_protocol() {
        note(format!("alpn: {}", String::from_utf8_lossy(a)));
    }
    if tls.conn.peer_certificates().is_some() {
        note("client-cert: yes".into());
    }
    let mut ws = match tungstenite::accept(tls) {
        Ok(ws) => ws,
        Err(e) => {
            note(format!("error: {e}"));
            return;
        }
    };
    let mut echoed = 0;
    loop {
        match ws.read() {
            Ok(m) if m.is_text() || m.is_binary() => {
                if ws.send(m).is_err() {
                    break;
                }
                echoed += 1;
                if Some(echoed) == o.close_after {
                    let _ = ws.close(None);
                }
            }
            Ok(_) => {}
            Err(_) => break,
        }
    }
    let mut tls = ws.into_inner();
    if !o.close_notify {
        let _ = tls.sock.shutdown(std::net::Shutdown::Both);
        note("done".into());
        return;
    }
    tls.conn.send_close_notify();
    let _ = tls.conn.complete_io(&mut tls.sock);
    let mut rest = [0u8; 256];
    match tls.read(&mut rest) {
        Ok(0) => note("close_notify".into()),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            note("eof-without-close_notify".into())
        }
        Ok(_) => note("data after close".into()),
        Err(e) => note(format!("read after close: {e}")),
    }
    let _ = tls.flush();
    note("done".into());
}

/// Sets a socket's SO_SNDBUF and SO_RCVBUF to `size` (which the kernel
/// doubles for its bookkeeping).
pub fn set_socket_buffers(fd: std::os::fd::RawFd, size: i32) {
    for opt in [libc::SO_SNDBUF, libc::SO_RCVBUF] {
        // SAFETY: an int option of a socket the caller owns.
        let r = unsafe {
            libc::setsockopt(
                fd,
                libc::SOL_SOCKET,
                opt,
                (&size as *const i32).cast(),
                std::mem::size_of::<i32>() as libc::socklen_t,
            )
        };
        assert_eq!(r, 0, "setsockopt: {}", std::io::Error::last_os_error());
    }
}

/// A context that trusts only the test CA.
pub fn ctx_trusting_test_ca() -> Ctx {
    let ca = CString::new(pki().ca_pem.clone()).unwrap();
    Ctx::with_info(CtxOpts::default(), |i| {
        i.options |= WS_SERVER_OPTION_DISABLE_OS_CA_CERTS;
        i.client_ssl_ca_mem = ca.as_ptr().cast();
        i.client_ssl_ca_mem_len = ca.as_bytes().len() as _;
    })
    .expect("context created")
}

/// Connects with TLS to 127.0.0.1:port as `localhost`.
pub fn connect_wss(c: &Ctx, port: u16) -> *mut ws {
    let host = CString::new("localhost").unwrap();
    c.connect("127.0.0.1", port, None, |ci| {
        ci.host = host.as_ptr();
        ci.ssl_connection = WS_LCCSCF_USE_SSL;
    })
}
