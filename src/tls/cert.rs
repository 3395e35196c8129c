//! The few fields of an X.509 certificate that the verifier needs beyond
//! what webpki checks: its validity dates, whether it issued itself, its
//! subject and key (to recognise a trusted certificate presented as the
//! leaf), and the names it carries (subjectAltName entries and subject
//! common names, which webpki does not look at). Read from the DER with
//! bounds checks only; anything unexpected is `None`.

use std::net::IpAddr;

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

/// The parts of a TBSCertificate this module reads (each the value of its
/// DER element, without tag and length, as webpki's trust anchors hold them).
struct Tbs<'a> {
    issuer: &'a [u8],
    validity: &'a [u8],
    subject: &'a [u8],
    spki: &'a [u8],
    /// The extensions' SEQUENCE value; empty when there are none.
    extensions: &'a [u8],
}

fn tbs(der: &[u8]) -> Option<Tbs<'_>> {
    let (cert, _) = take(der, SEQUENCE)?;
    let (tbs, _) = take(cert, SEQUENCE)?;
    let rest = match take(tbs, VERSION) {
        Some((_, after)) => after,
        None => tbs,
    };
    // serialNumber, signature, issuer, validity, subject, subjectPublicKeyInfo
    let (_, rest) = take(rest, INTEGER)?;
    let (_, rest) = take(rest, SEQUENCE)?;
    let (issuer, rest) = take(rest, SEQUENCE)?;
    let (validity, rest) = take(rest, SEQUENCE)?;
    let (subject, rest) = take(rest, SEQUENCE)?;
    let (spki, mut rest) = take(rest, SEQUENCE)?;
    let mut extensions: &[u8] = &[];
    // issuerUniqueID [1], subjectUniqueID [2], extensions [3]
    while let Some((tag, value, after)) = tlv(rest) {
        if tag == EXTENSIONS {
            extensions = take(value, SEQUENCE)?.0;
        }
        rest = after;
    }
    Some(Tbs {
        issuer,
        validity,
        subject,
        spki,
        extensions,
    })
}

/// Reads `der` as a Certificate and returns its facts.
pub fn facts(der: &[u8]) -> Option<Facts> {
    let t = tbs(der)?;
    let (t1, nb, rest) = tlv(t.validity)?;
    let (t2, na, _) = tlv(rest)?;
    Some(Facts {
        not_before: time(t1, nb)?,
        not_after: time(t2, na)?,
        self_issued: t.issuer == t.subject,
    })
}

/// The certificate's subject and subjectPublicKeyInfo (their values).
pub fn subject_and_key(der: &[u8]) -> Option<(&[u8], &[u8])> {
    let t = tbs(der)?;
    Some((t.subject, t.spki))
}

/// The host names a certificate carries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Names {
    /// subjectAltName dNSName entries.
    pub dns: Vec<String>,
    /// subjectAltName iPAddress entries.
    pub ips: Vec<IpAddr>,
    /// The subject's commonName attributes, in order.
    pub common_names: Vec<String>,
}

/// Reads the names of `der`.
pub fn names(der: &[u8]) -> Option<Names> {
    let t = tbs(der)?;
    let mut names = Names::default();
    let mut exts = t.extensions;
    while !exts.is_empty() {
        let (ext, rest) = take(exts, SEQUENCE)?;
        exts = rest;
        let (oid, mut body) = take(ext, OID)?;
        if oid != OID_SUBJECT_ALT_NAME {
            continue;
        }
        if let Some((_, after)) = take(body, BOOLEAN) {
            body = after;
        }
        let (value, _) = take(body, OCTET_STRING)?;
        let (mut general_names, _) = take(value, SEQUENCE)?;
        while let Some((tag, v, rest)) = tlv(general_names) {
            general_names = rest;
            match (tag, v.len()) {
                (SAN_DNS, _) => names.dns.push(String::from_utf8_lossy(v).into_owned()),
                (SAN_IP, 4) => names.ips.push(IpAddr::from(<[u8; 4]>::try_from(v).ok()?)),
                (SAN_IP, 16) => names.ips.push(IpAddr::from(<[u8; 16]>::try_from(v).ok()?)),
                _ => {}
            }
        }
    }
    // Name ::= SEQUENCE OF RelativeDistinguishedName (SET OF AttributeTypeAndValue)
    let mut rdns = t.subject;
    while !rdns.is_empty() {
        let (rdn, rest) = take(rdns, SET)?;
        rdns = rest;
        let mut atvs = rdn;
        while !atvs.is_empty() {
            let (atv, rest) = take(atvs, SEQUENCE)?;
            atvs = rest;
            let (oid, value) = take(atv, OID)?;
            if oid == OID_COMMON_NAME {
                let (tag, v, _) = tlv(value)?;
                if let Some(cn) = directory_string(tag, v) {
                    names.common_names.push(cn);
                }
            }
        }
    }
    Some(names)
}

