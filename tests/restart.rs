//! Starting a connection's dial again on the same handle: redirects of the
//! upgrade request (as lws follows them) and reconnecting by itself
//! (`WS_CONNECT_RECONNECT`), against a Node server that redirects, drops
//! connections and stops listening for a while.

mod common;

use std::cell::RefCell;
use std::ffi::{c_int, CString};
use std::rc::Rc;
use std::time::{Duration, Instant};

use common::tls::pki;
use common::*;
use wsloop::ffi::*;

use ws_callback_reasons::*;

const LIMIT: Duration = Duration::from_secs(20);

fn count(c: &Ctx, r: ws_callback_reasons) -> usize {
    c.events(r).len()
}

/// A port nothing listens on.
fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn connect_path(
    c: &Ctx,
    port: u16,
    path: &str,
    f: impl FnOnce(&mut ws_client_connect_info),
) -> *mut ws {
    let p = CString::new(path).unwrap();
    c.connect("127.0.0.1", port, None, |ci| {
        ci.path = p.as_ptr();
        f(ci)
    })
}

/// The good certificate and its key as files for the Node server, written
/// once per test binary (tests run in parallel).
fn tls_files() -> &'static (String, String) {
    static FILES: std::sync::OnceLock<(String, String)> = std::sync::OnceLock::new();
    FILES.get_or_init(|| {
        let pki = pki();
        (
            pki.file("restart-cert.pem", &pki.good.cert_pem),
            pki.file("restart-key.pem", &pki.good.key_pem),
        )
    })
}

// ---- redirects ----

#[test]
fn a_redirect_chain_is_followed_across_ports_and_host_names() {
    let b = Server::restart(&["--rule", "/third=308:/final"]);
    let to_b = format!("/second=302:ws://localhost:{}/third", b.port);
    let a = Server::restart(&["--rule", "/start?x=1=301:second", "--rule", &to_b]);
    let c = Ctx::new(CtxOpts::default());
    let wsi = connect_path(&c, a.port, "/start?x=1", |_| {});
    c.service_until(LIMIT, |e| {
        e.iter()
            .any(|e| e.reason == WS_CALLBACK_CLIENT_RECEIVE as i32)
    });
    let redirects: Vec<(String, usize)> = c
        .events(WS_CALLBACK_CLIENT_HTTP_REDIRECT)
        .iter()
        .map(|e| (e.text(), e.remaining))
        .collect();
    assert_eq!(
        redirects,
        [
            ("second".to_string(), 301),
            (format!("ws://localhost:{}/third", b.port), 302),
            ("/final".to_string(), 308),
        ]
    );
    let rx = c.events(WS_CALLBACK_CLIENT_RECEIVE);
    assert_eq!(rx[0].text(), format!("at /final host localhost:{}", b.port));
    assert_eq!(
        count(&c, WS_CALLBACK_WSI_CREATE),
        1,
        "one connection, one handle"
    );
    assert_eq!(count(&c, WS_CALLBACK_CLIENT_ESTABLISHED), 1);
    assert!(rx.iter().all(|e| e.wsi == wsi as usize));
    // The connection works: an echo comes back.
    assert_eq!(send(wsi, 0, b"after three hops"), 16);
    c.service_until(LIMIT, |e| {
        e.iter()
            .filter(|e| e.reason == WS_CALLBACK_CLIENT_RECEIVE as i32)
            .count()
            == 2
    });
    assert_eq!(
        c.events(WS_CALLBACK_CLIENT_RECEIVE)[1].text(),
        "after three hops"
    );
}

#[test]
fn the_application_can_refuse_a_redirect() {
    let a = Server::restart(&["--rule", "/=303:/elsewhere"]);
    let c = Ctx::new(CtxOpts::default());
    c.hook(|_, r, _, _| (r == WS_CALLBACK_CLIENT_HTTP_REDIRECT as i32).then_some(1));
    connect_path(&c, a.port, "/", |_| {});
    assert_eq!(
        c.connection_error(LIMIT),
        format!("HS: user code rejected redirect: CLIENT_HTTP_REDIRECT returned non-zero for the 303 from ws://127.0.0.1:{}/ to '/elsewhere'", a.port)
    );
}

