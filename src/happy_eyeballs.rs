//! Happy Eyeballs (RFC 8305) as bookkeeping: in which order to try a
//! name's addresses, and when to start the next attempt while earlier ones
//! are still pending.
//!
//! It owns no socket and reads no clock: the dialer passes the time in,
//! opens and closes the sockets it names, and arms a timer for
//! [`Race::deadline`]. Without it a black-holed first address (an IPv6
//! route that drops SYNs) costs the whole connect timeout; with it the next
//! address is tried 250 ms later and the first to connect wins.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::few::Few;

/// RFC 8305 §5's recommended Connection Attempt Delay.
pub const ATTEMPT_DELAY: Duration = Duration::from_millis(250);

/// The order to try `addrs` in (RFC 8305 §4): duplicates dropped, then
/// IPv6 and IPv4 alternating, IPv6 first when there is one; within a family
/// the resolver's order (RFC 6724's preference) is kept.
pub fn order(addrs: &[SocketAddr]) -> Vec<SocketAddr> {
    let mut v6 = Vec::new();
    let mut v4 = Vec::new();
    for a in addrs {
        if v6.contains(a) || v4.contains(a) {
            continue;
        }
        if a.is_ipv6() {
            v6.push(*a);
        } else {
            v4.push(*a);
        }
    }
    let mut out = Vec::with_capacity(v6.len() + v4.len());
    let (mut i6, mut i4) = (v6.into_iter(), v4.into_iter());
    loop {
        match (i6.next(), i4.next()) {
            (None, None) => return out,
            (a, b) => out.extend(a.into_iter().chain(b)),
        }
    }
}

/// One connection attempt: an index into the race's ordered addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attempt(pub usize);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Waiting,
    Running,
    Failed,
    Won,
    Dropped,
}

/// The attempts to one name's addresses.
#[derive(Debug)]
pub struct Race {
    addrs: Few<SocketAddr>,
    state: Few<State>,
    /// The next address not yet started.
    next: usize,
    last_start: Option<Instant>,
    delay: Duration,
}

impl Race {
    /// A race over `addrs`, put in [`order`], with the standard delay.
    pub fn new(addrs: &[SocketAddr]) -> Race {
        Race::with_delay(addrs, ATTEMPT_DELAY)
    }

    pub fn with_delay(addrs: &[SocketAddr], delay: Duration) -> Race {
        let addrs: Few<SocketAddr> = order(addrs).into_iter().collect();
        Race {
            state: addrs.iter().map(|_| State::Waiting).collect(),
            addrs,
            next: 0,
            last_start: None,
            delay,
        }
    }

    /// The addresses in the order they are tried.
    pub fn addrs(&self) -> &[SocketAddr] {
        &self.addrs
    }

    fn running(&self) -> bool {
        self.state.contains(&State::Running)
    }

    fn decided(&self) -> bool {
        self.state.contains(&State::Won)
    }

    /// The next attempt to start now, if one is due: the first at once, the
    /// next when the previous has failed or `delay` after it started. Call
    /// again after starting one: several may be due.
    pub fn start_due(&mut self, now: Instant) -> Option<(Attempt, SocketAddr)> {
        if self.decided() || self.next >= self.addrs.len() {
            return None;
        }
        let due = match self.last_start {
            Some(t) if self.running() => now >= t + self.delay,
            _ => true,
        };
        if !due {
            return None;
        }
        let i = self.next;
        self.next += 1;
        self.state[i] = State::Running;
        self.last_start = Some(now);
        Some((Attempt(i), self.addrs[i]))
    }

    /// When the next attempt becomes due while others are pending (the
    /// timer to arm); None when nothing is left to start or it is due now.
    pub fn deadline(&self) -> Option<Instant> {
        if self.decided() || self.next >= self.addrs.len() || !self.running() {
            return None;
        }
        self.last_start.map(|t| t + self.delay)
    }

    /// `a` failed (refused, unreachable, reset); the next address becomes
    /// due at once when no other attempt is pending.
    pub fn failed(&mut self, a: Attempt) {
        if let Some(s) = self.state.get_mut(a.0) {
            if *s == State::Running {
                *s = State::Failed;
            }
        }
    }

    /// `a` connected: it wins. Returns the attempts still pending, which
    /// the dialer closes without any callback.
    pub fn connected(&mut self, a: Attempt) -> Vec<Attempt> {
        if self.state.get(a.0) != Some(&State::Running) || self.decided() {
            return Vec::new();
        }
        self.state[a.0] = State::Won;
        let mut losers = Vec::new();
        for (i, s) in self.state.iter_mut().enumerate() {
            if *s == State::Running {
                *s = State::Dropped;
                losers.push(Attempt(i));
            }
        }
        losers
    }

