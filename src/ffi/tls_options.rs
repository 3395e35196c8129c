//! Reading the TLS fields of the creation and connect infos.

use std::ffi::{c_char, c_uint, c_void};
use std::sync::Arc;

use super::handles::opt_str;
use super::types::*;
use crate::log;
use crate::tls::{self, Relax, TlsRequest, TlsSettings};

/// The context's trust and client-certificate settings. Files are read and
/// checked here, so a bad one fails `ws_create_context` with its name.
pub unsafe fn settings(info: &ws_context_creation_info) -> Result<TlsSettings, String> {
    let mut ca = Vec::new();
    let ca_file = match opt_str(info.client_ssl_ca_filepath, "client_ssl_ca_filepath")? {
        Some(p) => Some(("client_ssl_ca_filepath", p)),
        None => opt_str(info.ssl_ca_filepath, "ssl_ca_filepath")?.map(|p| ("ssl_ca_filepath", p)),
    };
    if let Some((field, path)) = ca_file {
        let what = format!("{field} '{path}'");
        ca.extend(tls::parse_certs(&read_file(&path, &what)?, &what)?);
    }
    if let Some(mem) = mem(
        info.client_ssl_ca_mem,
        info.client_ssl_ca_mem_len,
        "client_ssl_ca_mem",
    )? {
        ca.extend(tls::parse_certs(mem, "client_ssl_ca_mem")?);
    }
    if !info.client_ssl_private_key_password.is_null() {
        return Err("client_ssl_private_key_password: encrypted private keys are not supported; give the key unencrypted (openssl pkey -in key.pem -out plain.pem)".into());
    }
    let chain = match (
        opt_str(info.client_ssl_cert_filepath, "client_ssl_cert_filepath")?,
        mem(
            info.client_ssl_cert_mem,
            info.client_ssl_cert_mem_len,
            "client_ssl_cert_mem",
        )?,
    ) {
        (Some(path), _) => {
            let what = format!("client_ssl_cert_filepath '{path}'");
            Some(tls::parse_certs(&read_file(&path, &what)?, &what)?)
        }
        (None, Some(m)) => Some(tls::parse_certs(m, "client_ssl_cert_mem")?),
        (None, None) => None,
    };
    let key = match (
        opt_str(
            info.client_ssl_private_key_filepath,
            "client_ssl_private_key_filepath",
        )?,
        mem(
            info.client_ssl_key_mem,
            info.client_ssl_key_mem_len,
            "client_ssl_key_mem",
        )?,
    ) {
        (Some(path), _) => {
            let what = format!("client_ssl_private_key_filepath '{path}'");
            Some(tls::parse_key(&read_file(&path, &what)?, &what)?)
        }
        (None, Some(m)) => Some(tls::parse_key(m, "client_ssl_key_mem")?),
        (None, None) => None,
    };
    let client_auth = match (chain, key) {
        (Some(c), Some(k)) => Some((c, Arc::new(k))),
        (None, None) => None,
        (Some(_), None) => return Err("a client certificate is given but no private key: set client_ssl_private_key_filepath (or client_ssl_key_mem)".into()),
        (None, Some(_)) => return Err("a client private key is given but no certificate: set client_ssl_cert_filepath (or client_ssl_cert_mem)".into()),
    };
    if !info.client_ssl_cipher_list.is_null() || !info.client_tls_1_3_plus_cipher_list.is_null() {
        wlog!(
            log::WARN,
            "ws_create_context: client_ssl_cipher_list and client_tls_1_3_plus_cipher_list are not applied; rustls' safe default cipher suites are used"
        );
    }
    Ok(TlsSettings {
        ca,
        os_roots: info.options & WS_SERVER_OPTION_DISABLE_OS_CA_CERTS == 0,
        client_auth,
        require_san: info.wsloop_flags & WS_CONTEXT_REQUIRE_SUBJECT_ALT_NAME != 0,
    })
}

fn read_file(path: &str, what: &str) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("{what}: cannot read: {e}"))
}

unsafe fn mem<'a>(p: *const c_void, len: c_uint, what: &str) -> Result<Option<&'a [u8]>, String> {
    if p.is_null() {
        return Ok(None);
    }
    if len == 0 {
        return Err(format!("{what} is set but {what}_len is 0"));
    }
    let bytes = std::slice::from_raw_parts(p.cast::<u8>(), len as usize);
    // A PEM string passed with its terminating NUL counted.
    Ok(Some(bytes.strip_suffix(&[0]).unwrap_or(bytes)))
}

/// What a connection asks of TLS, or None for a plain ws:// connection.
pub unsafe fn request(
    flags: i32,
    host: &str,
    alpn: *const c_char,
) -> Result<Option<TlsRequest>, String> {
    let relax = Relax {
        self_signed: flags & WS_LCCSCF_ALLOW_SELFSIGNED != 0,
        hostname: flags & WS_LCCSCF_SKIP_SERVER_CERT_HOSTNAME_CHECK != 0,
        expired: flags & WS_LCCSCF_ALLOW_EXPIRED != 0,
        insecure: flags & WS_LCCSCF_ALLOW_INSECURE != 0,
    };
    if flags & WS_LCCSCF_USE_SSL == 0 {
        if relax != Relax::default() {
            wlog!(
                log::WARN,
                "ws_client_connect_via_info: LCCSCF_ALLOW_* / SKIP_SERVER_CERT_HOSTNAME_CHECK have no effect without WS_LCCSCF_USE_SSL"
            );
        }
        return Ok(None);
    }
    let mut protocols = Vec::new();
    for p in opt_str(alpn, "alpn")?
        .unwrap_or_else(|| "http/1.1".into())
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        if p == "h2" {
            wlog!(
                log::INFO,
                "ws_client_connect_via_info: not offering ALPN 'h2': WebSocket runs over http/1.1"
            );
            continue;
        }
        protocols.push(p.as_bytes().to_vec());
    }
    if protocols.is_empty() {
        protocols.push(b"http/1.1".to_vec());
    }
    Ok(Some(TlsRequest {
        server_name: server_name(host).to_string(),
        alpn: protocols,
        relax,
    }))
}

/// The host part of a Host header value: `name`, `name:port`, `[v6]:port` or a bare IPv6 address.
fn server_name(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match host.split_once(':') {
        Some((name, port)) if !port.contains(':') => name,
        _ => host,
    }
}

#[cfg(test)]
mod tests {
    use super::server_name;

    #[test]
    fn server_names() {
        assert_eq!(server_name("localhost"), "localhost");
        assert_eq!(server_name("localhost:8443"), "localhost");
        assert_eq!(server_name("[::1]:8443"), "::1");
        assert_eq!(server_name("::1"), "::1");
        assert_eq!(server_name("127.0.0.1:1"), "127.0.0.1");
    }
}
