//! wss:// against rustls servers with certificates made in the test: each
//! trust source works, each LCCSCF_ALLOW_* flag relaxes exactly its check,
//! and each failure gives its message.

mod common;

use std::ffi::{c_int, c_uint, c_void, CString};
use std::time::Duration;

use common::tls::*;
use common::*;
use wsloop::ffi::ws_callback_reasons::*;
use wsloop::ffi::*;

const TEXT: c_int = ws_write_protocol::WS_WRITE_TEXT as c_int;
const BINARY: c_int = ws_write_protocol::WS_WRITE_BINARY as c_int;

fn capture() {
    capture_log(WS_LLL_ERR | WS_LLL_WARN | WS_LLL_NOTICE | WS_LLL_USER);
}

/// A context trusting only `ca_pem` (or nothing), plus what `f` sets.
fn ctx_trusting(ca_pem: Option<&str>, f: impl FnOnce(&mut ws_context_creation_info)) -> Ctx {
    let ca = ca_pem.map(|p| CString::new(p).unwrap());
    Ctx::with_info(CtxOpts::default(), |i| {
        i.options |= WS_SERVER_OPTION_DISABLE_OS_CA_CERTS;
        if let Some(ca) = &ca {
            i.client_ssl_ca_mem = ca.as_ptr().cast();
            i.client_ssl_ca_mem_len = ca.as_bytes().len() as _;
        }
        f(i);
    })
    .expect("context created")
}

/// Connects with TLS to 127.0.0.1:port, sending `host` as Host and SNI.
fn wss(c: &Ctx, port: u16, host: &str, flags: c_int) -> *mut ws {
    let host = CString::new(host).unwrap();
    c.connect("127.0.0.1", port, None, |ci| {
        ci.host = host.as_ptr();
        ci.ssl_connection = WS_LCCSCF_USE_SSL | flags;
    })
}

/// Sends one message after ESTABLISHED, closes after its echo.
fn echo_once(c: &Ctx) {
    c.hook(|wsi, r, _, _| {
        if r == WS_CALLBACK_CLIENT_ESTABLISHED as i32 {
            send(wsi, TEXT, b"hello over tls");
        }
        if r == WS_CALLBACK_CLIENT_RECEIVE as i32 {
            return Some(-1);
        }
        None
    });
}

fn assert_echoed(c: &Ctx) {
    c.service_until(SECS10, |e| {
        e.iter().any(|e| e.reason == WS_CALLBACK_WSI_DESTROY as i32)
    });
    assert!(
        !c.has(WS_CALLBACK_CLIENT_CONNECTION_ERROR),
        "connection error: {:?}",
        c.events(WS_CALLBACK_CLIENT_CONNECTION_ERROR)
            .first()
            .map(|e| e.text())
    );
    let rx = c.events(WS_CALLBACK_CLIENT_RECEIVE);
    assert_eq!(rx.len(), 1);
    assert_eq!(rx[0].text(), "hello over tls");
    assert!(c.has(WS_CALLBACK_CLIENT_CLOSED));
}

/// Connects with `flags` to a server presenting `leaf`; the CCE message, or
/// "ok" when the echo worked.
fn outcome(leaf: &Leaf, host: &str, flags: c_int) -> String {
    outcome_in(leaf, &pki().ca_pem, 0, host, flags)
}

/// `outcome` in a context that trusts `ca_pem` and has `wsloop_flags`.
fn outcome_in(leaf: &Leaf, ca_pem: &str, wsloop_flags: c_uint, host: &str, flags: c_int) -> String {
    let srv = TlsServer::start(TlsOpts::new(leaf));
    let c = ctx_trusting(Some(ca_pem), |i| i.wsloop_flags = wsloop_flags);
    echo_once(&c);
    wss(&c, srv.port, host, flags);
    c.service_until(SECS10, |e| {
        e.iter().any(|e| e.reason == WS_CALLBACK_WSI_DESTROY as i32)
    });
    match c.events(WS_CALLBACK_CLIENT_CONNECTION_ERROR).first() {
        Some(e) => e.text(),
        None => {
            assert_eq!(c.events(WS_CALLBACK_CLIENT_RECEIVE).len(), 1);
            "ok".into()
        }
    }
}

