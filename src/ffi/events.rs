//! The loop's wait for events. On Linux, `epoll_wait(2)` on the poll's own
//! epoll descriptor, straight to the C library, into a buffer whose entries
//! are read as they are (token and flags), without mio's `Events` and its
//! per-event accessors; elsewhere, mio's poll.

use std::cell::RefCell;
use std::io;
use std::time::Duration;

/// One socket's readiness from a poll: epoll's flags, read as mio reads
/// them.
#[cfg(any(target_os = "linux", target_os = "android"))]
#[derive(Clone, Copy, Debug)]
pub(crate) struct Ready(libc::c_int);

#[cfg(any(target_os = "linux", target_os = "android"))]
impl Ready {
    /// Data to read, or the end of it (a hang-up or error is read too).
    #[inline]
    pub(crate) fn readable(self) -> bool {
        self.0 & (libc::EPOLLIN | libc::EPOLLPRI | libc::EPOLLERR | libc::EPOLLHUP) != 0
    }

    #[inline]
    pub(crate) fn writable(self) -> bool {
        self.0 & libc::EPOLLOUT != 0 || self.closed()
    }

    /// The peer closed (or the socket failed): an error, a hang-up, or
    /// the peer's end of the stream. Read until it would block, since no
    /// further event will come. (Linux sets EPOLLRDHUP on a stream socket
    /// only together with EPOLLIN, so it is not tested for twice.)
    #[inline]
    pub(crate) fn closed(self) -> bool {
        self.0 & (libc::EPOLLERR | libc::EPOLLHUP | libc::EPOLLRDHUP) != 0
    }
}

/// One socket's readiness from a poll.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
#[derive(Clone, Copy, Debug)]
pub(crate) struct Ready {
    readable: bool,
    writable: bool,
    closed: bool,
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
impl Ready {
    pub(crate) fn readable(self) -> bool {
        self.readable
    }

    pub(crate) fn writable(self) -> bool {
        self.writable
    }

    /// The peer closed (or the socket failed): read until it would block,
    /// since no further event will come.
    pub(crate) fn closed(self) -> bool {
        self.closed
    }
}

/// The events one wait collected.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) struct Events {
    /// The poll's epoll descriptor (the poll outlives this buffer).
    fd: std::os::fd::RawFd,
    buf: Vec<libc::epoll_event>,
    len: usize,
}

#[cfg(any(target_os = "linux", target_os = "android"))]
impl Events {
    pub(crate) fn new(poll: &mio::Poll, n: usize) -> Events {
        use std::os::fd::AsRawFd;
        Events {
            fd: poll.as_raw_fd(),
            buf: vec![libc::epoll_event { events: 0, u64: 0 }; n],
            len: 0,
        }
    }

    /// Waits on the poll the buffer was made for (`_poll`) for at most
    /// `timeout` (None: until something happens); a timeout under a
    /// millisecond is rounded up, as mio does, so that no wait ends early.
    #[inline]
    pub(crate) fn wait(
        &mut self,
        _poll: &RefCell<mio::Poll>,
        timeout: Option<Duration>,
    ) -> io::Result<()> {
        let ms = match timeout {
            None => -1,
            Some(to) => libc::c_int::try_from(
                to.checked_add(Duration::from_nanos(999_999))
                    .unwrap_or(to)
                    .as_millis(),
            )
            .unwrap_or(libc::c_int::MAX),
        };
        self.len = 0;
        // SAFETY: the buffer holds `buf.len()` entries, of which epoll_wait
        // writes at most that many, and the descriptor is the poll's own,
        // open while the context (which holds both) lives.
        let n = unsafe {
            libc::epoll_wait(
                self.fd,
                self.buf.as_mut_ptr(),
                self.buf.len() as libc::c_int,
                ms,
            )
        };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        self.len = n as usize;
        Ok(())
    }

    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    #[inline]
    pub(crate) fn capacity(&self) -> usize {
        self.buf.len()
    }

    /// Each event's token and, for a socket, its readiness.
    #[inline]
    pub(crate) fn iter(&self) -> impl Iterator<Item = (mio::Token, Ready)> + '_ {
        self.buf[..self.len]
            .iter()
            .map(|e| (mio::Token(e.u64 as usize), Ready(e.events as libc::c_int)))
    }
}

/// The events one wait collected.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub(crate) struct Events {
    events: mio::Events,
    got: Vec<(mio::Token, Ready)>,
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
impl Events {
    pub(crate) fn new(_poll: &mio::Poll, n: usize) -> Events {
        Events {
            events: mio::Events::with_capacity(n),
            got: Vec::with_capacity(n),
        }
    }

    /// Waits on `poll` for at most `timeout` (None: until something happens).
    pub(crate) fn wait(
        &mut self,
        poll: &RefCell<mio::Poll>,
        timeout: Option<Duration>,
    ) -> io::Result<()> {
        self.got.clear();
        poll.borrow_mut().poll(&mut self.events, timeout)?;
        self.got.extend(self.events.iter().map(|e| {
            let closed = e.is_error() || e.is_read_closed() || e.is_write_closed();
            let ready = Ready {
                readable: e.is_readable() || closed,
                writable: e.is_writable() || closed,
                closed,
            };
            (e.token(), ready)
        }));
        Ok(())
    }

    pub(crate) fn len(&self) -> usize {
        self.got.len()
    }

    pub(crate) fn capacity(&self) -> usize {
        self.events.capacity()
    }

    /// Each event's token and, for a socket, its readiness.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (mio::Token, Ready)> + '_ {
        self.got.iter().copied()
    }
}
