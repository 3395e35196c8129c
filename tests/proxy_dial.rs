//! Connections through proxies, driven by `ws_service` through the C API:
//! `http_proxy_address` / `socks_proxy_address` (with their port fields),
//! `ws_set_proxy` / `ws_set_socks`, and the environment variables, against
//! real proxies (tinyproxy, microsocks) started on 127.0.0.1, to the Node
//! echo server (ws://) and the TLS echo server (wss://). Each failure's
//! whole message is checked, and no log line may carry a password.

mod common;

use std::ffi::{c_int, CString};
use std::io::Read;
use std::net::TcpListener;
use std::time::Duration;

use common::proxies::{self, free_port};
use common::tls::{pki, TlsOpts, TlsServer};
use common::*;
use wsloop::ffi::ws_callback_reasons::*;
use wsloop::ffi::*;

const TEXT: c_int = ws_write_protocol::WS_WRITE_TEXT as c_int;
const PASSWORD: &str = "s3cret-pw";

fn capture() {
    capture_log(WS_LLL_ERR | WS_LLL_WARN | WS_LLL_NOTICE | WS_LLL_INFO | WS_LLL_USER);
}

/// A context that ignores the proxy environment (the environment test
/// sets it for the whole process), trusts the test CA, and takes `f`'s
/// settings.
fn ctx(f: impl FnOnce(&mut ws_context_creation_info)) -> Ctx {
    ctx_opts(CtxOpts::default(), true, f)
}

fn ctx_opts(o: CtxOpts, ignore_env: bool, f: impl FnOnce(&mut ws_context_creation_info)) -> Ctx {
    capture();
    let ca = CString::new(pki().ca_pem.as_str()).unwrap();
    let c = Ctx::with_info(o, |i| {
        i.options |= WS_SERVER_OPTION_DISABLE_OS_CA_CERTS;
        if ignore_env {
            i.options |= WS_SERVER_OPTION_IGNORE_PROXY_ENV;
        }
        i.client_ssl_ca_mem = ca.as_ptr().cast();
        i.client_ssl_ca_mem_len = ca.as_bytes().len() as _;
        f(i);
    })
    .expect("context created");
    // The CA is copied at creation.
    drop(ca);
    c
}

/// Connects to `address:port` (wss:// with Host and SNI `localhost` when
/// `tls`), sends one message and checks its echo.
fn echo(c: &Ctx, address: &str, port: u16, tls: bool) {
    let host = CString::new("localhost").unwrap();
    c.hook(|wsi, r, _, _| {
        if r == WS_CALLBACK_CLIENT_ESTABLISHED as i32 {
            send(wsi, TEXT, b"through the proxy");
        }
        if r == WS_CALLBACK_CLIENT_RECEIVE as i32 {
            return Some(-1);
        }
        None
    });
    let wsi = c.connect(address, port, None, |ci| {
        if tls {
            ci.host = host.as_ptr();
            ci.ssl_connection = WS_LCCSCF_USE_SSL;
        }
    });
    assert!(!wsi.is_null());
    c.service_until(SECS10, |e| {
        e.iter().any(|e| e.reason == WS_CALLBACK_WSI_DESTROY as i32)
    });
    let got = c.events(WS_CALLBACK_CLIENT_RECEIVE);
    assert!(
        got.len() == 1 && got[0].text() == "through the proxy",
        "no echo; events {:?}, error {:?}",
        c.reasons(),
        c.events(WS_CALLBACK_CLIENT_CONNECTION_ERROR)
            .first()
            .map(|e| e.text())
    );
}

/// A context whose vhost gets `value` by `ws_set_socks` (`socks`) or
/// `ws_set_proxy`, accepted.
fn ctx_set(value: &str, socks: bool) -> Ctx {
    let c = ctx(|_| {});
    assert_eq!(set_on_vhost(&c, value, socks), 0, "{value}");
    c
}

