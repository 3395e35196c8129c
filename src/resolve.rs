//! Name resolution off the loop thread, with a bounded number of threads.
//!
//! Literal addresses are parsed in place. Names are looked up with the system
//! resolver (`getaddrinfo`) on at most [`WORKERS`] threads, however many
//! connections start at once: lookups wait in a queue for a free worker.
//! Lookups of the same name in flight are coalesced into one `getaddrinfo`
//! call and its answer is given to each with its own port. A lookup whose
//! connection is gone is cancelled ([`Resolver::cancel`]): taken out of the
//! queue if it has not started, its answer dropped if it has. Results are
//! queued here and the loop is woken through its waker; nothing here ever
//! blocks the loop thread for longer than a mutex hold.
//!
//! Workers start on demand and end after [`IDLE`] without work, or when the
//! resolver is dropped (a worker inside `getaddrinfo` ends when that call
//! returns; its answer is discarded).

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

use mio::Waker;

/// Addresses for a name, or why there are none.
pub type Lookup = Result<Vec<SocketAddr>, String>;

/// The most lookup threads one resolver runs at a time.
pub const WORKERS: usize = 4;

/// How long an idle worker waits for work before it ends.
pub const IDLE: Duration = Duration::from_secs(10);

/// The blocking lookup a worker runs: the name's addresses, in the system
/// resolver's order.
type LookupFn = dyn Fn(&str) -> Result<Vec<IpAddr>, String> + Send + Sync;

/// Lookups in flight and finished, keyed by the caller's token.
#[derive(Clone)]
pub struct Resolver {
    handle: Arc<Handle>,
}

/// Dropped with the last `Resolver` clone: tells the workers to end.
struct Handle {
    shared: Arc<Shared>,
}

struct Shared {
    state: Mutex<State>,
    work: Condvar,
    waker: Arc<Waker>,
    lookup: Box<LookupFn>,
    max_workers: usize,
}

#[derive(Default)]
struct State {
    /// Names waiting for a worker, oldest first.
    queue: VecDeque<String>,
    /// Every name queued or being looked up, with who waits for it.
    pending: HashMap<String, Vec<Waiter>>,
    /// The name each waiting key asked for.
    keys: HashMap<u64, String>,
    done: Vec<(u64, Lookup)>,
    workers: usize,
    idle: usize,
    closed: bool,
    /// `getaddrinfo` calls started since creation.
    lookups: u64,
}

struct Waiter {
    key: u64,
    port: u16,
}

fn system_lookup(name: &str) -> Result<Vec<IpAddr>, String> {
    let mut ips: Vec<IpAddr> = Vec::new();
    for a in (name, 0).to_socket_addrs().map_err(|e| e.to_string())? {
        if !ips.contains(&a.ip()) {
            ips.push(a.ip());
        }
    }
    if ips.is_empty() {
        return Err("no addresses".into());
    }
    Ok(ips)
}

impl Resolver {
    pub fn new(waker: Arc<Waker>) -> Resolver {
        Resolver::with_lookup(waker, WORKERS, system_lookup)
    }

    /// A resolver whose workers run `lookup` instead of `getaddrinfo`.
    pub(crate) fn with_lookup(
        waker: Arc<Waker>,
        max_workers: usize,
        lookup: impl Fn(&str) -> Result<Vec<IpAddr>, String> + Send + Sync + 'static,
    ) -> Resolver {
        Resolver {
            handle: Arc::new(Handle {
                shared: Arc::new(Shared {
                    state: Mutex::new(State::default()),
                    work: Condvar::new(),
                    waker,
                    lookup: Box::new(lookup),
                    max_workers: max_workers.max(1),
                }),
            }),
        }
    }

    fn shared(&self) -> &Arc<Shared> {
        &self.handle.shared
    }

    /// Starts a lookup of `host`; its result comes back from
    /// [`Resolver::take`] under `key`, with `port` in every address. A key
    /// already waiting is cancelled first.
    pub fn start(&self, key: u64, host: &str, port: u16) {
        let shared = self.shared();
        let mut st = shared.lock();
        st.cancel(key);
        st.keys.insert(key, host.to_string());
        let waiter = Waiter { key, port };
        if let Some(waiters) = st.pending.get_mut(host) {
            waiters.push(waiter);
            return;
        }
        st.pending.insert(host.to_string(), vec![waiter]);
        st.queue.push_back(host.to_string());
        if st.idle > 0 {
            shared.work.notify_one();
        }
        // An idle worker counts as idle until it has the lock again, so
        // compare with the queue: more names waiting than idle workers to
        // take them means another worker, up to the limit.
        if st.queue.len() <= st.idle || st.workers >= shared.max_workers {
            return;
        }
        let worker = Arc::clone(shared);
        let spawned = std::thread::Builder::new()
            .name("wsloop-dns".into())
            .spawn(move || worker.run());
        match spawned {
            Ok(_) => st.workers += 1,
            // The running workers will get to it; with none, nobody would.
            Err(e) if st.workers == 0 => {
                let detail = format!("cannot start a resolver thread: {e}");
                let names: Vec<String> = st.queue.drain(..).collect();
                for name in names {
                    st.finish(&name, &Err(detail.clone()));
                }
                drop(st);
                let _ = shared.waker.wake();
            }
            Err(_) => {}
        }
    }