    /// Every address was tried and every attempt failed.
    pub fn lost(&self) -> bool {
        self.next >= self.addrs.len() && self.state.iter().all(|s| *s == State::Failed)
    }

    /// The winning attempt, once there is one.
    #[cfg(test)]
    pub fn winner(&self) -> Option<(Attempt, SocketAddr)> {
        let i = self.state.iter().position(|s| *s == State::Won)?;
        Some((Attempt(i), self.addrs[i]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn interleaves_families_ipv6_first() {
        let got = order(&[
            a("10.0.0.1:80"),
            a("10.0.0.2:80"),
            a("10.0.0.3:80"),
            a("[2001:db8::1]:80"),
            a("10.0.0.1:80"),
            a("[2001:db8::2]:80"),
        ]);
        assert_eq!(
            got,
            vec![
                a("[2001:db8::1]:80"),
                a("10.0.0.1:80"),
                a("[2001:db8::2]:80"),
                a("10.0.0.2:80"),
                a("10.0.0.3:80"),
            ]
        );
        assert_eq!(order(&[a("1.1.1.1:1")]), vec![a("1.1.1.1:1")]);
        assert!(order(&[]).is_empty());
    }

    #[test]
    fn next_attempt_250_ms_after_the_previous() {
        let t0 = Instant::now();
        let mut r = Race::new(&[a("127.0.0.1:1"), a("[::1]:1"), a("127.0.0.2:1")]);
        assert_eq!(r.start_due(t0), Some((Attempt(0), a("[::1]:1"))));
        assert_eq!(r.start_due(t0), None, "the second waits");
        assert_eq!(r.deadline(), Some(t0 + ATTEMPT_DELAY));
        assert_eq!(r.start_due(t0 + Duration::from_millis(249)), None);
        let t1 = t0 + ATTEMPT_DELAY;
        assert_eq!(r.start_due(t1), Some((Attempt(1), a("127.0.0.1:1"))));
        assert_eq!(r.deadline(), Some(t1 + ATTEMPT_DELAY));
        // The second connects first: the first, still pending, is dropped.
        assert_eq!(r.connected(Attempt(1)), vec![Attempt(0)]);
        assert_eq!(r.winner(), Some((Attempt(1), a("127.0.0.1:1"))));
        assert_eq!(r.start_due(t1 + Duration::from_secs(1)), None);
        assert_eq!(r.deadline(), None);
        assert!(!r.lost());
        // A late success of a loser changes nothing.
        assert!(r.connected(Attempt(0)).is_empty());
        assert_eq!(r.winner().unwrap().0, Attempt(1));
    }

    #[test]
    fn a_failure_starts_the_next_at_once() {
        let t0 = Instant::now();
        let mut r = Race::new(&[a("[::1]:1"), a("127.0.0.1:1")]);
        let (first, _) = r.start_due(t0).unwrap();
        r.failed(first);
        assert_eq!(r.deadline(), None, "nothing pending, no timer needed");
        assert_eq!(r.start_due(t0), Some((Attempt(1), a("127.0.0.1:1"))));
        assert!(!r.lost());
        r.failed(Attempt(1));
        assert!(r.lost());
        assert_eq!(r.start_due(t0), None);
    }

    #[test]
    fn several_pending_attempts_then_all_fail() {
        let t0 = Instant::now();
        let mut r = Race::with_delay(
            &[a("10.0.0.1:1"), a("10.0.0.2:1"), a("10.0.0.3:1")],
            Duration::from_millis(100),
        );
        let mut t = t0;
        let mut started = Vec::new();
        while let Some(d) = r.start_due(t).map(|x| x.0).or_else(|| {
            t = r.deadline()?;
            r.start_due(t).map(|x| x.0)
        }) {
            started.push((d, t - t0));
        }
        assert_eq!(
            started,
            vec![
                (Attempt(0), Duration::ZERO),
                (Attempt(1), Duration::from_millis(100)),
                (Attempt(2), Duration::from_millis(200)),
            ]
        );
        r.failed(Attempt(2));
        r.failed(Attempt(0));
        assert!(!r.lost(), "one is still pending");
        r.failed(Attempt(1));
        assert!(r.lost());
        assert_eq!(r.winner(), None);
    }
}