#[test]
fn ca_from_memory_trusts_the_server_and_sni_alpn_close_notify_are_right() {
    let pki = pki();
    let srv = TlsServer::start(TlsOpts::new(&pki.good));
    let c = ctx_trusting(Some(&pki.ca_pem), |_| {});
    echo_once(&c);
    wss(&c, srv.port, "localhost", 0);
    assert_echoed(&c);
    assert!(srv.wait_for("done"), "server saw {:?}", srv.seen);
    assert!(srv.saw("sni: localhost"));
    assert!(srv.saw("alpn: http/1.1"));
    assert!(srv.saw("close_notify"), "server saw {:?}", srv.seen);
}

#[test]
fn ca_file_with_several_certificates_and_ip_address_names() {
    let pki = pki();
    let both = pki.file(
        "two-cas.pem",
        &format!("{}{}", pki.other_ca_pem, pki.ca_pem),
    );
    let path = CString::new(both).unwrap();
    let srv = TlsServer::start(TlsOpts::new(&pki.good));
    let c = ctx_trusting(None, |i| i.client_ssl_ca_filepath = path.as_ptr());
    echo_once(&c);
    // No Host: the name checked is the address, an IP literal (and no SNI is sent).
    c.connect("127.0.0.1", srv.port, None, |ci| {
        ci.ssl_connection = WS_LCCSCF_USE_SSL;
    });
    assert_echoed(&c);
    assert!(srv.wait_for("done"));
    assert!(!srv
        .seen
        .lock()
        .unwrap()
        .iter()
        .any(|s| s.starts_with("sni:")));
}

#[test]
fn untrusted_issuer_is_refused_by_name_and_allow_insecure_accepts_only_that() {
    let pki = pki();
    let m = outcome(&pki.untrusted, "localhost", 0);
    assert!(
        m.starts_with("tls: unknown issuer: the certificate of 127.0.0.1:"),
        "{m}"
    );
    assert!(m.contains("client_ssl_ca_filepath"), "{m}");
    assert_eq!(
        outcome(&pki.untrusted, "localhost", WS_LCCSCF_ALLOW_INSECURE),
        "ok"
    );
    // Neither the self-signed nor the expiry allowance covers an untrusted CA.
    for flag in [
        WS_LCCSCF_ALLOW_SELFSIGNED,
        WS_LCCSCF_ALLOW_EXPIRED,
        WS_LCCSCF_SKIP_SERVER_CERT_HOSTNAME_CHECK,
    ] {
        assert!(outcome(&pki.untrusted, "localhost", flag).starts_with("tls: unknown issuer"));
    }
    // ALLOW_INSECURE still checks the name.
    let m = outcome(&pki.untrusted, "wrong.example", WS_LCCSCF_ALLOW_INSECURE);
    assert!(m.starts_with("tls: hostname mismatch"), "{m}");
}

#[test]
fn self_signed_is_named_and_allow_selfsigned_accepts_only_that() {
    let pki = pki();
    let m = outcome(&pki.self_signed, "localhost", 0);
    assert!(
        m.starts_with("tls: self-signed certificate from 127.0.0.1:"),
        "{m}"
    );
    assert!(m.contains("LCCSCF_ALLOW_SELFSIGNED"), "{m}");
    capture();
    assert_eq!(
        outcome(&pki.self_signed, "localhost", WS_LCCSCF_ALLOW_SELFSIGNED),
        "ok"
    );
    assert!(logged(
        "TLS: accepting a self-signed certificate from 'localhost' because LCCSCF_ALLOW_SELFSIGNED is set"
    ));
    // A self-signed allowance does not accept a wrong name.
    let m = outcome(
        &pki.self_signed,
        "wrong.example",
        WS_LCCSCF_ALLOW_SELFSIGNED,
    );
    assert!(m.starts_with("tls: hostname mismatch"), "{m}");
    // Nor does it accept a leaf from an unknown CA (tested above), and the
    // other flags do not accept a self-signed certificate.
    for flag in [
        WS_LCCSCF_ALLOW_EXPIRED,
        WS_LCCSCF_SKIP_SERVER_CERT_HOSTNAME_CHECK,
    ] {
        assert!(outcome(&pki.self_signed, "localhost", flag).starts_with("tls: self-signed"));
    }
}