    /// Forgets the lookup under `key`: it is taken out of the queue when no
    /// other key waits for the same name, and its answer is never returned.
    pub fn cancel(&self, key: u64) {
        self.shared().lock().cancel(key);
    }

    /// Takes the lookups finished so far.
    pub fn take(&self) -> Vec<(u64, Lookup)> {
        std::mem::take(&mut self.shared().lock().done)
    }

    /// Worker threads alive now (for diagnostics and tests).
    pub fn workers(&self) -> usize {
        self.shared().lock().workers
    }

    /// `getaddrinfo` calls started so far (coalesced lookups count once).
    pub fn lookups(&self) -> u64 {
        self.shared().lock().lookups
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        let mut st = self.shared.lock();
        st.closed = true;
        st.queue.clear();
        st.pending.clear();
        st.keys.clear();
        drop(st);
        self.shared.work.notify_all();
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A worker: takes names from the queue until the resolver is dropped
    /// or nothing came for [`IDLE`].
    fn run(&self) {
        let mut st = self.lock();
        loop {
            if st.closed {
                st.workers -= 1;
                return;
            }
            if let Some(name) = st.queue.pop_front() {
                st.lookups += 1;
                drop(st);
                let result = (self.lookup)(&name);
                st = self.lock();
                if st.finish(&name, &result) {
                    let _ = self.waker.wake();
                }
                continue;
            }
            st.idle += 1;
            let (guard, timeout) = self
                .work
                .wait_timeout(st, IDLE)
                .unwrap_or_else(|e| e.into_inner());
            st = guard;
            st.idle -= 1;
            if timeout.timed_out() && st.queue.is_empty() {
                st.workers -= 1;
                return;
            }
        }
    }
}

impl State {
    fn cancel(&mut self, key: u64) {
        self.done.retain(|(k, _)| *k != key);
        let Some(name) = self.keys.remove(&key) else {
            return;
        };
        let Some(waiters) = self.pending.get_mut(&name) else {
            return;
        };
        waiters.retain(|w| w.key != key);
        if waiters.is_empty() {
            self.pending.remove(&name);
            self.queue.retain(|n| *n != name);
        }
    }

