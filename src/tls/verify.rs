//! Server certificate verification with libwebsockets' relaxation flags.
//!
//! The chain and the name are checked separately (rustls' own two steps), so
//! each flag relaxes exactly one check: `ALLOW_SELFSIGNED` accepts a
//! certificate that signed itself, `ALLOW_INSECURE` any issuer that is not
//! trusted, `ALLOW_EXPIRED` dates outside the validity period, and
//! `SKIP_SERVER_CERT_HOSTNAME_CHECK` a name the certificate does not cover.
//! Every relaxation that lets a certificate through is logged as a warning.
//!
//! Beyond webpki, and as OpenSSL does for libwebsockets: a self-signed
//! certificate that is itself a trust anchor (given by the application or
//! in the system's store) is trusted, and a certificate with no DNS name in
//! its subjectAltName is checked against its subject CN (with a warning,
//! or refused when the context requires a subjectAltName).

use std::fmt;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{verify_server_cert_signed_by_trust_anchor, verify_server_name};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::{CertificateError, DigitallySignedStruct, Error, OtherError, RootCertStore};

use super::cert;
use super::hostname::{self, NameNotCovered};
use crate::log;

/// Which checks a connection relaxes (lws' `LCCSCF_ALLOW_*` flags).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Relax {
    pub self_signed: bool,
    pub hostname: bool,
    pub expired: bool,
    pub insecure: bool,
}

/// The certificate signed itself and is not a trusted root.
#[derive(Debug)]
pub struct SelfSigned;

impl fmt::Display for SelfSigned {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("self-signed certificate")
    }
}

impl std::error::Error for SelfSigned {}

#[derive(Debug)]
pub struct Verifier {
    pub roots: Arc<RootCertStore>,
    /// The certificates the application gave as CAs, as given: a
    /// self-signed leaf among them is trusted even when webpki refuses it
    /// as a root because it is marked as a CA.
    pub given: Arc<Vec<CertificateDer<'static>>>,
    pub relax: Relax,
    /// Refuse a name found only in the subject CN.
    pub require_san: bool,
    pub algs: WebPkiSupportedAlgorithms,
}

impl Verifier {
    /// The chain up to a trusted root, with the date and issuer relaxations.
    fn check_chain(
        &self,
        parsed: &ParsedCertificate<'_>,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        name: &str,
        now: UnixTime,
    ) -> Result<(), Error> {
        let mut at = now;
        // Each retry moves the clock into the validity period of one more certificate.
        for _ in 0..=intermediates.len() + 1 {
            let err = match verify_server_cert_signed_by_trust_anchor(
                parsed,
                &self.roots,
                intermediates,
                at,
                self.algs.all,
            ) {
                Ok(()) => return Ok(()),
                Err(e) => e,
            };
            at = match &err {
                Error::InvalidCertificate(CertificateError::ExpiredContext {
                    not_after, ..
                }) if self.relax.expired => {
                    self.warn(name, "an expired certificate", "LCCSCF_ALLOW_EXPIRED");
                    *not_after
                }
                Error::InvalidCertificate(CertificateError::NotValidYetContext {
                    not_before,
                    ..
                }) if self.relax.expired => {
                    self.warn(name, "a not yet valid certificate", "LCCSCF_ALLOW_EXPIRED");
                    *not_before
                }
                _ => return self.untrusted(err, end_entity, name, now),
            };
        }
        Err(CertificateError::Expired.into())
    }

