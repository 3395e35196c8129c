//! The host name check webpki leaves out: a certificate with no DNS name in
//! its subjectAltName is checked against its subject common names, as
//! OpenSSL's `X509_check_host` does for libwebsockets (which sets
//! `X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS`). IP addresses are never compared
//! with a CN. Also the error that says what a refused certificate covers.

use std::fmt;

use super::cert::Names;

/// Does the common name `cn` match `host`? Case-insensitive for ASCII; a
/// `*` matches one whole leftmost label (`*.example.com`, never `f*.example.com`,
/// never `*.com`); anything else compares literally.
pub fn cn_matches(cn: &str, host: &str) -> bool {
    let (cn, host) = (cn.as_bytes(), host.as_bytes());
    if cn.contains(&0) {
        return false;
    }
    match wildcard_suffix(cn) {
        // A name starting with '.' is a domain, not a host: no wildcard.
        Some(suffix) if !host.starts_with(b".") => {
            let Some(label_len) = host.len().checked_sub(suffix.len()) else {
                return false;
            };
            let (label, rest) = host.split_at(label_len);
            rest.eq_ignore_ascii_case(suffix)
                && !label.is_empty()
                && (label == b"*"
                    || label
                        .iter()
                        .all(|&b| b.is_ascii_alphanumeric() || b == b'-'))
        }
        _ => cn.eq_ignore_ascii_case(host),
    }
}

/// For a usable wildcard pattern (`*` as the whole first label, then at
/// least two more labels of letters, digits and inner hyphens), the part
/// after the `*`, starting with its dot.
fn wildcard_suffix(pattern: &[u8]) -> Option<&[u8]> {
    let suffix = pattern.strip_prefix(b"*")?;
    let labels = suffix.strip_prefix(b".")?;
    let mut count = 0;
    for label in labels.split(|&b| b == b'.') {
        let ok = !label.is_empty()
            && !label.starts_with(b"-")
            && !label.ends_with(b"-")
            && label
                .iter()
                .all(|&b| b.is_ascii_alphanumeric() || b == b'-');
        if !ok {
            return None;
        }
        count += 1;
    }
    (count >= 2).then_some(suffix)
}

/// The certificate does not cover the name asked for: what it does cover,
/// for the message.
#[derive(Debug)]
pub struct NameNotCovered {
    pub asked: String,
    pub names: Names,
    /// A common name matched, but the context requires a subjectAltName.
    pub cn_refused: bool,
}

impl fmt::Display for NameNotCovered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "certificate not valid for '{}'", self.asked)
    }
}

impl std::error::Error for NameNotCovered {}

#[cfg(test)]
mod tests {
    use super::cn_matches;

    #[test]
    fn plain_names_compare_without_case() {
        assert!(cn_matches("localhost", "localhost"));
        assert!(cn_matches("LocalHost", "localhost"));
        assert!(!cn_matches("localhost", "localhost.localdomain"));
        assert!(!cn_matches("localhost", "127.0.0.1"));
        assert!(!cn_matches("", "localhost"));
    }

    #[test]
    fn wildcards_follow_openssl_without_partial_wildcards() {
        assert!(cn_matches("*.example.com", "www.example.com"));
        assert!(cn_matches("*.EXAMPLE.com", "a-b.example.COM"));
        // One label only, and at least one character of it.
        assert!(!cn_matches("*.example.com", "a.b.example.com"));
        assert!(!cn_matches("*.example.com", ".example.com"));
        assert!(!cn_matches("*.example.com", "example.com"));
        // Not under a public suffix-like single label, not partial, not later.
        assert!(!cn_matches("*.com", "example.com"));
        assert!(!cn_matches("w*.example.com", "www.example.com"));
        assert!(!cn_matches("www.*.com", "www.example.com"));
        assert!(!cn_matches("*.ex_ample.com", "a.ex_ample.com"));
        // An unusable pattern still compares literally.
        assert!(cn_matches("*.com", "*.com"));
        assert!(cn_matches("*.example.com", "*.example.com"));
    }
}