    /// Hands `result` to everyone waiting for `name`; true when someone was.
    fn finish(&mut self, name: &str, result: &Result<Vec<IpAddr>, String>) -> bool {
        let Some(waiters) = self.pending.remove(name) else {
            return false;
        };
        // A start that came in after the lookup began queued the name again.
        self.queue.retain(|n| n != name);
        for w in &waiters {
            self.keys.remove(&w.key);
            let addrs = result.as_ref().map(|ips| {
                ips.iter()
                    .map(|ip| SocketAddr::new(*ip, w.port))
                    .collect::<Vec<_>>()
            });
            self.done.push((w.key, addrs.map_err(Clone::clone)));
        }
        !waiters.is_empty()
    }
}

/// Parses an IPv4 or IPv6 literal (with or without brackets).
pub fn literal(host: &str, port: u16) -> Option<SocketAddr> {
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    bare.parse::<IpAddr>()
        .ok()
        .map(|ip| SocketAddr::new(ip, port))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::Instant;

    #[test]
    fn literals() {
        assert_eq!(
            literal("127.0.0.1", 80),
            Some("127.0.0.1:80".parse().unwrap())
        );
        assert_eq!(literal("[::1]", 81), Some("[::1]:81".parse().unwrap()));
        assert_eq!(literal("::1", 81), Some("[::1]:81".parse().unwrap()));
        assert_eq!(literal("localhost", 80), None);
    }

    /// A lookup that blocks until `open` is set, so tests can pile up work.
    struct Gate {
        open: AtomicBool,
        calls: Mutex<Vec<String>>,
    }

    fn gated(workers: usize) -> (Resolver, Arc<Gate>, mio::Poll) {
        let poll = mio::Poll::new().unwrap();
        let waker = Arc::new(Waker::new(poll.registry(), mio::Token(0)).unwrap());
        let gate = Arc::new(Gate {
            open: AtomicBool::new(false),
            calls: Mutex::new(Vec::new()),
        });
        let g = Arc::clone(&gate);
        let r = Resolver::with_lookup(waker, workers, move |name| {
            g.calls.lock().unwrap().push(name.to_string());
            while !g.open.load(Ordering::Acquire) {
                std::thread::sleep(Duration::from_millis(1));
            }
            match name {
                "fails.example" => Err("no such host".into()),
                _ => Ok(vec!["192.0.2.1".parse().unwrap()]),
            }
        });
        (r, gate, poll)
    }

    fn take_all(r: &Resolver, n: usize) -> Vec<(u64, Lookup)> {
        let start = Instant::now();
        let mut got = Vec::new();
        while got.len() < n {
            assert!(start.elapsed() < Duration::from_secs(10), "got {got:?}");
            got.extend(r.take());
            std::thread::sleep(Duration::from_millis(1));
        }
        got.sort_by_key(|(k, _)| *k);
        got
    }

    #[test]
    fn identical_names_in_flight_are_looked_up_once() {
        let (r, gate, _poll) = gated(2);
        r.start(1, "a.example", 80);
        r.start(2, "a.example", 443);
        r.start(3, "fails.example", 80);
        r.start(4, "a.example", 8080);
        gate.open.store(true, Ordering::Release);
        let got = take_all(&r, 4);
        assert_eq!(r.lookups(), 2);
        assert_eq!(got[0].1, Ok(vec!["192.0.2.1:80".parse().unwrap()]));
        assert_eq!(got[1].1, Ok(vec!["192.0.2.1:443".parse().unwrap()]));
        assert_eq!(got[2].1, Err("no such host".to_string()));
        assert_eq!(got[3].1, Ok(vec!["192.0.2.1:8080".parse().unwrap()]));
    }

    #[test]
    fn workers_are_bounded_and_cancelled_lookups_never_run() {
        let (r, gate, _poll) = gated(2);
        for i in 0..50u64 {
            r.start(i, &format!("h{i}.example"), 1);
        }
        assert_eq!(r.workers(), 2);
        // Wait until both workers hold a name, then cancel everything else.
        while gate.calls.lock().unwrap().len() < 2 {
            std::thread::sleep(Duration::from_millis(1));
        }
        for i in 0..50u64 {
            if i % 10 != 0 {
                r.cancel(i);
            }
        }
        gate.open.store(true, Ordering::Release);
        let got = take_all(&r, 5);
        std::thread::sleep(Duration::from_millis(20));
        assert!(r.take().is_empty());
        let keys: Vec<u64> = got.iter().map(|(k, _)| *k).collect();
        assert_eq!(keys, vec![0, 10, 20, 30, 40]);
        // h0 and h1 were running when the rest were cancelled (h1's answer
        // is dropped); of the queued names only h10..h40 were still wanted.
        let mut calls = gate.calls.lock().unwrap().clone();
        calls.sort_by(|a, b| (a.len(), a).cmp(&(b.len(), b)));
        assert_eq!(
            calls,
            ["h0", "h1", "h10", "h20", "h30", "h40"].map(|h| format!("{h}.example"))
        );
        let st = r.shared().lock();
        assert!(st.pending.is_empty() && st.keys.is_empty() && st.queue.is_empty());
    }

    #[test]
    fn an_idle_worker_does_not_hold_back_new_ones() {
        let (r, gate, _poll) = gated(3);
        gate.open.store(true, Ordering::Release);
        r.start(0, "warm.example", 1);
        take_all(&r, 1);
        // One worker, idle now. Three slow names need three workers.
        gate.open.store(false, Ordering::Release);
        for i in 1..=3u64 {
            r.start(i, &format!("h{i}.example"), 1);
        }
        let start = Instant::now();
        while gate.calls.lock().unwrap().len() < 4 {
            assert!(
                start.elapsed() < Duration::from_secs(5),
                "only {:?} started",
                gate.calls.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(1));
        }
        assert_eq!(r.workers(), 3);
        gate.open.store(true, Ordering::Release);
        take_all(&r, 3);
    }

    #[test]
    fn restarting_a_key_replaces_its_lookup() {
        let (r, gate, _poll) = gated(1);
        r.start(7, "a.example", 1);
        r.start(7, "b.example", 2);
        gate.open.store(true, Ordering::Release);
        let got = take_all(&r, 1);
        std::thread::sleep(Duration::from_millis(20));
        assert!(r.take().is_empty(), "one answer per key");
        assert_eq!(got, vec![(7, Ok(vec!["192.0.2.1:2".parse().unwrap()]))]);
    }

    #[test]
    fn dropping_the_resolver_ends_idle_workers() {
        let (r, gate, _poll) = gated(3);
        gate.open.store(true, Ordering::Release);
        for i in 0..3u64 {
            r.start(i, &format!("h{i}.example"), 1);
        }
        take_all(&r, 3);
        let shared = Arc::clone(r.shared());
        drop(r);
        let start = Instant::now();
        while shared.lock().workers > 0 {
            assert!(
                start.elapsed() < Duration::from_secs(5),
                "workers did not end"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}