#[test]
fn no_follow_redirect_fails_as_any_non_101_answer() {
    let a = Server::restart(&["--rule", "/=302:/elsewhere"]);
    let c = Ctx::new(CtxOpts::default());
    connect_path(&c, a.port, "/", |ci| {
        ci.ssl_connection = WS_LCCSCF_HTTP_NO_FOLLOW_REDIRECT
    });
    let e = c.connection_error(LIMIT);
    assert!(e.starts_with("HS: ws upgrade response not 101"), "{e}");
    assert!(!c.has(WS_CALLBACK_CLIENT_HTTP_REDIRECT));
}

#[test]
fn a_redirect_without_location_is_named() {
    let a = Server::restart(&["--rule", "/=307:"]);
    let c = Ctx::new(CtxOpts::default());
    connect_path(&c, a.port, "/", |_| {});
    assert_eq!(
        c.connection_error(LIMIT),
        format!("HS: Redirect code but no Location: ws://127.0.0.1:{}/ answered 307 without a Location header", a.port)
    );
}

#[test]
fn the_hop_limit_names_the_chain() {
    let rules: Vec<String> = (0..6).map(|i| format!("/{i}=302:/{}", i + 1)).collect();
    let mut args = Vec::new();
    for r in &rules {
        args.extend(["--rule", r.as_str()]);
    }
    let a = Server::restart(&args);
    let c = Ctx::new(CtxOpts::default());
    connect_path(&c, a.port, "/0", |_| {});
    let chain: Vec<String> = (0..=5)
        .map(|i| format!("ws://127.0.0.1:{}/{i}", a.port))
        .collect();
    assert_eq!(
        c.connection_error(LIMIT),
        format!(
            "HS: Redirect failed: more than 4 redirects: {} (does the server redirect in a loop?)",
            chain.join(" -> ")
        )
    );
    assert_eq!(count(&c, WS_CALLBACK_CLIENT_HTTP_REDIRECT), 5);
}

#[test]
fn wss_is_not_redirected_to_ws() {
    let pki = pki();
    let (cert, key) = tls_files();
    let plain = Server::restart(&[]);
    let to_plain = format!("/=302:ws://127.0.0.1:{}/", plain.port);
    let a = Server::restart(&["--tls-cert", cert, "--tls-key", key, "--rule", &to_plain]);
    let ca = CString::new(pki.dir.join("ca.pem").to_string_lossy().as_ref()).unwrap();
    let c = Ctx::with_info(CtxOpts::default(), |i| {
        i.client_ssl_ca_filepath = ca.as_ptr()
    })
    .unwrap();
    connect_path(&c, a.port, "/", |ci| ci.ssl_connection = WS_LCCSCF_USE_SSL);
    assert_eq!(
        c.connection_error(LIMIT),
        format!(
            "HS: Redirect attempted SSL downgrade: wss://127.0.0.1:{}/ redirected to ws://127.0.0.1:{}/; refusing to leave TLS (the server should redirect to wss://)",
            a.port, plain.port
        )
    );
}

// ---- reconnecting ----

/// A retry policy; the table lives as long as the box.
struct Policy {
    _table: Vec<u32>,
    bo: Box<ws_retry_bo_t>,
}

fn policy(table: &[u32], conceal_count: u16, jitter_percent: u8) -> Policy {
    let table = table.to_vec();
    let bo = Box::new(ws_retry_bo_t {
        retry_ms_table: table.as_ptr(),
        retry_ms_table_count: table.len() as u16,
        conceal_count,
        secs_since_valid_ping: 0,
        secs_since_valid_hangup: 0,
        jitter_percent,
    });
    Policy { _table: table, bo }
}

/// Every callback of the connection with when it came, and what
/// `ws_reconnect_state` and a write said during CLIENT_RECONNECTING.
#[derive(Default)]
struct Timeline {
    events: Vec<(Instant, i32)>,
    /// (delay_ms, attempt, ws_write's result) per CLIENT_RECONNECTING.
    reconnecting: Vec<(u32, u16, c_int)>,
    /// The user pointer seen at each CLIENT_ESTABLISHED, and the marker in it.
    established_user: Vec<(usize, u64)>,
}

