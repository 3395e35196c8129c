//! TLS for `wss://` connections, with rustls and its `ring` provider (chosen
//! explicitly per context, so no process-wide provider is needed and only a
//! C compiler is needed to build it).
//!
//! The context owns the trust settings read at creation (CA certificates
//! from a file or memory, the client certificate) and loads the operating
//! system's roots the first time a TLS connection needs them. Each
//! connection gets a `ClientConnection` from a `ClientConfig` cached per
//! combination of relaxation flags and ALPN list.

mod cert;
mod hostname;
mod inbox;
mod verify;

use std::cell::{OnceCell, RefCell};
use std::sync::Arc;

use rustls::client::ClientConnection;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{AlertDescription, CertificateError, ClientConfig, Error, RootCertStore};

use crate::error::TlsFailure;
use crate::log;
use hostname::NameNotCovered;
pub use inbox::Inbox;
pub use verify::Relax;

/// TLS settings from the context creation info, already loaded and checked.
#[derive(Clone, Debug, Default)]
pub struct TlsSettings {
    /// CA certificates the application gave.
    pub ca: Vec<CertificateDer<'static>>,
    /// Also trust the operating system's roots.
    pub os_roots: bool,
    /// Client certificate chain and its key, presented when a server asks.
    pub client_auth: Option<(Vec<CertificateDer<'static>>, Arc<PrivateKeyDer<'static>>)>,
    /// Refuse a certificate that names the host only in its subject CN
    /// (`WS_CONTEXT_REQUIRE_SUBJECT_ALT_NAME`).
    pub require_san: bool,
}

/// What a connection asks of TLS.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsRequest {
    /// The name sent as SNI and checked against the certificate.
    pub server_name: String,
    pub alpn: Vec<Vec<u8>>,
    pub relax: Relax,
}

/// A config and the relaxations and ALPN list it was built for.
type CachedConfig = (Relax, Vec<Vec<u8>>, Arc<ClientConfig>);

/// A context's TLS state.
pub struct Tls {
    settings: TlsSettings,
    provider: Arc<CryptoProvider>,
    roots: OnceCell<Arc<RootCertStore>>,
    configs: RefCell<Vec<CachedConfig>>,
}

impl Tls {
    pub fn new(settings: TlsSettings) -> Tls {
        Tls {
            settings,
            provider: Arc::new(rustls::crypto::ring::default_provider()),
            roots: OnceCell::new(),
            configs: RefCell::new(Vec::new()),
        }
    }

    /// A new client session for one connection.
    pub fn connect(&self, req: &TlsRequest) -> Result<ClientConnection, TlsFailure> {
        let name = ServerName::try_from(req.server_name.clone()).map_err(|_| {
            TlsFailure::Other(format!(
                "'{}' is not a valid TLS server name (set .host to the server's DNS name)",
                req.server_name
            ))
        })?;
        let config = self.config(req)?;
        ClientConnection::new(config, name).map_err(|e| TlsFailure::Other(e.to_string()))
    }

    fn config(&self, req: &TlsRequest) -> Result<Arc<ClientConfig>, TlsFailure> {
        if let Some((.., c)) = self
            .configs
            .borrow()
            .iter()
            .find(|(r, a, _)| *r == req.relax && *a == req.alpn)
        {
            return Ok(c.clone());
        }
        let verifier = verify::Verifier {
            roots: self.roots().clone(),
            given: Arc::new(self.settings.ca.clone()),
            relax: req.relax,
            require_san: self.settings.require_san,
            algs: self.provider.signature_verification_algorithms,
        };
        let builder = ClientConfig::builder_with_provider(self.provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsFailure::Other(e.to_string()))?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier));
        let mut config = match &self.settings.client_auth {
            Some((chain, key)) => builder
                .with_client_auth_cert(chain.clone(), key.clone_key())
                .map_err(|e| TlsFailure::Other(format!("client certificate: {e}")))?,
            None => builder.with_no_client_auth(),
        };
        config.alpn_protocols = req.alpn.clone();
        let config = Arc::new(config);
        self.configs
            .borrow_mut()
            .push((req.relax, req.alpn.clone(), config.clone()));
        Ok(config)
    }

    /// The trusted roots: the application's CAs and, unless disabled, the
    /// operating system's, loaded once.
    fn roots(&self) -> &Arc<RootCertStore> {
        self.roots.get_or_init(|| {
            let mut roots = RootCertStore::empty();
            if self.settings.os_roots {
                let found = rustls_native_certs::load_native_certs();
                for e in &found.errors {
                    wlog!(log::WARN, "TLS: reading the system's CA certificates: {e}");
                }
                let (ok, bad) = roots.add_parsable_certificates(found.certs);
                wlog!(
                    log::INFO,
                    "TLS: {ok} system CA certificates loaded ({bad} unusable)"
                );
                if ok == 0 {
                    wlog!(
                        log::WARN,
                        "TLS: the system has no CA certificates (install ca-certificates, or give client_ssl_ca_filepath)"
                    );
                }
            }
            for c in &self.settings.ca {
                if let Err(e) = roots.add(c.clone()) {
                    wlog!(
                        log::WARN,
                        "TLS: a given CA certificate cannot be a trust anchor: {e}"
                    );
                }
            }
            Arc::new(roots)
        })
    }
}

