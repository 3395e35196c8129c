//! Incremental UTF-8 validation for text messages that arrive in pieces.
//!
//! Each piece is checked with the standard library's validator (which skips
//! ASCII a word at a time); only a code point split between pieces is carried
//! over, at most three bytes.

/// Validation state across the chunks of one text message.
#[derive(Debug, Default, Clone)]
pub struct Utf8Stream {
    carry: [u8; 4],
    carry_len: usize,
    /// Bytes accepted so far, to report where an error is.
    seen: u64,
}

impl Utf8Stream {
    /// Checks the next piece. On error returns the message offset of the bad byte.
    pub fn feed(&mut self, mut data: &[u8]) -> Result<(), u64> {
        if self.carry_len > 0 {
            // Complete the split code point first.
            let need = utf8_width(self.carry[0]).max(self.carry_len + 1);
            let take = (need - self.carry_len).min(data.len());
            self.carry[self.carry_len..self.carry_len + take].copy_from_slice(&data[..take]);
            let have = self.carry_len + take;
            match std::str::from_utf8(&self.carry[..have]) {
                Ok(_) => {
                    self.seen += have as u64;
                    self.carry_len = 0;
                    data = &data[take..];
                }
                Err(e) if e.error_len().is_none() => {
                    // Still incomplete: the piece was shorter than the code point.
                    self.carry_len = have;
                    return Ok(());
                }
                Err(e) => return Err(self.seen + e.valid_up_to() as u64),
            }
        }
        match std::str::from_utf8(data) {
            Ok(_) => {
                self.seen += data.len() as u64;
                Ok(())
            }
            Err(e) => {
                let good = e.valid_up_to();
                if e.error_len().is_some() {
                    return Err(self.seen + good as u64);
                }
                let tail = &data[good..];
                self.seen += good as u64;
                self.carry[..tail.len()].copy_from_slice(tail);
                self.carry_len = tail.len();
                Ok(())
            }
        }
    }

    /// True when no code point is left unfinished.
    pub fn is_complete(&self) -> bool {
        self.carry_len == 0
    }
}

/// Length of the sequence a lead byte starts (1 for invalid leads, so the
/// validator reports them).
fn utf8_width(lead: u8) -> usize {
    match lead {
        0xc2..=0xdf => 2,
        0xe0..=0xef => 3,
        0xf0..=0xf4 => 4,
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_split(bytes: &[u8]) -> Result<(), u64> {
        let whole = std::str::from_utf8(bytes).is_ok();
        for size in 1..=bytes.len().max(1) {
            let mut s = Utf8Stream::default();
            let mut result = Ok(());
            for piece in bytes.chunks(size) {
                result = s.feed(piece);
                if result.is_err() {
                    break;
                }
            }
            let ok = result.is_ok() && s.is_complete();
            assert_eq!(ok, whole, "{bytes:?} in pieces of {size}");
        }
        Ok(())
    }

    #[test]
    fn agrees_with_std_for_every_split() {
        let cases: &[&[u8]] = &[
            "hello".as_bytes(),
            "κόσμε".as_bytes(),
            "𝄞€x".as_bytes(),
            &[0xf4, 0x90, 0x80, 0x80],
            &[0xed, 0xa0, 0x80],
            &[0xc0, 0xaf],
            &[0xe0, 0x80, 0xaf],
            &[0xce, 0xba, 0xe1],
            &[0xff],
            &[0x61, 0xf0, 0x9f, 0x98],
        ];
        for c in cases {
            check_split(c).unwrap();
        }
    }

    #[test]
    fn reports_error_offset() {
        let mut s = Utf8Stream::default();
        s.feed(b"abc").unwrap();
        assert_eq!(s.feed(&[b'd', 0xff]), Err(4));
    }
}
