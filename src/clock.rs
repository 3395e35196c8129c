//! The loop's time: the monotonic clock as a count of nanoseconds, so the
//! comparisons and subtractions the loop does (the poll's timeout, the
//! timer heap, the keepalive's last proof of life) are integer operations.

use std::ops::Add;
use std::time::Duration;

/// A point on the monotonic clock, in nanoseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Tick(u64);

impl Tick {
    /// Reads the clock.
    #[inline]
    pub(crate) fn now() -> Tick {
        Tick(crate::ffi::clock::monotonic_ns())
    }

    /// Nanoseconds on the clock [`Tick::now`] reads.
    #[inline]
    pub(crate) fn ns(self) -> u64 {
        self.0
    }

    /// How long after `earlier` this is; zero when it is not after it.
    #[inline]
    pub(crate) fn since(self, earlier: Tick) -> Duration {
        Duration::from_nanos(self.0.saturating_sub(earlier.0))
    }
}

impl Add<Duration> for Tick {
    type Output = Tick;

    #[inline]
    fn add(self, d: Duration) -> Tick {
        let ns = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        Tick(self.0.saturating_add(ns))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_saturates() {
        let t = Tick(5_000_000_000);
        assert_eq!(
            (t + Duration::from_millis(1500)).since(t),
            Duration::from_millis(1500)
        );
        assert_eq!(t.since(t + Duration::from_secs(1)), Duration::ZERO);
        assert_eq!(t + Duration::MAX, Tick(u64::MAX));
        assert!(t < t + Duration::from_nanos(1));
    }
}