/// Reads PEM certificates (or one DER certificate) from `bytes`; `what`
/// names the source in the error.
pub fn parse_certs(bytes: &[u8], what: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    if !looks_pem(bytes) {
        if bytes.first() == Some(&0x30) {
            return Ok(vec![CertificateDer::from(bytes.to_vec())]);
        }
        return Err(format!(
            "{what}: not a PEM certificate (no '-----BEGIN CERTIFICATE-----' line)"
        ));
    }
    let certs = CertificateDer::pem_slice_iter(bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{what}: bad PEM: {e}"))?;
    if certs.is_empty() {
        return Err(format!(
            "{what}: holds no certificate (no '-----BEGIN CERTIFICATE-----' section)"
        ));
    }
    Ok(certs)
}

/// Reads a PEM (or DER) private key from `bytes` and checks that the
/// provider can use it.
pub fn parse_key(bytes: &[u8], what: &str) -> Result<PrivateKeyDer<'static>, String> {
    let key = if looks_pem(bytes) {
        PrivateKeyDer::from_pem_slice(bytes).map_err(|e| match e {
            rustls::pki_types::pem::Error::NoItemsFound => format!(
                "{what}: holds no private key (PKCS#8, PKCS#1 or SEC1 PEM; encrypted keys are not supported)"
            ),
            e => format!("{what}: bad PEM: {e}"),
        })?
    } else {
        PrivateKeyDer::try_from(bytes.to_vec()).map_err(|e| format!("{what}: {e}"))?
    };
    rustls::crypto::ring::default_provider()
        .key_provider
        .load_private_key(key.clone_key())
        .map_err(|e| format!("{what}: not a usable private key: {e}"))?;
    Ok(key)
}

fn looks_pem(bytes: &[u8]) -> bool {
    bytes.windows(11).any(|w| w == b"-----BEGIN ")
}

/// Turns a rustls error into what the application is told.
pub fn classify(e: &Error, handshaking: bool) -> TlsFailure {
    match e {
        Error::InvalidCertificate(c) => match c {
            CertificateError::UnknownIssuer => TlsFailure::UnknownIssuer,
            CertificateError::Other(o) if o.0.downcast_ref::<verify::SelfSigned>().is_some() => {
                TlsFailure::SelfSigned
            }
            CertificateError::Other(o) if o.0.downcast_ref::<NameNotCovered>().is_some() => {
                let n = o.0.downcast_ref::<NameNotCovered>().expect("checked above");
                TlsFailure::NameMismatch {
                    asked: n.asked.clone(),
                    presented: n
                        .names
                        .dns
                        .iter()
                        .cloned()
                        .chain(n.names.ips.iter().map(|ip| ip.to_string()))
                        .collect(),
                    common_names: Some(n.names.common_names.clone()),
                    cn_refused: n.cn_refused,
                }
            }
            CertificateError::NotValidForNameContext {
                expected,
                presented,
            } => TlsFailure::NameMismatch {
                asked: expected.to_str().into_owned(),
                presented: presented.iter().map(|n| presented_name(n)).collect(),
                common_names: None,
                cn_refused: false,
            },
            CertificateError::NotValidForName => TlsFailure::NameMismatch {
                asked: String::new(),
                presented: Vec::new(),
                common_names: None,
                cn_refused: false,
            },
            CertificateError::ExpiredContext { time, not_after } => TlsFailure::Expired {
                not_after: cert::format_time(*not_after),
                now: cert::format_time(*time),
            },
            CertificateError::NotValidYetContext { time, not_before } => TlsFailure::NotYetValid {
                not_before: cert::format_time(*not_before),
                now: cert::format_time(*time),
            },
            other => TlsFailure::BadCertificate(format!("{other:?}")),
        },
        Error::AlertReceived(a) => TlsFailure::Alert {
            alert: alert_name(*a),
            hint: alert_hint(*a),
        },
        Error::InvalidMessage(_) if handshaking => TlsFailure::NotTls,
        Error::NoApplicationProtocol => {
            TlsFailure::Other("no ALPN protocol in common with the server (check .alpn)".into())
        }
        other => TlsFailure::Other(other.to_string()),
    }
}

/// `localhost` from rustls' `DnsName("localhost")`, `127.0.0.1` from `IpAddress(127.0.0.1)`.
fn presented_name(n: &str) -> String {
    let inner = n
        .split_once('(')
        .and_then(|(_, rest)| rest.strip_suffix(')'))
        .unwrap_or(n);
    inner.trim_matches('"').to_string()
}

fn alert_name(a: AlertDescription) -> String {
    let debug = format!("{a:?}");
    let mut out = String::new();
    for (i, ch) in debug.chars().enumerate() {
        if ch.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(ch.to_ascii_lowercase());
    }
    format!("{out} ({})", u8::from(a))
}

fn alert_hint(a: AlertDescription) -> Option<&'static str> {
    Some(match a {
        AlertDescription::CertificateRequired => "the server requires a client certificate: set client_ssl_cert_filepath and client_ssl_private_key_filepath",
        AlertDescription::BadCertificate
        | AlertDescription::UnknownCA
        | AlertDescription::CertificateUnknown
        | AlertDescription::UnsupportedCertificate => "the server did not accept the client certificate",
        AlertDescription::HandshakeFailure | AlertDescription::ProtocolVersion | AlertDescription::InsufficientSecurity => {
            "no TLS version or cipher suite in common with the server"
        }
        AlertDescription::UnrecognisedName => "the server has no certificate for this name (SNI): check .host",
        AlertDescription::NoApplicationProtocol => "no ALPN protocol in common with the server: check .alpn",
        _ => return None,
    })
}