fn record_timeline(c: &Ctx) -> Rc<RefCell<Timeline>> {
    let t = Rc::new(RefCell::new(Timeline::default()));
    let t2 = t.clone();
    c.hook(move |wsi, r, _, _| {
        let mut t = t2.borrow_mut();
        t.events.push((Instant::now(), r));
        if r == WS_CALLBACK_CLIENT_RECONNECTING as i32 {
            let (mut ms, mut k) = (0u32, 0u16);
            assert_eq!(unsafe { ws_reconnect_state(wsi, &mut ms, &mut k) }, 1);
            let w = send(wsi, 0, b"while down");
            t.reconnecting.push((ms, k, w));
        }
        if r == WS_CALLBACK_CLIENT_ESTABLISHED as i32 {
            assert_eq!(
                unsafe { ws_reconnect_state(wsi, std::ptr::null_mut(), std::ptr::null_mut()) },
                0
            );
            let user = unsafe { ws_wsi_user(wsi) } as *mut u64;
            let marker = unsafe { *user };
            t.established_user.push((user as usize, marker));
            unsafe { *user = 0x5eed_0000 + t.established_user.len() as u64 };
        }
        None
    });
    t
}

#[test]
fn reconnects_through_drops_and_refusals_with_the_policy_delays() {
    capture_log(WS_LLL_ERR | WS_LLL_WARN | WS_LLL_NOTICE);
    let srv = Server::restart(&["--drops", "2", "--refuse-ms", "700"]);
    let c = Ctx::new(CtxOpts::default());
    let t = record_timeline(&c);
    let p = policy(&[100, 200, 300], 30, 10);
    let wsi = c.connect("127.0.0.1", srv.port, None, |ci| {
        ci.wsloop_flags = WS_CONNECT_RECONNECT;
        ci.retry_and_idle_policy = &*p.bo;
    });
    c.service_until(LIMIT, |e| {
        e.iter()
            .any(|e| e.reason == WS_CALLBACK_CLIENT_RECEIVE as i32)
    });
    assert_eq!(
        c.events(WS_CALLBACK_CLIENT_RECEIVE)[0].text(),
        "at / host 127.0.0.1:".to_string() + &srv.port.to_string()
    );
    assert_eq!(count(&c, WS_CALLBACK_WSI_CREATE), 1);
    assert_eq!(count(&c, WS_CALLBACK_CLIENT_ESTABLISHED), 3);
    assert_eq!(count(&c, WS_CALLBACK_CLIENT_RECONNECTED), 2);
    assert!(!c.has(WS_CALLBACK_CLIENT_CONNECTION_ERROR) && !c.has(WS_CALLBACK_CLIENT_CLOSED));
    assert!(c
        .events(WS_CALLBACK_CLIENT_RECEIVE)
        .iter()
        .all(|e| e.wsi == wsi as usize));

    // The causes, in order: two drops, then refusals until the server listens again.
    let causes: Vec<String> = c
        .events(WS_CALLBACK_CLIENT_RECONNECTING)
        .iter()
        .map(Ev::text)
        .collect();
    let dropped = format!(
        "the connection to 127.0.0.1:{}/ was lost without a close frame (1006)",
        srv.port
    );
    let refused = format!(
        "Unable to connect: connection refused by 127.0.0.1:{}",
        srv.port
    );
    assert_eq!(causes[0], dropped);
    assert_eq!(causes[1], dropped);
    assert!(
        causes.len() >= 4,
        "700 ms of refusals take several attempts: {causes:?}"
    );
    assert!(
        causes[2..].iter().all(|c| c.starts_with(&refused)),
        "{causes:?}"
    );
    assert!(c
        .events(WS_CALLBACK_CLIENT_RECONNECTING)
        .iter()
        .all(|e| e.nul_after));
    assert_eq!(
        c.events(WS_CALLBACK_CLIENT_RECONNECTED)[1].text(),
        *causes.last().unwrap()
    );

    let t = t.borrow();
    // Attempts count from 1 after each established connection, and the
    // delays follow the table (the last entry repeating) plus up to 10 %.
    let attempts: Vec<u16> = t.reconnecting.iter().map(|r| r.1).collect();
    let expect: Vec<u16> = std::iter::once(1)
        .chain(1..=(attempts.len() as u16 - 1))
        .collect();
    assert_eq!(attempts, expect);
    for &(ms, k, w) in &t.reconnecting {
        let base = [100, 200, 300][(k as usize - 1).min(2)];
        assert!(
            (base..=base + base / 10).contains(&ms),
            "attempt {k}: {ms} ms"
        );
        assert_eq!(
            w, WS_WRITE_RECONNECTING,
            "a write while down is refused, not queued"
        );
    }
    assert!(logged(
        "is down and reconnecting (attempt 1): the message was not sent"
    ));
    // The wait before each attempt is the delay announced, within the
    // loop's timer accuracy: from CLIENT_RECONNECTING to the attempt's
    // first sign (its next CLIENT_RECONNECTING when refused, its
    // CLIENT_APPEND_HANDSHAKE_HEADER when TCP is up).
    let mut waits = t.reconnecting.iter();
    for (i, &(at, r)) in t.events.iter().enumerate() {
        if r != WS_CALLBACK_CLIENT_RECONNECTING as i32 {
            continue;
        }
        let (ms, k, _) = *waits.next().unwrap();
        let next = t.events[i + 1..]
            .iter()
            .find(|e| {
                e.1 == WS_CALLBACK_CLIENT_RECONNECTING as i32
                    || e.1 == WS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER as i32
            })
            .unwrap();
        let waited = next.0 - at;
        let want = Duration::from_millis(ms.into());
        assert!(
            waited >= want && waited < want + Duration::from_millis(400),
            "attempt {k}: announced {ms} ms, waited {waited:?}"
        );
    }
    // The same user data (the library's per-session memory here) every time.
    let users: Vec<usize> = t.established_user.iter().map(|u| u.0).collect();
    assert!(users.iter().all(|u| *u == users[0]));
    let markers: Vec<u64> = t.established_user.iter().map(|u| u.1).collect();
    assert_eq!(
        markers,
        [0, 0x5eed_0001, 0x5eed_0002],
        "what the application wrote there survives"
    );
}

