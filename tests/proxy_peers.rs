//! The proxy handshakes (src/proxy) against real proxies, before the loop
//! drives them: each test opens a blocking TCP connection to a proxy
//! started on 127.0.0.1 (tinyproxy, stunnel4 in front of tinyproxy,
//! microsocks, Dante), feeds the pure codec what it reads, and on success
//! completes a WebSocket echo with the Node server through the tunnel; on
//! failure it checks the whole message.

mod common;

use std::io::{Read, Write};
use std::net::{IpAddr, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use common::proxies::{self, free_port};
use common::tls::pki;
use common::Server;
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};
use tungstenite::Message;
use wsloop::error::ProxyError;
use wsloop::proxy::{Environment, Origin, Progress, Proxy, ProxyConfig, Tunnel};
use wsloop::target::Target;

const IO_LIMIT: Duration = Duration::from_secs(10);

fn tcp(port: u16) -> TcpStream {
    let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(IO_LIMIT)).unwrap();
    s.set_write_timeout(Some(IO_LIMIT)).unwrap();
    s
}

/// Runs the handshake through `proxy` to `host:port` over `s`.
fn open_tunnel<S: Read + Write>(
    s: &mut S,
    proxy: &Proxy,
    host: &str,
    port: u16,
    resolved: Option<IpAddr>,
) -> Result<(), ProxyError> {
    let (mut t, first) = Tunnel::start(proxy, host, port, resolved)?;
    s.write_all(&first).map_err(|e| t.io_failed(true, &e))?;
    let mut buf = [0u8; 4096];
    loop {
        let n = s.read(&mut buf).map_err(|e| t.io_failed(false, &e))?;
        if n == 0 {
            return Err(t.closed());
        }
        match t.receive(&buf[..n])? {
            Progress::NeedMore => {}
            Progress::Send(b) => s.write_all(&b).map_err(|e| t.io_failed(true, &e))?,
            Progress::Open { rest } => {
                assert!(rest.is_empty(), "the server spoke first: {rest:?}");
                return Ok(());
            }
        }
    }
}

/// The upgrade and one echo through an open tunnel.
fn ws_echo<S: Read + Write>(stream: S, url: &str) {
    let (mut ws, resp) = tungstenite::client::client(url, stream)
        .unwrap_or_else(|e| panic!("upgrade through the tunnel to {url} failed: {e}"));
    assert_eq!(resp.status(), 101);
    let text = format!("hello {url} through the proxy");
    ws.send(Message::text(text.clone())).unwrap();
    let echo = ws.read().unwrap();
    assert_eq!(echo.to_text().unwrap(), text);
    ws.close(None).unwrap();
}

/// A tunnel through the proxy at `proxy_port` to 127.0.0.1's or
/// localhost's `port`, then a ws:// echo through it; `log` is the proxy's,
/// shown on failure.
fn echo_through(proxy_port: u16, proxy: &Proxy, host: &str, port: u16, log: impl Fn() -> String) {
    let mut s = tcp(proxy_port);
    open_tunnel(&mut s, proxy, host, port, None).unwrap_or_else(|e| panic!("{e}\n{}", log()));
    ws_echo(s, &format!("ws://{host}:{port}/"));
}