#[test]
fn self_signed_certificate_given_as_the_ca_is_trusted() {
    let pki = pki();
    let srv = TlsServer::start(TlsOpts::new(&pki.self_signed));
    let c = ctx_trusting(Some(&pki.self_signed.cert_pem), |_| {});
    echo_once(&c);
    wss(&c, srv.port, "localhost", 0);
    assert_echoed(&c);
}

#[test]
fn hostname_mismatch_names_both_sides_and_only_its_flag_skips_it() {
    let pki = pki();
    let m = outcome(&pki.good, "wrong.example", 0);
    assert!(
        m.starts_with(
            "tls: hostname mismatch: asked for 'wrong.example', but the certificate of 127.0.0.1:"
        ),
        "{m}"
    );
    assert!(
        m.contains(
            "is for 'localhost', '127.0.0.1' (subject CN 'localhost'; set .host to one of those, or LCCSCF_SKIP_SERVER_CERT_HOSTNAME_CHECK)"
        ),
        "{m}"
    );
    capture();
    assert_eq!(
        outcome(
            &pki.good,
            "wrong.example",
            WS_LCCSCF_SKIP_SERVER_CERT_HOSTNAME_CHECK
        ),
        "ok"
    );
    assert!(logged(
        "because LCCSCF_SKIP_SERVER_CERT_HOSTNAME_CHECK is set"
    ));
    for flag in [
        WS_LCCSCF_ALLOW_SELFSIGNED,
        WS_LCCSCF_ALLOW_EXPIRED,
        WS_LCCSCF_ALLOW_INSECURE,
    ] {
        assert!(outcome(&pki.good, "wrong.example", flag).starts_with("tls: hostname mismatch"));
    }
    // Skipping the name check does not accept an expired certificate.
    let m = outcome(
        &pki.expired,
        "wrong.example",
        WS_LCCSCF_SKIP_SERVER_CERT_HOSTNAME_CHECK,
    );
    assert!(m.starts_with("tls: certificate expired"), "{m}");
}

#[test]
fn without_subject_alt_name_the_cn_is_the_name_as_openssl_has_it() {
    let pki = pki();
    // Like lws' own test certificate: self-signed, CN=localhost, no extensions.
    let leaf = &pki.cn_only;
    let trusting =
        |wsloop_flags, host, flags| outcome_in(leaf, &leaf.cert_pem, wsloop_flags, host, flags);
    capture();
    assert_eq!(trusting(0, "localhost", 0), "ok");
    assert!(logged(
        "TLS: accepting the certificate of 'localhost' by its subject CN 'localhost': it has no DNS subjectAltName, and names checked against the CN are deprecated (RFC 6125); WS_CONTEXT_REQUIRE_SUBJECT_ALT_NAME refuses such certificates"
    ));
    let m = trusting(0, "www.localhost", 0);
    assert!(
        m.starts_with(
            "tls: hostname mismatch: asked for 'www.localhost', but the certificate of 127.0.0.1:"
        ),
        "{m}"
    );
    assert!(
        m.ends_with("has no subjectAltName names, only the subject CN 'localhost' (set .host to a name the CN covers, or LCCSCF_SKIP_SERVER_CERT_HOSTNAME_CHECK)"),
        "{m}"
    );
    // OpenSSL never compares an IP address with the CN.
    let m = trusting(0, "127.0.0.1", 0);
    assert!(
        m.ends_with("only the subject CN 'localhost', which is never compared with an IP address (set .host to a name the CN covers, or LCCSCF_SKIP_SERVER_CERT_HOSTNAME_CHECK)"),
        "{m}"
    );
    // The context can refuse names found only in the CN.
    let strict = WS_CONTEXT_REQUIRE_SUBJECT_ALT_NAME;
    let m = trusting(strict, "localhost", 0);
    assert!(
        m.starts_with(
            "tls: hostname mismatch: asked for 'localhost', which the certificate of 127.0.0.1:"
        ),
        "{m}"
    );
    assert!(
        m.ends_with("names only in its subject CN 'localhost' (it has no DNS subjectAltName), and WS_CONTEXT_REQUIRE_SUBJECT_ALT_NAME refuses that (reissue the certificate with a subjectAltName, or drop the flag)"),
        "{m}"
    );
    assert_eq!(
        trusting(
            strict,
            "localhost",
            WS_LCCSCF_SKIP_SERVER_CERT_HOSTNAME_CHECK
        ),
        "ok"
    );
    assert_eq!(
        outcome_in(&pki.good, &pki.ca_pem, strict, "localhost", 0),
        "ok"
    );
}

