//! The resolver under a burst: 5,000 lookups of `localhost` at once, then
//! 5,000 lookups of distinct names, with the process' thread count
//! (/proc/self/task) sampled throughout. One test in this binary, so no
//! other test's threads are counted.

use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::{Events, Poll, Token, Waker};
use wsloop::resolve::{Resolver, WORKERS};

fn threads() -> usize {
    std::fs::read_dir("/proc/self/task").unwrap().count()
}

/// Starts `names.len()` lookups (key i on port 1000 + i), then polls until
/// every one is answered; returns the most threads seen and the answers.
fn burst(r: &Resolver, poll: &mut Poll, names: &[String]) -> (usize, Vec<Option<String>>) {
    let mut peak = threads();
    for (i, n) in names.iter().enumerate() {
        r.start(i as u64, n, 1000 + i as u16);
        if i % 100 == 0 {
            peak = peak.max(threads());
        }
    }
    let mut answers: Vec<Option<String>> = vec![None; names.len()];
    let mut left = names.len();
    let mut events = Events::with_capacity(8);
    let start = Instant::now();
    while left > 0 {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "{left} lookups unanswered after 60 s"
        );
        poll.poll(&mut events, Some(Duration::from_millis(100)))
            .unwrap();
        peak = peak.max(threads());
        for (key, result) in r.take() {
            let i = key as usize;
            assert!(answers[i].is_none(), "key {i} answered twice");
            let addrs = result.unwrap_or_else(|e| panic!("{} failed: {e}", names[i]));
            assert!(!addrs.is_empty());
            assert!(addrs.iter().all(|a| a.port() == 1000 + i as u16));
            answers[i] = Some(
                addrs
                    .iter()
                    .map(|a| a.ip().to_string())
                    .collect::<Vec<_>>()
                    .join(","),
            );
            left -= 1;
        }
    }
    (peak, answers)
}

#[test]
fn a_burst_of_lookups_keeps_the_thread_count_bounded() {
    let mut poll = Poll::new().unwrap();
    let waker = Arc::new(Waker::new(poll.registry(), Token(0)).unwrap());
    let r = Resolver::new(waker);
    let base = threads();

    let names = vec!["localhost".to_string(); 5000];
    let (peak, answers) = burst(&r, &mut poll, &names);
    assert!(
        peak <= base + WORKERS,
        "{peak} threads for 5,000 lookups of localhost ({base} before)"
    );
    assert!(
        answers.iter().all(|a| a
            .as_deref()
            .is_some_and(|a| a.contains("127.0.0.1") || a.contains("::1"))),
        "localhost resolved to {:?}",
        answers[0]
    );
    let coalesced = r.lookups();
    eprintln!(
        "5,000 lookups of localhost: {coalesced} getaddrinfo calls, at most {peak} threads ({base} before)"
    );
    assert!(coalesced < 5000, "identical lookups were not coalesced");

    // Distinct names: every one needs its own getaddrinfo call, still on
    // at most WORKERS threads.
    let names: Vec<String> = (0..5000)
        .map(|i| format!("127.{}.{}.1", i / 250, i % 250))
        .collect();
    let (peak, answers) = burst(&r, &mut poll, &names);
    assert!(
        peak <= base + WORKERS,
        "{peak} threads for 5,000 distinct lookups ({base} before)"
    );
    for (n, a) in names.iter().zip(&answers) {
        assert_eq!(a.as_deref(), Some(n.as_str()));
    }
    assert_eq!(r.lookups() - coalesced, 5000);
    assert!(r.workers() <= WORKERS);
    eprintln!("5,000 distinct lookups: at most {peak} threads ({base} before)");
}