#[test]
fn when_the_policy_gives_up_the_final_connection_error_comes_once() {
    let port = closed_port();
    let c = Ctx::new(CtxOpts::default());
    let p = policy(&[50], 3, 0);
    let mut handle: *mut ws = std::ptr::null_mut();
    let wsi = c.connect("127.0.0.1", port, None, |ci| {
        ci.wsloop_flags = WS_CONNECT_RECONNECT;
        ci.retry_and_idle_policy = &*p.bo;
        ci.pwsi = &mut handle;
    });
    assert_eq!(handle, wsi);
    let e = c.connection_error(LIMIT);
    assert!(
        e.starts_with(&format!(
            "Unable to connect: connection refused by 127.0.0.1:{port}"
        )),
        "{e}"
    );
    assert_eq!(
        count(&c, WS_CALLBACK_CLIENT_RECONNECTING),
        3,
        "conceal_count attempts"
    );
    assert_eq!(count(&c, WS_CALLBACK_WSI_DESTROY), 1);
    assert!(
        handle.is_null(),
        "pwsi is cleared with the final error, as without reconnecting"
    );
}

#[test]
fn the_application_close_and_final_codes_end_it_without_retry() {
    // The application closes: CLIENT_CLOSED, no retry.
    let srv = Server::node("echo");
    let c = Ctx::new(CtxOpts::default());
    let p = policy(&[50], 10, 0);
    c.hook(|_, r, _, _| (r == WS_CALLBACK_CLIENT_ESTABLISHED as i32).then_some(-1));
    c.connect("127.0.0.1", srv.port, None, |ci| {
        ci.wsloop_flags = WS_CONNECT_RECONNECT;
        ci.retry_and_idle_policy = &*p.bo;
    });
    c.service_until(LIMIT, |e| {
        e.iter().any(|e| e.reason == WS_CALLBACK_WSI_DESTROY as i32)
    });
    assert!(!c.has(WS_CALLBACK_CLIENT_RECONNECTING));

    // The server closes with 4001: reconnect. Then with 4000, marked final: closed.
    let c = Ctx::new(CtxOpts::default());
    let sent = Rc::new(RefCell::new(0));
    let s2 = sent.clone();
    let stats = Rc::new(RefCell::new(Vec::new()));
    let st2 = stats.clone();
    c.hook(move |wsi, r, _, _| {
        if r == WS_CALLBACK_CLIENT_ESTABLISHED as i32 {
            assert_eq!(unsafe { ws_reconnect_final_code(wsi, 4000) }, 0);
            let mut n = s2.borrow_mut();
            *n += 1;
            let cmd = if *n == 1 {
                "close:4001:later"
            } else {
                "close:4000:go away"
            };
            send(wsi, 0, cmd.as_bytes());
            let mut s = ws_conn_stats {
                size: std::mem::size_of::<ws_conn_stats>(),
                ..Default::default()
            };
            assert_eq!(unsafe { ws_get_conn_stats(wsi, &mut s) }, 0);
            st2.borrow_mut().push((s.tx_messages, s.rx_frames));
        }
        None
    });
    c.connect("127.0.0.1", srv.port, None, |ci| {
        ci.wsloop_flags = WS_CONNECT_RECONNECT;
        ci.retry_and_idle_policy = &*p.bo;
    });
    c.service_until(LIMIT, |e| {
        e.iter().any(|e| e.reason == WS_CALLBACK_WSI_DESTROY as i32)
    });
    let causes: Vec<String> = c
        .events(WS_CALLBACK_CLIENT_RECONNECTING)
        .iter()
        .map(Ev::text)
        .collect();
    assert_eq!(
        causes,
        [format!(
            "127.0.0.1:{}/ closed the connection with 4001 'later'",
            srv.port
        )]
    );
    assert_eq!(count(&c, WS_CALLBACK_CLIENT_ESTABLISHED), 2);
    assert_eq!(count(&c, WS_CALLBACK_CLIENT_CLOSED), 1);
    assert!(!c.has(WS_CALLBACK_CLIENT_CONNECTION_ERROR));
    // The statistics cover both attempts: the first attempt's message and
    // the server's Close frame are still counted during the second.
    assert_eq!(*stats.borrow(), [(1, 0), (2, 1)]);
}