#[test]
fn expired_and_not_yet_valid_give_their_dates_and_allow_expired_accepts_them() {
    let pki = pki();
    let m = outcome(&pki.expired, "localhost", 0);
    assert!(
        m.starts_with("tls: certificate expired: the certificate of 127.0.0.1:"),
        "{m}"
    );
    assert!(
        m.contains("was valid until 2021-01-01 00:00:00 UTC, and it is 20"),
        "{m}"
    );
    let m = outcome(&pki.not_yet_valid, "localhost", 0);
    assert!(m.starts_with("tls: certificate not yet valid"), "{m}");
    assert!(m.contains("is valid from 2090-01-01 00:00:00 UTC"), "{m}");
    assert_eq!(
        outcome(&pki.expired, "localhost", WS_LCCSCF_ALLOW_EXPIRED),
        "ok"
    );
    assert_eq!(
        outcome(&pki.not_yet_valid, "localhost", WS_LCCSCF_ALLOW_EXPIRED),
        "ok"
    );
    for flag in [
        WS_LCCSCF_ALLOW_SELFSIGNED,
        WS_LCCSCF_ALLOW_INSECURE,
        WS_LCCSCF_SKIP_SERVER_CERT_HOSTNAME_CHECK,
    ] {
        assert!(outcome(&pki.expired, "localhost", flag).starts_with("tls: certificate expired"));
    }
    // ALLOW_EXPIRED does not accept a wrong name.
    let m = outcome(&pki.expired, "wrong.example", WS_LCCSCF_ALLOW_EXPIRED);
    assert!(m.starts_with("tls: hostname mismatch"), "{m}");
}

#[test]
fn client_certificate_is_presented_when_asked_and_its_absence_is_explained() {
    let pki = pki();
    let mut o = TlsOpts::new(&pki.good);
    o.client_ca = Some(pki.client_ca.clone());
    let srv = TlsServer::start(o);

    let c = ctx_trusting(Some(&pki.ca_pem), |_| {});
    wss(&c, srv.port, "localhost", 0);
    let m = c.connection_error(SECS10);
    assert!(m.starts_with("tls: 127.0.0.1:"), "{m}");
    assert!(m.contains("sent the TLS alert certificate_required (116): the server requires a client certificate: set client_ssl_cert_filepath and client_ssl_private_key_filepath"), "{m}");

    let cert = CString::new(pki.file("client.pem", &pki.client.cert_pem)).unwrap();
    let key = CString::new(pki.file("client.key", &pki.client.key_pem)).unwrap();
    let c = ctx_trusting(Some(&pki.ca_pem), |i| {
        i.client_ssl_cert_filepath = cert.as_ptr();
        i.client_ssl_private_key_filepath = key.as_ptr();
    });
    echo_once(&c);
    wss(&c, srv.port, "localhost", 0);
    assert_echoed(&c);
    assert!(srv.wait_for("client-cert: yes"));

    // The same from memory.
    let (cm, km) = (
        CString::new(pki.client.cert_pem.clone()).unwrap(),
        CString::new(pki.client.key_pem.clone()).unwrap(),
    );
    let c = ctx_trusting(Some(&pki.ca_pem), |i| {
        i.client_ssl_cert_mem = cm.as_ptr().cast();
        i.client_ssl_cert_mem_len = cm.as_bytes().len() as _;
        i.client_ssl_key_mem = km.as_ptr().cast();
        i.client_ssl_key_mem_len = km.as_bytes().len() as _;
    });
    echo_once(&c);
    wss(&c, srv.port, "localhost", 0);
    assert_echoed(&c);
}

