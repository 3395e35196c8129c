//! The monotonic clock read straight from the C library, as nanoseconds.
//!
//! `Instant::now()` reads the same clock (CLOCK_MONOTONIC on Linux), but
//! everything the loop then does with an `Instant` (comparisons,
//! `saturating_duration_since`) is seconds-and-nanoseconds arithmetic; the
//! loop reads the clock twice per iteration, so it keeps a plain integer.

#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) fn monotonic_ns() -> u64 {
    use std::os::raw::{c_int, c_long};

    /// `struct timespec` on 64-bit Linux (the only width the crate builds for).
    #[repr(C)]
    struct Timespec {
        tv_sec: c_long,
        tv_nsec: c_long,
    }
    const CLOCK_MONOTONIC: c_int = 1;
    extern "C" {
        fn clock_gettime(clock: c_int, ts: *mut Timespec) -> c_int;
    }
    let mut ts = Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec, and CLOCK_MONOTONIC
    // exists on every Linux, so the call cannot fail.
    let r = unsafe { clock_gettime(CLOCK_MONOTONIC, &mut ts) };
    debug_assert_eq!(r, 0);
    (ts.tv_sec as u64)
        .wrapping_mul(1_000_000_000)
        .wrapping_add(ts.tv_nsec as u64)
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
