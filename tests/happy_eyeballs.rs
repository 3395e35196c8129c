//! Happy Eyeballs (RFC 8305) on loopback, with a name that resolves to ::1
//! and 127.0.0.1. The name comes from a hosts file that nss_wrapper (the
//! Debian package libnss-wrapper) gives the system resolver, so each test
//! runs in a child process of this binary with the wrapper preloaded.
//!
//! An unanswered SYN on loopback: a listening socket with a backlog of 0
//! that never accepts holds one connection in its queue and drops every
//! later SYN, as a black-holed route would. An answered one completes
//! inside connect(): the connection goes on from there at once.

mod common;

use std::net::TcpListener;
use std::os::fd::AsRawFd;
use std::process::Command;
use std::time::{Duration, Instant};

use common::*;
use wsloop::ffi::ws_callback_reasons::*;
use wsloop::ffi::ws_service;

const NAME: &str = "two-families.wsloop.test";
const CHILD: &str = "WSLOOP_HAPPY_EYEBALLS_CHILD";

/// Runs `test` (this file's test of that name) again in a child process
/// whose resolver knows NAME; true in the child, which then runs the body.
fn in_child(test: &str) -> bool {
    if std::env::var_os(CHILD).is_some() {
        return true;
    }
    let lib = [
        "/usr/lib/x86_64-linux-gnu",
        "/usr/lib/aarch64-linux-gnu",
        "/usr/lib",
    ]
    .iter()
    .map(|d| format!("{d}/libnss_wrapper.so"))
    .find(|p| std::path::Path::new(p).exists())
    .expect("libnss_wrapper.so is missing: scripts/setup installs libnss-wrapper");
    let hosts = std::env::temp_dir().join(format!("wsloop-he-hosts-{}-{test}", std::process::id()));
    std::fs::write(&hosts, format!("::1 {NAME}\n127.0.0.1 {NAME}\n")).unwrap();
    let out = Command::new(std::env::current_exe().unwrap())
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD, "1")
        .env("LD_PRELOAD", &lib)
        .env("NSS_WRAPPER_HOSTS", &hosts)
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&hosts);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{test} failed in its child:\n{text}");
    assert!(text.contains("1 passed"), "{test} did not run:\n{text}");
    false
}

/// A listener on [::1]:port that answers no SYN: backlog 0, its one queue
/// place taken by a connection nobody accepts. Kept alive with its filler.
struct BlackHole {
    _listener: TcpListener,
    _filler: syn::Pending,
}

mod syn {
    use std::net::SocketAddr;
    use std::os::fd::{FromRawFd, OwnedFd};

    /// A non-blocking connect left as it is.
    pub struct Pending {
        _fd: OwnedFd,
    }

    pub fn connect(addr: SocketAddr) -> Pending {
        let SocketAddr::V6(a) = addr else {
            panic!("IPv6 only")
        };
        unsafe {
            let fd = libc::socket(
                libc::AF_INET6,
                libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
                0,
            );
            assert!(fd >= 0);
            let mut sa: libc::sockaddr_in6 = std::mem::zeroed();
            sa.sin6_family = libc::AF_INET6 as libc::sa_family_t;
            sa.sin6_port = a.port().to_be();
            sa.sin6_addr.s6_addr = a.ip().octets();
            libc::connect(
                fd,
                &sa as *const libc::sockaddr_in6 as *const libc::sockaddr,
                std::mem::size_of::<libc::sockaddr_in6>() as libc::socklen_t,
            );
            Pending {
                _fd: OwnedFd::from_raw_fd(fd),
            }
        }
    }
}

impl BlackHole {
    fn on(port: u16) -> Option<BlackHole> {
        let l = TcpListener::bind(("::1", port)).ok()?;
        assert_eq!(unsafe { libc::listen(l.as_raw_fd(), 0) }, 0);
        let filler = syn::connect(l.local_addr().unwrap());
        // The filler's handshake completes at once on loopback.
        std::thread::sleep(Duration::from_millis(50));
        Some(BlackHole {
            _listener: l,
            _filler: filler,
        })
    }
}

/// A Node echo server on 127.0.0.1 whose port is free on ::1 too, with a
/// black hole there.
fn live_v4_black_v6() -> (Server, BlackHole) {
    for _ in 0..20 {
        let s = Server::node("echo");
        if let Some(h) = BlackHole::on(s.port) {
            return (s, h);
        }
    }
    panic!("no port free on both 127.0.0.1 and ::1 after 20 tries");
}

fn established_in(c: &Ctx, limit: Duration) -> Duration {
    let t0 = Instant::now();
    c.service_until(limit, |e| {
        e.iter().any(|e| {
            e.reason == WS_CALLBACK_CLIENT_ESTABLISHED as i32
                || e.reason == WS_CALLBACK_CLIENT_CONNECTION_ERROR as i32
        })
    });
    assert!(
        c.has(WS_CALLBACK_CLIENT_ESTABLISHED),
        "established; events {:?}, error {:?}",
        c.reasons(),
        c.events(WS_CALLBACK_CLIENT_CONNECTION_ERROR)
            .first()
            .map(Ev::text)
    );
    t0.elapsed()
}