#[test]
fn a_plain_server_is_not_speaking_tls() {
    let srv = Server::node("echo");
    let c = ctx_trusting(Some(&pki().ca_pem), |_| {});
    wss(&c, srv.port, "localhost", 0);
    let m = c.connection_error(SECS10);
    assert_eq!(
        m,
        format!("tls: 127.0.0.1:{} is not speaking TLS: its reply is not a TLS record (is it a plain ws:// server? drop LCCSCF_USE_SSL or use its TLS port)", srv.port)
    );
}

#[test]
fn a_silent_server_times_out_the_tls_handshake() {
    let port = raw_server(|mut s| {
        let mut b = [0u8; 4096];
        // Read the ClientHello and say nothing until the client gives up.
        while let Ok(n) = std::io::Read::read(&mut s, &mut b) {
            if n == 0 {
                break;
            }
        }
    });
    let c = Ctx::with_info(
        CtxOpts {
            timeout_secs: 1,
            ..CtxOpts::default()
        },
        |i| i.options |= WS_SERVER_OPTION_DISABLE_OS_CA_CERTS,
    )
    .unwrap();
    wss(&c, port, "localhost", 0);
    let m = c.connection_error(SECS5);
    assert_eq!(m, format!("Timed out waiting SSL: 127.0.0.1:{port} did not complete the TLS handshake within 1 s (timeout_secs; is it a TLS server?)"));
}

#[test]
fn a_server_hanging_up_during_the_handshake_is_reported() {
    let port = raw_server(|mut s| {
        let mut b = [0u8; 4096];
        let _ = std::io::Read::read(&mut s, &mut b);
    });
    let c = ctx_trusting(None, |_| {});
    wss(&c, port, "localhost", 0);
    let m = c.connection_error(SECS5);
    assert_eq!(m, format!("tls: 127.0.0.1:{port} closed the connection during the TLS handshake (is it a TLS server?)"));
}

#[test]
fn large_and_many_messages_arrive_intact_over_tls() {
    let pki = pki();
    let srv = TlsServer::start(TlsOpts::new(&pki.good));
    let c = ctx_trusting(Some(&pki.ca_pem), |_| {});
    let big: Vec<u8> = (0..6 * 1024 * 1024 + 7)
        .map(|i| (i * 31 % 251) as u8)
        .collect();
    const SMALL: usize = 1000;
    let big2 = big.clone();
    let mut got: Vec<u8> = Vec::new();
    let mut small_seen = 0usize;
    let mut sent_small = 0usize;
    c.hook(move |wsi, r, in_, len| {
        if r == WS_CALLBACK_CLIENT_ESTABLISHED as i32 {
            // One write far beyond what the socket takes at once: the rest is
            // buffered and drained, never dropped.
            assert_eq!(send(wsi, BINARY, &big2), big2.len() as c_int);
            unsafe { ws_callback_on_writable(wsi) };
        }
        if r == WS_CALLBACK_CLIENT_WRITEABLE as i32 && sent_small < SMALL {
            // Several small messages per WRITEABLE.
            for _ in 0..10 {
                let m = format!("small {sent_small}");
                send(wsi, TEXT, m.as_bytes());
                sent_small += 1;
            }
            unsafe { ws_callback_on_writable(wsi) };
        }
        if r == WS_CALLBACK_CLIENT_RECEIVE as i32 {
            let data = unsafe { std::slice::from_raw_parts(in_ as *const u8, len) };
            if unsafe { ws_frame_is_binary(wsi) } != 0 {
                got.extend_from_slice(data);
                if unsafe { ws_is_final_fragment(wsi) } != 0
                    && unsafe { ws_remaining_packet_payload(wsi) } == 0
                {
                    assert!(got == big2, "big message intact");
                }
            } else {
                assert_eq!(data, format!("small {small_seen}").as_bytes());
                small_seen += 1;
                if small_seen == SMALL {
                    return Some(-1);
                }
            }
        }
        None
    });
    wss(&c, srv.port, "localhost", 0);
    c.service_until(Duration::from_secs(60), |e| {
        e.iter().any(|e| e.reason == WS_CALLBACK_WSI_DESTROY as i32)
    });
    assert!(!c.has(WS_CALLBACK_CLIENT_CONNECTION_ERROR));
    let rx = c.events(WS_CALLBACK_CLIENT_RECEIVE);
    let bytes: usize = rx.iter().filter(|e| e.binary).map(|e| e.data.len()).sum();
    assert_eq!(bytes, big.len());
    assert_eq!(rx.iter().filter(|e| !e.binary).count(), SMALL);
    assert!(c.has(WS_CALLBACK_CLIENT_CLOSED));
}