fn set_on_vhost(c: &Ctx, value: &str, socks: bool) -> c_int {
    let vh = unsafe { ws_get_vhost_by_name(c.ctx, c"default".as_ptr()) };
    let p = CString::new(value).unwrap();
    unsafe {
        if socks {
            ws_set_socks(vh, p.as_ptr())
        } else {
            ws_set_proxy(vh, p.as_ptr())
        }
    }
}

/// The connection's CLIENT_CONNECTION_ERROR message.
fn fails(c: &Ctx, address: &str, port: u16) -> String {
    let wsi = c.connect(address, port, None, |_| {});
    assert!(!wsi.is_null());
    c.connection_error(SECS10)
}

fn tunnelled(protocol: &str, proxy_port: u16) -> bool {
    logged(&format!(
        "tunnel open through the {protocol} 127.0.0.1:{proxy_port}"
    ))
}

fn no_password_logged() {
    let leaked: Vec<String> = log_lines()
        .into_iter()
        .filter(|l| l.contains(PASSWORD))
        .collect();
    assert!(leaked.is_empty(), "a password in the log: {leaked:?}");
}

// ---- HTTP CONNECT ----

#[test]
fn http_proxy_address_ws_and_wss_echo() {
    let node = Server::node("echo");
    let tp = proxies::tinyproxy(None, &[]);
    let addr = CString::new("127.0.0.1").unwrap();
    let c = ctx(|i| {
        i.http_proxy_address = addr.as_ptr();
        i.http_proxy_port = tp.port.into();
    });
    echo(&c, "127.0.0.1", node.port, false);
    assert!(tunnelled("HTTP proxy", tp.port), "{}", tp.log());
    assert!(tp.log().contains("CONNECT"), "{}", tp.log());
    drop(c);

    let srv = TlsServer::start(TlsOpts::new(&pki().good));
    // lws' form: user:password@host, the port in the string.
    let tpa = proxies::tinyproxy(Some(("bob", PASSWORD)), &[]);
    let addr2 = CString::new(format!("bob:{PASSWORD}@127.0.0.1:{}", tpa.port)).unwrap();
    let c = ctx(|i| i.http_proxy_address = addr2.as_ptr());
    echo(&c, "localhost", srv.port, true);
    assert!(tunnelled("HTTP proxy", tpa.port), "{}", tpa.log());
    assert!(
        srv.saw("sni: localhost"),
        "the tunnelled TLS names the target"
    );
    no_password_logged();
}

#[test]
fn http_proxy_failures_are_named() {
    // Nobody listening where the proxy should be.
    let dead = free_port();
    let addr = CString::new(format!("127.0.0.1:{dead}")).unwrap();
    let c = ctx(|i| i.http_proxy_address = addr.as_ptr());
    assert_eq!(
        fails(&c, "127.0.0.1", 7681),
        format!("Unable to connect: connection refused by the HTTP proxy 127.0.0.1:{dead} (is the proxy running and listening on that port? it comes from http_proxy_address)")
    );
    drop(c);

    // Credentials required, none given: 407 with the realm.
    let tp = proxies::tinyproxy(Some(("bob", PASSWORD)), &[]);
    let c = ctx_set(&format!("127.0.0.1:{}", tp.port), false);
    assert_eq!(
        fails(&c, "127.0.0.1", 7681),
        format!("http_proxy -> 407: the HTTP proxy 127.0.0.1:{} answered 'HTTP/1.0 407 Proxy Authentication Required' (realm \"Tinyproxy\") to the CONNECT request for 127.0.0.1:7681; no credentials were sent (give them as user:password@ before the host in ws_set_proxy())", tp.port)
    );
    drop(c);

    // Wrong credentials: the user is named, the password is not.
    let c = ctx_set(
        &format!("bob:wrong-{PASSWORD}@127.0.0.1:{}", tp.port),
        false,
    );
    assert_eq!(
        fails(&c, "127.0.0.1", 7681),
        format!("http_proxy -> 401: the HTTP proxy 127.0.0.1:{} answered 'HTTP/1.0 401 Unauthorized' (realm \"Tinyproxy\") to the CONNECT request for 127.0.0.1:7681; the credentials of user 'bob' were refused (check the user name and password in ws_set_proxy())", tp.port)
    );
    drop(c);

    // The proxy's rules refuse the target's port: 403.
    let node = Server::node("echo");
    let tp = proxies::tinyproxy(None, &[1]);
    let addr = CString::new(format!("127.0.0.1:{}", tp.port)).unwrap();
    let c = ctx(|i| i.http_proxy_address = addr.as_ptr());
    assert_eq!(
        fails(&c, "127.0.0.1", node.port),
        format!("http_proxy -> 403: the HTTP proxy 127.0.0.1:{} refused the tunnel to 127.0.0.1:{}: 'HTTP/1.1 403 Access violation' (the proxy's rules do not allow a tunnel to this target or port)", tp.port, node.port)
    );
    no_password_logged();
}