    /// The chain did not lead to a trusted root: accept the certificate only
    /// when a flag allows its kind of issuer, and still check its dates.
    fn untrusted(
        &self,
        err: Error,
        end_entity: &CertificateDer<'_>,
        name: &str,
        now: UnixTime,
    ) -> Result<(), Error> {
        let Some(facts) = cert::facts(end_entity.as_ref()) else {
            return Err(err);
        };
        // webpki says UnknownIssuer for a self-signed leaf, or refuses one
        // marked as a CA (as `openssl req -x509` makes them) for its own reasons.
        let issuer_problem = match &err {
            Error::InvalidCertificate(CertificateError::UnknownIssuer) => true,
            Error::InvalidCertificate(CertificateError::Other(_)) => facts.self_issued,
            _ => false,
        };
        if !issuer_problem {
            return Err(err);
        }
        let given = self.trusted_as_is(end_entity);
        let (allowed, what, flag) = if given {
            (true, "", "")
        } else if facts.self_issued {
            (
                self.relax.self_signed || self.relax.insecure,
                "a self-signed certificate",
                if self.relax.self_signed {
                    "LCCSCF_ALLOW_SELFSIGNED"
                } else {
                    "LCCSCF_ALLOW_INSECURE"
                },
            )
        } else {
            (
                self.relax.insecure,
                "a certificate from an untrusted issuer",
                "LCCSCF_ALLOW_INSECURE",
            )
        };
        if !allowed {
            return Err(if facts.self_issued {
                CertificateError::Other(OtherError(Arc::new(SelfSigned))).into()
            } else {
                err
            });
        }
        let secs = now.as_secs();
        if !self.relax.expired {
            if secs > facts.not_after {
                return Err(CertificateError::ExpiredContext {
                    time: now,
                    not_after: unix(facts.not_after),
                }
                .into());
            }
            if secs < facts.not_before {
                return Err(CertificateError::NotValidYetContext {
                    time: now,
                    not_before: unix(facts.not_before),
                }
                .into());
            }
        } else if secs > facts.not_after || secs < facts.not_before {
            self.warn(
                name,
                "a certificate outside its validity dates",
                "LCCSCF_ALLOW_EXPIRED",
            );
        }
        if !given {
            self.warn(name, what, flag);
        }
        Ok(())
    }

    /// The certificate is itself trusted, as OpenSSL finds it in its
    /// store: one of the CAs the application gave, or a trust anchor from
    /// any source (the system's included) with its subject and key.
    fn trusted_as_is(&self, end_entity: &CertificateDer<'_>) -> bool {
        if self.given.iter().any(|c| c.as_ref() == end_entity.as_ref()) {
            return true;
        }
        let Some((subject, key)) = cert::subject_and_key(end_entity.as_ref()) else {
            return false;
        };
        self.roots
            .roots
            .iter()
            .any(|a| a.subject.as_ref() == subject && a.subject_public_key_info.as_ref() == key)
    }

    /// webpki found `name` in no subjectAltName entry: OpenSSL's fallback
    /// to the subject CN when there is no DNS entry, else a refusal that
    /// says what the certificate covers.
    fn check_common_name(
        &self,
        end_entity: &CertificateDer<'_>,
        server_name: &ServerName<'_>,
        name: &str,
        err: Error,
    ) -> Result<(), Error> {
        let Some(names) = cert::names(end_entity.as_ref()) else {
            return Err(err);
        };
        let dns_asked = matches!(server_name, ServerName::DnsName(_));
        let cn = names
            .common_names
            .iter()
            .find(|cn| dns_asked && names.dns.is_empty() && hostname::cn_matches(cn, name));
        if let Some(cn) = cn {
            if !self.require_san {
                wlog!(
                    log::WARN,
                    "TLS: accepting the certificate of '{name}' by its subject CN '{cn}': it has no DNS subjectAltName, and names checked against the CN are deprecated (RFC 6125); WS_CONTEXT_REQUIRE_SUBJECT_ALT_NAME refuses such certificates"
                );
                return Ok(());
            }
        }
        Err(CertificateError::Other(OtherError(Arc::new(NameNotCovered {
            asked: name.to_string(),
            cn_refused: cn.is_some(),
            names,
        })))
        .into())
    }

    fn warn(&self, name: &str, what: &str, flag: &str) {
        wlog!(
            log::WARN,
            "TLS: accepting {what} from '{name}' because {flag} is set"
        );
    }
}

fn unix(secs: u64) -> UnixTime {
    UnixTime::since_unix_epoch(std::time::Duration::from_secs(secs))
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        let name = server_name.to_str();
        let parsed = ParsedCertificate::try_from(end_entity)?;
        self.check_chain(&parsed, end_entity, intermediates, &name, now)?;
        match verify_server_name(&parsed, server_name) {
            Ok(()) => {}
            Err(Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) if self.relax.hostname => self.warn(
                &name,
                "a certificate issued for other names",
                "LCCSCF_SKIP_SERVER_CERT_HOSTNAME_CHECK",
            ),
            Err(
                e @ Error::InvalidCertificate(
                    CertificateError::NotValidForName
                    | CertificateError::NotValidForNameContext { .. },
                ),
            ) => self.check_common_name(end_entity, server_name, &name, e)?,
            Err(e) => return Err(e),
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        verify_tls12_signature(message, cert, dss, &self.algs)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        verify_tls13_signature(message, cert, dss, &self.algs)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.algs.supported_schemes()
    }
}
