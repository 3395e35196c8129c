//! The monotonic clock read straight from the C library, as nanoseconds,
//! and a timer descriptor on the same clock.
//!
//! `Instant::now()` reads the same clock (CLOCK_MONOTONIC on Linux), but
//! everything the loop then does with an `Instant` (comparisons,
//! `saturating_duration_since`) is seconds-and-nanoseconds arithmetic; the
//! loop reads the clock once per iteration, so it keeps a plain integer.

#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec, and CLOCK_MONOTONIC
    // exists on every Linux, so the call cannot fail.
    let r = unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    debug_assert_eq!(r, 0);
    (ts.tv_sec as u64)
        .wrapping_mul(1_000_000_000)
        .wrapping_add(ts.tv_nsec as u64)
}

/// A timer descriptor on the monotonic clock: it turns readable once the
/// time it is set to has passed. The loop keeps one in its epoll set, set
/// to the earliest timer, so a poll wakes for timers without the clock
/// being read to turn a due time into a timeout before each wait.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) struct TimerFd(std::os::fd::OwnedFd);

#[cfg(any(target_os = "linux", target_os = "android"))]
impl TimerFd {
    pub(crate) fn new() -> std::io::Result<TimerFd> {
        use std::os::fd::FromRawFd;
        // SAFETY: plain system call; the descriptor it returns is ours alone.
        let fd = unsafe {
            libc::timerfd_create(
                libc::CLOCK_MONOTONIC,
                libc::TFD_NONBLOCK | libc::TFD_CLOEXEC,
            )
        };
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: `fd` was just opened and nothing else owns it.
        Ok(TimerFd(unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) }))
    }

    /// A new timer descriptor, registered in `poll` for readability under
    /// `token`.
    pub(crate) fn in_poll(poll: &mio::Poll, token: mio::Token) -> std::io::Result<TimerFd> {
        use std::os::fd::AsRawFd;
        let fd = TimerFd::new()?;
        let raw = fd.as_raw_fd();
        poll.registry().register(
            &mut mio::unix::SourceFd(&raw),
            token,
            mio::Interest::READABLE,
        )?;
        Ok(fd)
    }

    /// Fires once at `at` (nanoseconds of [`monotonic_ns`]'s clock; a time
    /// already past fires at once), or never with None. Setting it also
    /// clears an expiry not yet read.
    pub(crate) fn set(&self, at: Option<u64>) -> std::io::Result<()> {
        use std::os::fd::AsRawFd;
        // An all-zero value disarms: a due time of 0 becomes 1 ns, long past.
        let ns = at.map_or(0, |t| t.max(1));
        let spec = libc::itimerspec {
            it_interval: libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            },
            it_value: libc::timespec {
                tv_sec: (ns / 1_000_000_000).min(i64::MAX as u64) as _,
                tv_nsec: (ns % 1_000_000_000) as _,
            },
        };
        // SAFETY: `spec` is a valid itimerspec and the old value is not asked for.
        let r = unsafe {
            libc::timerfd_settime(
                self.0.as_raw_fd(),
                libc::TFD_TIMER_ABSTIME,
                &spec,
                std::ptr::null_mut(),
            )
        };
        if r < 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(())
    }
}

#[cfg(any(target_os = "linux", target_os = "android"))]
impl std::os::fd::AsRawFd for TimerFd {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.0.as_raw_fd()
    }
}

/// Elsewhere the loop computes its poll timeout from the clock instead.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub(crate) struct TimerFd(());

#[cfg(not(any(target_os = "linux", target_os = "android")))]
impl TimerFd {
    pub(crate) fn in_poll(_poll: &mio::Poll, _token: mio::Token) -> std::io::Result<TimerFd> {
        Err(std::io::ErrorKind::Unsupported.into())
    }

    pub(crate) fn set(&self, _at: Option<u64>) -> std::io::Result<()> {
        Err(std::io::ErrorKind::Unsupported.into())
    }
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub(crate) fn monotonic_ns() -> u64 {
    use std::sync::OnceLock;
    use std::time::Instant;
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    EPOCH.get_or_init(Instant::now).elapsed().as_nanos() as u64
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    /// Readable (poll(2) says so) within `ms`.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    fn readable_within(t: &super::TimerFd, ms: i32) -> bool {
        use std::os::fd::AsRawFd;
        let mut p = libc::pollfd {
            fd: t.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        unsafe { libc::poll(&mut p, 1, ms) == 1 }
    }

    #[cfg(any(target_os = "linux", target_os = "android"))]
    #[test]
    fn timer_fd_fires_at_its_time_and_not_before() {
        let t = super::TimerFd::new().unwrap();
        assert!(!readable_within(&t, 0), "a new timer is disarmed");
        let start = Instant::now();
        t.set(Some(super::monotonic_ns() + 50_000_000)).unwrap();
        assert!(!readable_within(&t, 20), "fired 30 ms early");
        assert!(readable_within(&t, 5_000), "never fired");
        assert!(start.elapsed() >= Duration::from_millis(50));
        // Setting it again clears the expiry; None disarms it.
        t.set(None).unwrap();
        assert!(!readable_within(&t, 0));
        t.set(Some(0)).unwrap();
        assert!(readable_within(&t, 1_000), "a past time fires at once");
    }

    #[test]
    fn it_moves_with_instant() {
        let (t0, i0) = (super::monotonic_ns(), Instant::now());
        std::thread::sleep(Duration::from_millis(200));
        let (i1, t1) = (Instant::now(), super::monotonic_ns());
        let ns = t1 - t0;
        let inst = i1.duration_since(i0).as_nanos() as u64;
        assert!(ns >= inst, "{ns} ns against Instant's {inst} ns");
        // Slack for a preemption between the paired reads on a loaded
        // machine; a wrong unit or clock is off by far more.
        assert!(
            ns < inst + 100_000_000,
            "{ns} ns against Instant's {inst} ns"
        );
    }
}
