//! The tunnel driver and every proxy failure's message, word for word.

use super::*;
use crate::error::{ConnectError, ProxyFailure::*};

fn http_proxy() -> Proxy {
    Proxy::http_setting("bob:hunter2@127.0.0.1:3128", 0, Origin::HttpProxyAddress).unwrap()
}

fn socks_proxy() -> Proxy {
    Proxy::env_setting("all_proxy", "socks5://127.0.0.1:1080").unwrap()
}

fn msg(p: &Proxy, f: ProxyFailure) -> String {
    let s = ConnectError::Proxy(p.error("echo.example:443", f)).to_string();
    assert!(!s.contains("hunter2") && !s.contains('\n'), "{s}");
    s
}

#[test]
fn http_tunnel_through_the_driver() {
    let p = http_proxy();
    let (mut t, req) = Tunnel::start(&p, "echo.example", 443, None).unwrap();
    assert!(req.starts_with(b"CONNECT echo.example:443 HTTP/1.1\r\n"));
    assert_eq!(t.waiting_for(), "the CONNECT request");
    assert_eq!(
        t.receive(b"HTTP/1.1 200 OK\r\n").unwrap(),
        Progress::NeedMore
    );
    assert_eq!(
        t.receive(b"\r\nabc").unwrap(),
        Progress::Open {
            rest: b"abc".to_vec()
        }
    );
    assert_eq!(t.hop().target, "echo.example:443");
}

#[test]
fn socks5_resolves_locally_or_not() {
    // socks5:// sends the address the dialer resolved...
    let (mut t, hello) = Tunnel::start(
        &socks_proxy(),
        "echo.example",
        443,
        Some("192.0.2.7".parse().unwrap()),
    )
    .unwrap();
    assert_eq!(hello, [5, 1, 0]);
    assert_eq!(
        t.receive(&[5, 0]).unwrap(),
        Progress::Send(vec![5, 1, 0, 1, 192, 0, 2, 7, 1, 187])
    );
    // ...socks5h:// and lws' setting send the name.
    let p = Proxy::socks_setting("127.0.0.1:1080", 0, Origin::SocksProxyAddress).unwrap();
    let (mut t, _) =
        Tunnel::start(&p, "echo.example", 443, Some("192.0.2.7".parse().unwrap())).unwrap();
    match t.receive(&[5, 0]).unwrap() {
        Progress::Send(b) => assert_eq!(&b[..5], &[5, 1, 0, 3, 12]),
        other => panic!("{other:?}"),
    }
    let e = t.receive(&[5, 2]).unwrap_err().to_string();
    assert_eq!(
        e,
        "socks reply fail: the SOCKS5 proxy 127.0.0.1:1080 could not connect to echo.example:443: 0x02 connection not allowed by ruleset (the proxy's rules do not allow this target)"
    );
}

#[test]
fn hang_ups_timeouts_and_io() {
    let p = http_proxy();
    let (mut t, _) = Tunnel::start(&p, "echo.example", 443, None).unwrap();
    assert_eq!(
        t.closed().to_string(),
        "proxy conn dead: the HTTP proxy 127.0.0.1:3128 closed the connection before answering the CONNECT request for echo.example:443"
    );
    t.receive(b"HTTP/1.1 2").unwrap();
    assert_eq!(
        t.closed().to_string(),
        "proxy conn dead: the HTTP proxy 127.0.0.1:3128 closed the connection after 10 bytes of an incomplete answer to the CONNECT request for echo.example:443"
    );
    assert_eq!(
        t.timed_out(15).to_string(),
        "Timed out waiting proxy reply: the HTTP proxy 127.0.0.1:3128 did not answer the CONNECT request for echo.example:443 within 15 s (timeout_secs)"
    );
    let reset = std::io::Error::from(std::io::ErrorKind::ConnectionReset);
    assert!(t
        .io_failed(false, &reset)
        .to_string()
        .starts_with("proxy conn dead: "));
    let other = std::io::Error::other("boom");
    assert_eq!(
        t.io_failed(true, &other).to_string(),
        "proxy write failed: HTTP proxy 127.0.0.1:3128: boom"
    );
    assert_eq!(
        t.io_failed(false, &other).to_string(),
        "proxy read err: HTTP proxy 127.0.0.1:3128: boom"
    );
    let (t, _) = Tunnel::start(&socks_proxy(), "echo.example", 443, None).unwrap();
    assert_eq!(
        t.closed().to_string(),
        "socks conn dead: the SOCKS5 proxy 127.0.0.1:1080 closed the connection before answering the SOCKS5 greeting for echo.example:443"
    );
    assert_eq!(
        t.io_failed(false, &other).to_string(),
        "socks recv fail: SOCKS5 proxy 127.0.0.1:1080: boom"
    );
    assert_eq!(
        t.io_failed(true, &other).to_string(),
        "socks write failed: SOCKS5 proxy 127.0.0.1:1080: boom"
    );
}

#[test]
fn messages_for_the_proxy_hop() {
    let p = http_proxy();
    assert_eq!(
        msg(&p, Dns { detail: "failed to lookup address information: Name or service not known".into() }),
        "DNS lookup failed: cannot resolve the HTTP proxy '127.0.0.1:3128': failed to lookup address information: Name or service not known (check http_proxy_address)"
    );
    assert_eq!(
        msg(&p, Refused),
        "Unable to connect: connection refused by the HTTP proxy 127.0.0.1:3128 (is the proxy running and listening on that port? it comes from http_proxy_address)"
    );
    assert_eq!(
        msg(&p, Unreachable { detail: "Network is unreachable (os error 101)".into() }),
        "Unable to connect: HTTP proxy 127.0.0.1:3128: Network is unreachable (os error 101) (it comes from http_proxy_address)"
    );
    let https = Proxy::env_setting("https_proxy", "https://proxy.corp").unwrap();
    assert_eq!(
        msg(&https, ConnectTimeout { secs: 20 }),
        "Unable to connect: no answer from the HTTPS proxy proxy.corp:443 within 20 s (connect_timeout_secs; it comes from the environment variable https_proxy)"
    );
}