/// A proxy that accepts and then does `f` with the connection.
fn fake_proxy(f: impl FnOnce(std::net::TcpStream) + Send + 'static) -> u16 {
    raw_server(f)
}

#[test]
fn a_proxy_that_hangs_up_or_never_answers() {
    let port = fake_proxy(|mut s| {
        let mut b = [0u8; 512];
        let _ = s.read(&mut b);
    });
    let addr = CString::new(format!("127.0.0.1:{port}")).unwrap();
    let c = ctx(|i| i.http_proxy_address = addr.as_ptr());
    assert_eq!(
        fails(&c, "127.0.0.1", 7681),
        format!("proxy conn dead: the HTTP proxy 127.0.0.1:{port} closed the connection before answering the CONNECT request for 127.0.0.1:7681")
    );
    drop(c);

    // Accepts, reads, never answers: timeout_secs bounds the wait.
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let addr = CString::new(format!("127.0.0.1:{port}")).unwrap();
    let o = CtxOpts {
        timeout_secs: 1,
        ..CtxOpts::default()
    };
    let c = ctx_opts(o, true, |i| {
        i.socks_proxy_address = addr.as_ptr();
    });
    let started = std::time::Instant::now();
    assert_eq!(
        fails(&c, "127.0.0.1", 7681),
        format!("Timed out waiting proxy reply: the SOCKS5 proxy 127.0.0.1:{port} did not answer the SOCKS5 greeting for 127.0.0.1:7681 within 1 s (timeout_secs)")
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    drop(l);
}

// ---- HTTPS proxy: stunnel4 in front of tinyproxy ----

#[test]
fn https_proxy_ws_and_tls_in_tls_wss_echo() {
    let node = Server::node("echo");
    let tp = proxies::tinyproxy(None, &[]);
    let st = proxies::stunnel(tp.port, &pki().good.cert_pem, &pki().good.key_pem);
    let proxy = format!("https://127.0.0.1:{}", st.port);
    let c = ctx_set(&proxy, false);
    echo(&c, "127.0.0.1", node.port, false);
    assert!(
        tunnelled("HTTPS proxy", st.port),
        "{}\n{}",
        st.log(),
        tp.log()
    );
    drop(c);

    let srv = TlsServer::start(TlsOpts::new(&pki().good));
    let c = ctx_set(&proxy, false);
    echo(&c, "localhost", srv.port, true);
    assert!(srv.saw("sni: localhost"), "the inner TLS names the target");
    drop(c);

    // The proxy's certificate is verified like a server's: with no CA
    // that signed it, the hop to the proxy fails and says so.
    capture();
    let c = Ctx::with_info(CtxOpts::default(), |i| {
        i.options |= WS_SERVER_OPTION_DISABLE_OS_CA_CERTS | WS_SERVER_OPTION_IGNORE_PROXY_ENV;
    })
    .unwrap();
    assert_eq!(set_on_vhost(&c, &proxy, false), 0);
    let e = fails(&c, "127.0.0.1", node.port);
    assert_eq!(
        e,
        format!("tls: unknown issuer: the certificate of the HTTPS proxy 127.0.0.1:{} is not signed by a trusted CA (give that CA with client_ssl_ca_filepath or client_ssl_ca_mem; LCCSCF_ALLOW_INSECURE accepts any issuer)", st.port)
    );
}

// ---- SOCKS5 ----

#[test]
fn socks_proxy_address_and_ws_set_socks_ws_and_wss_echo() {
    let node = Server::node("echo");
    let ms = proxies::microsocks(None);
    let addr = CString::new("127.0.0.1").unwrap();
    let c = ctx(|i| {
        i.socks_proxy_address = addr.as_ptr();
        i.socks_proxy_port = ms.port.into();
    });
    echo(&c, "127.0.0.1", node.port, false);
    assert!(tunnelled("SOCKS5 proxy", ms.port), "{}", ms.log());
    drop(c);

    // With credentials, set on the vhost; the proxy resolves "localhost".
    let msa = proxies::microsocks(Some(("bob", PASSWORD)));
    let srv = TlsServer::start(TlsOpts::new(&pki().good));
    let c = ctx_set(&format!("bob:{PASSWORD}@127.0.0.1:{}", msa.port), true);
    echo(&c, "localhost", srv.port, true);
    assert!(tunnelled("SOCKS5 proxy", msa.port), "{}", msa.log());
    drop(c);

    // socks5:// in ws_set_proxy: the name is resolved here, the proxy
    // gets the address.
    let named = Server::node_with("echo", &["--host", "localhost"]);
    let c = ctx_set(
        &format!("socks5://bob:{PASSWORD}@127.0.0.1:{}", msa.port),
        false,
    );
    echo(&c, "localhost", named.port, false);
    assert!(logged("resolving 'localhost'"));
    no_password_logged();
}

#[test]
fn socks_failures_are_named() {
    let msa = proxies::microsocks(Some(("bob", PASSWORD)));
    let c = ctx_set(&format!("bob:wrong@127.0.0.1:{}", msa.port), true);
    assert_eq!(
        fails(&c, "127.0.0.1", 7681),
        format!("socks reply fail: the SOCKS5 proxy 127.0.0.1:{} refused the credentials of user 'bob' (status 0x02; check the user name and password in ws_set_socks())", msa.port)
    );
    drop(c);

    // The target refuses the proxy's connection: reply code 0x05 in words.
    let ms = proxies::microsocks(None);
    let dead = free_port();
    let addr = CString::new(format!("127.0.0.1:{}", ms.port)).unwrap();
    let c = ctx(|i| i.socks_proxy_address = addr.as_ptr());
    assert_eq!(
        fails(&c, "127.0.0.1", dead),
        format!("socks reply fail: the SOCKS5 proxy 127.0.0.1:{} could not connect to 127.0.0.1:{dead}: 0x05 connection refused (by the target: is the server running and listening on that port?)", ms.port)
    );
}

// ---- Settings ----

#[test]
fn unusable_settings_are_refused() {
    capture();
    let addr = CString::new("u:pw@nohost").unwrap();
    assert!(
        Ctx::with_info(CtxOpts::default(), |i| {
            i.options |= WS_SERVER_OPTION_IGNORE_PROXY_ENV;
            i.http_proxy_address = addr.as_ptr();
        })
        .is_none(),
        "a proxy without a port is refused"
    );
    assert!(
        logged("ws_create_context: http_proxy needs to be ads:port: 'u:***@nohost' in http_proxy_address"),
        "{:?}",
        log_lines()
    );
    let c = ctx(|_| {});
    assert_eq!(set_on_vhost(&c, "gopher://x:1", false), -1);
    assert!(logged("ws_set_proxy: unsupported proxy scheme 'gopher://' in ws_set_proxy() ('gopher://x:1'): use http://, https://, socks5:// or socks5h://"));
    let vh = unsafe { ws_get_vhost_by_name(c.ctx, c"default".as_ptr()) };
    assert_eq!(unsafe { ws_set_socks(vh, std::ptr::null()) }, -1);
    assert!(logged("ws_set_socks: the proxy is NULL"));
}

/// The environment variables, with their precedence (this is the only
/// test here that reads them; the others ignore the environment).
#[test]
fn the_environment_and_the_option_to_ignore_it() {
    let node = Server::node("echo");
    let tp = proxies::tinyproxy(None, &[]);
    let ms = proxies::microsocks(None);
    // ws:// takes http_proxy before all_proxy; no_proxy names the exceptions.
    std::env::set_var("http_proxy", format!("127.0.0.1:{}", tp.port));
    std::env::set_var("all_proxy", format!("socks5h://127.0.0.1:{}", ms.port));
    std::env::set_var("no_proxy", "example.invalid");
    let c = ctx_opts(CtxOpts::default(), false, |_| {});
    echo(&c, "127.0.0.1", node.port, false);
    assert!(tunnelled("HTTP proxy", tp.port), "{}", tp.log());
    assert!(!tunnelled("SOCKS5 proxy", ms.port));
    drop(c);

    // wss:// takes all_proxy before http_proxy.
    let srv = TlsServer::start(TlsOpts::new(&pki().good));
    let c = ctx_opts(CtxOpts::default(), false, |_| {});
    echo(&c, "localhost", srv.port, true);
    assert!(tunnelled("SOCKS5 proxy", ms.port), "{}", ms.log());
    drop(c);

    // no_proxy: direct.
    std::env::set_var("no_proxy", "127.0.0.1");
    let node2 = Server::node("echo");
    let c = ctx_opts(CtxOpts::default(), false, |_| {});
    echo(&c, "127.0.0.1", node2.port, false);
    std::env::set_var("no_proxy", "example.invalid");
    drop(c);

    // WS_SERVER_OPTION_IGNORE_PROXY_ENV: direct.
    let node3 = Server::node("echo");
    let c = ctx(|_| {});
    echo(&c, "127.0.0.1", node3.port, false);
    drop(c);
    for p in [node2.port, node3.port] {
        assert!(
            !logged(&format!("127.0.0.1:{p}: through the")),
            "127.0.0.1:{p} went through a proxy"
        );
    }
    assert!(logged(&format!(
        "127.0.0.1:{}: through the HTTP proxy http://127.0.0.1:{} (from the environment variable http_proxy)",
        node.port, tp.port
    )));
    for v in ["http_proxy", "all_proxy", "no_proxy"] {
        std::env::remove_var(v);
    }
}

/// A listener with a backlog of 0 whose one queue slot is taken: it never
/// accepts, so the kernel drops further SYNs and a connect gets no answer.
fn black_hole() -> (Server, std::net::TcpStream) {
    let mut cmd = std::process::Command::new("python3");
    cmd.args([
        "-c",
        "import socket, sys\n\
         s = socket.socket()\n\
         s.bind(('127.0.0.1', 0))\n\
         s.listen(0)\n\
         print('listening', s.getsockname()[1], flush=True)\n\
         sys.stdin.read()\n",
    ]);
    let srv = Server::start(cmd);
    let filler = std::net::TcpStream::connect(("127.0.0.1", srv.port)).unwrap();
    (srv, filler)
}

#[test]
fn connect_timeouts_name_the_proxy_or_the_server() {
    let (hole, _filler) = black_hole();
    let addr = CString::new(format!("127.0.0.1:{}", hole.port)).unwrap();
    let c = ctx(|i| {
        i.connect_timeout_secs = 1;
        i.http_proxy_address = addr.as_ptr();
    });
    let started = std::time::Instant::now();
    assert_eq!(
        fails(&c, "127.0.0.1", 7681),
        format!("Unable to connect: no answer from the HTTP proxy 127.0.0.1:{} within 1 s (connect_timeout_secs; it comes from http_proxy_address)", hole.port)
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    drop(c);

    let c = ctx(|i| i.connect_timeout_secs = 1);
    assert_eq!(
        fails(&c, "127.0.0.1", hole.port),
        format!(
            "Unable to connect: no answer from 127.0.0.1:{} within 1 s (connect_timeout_secs)",
            hole.port
        )
    );
}
