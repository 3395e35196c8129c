//! 1,000 connections at once through one SOCKS5 proxy (microsocks) to the
//! Node echo server: every connection comes up, each echoes its own
//! message once, nothing is lost, all within a bounded time.

mod common;

use std::collections::HashMap;
use std::ffi::{c_int, CString};
use std::time::{Duration, Instant};

use common::proxies;
use common::*;
use wsloop::ffi::ws_callback_reasons::*;
use wsloop::ffi::*;

const TEXT: c_int = ws_write_protocol::WS_WRITE_TEXT as c_int;

fn open_files_limit() -> usize {
    std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("Max open files"))
                .and_then(|l| l.split_whitespace().nth(3).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(1024)
}

#[test]
fn a_thousand_connections_through_one_proxy_each_echo() {
    let n = 1000.min(open_files_limit().saturating_sub(100));
    if n < 1000 {
        eprintln!("open files limited: {n} connections instead of 1000");
    }
    let srv = Server::node("echo");
    let proxy = proxies::microsocks(None);
    let host = CString::new("127.0.0.1").unwrap();
    let c = Ctx::with_info(CtxOpts::default(), |i| {
        i.options |= WS_SERVER_OPTION_IGNORE_PROXY_ENV;
        i.socks_proxy_address = host.as_ptr();
        i.socks_proxy_port = proxy.port as _;
        i.connect_timeout_secs = 60;
        i.timeout_secs = 60;
    })
    .expect("context created");
    // Each connection sends its own handle's number and closes once the
    // same text comes back.
    c.hook(|wsi, r, _, _| {
        if r == WS_CALLBACK_CLIENT_ESTABLISHED as i32 {
            send(wsi, TEXT, format!("echo from {}", wsi as usize).as_bytes());
        }
        if r == WS_CALLBACK_CLIENT_RECEIVE as i32 {
            return Some(-1);
        }
        None
    });
    let t0 = Instant::now();
    let wsis: Vec<usize> = (0..n)
        .map(|_| c.connect("127.0.0.1", srv.port, None, |_| {}) as usize)
        .collect();
    assert!(wsis.iter().all(|w| *w != 0));
    c.service_until(Duration::from_secs(120), |e| {
        e.iter()
            .filter(|e| e.reason == WS_CALLBACK_WSI_DESTROY as i32)
            .count()
            == n
    });
    let took = t0.elapsed();
    eprintln!("{n} connections through microsocks, each echoed: {took:?}");
    let errors = c.events(WS_CALLBACK_CLIENT_CONNECTION_ERROR);
    assert!(
        errors.is_empty(),
        "{} failed, the first: {}; proxy log:\n{}",
        errors.len(),
        errors[0].text(),
        proxy.log()
    );
    let mut echoes: HashMap<usize, Vec<String>> = HashMap::new();
    for e in c.events(WS_CALLBACK_CLIENT_RECEIVE) {
        echoes.entry(e.wsi).or_default().push(e.text());
    }
    assert_eq!(echoes.len(), n, "every connection got its echo");
    for w in &wsis {
        assert_eq!(
            echoes.get(w).map(Vec::as_slice),
            Some(&[format!("echo from {w}")][..]),
            "connection {w:#x}: its own message, once"
        );
    }
    let mut cs = ws_context_stats {
        size: std::mem::size_of::<ws_context_stats>(),
        ..Default::default()
    };
    assert_eq!(unsafe { ws_get_context_stats(c.ctx, &mut cs) }, 0);
    assert_eq!(
        (cs.started, cs.established_total, cs.failed, cs.live),
        (n as u64, n as u64, 0, 0)
    );
    assert_eq!((cs.tx_messages, cs.rx_messages), (n as u64, n as u64));
    assert!(took < Duration::from_secs(60), "took {took:?}");
}
