//! Retry backoff and keepalive policy: libwebsockets' `lws_retry_bo_t`.

use std::time::Duration;

/// `LWS_RETRY_CONCEAL_ALWAYS`: never give up.
pub const CONCEAL_ALWAYS: u16 = 0xffff;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Base delays in ms, indexed by the try count (the last one repeats).
    pub table: Vec<u32>,
    /// How many retries before giving up (`CONCEAL_ALWAYS`: never).
    pub conceal_count: u16,
    /// Seconds of silence before a keepalive PING; 0 turns keepalive off.
    pub secs_since_valid_ping: u16,
    /// Seconds of silence (since the last proof of life) before giving up.
    pub secs_since_valid_hangup: u16,
    /// Random extra delay, in percent of the base; 0 means 30.
    pub jitter_percent: u8,
}

impl Default for RetryPolicy {
    /// libwebsockets 4.1's context default.
    fn default() -> Self {
        RetryPolicy {
            table: vec![1000, 3000, 9000, 17000],
            conceal_count: 4,
            secs_since_valid_ping: 300,
            secs_since_valid_hangup: 310,
            jitter_percent: 20,
        }
    }
}

impl RetryPolicy {
    /// The next delay for try count `*ctry` (then incremented), and whether
    /// the retry should happen (`conceal`). `random` is 0..=65535.
    pub fn next_delay(&self, ctry: &mut u16, random: u16) -> (u32, bool) {
        let base = match self.table.len() {
            0 => 3000,
            n => self.table[(*ctry as usize).min(n - 1)],
        } as u64;
        let pc = match self.jitter_percent {
            0 => 30,
            p => p as u64,
        };
        let ms = base + base * pc * random as u64 / (100 * 65535);
        *ctry = ctry.saturating_add(1);
        let conceal = self.conceal_count == CONCEAL_ALWAYS || *ctry <= self.conceal_count;
        (ms.min(u32::MAX as u64) as u32, conceal)
    }

    /// The keepalive periods, or None when keepalive is off.
    pub fn keepalive(&self) -> Option<(Duration, Duration)> {
        if self.secs_since_valid_ping == 0 || self.secs_since_valid_hangup == 0 {
            return None;
        }
        let ping = Duration::from_secs(self.secs_since_valid_ping.into());
        let hangup = Duration::from_secs(self.secs_since_valid_hangup.into()).max(ping);
        Some((ping, hangup))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_follow_the_table_then_give_up() {
        let p = RetryPolicy {
            table: vec![100, 200],
            conceal_count: 3,
            jitter_percent: 10,
            ..RetryPolicy::default()
        };
        let mut ctry = 0;
        assert_eq!(p.next_delay(&mut ctry, 0), (100, true));
        assert_eq!(p.next_delay(&mut ctry, 65535), (220, true));
        assert_eq!(p.next_delay(&mut ctry, 0), (200, true));
        assert_eq!(p.next_delay(&mut ctry, 0), (200, false));
        assert_eq!(ctry, 4);
    }

    #[test]
    fn no_table_means_3_s_and_30_percent() {
        let p = RetryPolicy {
            table: vec![],
            conceal_count: CONCEAL_ALWAYS,
            jitter_percent: 0,
            ..RetryPolicy::default()
        };
        let mut ctry = u16::MAX;
        assert_eq!(p.next_delay(&mut ctry, 65535), (3900, true));
        assert_eq!(ctry, u16::MAX);
    }

    #[test]
    fn zero_turns_keepalive_off() {
        let mut p = RetryPolicy::default();
        assert!(p.keepalive().is_some());
        p.secs_since_valid_ping = 0;
        assert_eq!(p.keepalive(), None);
    }
}