#[test]
fn messages_for_connect_answers() {
    let p = http_proxy();
    assert_eq!(
        msg(&p, Status { status: 403, status_line: "HTTP/1.1 403 Forbidden".into() }),
        "http_proxy -> 403: the HTTP proxy 127.0.0.1:3128 refused the tunnel to echo.example:443: 'HTTP/1.1 403 Forbidden' (the proxy's rules do not allow a tunnel to this target or port)"
    );
    assert_eq!(
        msg(&p, Status { status: 502, status_line: "HTTP/1.1 502 Bad Gateway".into() }),
        "http_proxy -> 502: the HTTP proxy 127.0.0.1:3128 refused the tunnel to echo.example:443: 'HTTP/1.1 502 Bad Gateway' (the proxy could not reach the target: is the server running and listening on that port?)"
    );
    assert_eq!(
        msg(&p, Status { status: 418, status_line: "HTTP/1.1 418 I'm a teapot".into() }),
        "http_proxy -> 418: the HTTP proxy 127.0.0.1:3128 refused the tunnel to echo.example:443: 'HTTP/1.1 418 I'm a teapot'"
    );
    let status_line = "HTTP/1.1 407 Proxy Authentication Required".to_string();
    assert_eq!(
        msg(&p, AuthRequired { status: 407, status_line: status_line.clone(), realm: Some("tinyproxy".into()), schemes: vec!["Basic".into()], sent_user: None }),
        "http_proxy -> 407: the HTTP proxy 127.0.0.1:3128 answered 'HTTP/1.1 407 Proxy Authentication Required' (realm \"tinyproxy\") to the CONNECT request for echo.example:443; no credentials were sent (give them as user:password@ before the host in http_proxy_address)"
    );
    assert_eq!(
        msg(&p, AuthRequired { status: 407, status_line: status_line.clone(), realm: None, schemes: vec!["Negotiate".into()], sent_user: Some("bob".into()) }),
        "http_proxy -> 407: the HTTP proxy 127.0.0.1:3128 answered 'HTTP/1.1 407 Proxy Authentication Required' to the CONNECT request for echo.example:443; the credentials of user 'bob' were refused (check the user name and password in http_proxy_address); it asks for Negotiate, and only Basic is supported"
    );
    assert_eq!(
        msg(&p, NotHttp { start: "SSH-2.0-OpenSSH_9.2\\r".into() }),
        "http_proxy fail: the HTTP proxy 127.0.0.1:3128 answered the CONNECT request for echo.example:443 with something that is not HTTP: 'SSH-2.0-OpenSSH_9.2\\r' (is it an HTTP proxy? a SOCKS5 proxy needs socks5:// or socks_proxy_address)"
    );
    assert_eq!(
        msg(&p, HeadTooLarge { limit: 16384 }),
        "http_proxy fail: the HTTP proxy 127.0.0.1:3128 answered the CONNECT request for echo.example:443 with more than 16384 bytes of headers"
    );
}

#[test]
fn messages_for_socks_answers() {
    let p = socks_proxy();
    let head =
        "socks reply fail: the SOCKS5 proxy 127.0.0.1:1080 could not connect to echo.example:443: ";
    for (code, words) in [
        (5, "0x05 connection refused (by the target: is the server running and listening on that port?)"),
        (1, "0x01 general SOCKS server failure"),
        (4, "0x04 host unreachable (the proxy has no route to the target)"),
        (8, "0x08 address type not supported (socks5h:// lets the proxy resolve the name, socks5:// resolves it here)"),
        (0x42, "0x42 unassigned reply code"),
    ] {
        assert_eq!(msg(&p, SocksReply { code }), format!("{head}{words}"));
    }
    assert_eq!(
        msg(&p, SocksNoMethod { offered_auth: false }),
        "socks reply fail: the SOCKS5 proxy 127.0.0.1:1080 requires authentication and no credentials were given (give them as user:password@ before the host in the environment variable all_proxy)"
    );
    assert_eq!(
        msg(&p, SocksNoMethod { offered_auth: true }),
        "socks reply fail: the SOCKS5 proxy 127.0.0.1:1080 accepts neither no authentication nor username/password, the only methods supported"
    );
    let s = Proxy::socks_setting("bob:hunter2@127.0.0.1:1080", 0, Origin::SetSocks).unwrap();
    assert_eq!(
        msg(&s, SocksAuthRefused { user: "bob".into(), status: 1 }),
        "socks reply fail: the SOCKS5 proxy 127.0.0.1:1080 refused the credentials of user 'bob' (status 0x01; check the user name and password in ws_set_socks())"
    );
    assert_eq!(
        msg(&p, NotSocks { waiting_for: "the SOCKS5 greeting", detail: "version byte 0x48 where 0x05 belongs".into() }),
        "socks reply fail: the SOCKS5 proxy 127.0.0.1:1080 answered the SOCKS5 greeting for echo.example:443 with something that is not SOCKS5: version byte 0x48 where 0x05 belongs (is it a SOCKS5 proxy? an HTTP proxy needs http:// or http_proxy_address)"
    );
    assert_eq!(
        msg(&p, SocksTooLong { what: "target host name", len: 300 }),
        "socks gen msg fail: the target host name is 300 bytes, and SOCKS5 carries at most 255 (target echo.example:443, SOCKS5 proxy 127.0.0.1:1080)"
    );
}