#[test]
fn a_peer_dropping_tcp_without_close_notify_is_logged() {
    capture();
    let pki = pki();
    let mut o = TlsOpts::new(&pki.good);
    o.close_notify = false;
    o.close_after = Some(1);
    let srv = TlsServer::start(o);
    let c = ctx_trusting(Some(&pki.ca_pem), |_| {});
    c.hook(|wsi, r, _, _| {
        if r == WS_CALLBACK_CLIENT_ESTABLISHED as i32 {
            send(wsi, TEXT, b"one");
        }
        None
    });
    wss(&c, srv.port, "localhost", 0);
    c.service_until(SECS10, |e| {
        e.iter().any(|e| e.reason == WS_CALLBACK_WSI_DESTROY as i32)
    });
    assert!(c.has(WS_CALLBACK_CLIENT_CLOSED));
    assert!(logged(&format!(
        "127.0.0.1:{}/: the peer closed TCP without a TLS close_notify",
        srv.port
    )));
}

#[test]
fn bad_trust_files_fail_context_creation_naming_the_file() {
    capture();
    let pki = pki();
    let missing = CString::new(pki.dir.join("no-such-ca.pem").to_string_lossy().as_ref()).unwrap();
    assert!(
        Ctx::with_info(CtxOpts::default(), |i| i.client_ssl_ca_filepath =
            missing.as_ptr())
        .is_none()
    );
    assert!(logged(&format!(
        "ws_create_context: client_ssl_ca_filepath '{}': cannot read: No such file or directory",
        missing.to_str().unwrap()
    )));

    let junk = CString::new(pki.file("junk.pem", "not a certificate\n")).unwrap();
    assert!(
        Ctx::with_info(CtxOpts::default(), |i| i.client_ssl_ca_filepath =
            junk.as_ptr())
        .is_none()
    );
    assert!(logged(&format!(
        "ws_create_context: client_ssl_ca_filepath '{}': not a PEM certificate",
        junk.to_str().unwrap()
    )));

    let key_only = CString::new(pki.file("only.key", &pki.client.key_pem)).unwrap();
    assert!(
        Ctx::with_info(CtxOpts::default(), |i| i.client_ssl_private_key_filepath =
            key_only.as_ptr())
        .is_none()
    );
    assert!(logged("a client private key is given but no certificate"));

    let cert = CString::new(pki.file("c.pem", &pki.client.cert_pem)).unwrap();
    let bad_key = CString::new(pki.file("bad.key", &pki.ca_pem)).unwrap();
    assert!(Ctx::with_info(CtxOpts::default(), |i| {
        i.client_ssl_cert_filepath = cert.as_ptr();
        i.client_ssl_private_key_filepath = bad_key.as_ptr();
    })
    .is_none());
    assert!(logged("bad.key': holds no private key"));

    // DO_SSL_GLOBAL_INIT is accepted and harmless.
    let c = Ctx::with_info(CtxOpts::default(), |i| {
        i.options |= WS_SERVER_OPTION_DO_SSL_GLOBAL_INIT
    });
    assert!(c.is_some());
}

#[test]
fn alpn_is_offered_from_the_connect_info() {
    let pki = pki();
    let mut o = TlsOpts::new(&pki.good);
    o.alpn = vec![b"x-wsloop".to_vec()];
    let srv = TlsServer::start(o);
    let c = ctx_trusting(Some(&pki.ca_pem), |_| {});
    echo_once(&c);
    let host = CString::new("localhost").unwrap();
    let alpn = CString::new("h2, x-wsloop ,http/1.1").unwrap();
    c.connect("127.0.0.1", srv.port, None, |ci| {
        ci.host = host.as_ptr();
        ci.alpn = alpn.as_ptr();
        ci.ssl_connection = WS_LCCSCF_USE_SSL;
    });
    assert_echoed(&c);
    assert!(srv.wait_for("alpn: x-wsloop"));
    let _: *mut c_void = std::ptr::null_mut();
}