/// A DirectoryString as text (what OpenSSL's ASN1_STRING_to_UTF8 makes of it).
fn directory_string(tag: u8, v: &[u8]) -> Option<String> {
    match tag {
        UTF8_STRING | PRINTABLE_STRING | IA5_STRING => String::from_utf8(v.to_vec()).ok(),
        // T61String: OpenSSL reads it as Latin-1.
        TELETEX_STRING => Some(v.iter().map(|&b| char::from(b)).collect()),
        BMP_STRING if v.len() % 2 == 0 => {
            char::decode_utf16(v.chunks(2).map(|c| u16::from_be_bytes([c[0], c[1]])))
                .collect::<Result<String, _>>()
                .ok()
        }
        UNIVERSAL_STRING if v.len() % 4 == 0 => v
            .chunks(4)
            .map(|c| char::from_u32(u32::from_be_bytes([c[0], c[1], c[2], c[3]])))
            .collect(),
        _ => None,
    }
}

/// The value of the first element of `b` when its tag is `tag`, and the rest.
fn take(b: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let (t, value, rest) = tlv(b)?;
    (t == tag).then_some((value, rest))
}

const BOOLEAN: u8 = 0x01;
const INTEGER: u8 = 0x02;
const OCTET_STRING: u8 = 0x04;
const OID: u8 = 0x06;
const UTF8_STRING: u8 = 0x0c;
const PRINTABLE_STRING: u8 = 0x13;
const TELETEX_STRING: u8 = 0x14;
const IA5_STRING: u8 = 0x16;
const UNIVERSAL_STRING: u8 = 0x1c;
const BMP_STRING: u8 = 0x1e;
const SEQUENCE: u8 = 0x30;
const SET: u8 = 0x31;
const VERSION: u8 = 0xa0;
const EXTENSIONS: u8 = 0xa3;
/// GeneralName dNSName [2] and iPAddress [7], implicit primitive tags.
const SAN_DNS: u8 = 0x82;
const SAN_IP: u8 = 0x87;
/// 2.5.29.17 and 2.5.4.3.
const OID_SUBJECT_ALT_NAME: &[u8] = &[0x55, 0x1d, 0x11];
const OID_COMMON_NAME: &[u8] = &[0x55, 0x04, 0x03];
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

    fn cert(sans: &[&str], cn: Option<&str>) -> Vec<u8> {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut p =
            rcgen::CertificateParams::new(sans.iter().map(|s| s.to_string()).collect::<Vec<_>>())
                .unwrap();
        p.distinguished_name = rcgen::DistinguishedName::new();
        p.distinguished_name
            .push(rcgen::DnType::OrganizationName, "wsloop");
        if let Some(cn) = cn {
            p.distinguished_name.push(rcgen::DnType::CommonName, cn);
        }
        p.self_signed(&key).unwrap().der().to_vec()
    }

    #[test]
    fn names_come_from_the_subject_alt_name_and_the_subject() {
        let n = names(&cert(&["localhost", "127.0.0.1", "::1"], Some("srv"))).unwrap();
        assert_eq!(n.dns, ["localhost"]);
        assert_eq!(
            n.ips,
            [
                "127.0.0.1".parse::<IpAddr>().unwrap(),
                "::1".parse().unwrap()
            ]
        );
        assert_eq!(n.common_names, ["srv"]);
        let der = cert(&[], Some("localhost"));
        let n = names(&der).unwrap();
        assert!(n.dns.is_empty() && n.ips.is_empty());
        assert_eq!(n.common_names, ["localhost"]);
        assert!(names(&cert(&[], None)).unwrap().common_names.is_empty());
        let (subject, key) = subject_and_key(&der).unwrap();
        assert!(subject.windows(9).any(|w| w == b"localhost"));
        assert_eq!(key[0], SEQUENCE, "the algorithm identifier starts the key");
        assert!(facts(&der).unwrap().self_issued);
    }

    #[test]
    fn directory_strings_decode_like_openssl() {
        assert_eq!(
            directory_string(PRINTABLE_STRING, b"a.b").as_deref(),
            Some("a.b")
        );
        assert_eq!(
            directory_string(TELETEX_STRING, &[0x68, 0xe9]).as_deref(),
            Some("h\u{e9}")
        );
        assert_eq!(
            directory_string(BMP_STRING, &[0, 0x78, 0, 0x79]).as_deref(),
            Some("xy")
        );
        assert_eq!(
            directory_string(UNIVERSAL_STRING, &[0, 0, 0, 0x7a]).as_deref(),
            Some("z")
        );
        assert_eq!(directory_string(BMP_STRING, &[0]), None);
    }

    #[test]
    fn garbage_is_none() {
        assert_eq!(facts(&[]), None);
        assert_eq!(facts(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]), None);
        assert_eq!(facts(&[0x30, 0x02, 0x30, 0x00]), None);
    }
}