fn tls_client(
    name: &str,
    stream: impl Read + Write,
) -> StreamOwned<ClientConnection, impl Read + Write> {
    let mut roots = RootCertStore::empty();
    for c in rustls::pki_types::CertificateDer::pem_slice_iter(pki().ca_pem.as_bytes()) {
        roots.add(c.unwrap()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = ServerName::try_from(name.to_string()).unwrap();
    StreamOwned::new(
        ClientConnection::new(Arc::new(config), name).unwrap(),
        stream,
    )
}

use rustls::pki_types::pem::PemObject;

fn http(value: &str) -> Proxy {
    Proxy::http_setting(value, 0, Origin::HttpProxyAddress).unwrap()
}

fn fails(proxy_port: u16, proxy: &Proxy, host: &str, port: u16) -> String {
    let e =
        open_tunnel(&mut tcp(proxy_port), proxy, host, port, None).expect_err("the tunnel opened");
    let s = e.to_string();
    assert!(
        !s.contains("s3cret") && !s.contains("wrong-pw"),
        "a password leaked: {s}"
    );
    s
}

// ---- HTTP CONNECT: tinyproxy ----

#[test]
fn http_connect_then_websocket_echo() {
    let echo = Server::node("echo");
    let tp = proxies::tinyproxy(None, &[]);
    let proxy = http(&format!("127.0.0.1:{}", tp.port));
    echo_through(tp.port, &proxy, "127.0.0.1", echo.port, || tp.log());
}

#[test]
fn http_connect_with_basic_credentials_then_wss_echo() {
    let tp = proxies::tinyproxy(Some(("bob", "s3cret")), &[]);
    let srv = common::tls::TlsServer::start(common::tls::TlsOpts::new(&pki().good));
    // As lws writes it in http_proxy_address: user:password@host:port.
    let proxy = http(&format!("bob:s3cret@127.0.0.1:{}", tp.port));
    let mut s = tcp(tp.port);
    open_tunnel(&mut s, &proxy, "localhost", srv.port, None)
        .unwrap_or_else(|e| panic!("{e}\n{}", tp.log()));
    ws_echo(
        tls_client("localhost", s),
        &format!("wss://localhost:{}/", srv.port),
    );
}

#[test]
fn http_connect_407_names_the_realm_and_that_no_credentials_were_sent() {
    let tp = proxies::tinyproxy(Some(("bob", "s3cret")), &[]);
    let proxy = http(&format!("127.0.0.1:{}", tp.port));
    assert_eq!(
        fails(tp.port, &proxy, "127.0.0.1", 7681),
        format!(
            "http_proxy -> 407: the HTTP proxy 127.0.0.1:{} answered 'HTTP/1.0 407 Proxy Authentication Required' (realm \"Tinyproxy\") to the CONNECT request for 127.0.0.1:7681; no credentials were sent (give them as user:password@ before the host in http_proxy_address)",
            tp.port
        )
    );
}

#[test]
fn http_connect_wrong_credentials_name_the_user() {
    let tp = proxies::tinyproxy(Some(("bob", "s3cret")), &[]);
    let proxy = Proxy::env_setting(
        "https_proxy",
        &format!("http://bob:wrong-pw@127.0.0.1:{}", tp.port),
    )
    .unwrap();
    // tinyproxy answers wrong credentials with 401 and WWW-Authenticate.
    assert_eq!(
        fails(tp.port, &proxy, "127.0.0.1", 7681),
        format!(
            "http_proxy -> 401: the HTTP proxy 127.0.0.1:{} answered 'HTTP/1.0 401 Unauthorized' (realm \"Tinyproxy\") to the CONNECT request for 127.0.0.1:7681; the credentials of user 'bob' were refused (check the user name and password in the environment variable https_proxy)",
            tp.port
        )
    );
}

#[test]
fn http_connect_403_and_an_unreachable_target() {
    let echo = Server::node("echo");
    let tp = proxies::tinyproxy(None, &[1]);
    let proxy = http(&format!("127.0.0.1:{}", tp.port));
    assert_eq!(
        fails(tp.port, &proxy, "127.0.0.1", echo.port),
        format!(
            "http_proxy -> 403: the HTTP proxy 127.0.0.1:{} refused the tunnel to 127.0.0.1:{}: 'HTTP/1.1 403 Access violation' (the proxy's rules do not allow a tunnel to this target or port)",
            tp.port, echo.port
        )
    );
    let tp = proxies::tinyproxy(None, &[]);
    let proxy = http(&format!("127.0.0.1:{}", tp.port));
    let dead = free_port();
    assert_eq!(
        fails(tp.port, &proxy, "127.0.0.1", dead),
        format!(
            "http_proxy -> 500: the HTTP proxy 127.0.0.1:{} refused the tunnel to 127.0.0.1:{dead}: 'HTTP/1.1 500 Unable to connect' (the proxy could not reach the target: is the server running and listening on that port?)",
            tp.port
        )
    );
}

#[test]
fn http_connect_to_a_socks_proxy_says_what_answered() {
    // microsocks reads 'C' as a SOCKS version and answers "no acceptable
    // method" in binary.
    let ms = proxies::microsocks(None);
    let proxy = http(&format!("127.0.0.1:{}", ms.port));
    assert_eq!(
        fails(ms.port, &proxy, "127.0.0.1", 7681),
        format!(
            "http_proxy fail: the HTTP proxy 127.0.0.1:{} answered the CONNECT request for 127.0.0.1:7681 with something that is not HTTP: '\\x05\\xff' (is it an HTTP proxy? a SOCKS5 proxy needs socks5:// or socks_proxy_address)",
            ms.port
        )
    );
}

// ---- HTTPS proxy: stunnel4 in front of tinyproxy ----

#[test]
fn https_proxy_then_websocket_and_tls_in_tls_echo() {
    let echo = Server::node("echo");
    let srv = common::tls::TlsServer::start(common::tls::TlsOpts::new(&pki().good));
    let tp = proxies::tinyproxy(Some(("bob", "s3cret")), &[]);
    let st = proxies::stunnel(tp.port, &pki().good.cert_pem, &pki().good.key_pem);
    let proxy = Proxy::env_setting(
        "https_proxy",
        &format!("https://bob:s3cret@127.0.0.1:{}", st.port),
    )
    .unwrap();
    assert_eq!(
        proxy.to_string(),
        format!("https://bob:***@127.0.0.1:{}", st.port)
    );

    // The proxy's certificate is verified for its address, as a server's.
    let mut s = tls_client("127.0.0.1", tcp(st.port));
    open_tunnel(&mut s, &proxy, "127.0.0.1", echo.port, None)
        .unwrap_or_else(|e| panic!("{e}\n{}\n{}", st.log(), tp.log()));
    ws_echo(s, &format!("ws://127.0.0.1:{}/", echo.port));

    let mut s = tls_client("127.0.0.1", tcp(st.port));
    open_tunnel(&mut s, &proxy, "localhost", srv.port, None).unwrap();
    ws_echo(
        tls_client("localhost", s),
        &format!("wss://localhost:{}/", srv.port),
    );
}

// ---- SOCKS5: microsocks, Dante ----

#[test]
fn socks5_by_name_with_credentials_then_websocket_echo() {
    // The proxy resolves the name (lws' socks_proxy_address, socks5h://);
    // the server listens where the system resolver puts `localhost` first.
    let echo = Server::node_with("echo", &["--host", "localhost"]);
    let ms = proxies::microsocks(Some(("bob", "s3cret")));
    let proxy = Proxy::socks_setting(
        &format!("bob:s3cret@127.0.0.1:{}", ms.port),
        0,
        Origin::SocksProxyAddress,
    )
    .unwrap();
    echo_through(ms.port, &proxy, "localhost", echo.port, || ms.log());
}

#[test]
fn socks5_resolved_here_from_the_environment_then_websocket_echo() {
    let echo = Server::node("echo");
    let ms = proxies::microsocks(None);
    let env = Environment::from_fn(|k| {
        (k == "all_proxy").then(|| format!("socks5://127.0.0.1:{}", ms.port))
    });
    let cfg = ProxyConfig {
        explicit: None,
        env: Some(env),
    };
    let target = Target::parse("echo.test", echo.port).unwrap();
    let proxy = cfg
        .route(&target, false)
        .expect("all_proxy applies")
        .clone();
    assert!(proxy.resolves_target_locally());
    // socks5:// sends the address the client resolved; the name stays here.
    let mut s = tcp(ms.port);
    open_tunnel(
        &mut s,
        &proxy,
        "echo.test",
        echo.port,
        Some("127.0.0.1".parse().unwrap()),
    )
    .unwrap_or_else(|e| panic!("{e}\n{}", ms.log()));
    ws_echo(s, &format!("ws://127.0.0.1:{}/", echo.port));
}

#[test]
fn socks5_credential_failures() {
    let ms = proxies::microsocks(Some(("bob", "s3cret")));
    let wrong = Proxy::socks_setting(
        &format!("bob:wrong-pw@127.0.0.1:{}", ms.port),
        0,
        Origin::SetSocks,
    )
    .unwrap();
    assert_eq!(
        fails(ms.port, &wrong, "127.0.0.1", 7681),
        format!(
            "socks reply fail: the SOCKS5 proxy 127.0.0.1:{} refused the credentials of user 'bob' (status 0x02; check the user name and password in ws_set_socks())",
            ms.port
        )
    );
    let none = Proxy::socks_setting(
        &format!("127.0.0.1:{}", ms.port),
        0,
        Origin::SocksProxyAddress,
    )
    .unwrap();
    assert_eq!(
        fails(ms.port, &none, "127.0.0.1", 7681),
        format!(
            "socks reply fail: the SOCKS5 proxy 127.0.0.1:{} requires authentication and no credentials were given (give them as user:password@ before the host in socks_proxy_address)",
            ms.port
        )
    );
}

#[test]
fn socks5_reply_codes_in_words() {
    let ms = proxies::microsocks(None);
    let proxy =
        Proxy::socks_setting(&format!("127.0.0.1:{}", ms.port), 0, Origin::SetSocks).unwrap();
    let dead = free_port();
    assert_eq!(
        fails(ms.port, &proxy, "127.0.0.1", dead),
        format!(
            "socks reply fail: the SOCKS5 proxy 127.0.0.1:{} could not connect to 127.0.0.1:{dead}: 0x05 connection refused (by the target: is the server running and listening on that port?)",
            ms.port
        )
    );
    let echo = Server::node("echo");
    let dante = proxies::dante(echo.port);
    let proxy =
        Proxy::socks_setting(&format!("127.0.0.1:{}", dante.port), 0, Origin::SetSocks).unwrap();
    assert_eq!(
        fails(dante.port, &proxy, "127.0.0.1", echo.port),
        format!(
            "socks reply fail: the SOCKS5 proxy 127.0.0.1:{} could not connect to 127.0.0.1:{}: 0x02 connection not allowed by ruleset (the proxy's rules do not allow this target)",
            dante.port, echo.port
        )
    );
    // What the ruleset allows goes through Dante too.
    let other = Server::node("echo");
    echo_through(dante.port, &proxy, "127.0.0.1", other.port, || dante.log());
}

#[test]
fn socks5_to_a_web_server_says_what_answered() {
    // A SOCKS setting that points at an HTTP server (here Node's): its
    // parser rejects the binary greeting with a 400.
    let web = Server::node("echo");
    let proxy =
        Proxy::socks_setting(&format!("127.0.0.1:{}", web.port), 0, Origin::SetSocks).unwrap();
    assert_eq!(
        fails(web.port, &proxy, "127.0.0.1", 7681),
        format!(
            "socks reply fail: the SOCKS5 proxy 127.0.0.1:{} answered the SOCKS5 greeting for 127.0.0.1:7681 with something that is not SOCKS5: an HTTP response 'HTTP/1.1 400 Bad Request\\r' (is it a SOCKS5 proxy? an HTTP proxy needs http:// or http_proxy_address)",
            web.port
        )
    );
}