#[test]
fn a_black_holed_ipv6_address_costs_250_ms_not_the_connect_timeout() {
    if !in_child("a_black_holed_ipv6_address_costs_250_ms_not_the_connect_timeout") {
        return;
    }
    capture_log(wsloop::ffi::WS_LLL_ERR | wsloop::ffi::WS_LLL_INFO);
    let (server, _hole) = live_v4_black_v6();
    let c = Ctx::with_info(CtxOpts::default(), |i| i.connect_timeout_secs = 10).unwrap();
    c.connect(NAME, server.port, None, |_| {});
    let took = established_in(&c, SECS10);
    println!("established through 127.0.0.1 after {took:?}");
    assert!(
        took >= Duration::from_millis(240) && took < Duration::from_millis(2000),
        "IPv6 first, IPv4 250 ms later: took {took:?}"
    );
    let port = server.port;
    let lines = log_lines();
    let at = |needle: &str| lines.iter().position(|l| l.contains(needle));
    let v6 = at(&format!("connecting to [::1]:{port}")).expect("::1 tried");
    let v4 = at(&format!("connecting to 127.0.0.1:{port}")).expect("127.0.0.1 tried");
    assert!(v6 < v4, "IPv6 first: {lines:?}");
    assert!(
        at(&format!("[::1]:{port} lost the race; closed")).is_some(),
        "the pending IPv6 attempt is closed: {lines:?}"
    );
    // The loser got no callback: one connection, one WSI_CREATE.
    assert_eq!(c.events(WS_CALLBACK_WSI_CREATE).len(), 1);
}

#[test]
fn a_refused_ipv6_address_moves_on_at_once() {
    if !in_child("a_refused_ipv6_address_moves_on_at_once") {
        return;
    }
    // Nothing listens on [::1]:port: refused, so 127.0.0.1 is tried at once.
    let server = Server::node("echo");
    let c = Ctx::with_info(CtxOpts::default(), |i| i.connect_timeout_secs = 10).unwrap();
    c.connect(NAME, server.port, None, |_| {});
    let took = established_in(&c, SECS10);
    assert!(took < Duration::from_millis(200), "took {took:?}");
}

#[test]
fn when_every_address_is_silent_the_error_names_each() {
    if !in_child("when_every_address_is_silent_the_error_names_each") {
        return;
    }
    // Both black-holed: the IPv4 one too (its own backlog-0 listener).
    let (port, _v6, _v4) = loop {
        let v4 = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = v4.local_addr().unwrap().port();
        if let Some(h) = BlackHole::on(port) {
            assert_eq!(unsafe { libc::listen(v4.as_raw_fd(), 0) }, 0);
            let filler = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
            break (port, h, (v4, filler));
        }
    };
    let c = Ctx::with_info(CtxOpts::default(), |i| i.connect_timeout_secs = 1).unwrap();
    let t0 = Instant::now();
    c.connect(NAME, port, None, |_| {});
    let msg = c.connection_error(SECS5);
    let took = t0.elapsed();
    assert_eq!(
        msg,
        format!(
            "Unable to connect: no address of {NAME}:{port} took the connection: [::1]:{port}: no answer within 1 s; 127.0.0.1:{port}: no answer within 1 s (is the server running and listening on that port?)"
        )
    );
    assert!(
        took < Duration::from_millis(1900),
        "connect_timeout_secs bounds the race: {took:?}"
    );
}

#[test]
fn when_every_address_refuses_the_error_names_each() {
    if !in_child("when_every_address_refuses_the_error_names_each") {
        return;
    }
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let c = Ctx::new(CtxOpts::default());
    c.connect(NAME, port, None, |_| {});
    let msg = c.connection_error(SECS5);
    assert_eq!(
        msg,
        format!(
            "Unable to connect: no address of {NAME}:{port} took the connection: [::1]:{port}: connection refused; 127.0.0.1:{port}: connection refused (is the server running and listening on that port?)"
        )
    );
}

/// Over loopback the kernel completes the TCP handshake inside connect():
/// the upgrade request leaves in the same `ws_service()` call that makes
/// the connection, right after WSI_CREATE, not after another poll. (The
/// kernel may rarely put off its loopback work under load: a few tries.)
#[test]
fn the_request_leaves_with_the_connect_when_tcp_is_up_at_once() {
    for _ in 0..5 {
        let (tx, rx) = std::sync::mpsc::channel();
        let port = raw_server(move |mut s| {
            let _ = tx.send(read_request(&mut s));
        });
        let c = Ctx::new(CtxOpts::default());
        assert!(!c.connect("127.0.0.1", port, None, |_| {}).is_null());
        // The first iteration runs the deferred connect.
        assert_eq!(unsafe { ws_service(c.ctx, 0) }, 0);
        let sent = c.reasons().ends_with(
            &[
                WS_CALLBACK_WSI_CREATE,
                WS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER,
            ]
            .map(|r| r as i32),
        );
        if sent {
            let key = rx.recv_timeout(SECS10).expect("the request arrived");
            assert_eq!(key.len(), 24, "a Sec-WebSocket-Key");
            return;
        }
    }
    panic!("in 5 tries the upgrade request never left in the ws_service() call that connected");
}