#[test]
fn a_context_destroyed_during_the_backoff_closes_once() {
    let srv = Server::restart(&["--drops", "1"]);
    let mut c = Ctx::new(CtxOpts::default());
    let p = policy(&[10_000], 5, 0);
    c.connect("127.0.0.1", srv.port, None, |ci| {
        ci.wsloop_flags = WS_CONNECT_RECONNECT;
        ci.retry_and_idle_policy = &*p.bo;
    });
    c.service_until(LIMIT, |e| {
        e.iter()
            .any(|e| e.reason == WS_CALLBACK_CLIENT_RECONNECTING as i32)
    });
    for _ in 0..3 {
        assert_eq!(unsafe { ws_service(c.ctx, 10) }, 0);
    }
    unsafe { ws_context_destroy(c.ctx) };
    c.ctx = std::ptr::null_mut();
    let closing =
        count(&c, WS_CALLBACK_CLIENT_CONNECTION_ERROR) + count(&c, WS_CALLBACK_CLIENT_CLOSED);
    assert_eq!(closing, 1, "events: {:?}", c.reasons());
    assert_eq!(count(&c, WS_CALLBACK_WSI_DESTROY), 1);
    // The attempt waiting for its turn was never established.
    assert_eq!(
        c.events(WS_CALLBACK_CLIENT_CONNECTION_ERROR)[0].text(),
        "Closed before conn: the context was destroyed"
    );
}

#[test]
fn wss_follows_a_redirect_to_another_host_name_over_tls() {
    let pki = pki();
    let (cert, key) = tls_files();
    let tls = ["--tls-cert", cert.as_str(), "--tls-key", key.as_str()];
    let b = Server::restart(&tls);
    let to_b = format!("/=307:wss://localhost:{}/b", b.port);
    let a = Server::restart(&[&tls[..], &["--rule", &to_b]].concat());
    let ca = CString::new(pki.dir.join("ca.pem").to_string_lossy().as_ref()).unwrap();
    let c = Ctx::with_info(CtxOpts::default(), |i| {
        i.client_ssl_ca_filepath = ca.as_ptr()
    })
    .unwrap();
    connect_path(&c, a.port, "/", |ci| ci.ssl_connection = WS_LCCSCF_USE_SSL);
    c.service_until(LIMIT, |e| {
        e.iter().any(|e| {
            e.reason == WS_CALLBACK_CLIENT_RECEIVE as i32
                || e.reason == WS_CALLBACK_WSI_DESTROY as i32
        })
    });
    assert_eq!(
        c.events(WS_CALLBACK_CLIENT_RECEIVE)[0].text(),
        format!("at /b host localhost:{}", b.port)
    );
}
