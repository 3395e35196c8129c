//! The decoder's short cut for the frame most messages are: a whole, final,
//! unmasked, uncompressed text or binary frame that starts a message and
//! lies complete in the input. Anything else (and any frame the general
//! path would fail) is left to [`Decoder::next`], so the result is the same
//! either way; only the steps are fewer.

use super::Decoder;

/// A message taken whole by [`Decoder::whole_message`]: its payload is
/// `input[start..start + len]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Whole {
    /// Where the payload starts in the input.
    pub start: usize,
    /// Its length.
    pub len: usize,
    /// The message is binary (else text, valid UTF-8).
    pub binary: bool,
}

impl Decoder {
    /// Takes the frame at `input[*pos..]` when it is a complete message
    /// that fits one chunk of `chunk_max` (at least 1) bytes and the decoder is between
    /// messages, moving `*pos` past it. None leaves everything as it was:
    /// the caller goes on with [`Decoder::next`].
    #[inline(always)]
    pub fn whole_message(
        &mut self,
        input: &[u8],
        pos: &mut usize,
        chunk_max: usize,
    ) -> Option<Whole> {
        if !self.between {
            return None;
        }
        let avail = input.get(*pos..)?;
        let (&b0, rest) = avail.split_first()?;
        // FIN, no reserved bits, Text (0x81) or Binary (0x82).
        let binary = match b0 {
            0x82 => true,
            0x81 => false,
            _ => return None,
        };
        // The mask bit set makes b1 at least 128: the general path fails it.
        let (len, hdr) = match *rest.first()? {
            n @ 0..=125 => (n as usize, 2),
            126 => match rest.get(1..3)? {
                &[hi, lo] => (u16::from_be_bytes([hi, lo]) as usize, 4),
                _ => return None,
            },
            _ => return None,
        };
        if len > chunk_max || len as u64 > self.max_message {
            return None;
        }
        let start = *pos + hdr;
        let payload = input.get(start..start + len)?;
        // Invalid text goes the general way, which names the bad byte.
        if !binary && std::str::from_utf8(payload).is_err() {
            return None;
        }
        // What the general path leaves behind after such a message; the
        // UTF-8 state is reset when the next text message starts.
        self.frames += 1;
        self.messages += 1;
        self.message_len = len as u64;
        self.compressed = false;
        *pos = start + len;
        Some(Whole { start, len, binary })
    }
}

#[cfg(test)]
mod tests;
