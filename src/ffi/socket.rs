//! The socket calls the data path makes per message, straight to the C
//! library: `send(2)` with `MSG_NOSIGNAL` and `recv(2)`, as std's
//! `TcpStream::write` and `read` make them, without the two layers of
//! wrappers (mio's, std's) around them.

use std::io;
#[cfg(any(target_os = "linux", target_os = "android"))]
use std::os::fd::AsRawFd;

/// Sends from `buf` on a non-blocking socket: Ok(bytes taken), or the
/// error (`WouldBlock` when the socket takes nothing now). A peer that has
/// gone raises no SIGPIPE.
#[cfg(any(target_os = "linux", target_os = "android"))]
#[inline]
pub(crate) fn send(sock: &impl AsRawFd, buf: &[u8]) -> io::Result<usize> {
    // SAFETY: `buf` is valid for `buf.len()` bytes, which send only reads,
    // and the descriptor is the caller's open socket.
    let n = unsafe {
        libc::send(
            sock.as_raw_fd(),
            buf.as_ptr().cast(),
            buf.len(),
            libc::MSG_NOSIGNAL,
        )
    };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(n as usize)
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
#[inline]
pub(crate) fn send(sock: &mio::net::TcpStream, buf: &[u8]) -> io::Result<usize> {
    use std::io::Write;
    (&*sock).write(buf)
}

/// Receives into `buf` from a non-blocking socket: Ok(bytes read, 0 at the
/// end of the stream), or the error (`WouldBlock` when nothing is there).
#[cfg(any(target_os = "linux", target_os = "android"))]
#[inline]
pub(crate) fn recv(sock: &impl AsRawFd, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: `buf` is valid for writes of `buf.len()` bytes, of which recv
    // writes at most that many, and the descriptor is the caller's open
    // socket.
    let n = unsafe { libc::recv(sock.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(n as usize)
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
#[inline]
pub(crate) fn recv(sock: &mio::net::TcpStream, buf: &mut [u8]) -> io::Result<usize> {
    use std::io::Read;
    (&*sock).read(buf)
}
