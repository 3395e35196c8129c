//! The few fields of an X.509 certificate that the verifier needs beyond
//! what webpki checks: its validity dates and whether it issued itself.
//! Read from the DER with bounds checks only; anything unexpected is `None`.

use rustls::pki_types::UnixTime;

/// Validity and self-issuance of one certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Facts {
    /// Seconds since the Unix epoch.
    pub not_before: u64,
    pub not_after: u64,
    /// Issuer and subject names are the same bytes.
    pub self_issued: bool,
}

/// Reads `der` as a Certificate and returns its facts.
pub fn facts(der: &[u8]) -> Option<Facts> {
    let (cert, _) = take(der, SEQUENCE)?;
    let (tbs, _) = take(cert, SEQUENCE)?;
    let rest = match take(tbs, VERSION) {
        Some((_, after)) => after,
        None => tbs,
    };
    // serialNumber, signature, issuer, validity, subject
    let (_, rest) = take(rest, INTEGER)?;
    let (_, rest) = take(rest, SEQUENCE)?;
    let (issuer, rest) = take(rest, SEQUENCE)?;
    let (validity, rest) = take(rest, SEQUENCE)?;
    let (subject, _) = take(rest, SEQUENCE)?;
    let (t1, nb, rest) = tlv(validity)?;
    let (t2, na, _) = tlv(rest)?;
    Some(Facts {
        not_before: time(t1, nb)?,
        not_after: time(t2, na)?,
        self_issued: issuer == subject,
    })
}

/// The value of the first element of `b` when its tag is `tag`, and the rest.
fn take(b: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let (t, value, rest) = tlv(b)?;
    (t == tag).then_some((value, rest))
}

const INTEGER: u8 = 0x02;
const SEQUENCE: u8 = 0x30;
const VERSION: u8 = 0xa0;
const UTC_TIME: u8 = 0x17;
const GENERALIZED_TIME: u8 = 0x18;

/// Splits one tag-length-value off `b`: (tag, value, rest).
fn tlv(b: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, b) = b.split_first()?;
    let (&first, mut b) = b.split_first()?;
    let len = if first < 0x80 {
        first as usize
    } else {
        let n = (first & 0x7f) as usize;
        if n == 0 || n > 4 || b.len() < n {
            return None;
        }
        let len = b[..n]
            .iter()
            .fold(0usize, |acc, &x| (acc << 8) | x as usize);
        b = &b[n..];
        len
    };
    if b.len() < len {
        return None;
    }
    Some((tag, &b[..len], &b[len..]))
}

/// UTCTime (YYMMDDHHMMSSZ) or GeneralizedTime (YYYYMMDDHHMMSSZ) as Unix seconds.
fn time(tag: u8, v: &[u8]) -> Option<u64> {
    let digits = |s: &[u8]| -> Option<u64> {
        s.iter().try_fold(0u64, |acc, &c| {
            c.is_ascii_digit().then(|| acc * 10 + u64::from(c - b'0'))
        })
    };
    let (year, rest) = match (tag, v.len()) {
        (UTC_TIME, 13) => {
            let yy = digits(&v[..2])?;
            (if yy >= 50 { 1900 + yy } else { 2000 + yy }, &v[2..])
        }
        (GENERALIZED_TIME, 15) => (digits(&v[..4])?, &v[4..]),
        _ => return None,
    };
    if rest[10] != b'Z' {
        return None;
    }
    let month = digits(&rest[0..2])?;
    let day = digits(&rest[2..4])?;
    let (h, m, s) = (
        digits(&rest[4..6])?,
        digits(&rest[6..8])?,
        digits(&rest[8..10])?,
    );
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || h > 23 || m > 59 || s > 60 {
        return None;
    }
    let days = days_from_civil(year as i64, month as i64, day as i64);
    u64::try_from(days * 86400 + (h * 3600 + m * 60 + s) as i64).ok()
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

/// `2026-11-25 01:02:03 UTC`.
pub fn format_time(t: UnixTime) -> String {
    let secs = t.as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86400), secs.rem_euclid(86400));
    let z = days + 719468;
    let era = z.div_euclid(146097);
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_round_trip() {
        assert_eq!(time(UTC_TIME, b"700101000000Z"), Some(0));
        assert_eq!(time(UTC_TIME, b"491231235959Z"), Some(2524607999));
        assert_eq!(time(GENERALIZED_TIME, b"20261125010203Z"), Some(1795568523));
        assert_eq!(
            format_time(UnixTime::since_unix_epoch(std::time::Duration::from_secs(
                1795568523
            ))),
            "2026-11-25 01:02:03 UTC"
        );
        assert_eq!(time(UTC_TIME, b"701301000000Z"), None);
        assert_eq!(time(UTC_TIME, b"70010100000Z"), None);
        assert_eq!(time(GENERALIZED_TIME, b"2026112501020+Z"), None);
    }

    #[test]
    fn garbage_is_none() {
        assert_eq!(facts(&[]), None);
        assert_eq!(facts(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]), None);
        assert_eq!(facts(&[0x30, 0x02, 0x30, 0x00]), None);
    }
}
