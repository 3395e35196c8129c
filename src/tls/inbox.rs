//! TLS records read from the socket that rustls has not taken yet.
//!
//! rustls reads records from a socket itself in pieces of its own size
//! (4 KiB more than it holds, at most one record), so a 64 KiB message took
//! about ten `recv`s. An inbox takes everything the kernel has in one
//! `recv` and feeds rustls from memory. Its buffer is lent by a spare kept
//! per thread while it holds nothing, so an idle connection holds none and
//! the connections of a context, served one after the other, share one.

use std::cell::Cell;
use std::io;

use mio::net::TcpStream;

/// What one `recv` can take: two 64 KiB messages and their records' framing.
const INBOX_SIZE: usize = 132 * 1024;

thread_local! {
    /// The buffer the last inbox to empty left, for the next to fill.
    static SPARE: Cell<Option<Box<[u8]>>> = const { Cell::new(None) };
}

#[derive(Default)]
pub struct Inbox {
    buf: Option<Box<[u8]>>,
    start: usize,
    end: usize,
    /// The last `recv` filled the buffer: the socket may hold more.
    full: bool,
}

impl Inbox {
    /// Bytes read and not yet taken.
    #[inline]
    pub fn bytes(&self) -> &[u8] {
        match &self.buf {
            Some(b) => &b[self.start..self.end],
            None => &[],
        }
    }

    /// Bytes are waiting here, or may be in the socket without it
    /// signalling again (the last `recv` filled the buffer).
    #[inline]
    pub fn holds_more(&self) -> bool {
        self.start < self.end || self.full
    }

    /// Reads what the socket has (called when the inbox is empty): Ok(0)
    /// at the end of the stream, `WouldBlock` when nothing is there.
    pub fn fill(&mut self, tcp: &TcpStream) -> io::Result<usize> {
        let mut buf = self
            .buf
            .take()
            .or_else(|| SPARE.take())
            .unwrap_or_else(|| vec![0; INBOX_SIZE].into_boxed_slice());
        let r = crate::ffi::socket::recv(tcp, &mut buf);
        self.start = 0;
        match r {
            Ok(n @ 1..) => {
                self.end = n;
                self.full = n == buf.len();
                self.buf = Some(buf);
            }
            _ => {
                self.end = 0;
                self.full = false;
                SPARE.set(Some(buf));
            }
        }
        r
    }

    /// `n` bytes were taken; the buffer goes back to the spare once all
    /// are, unless the socket may hold more.
    #[inline]
    pub fn consume(&mut self, n: usize) {
        self.start += n;
        if self.start >= self.end {
            self.start = 0;
            self.end = 0;
            if !self.full {
                if let Some(b) = self.buf.take() {
                    SPARE.set(Some(b));
                }
            }
        }
    }
}
