//! A connection's socket: plain TCP, or TLS over the same non-blocking TCP
//! socket. Reads and writes follow `std::io` rules (`WouldBlock` when the
//! socket has nothing to give or take), so the connection code is the same
//! for both.
//!
//! Through an HTTPS proxy, the proxy's TLS session carries the tunnel: it is
//! the session itself for ws://, and for wss:// it moves under the
//! server's session, whose records then travel inside it (TLS in TLS).
//! Plain TCP never looks at it.
//!
//! Records for the lowest session (the server's, or the proxy's under it)
//! come from the socket through an inbox: one `recv` takes all the kernel
//! has, and rustls is fed from memory (it reads at most a record and 4 KiB
//! at a time from a socket).
//!
//! TLS errors travel as `io::Error`s of kind `InvalidData` wrapping the
//! `rustls::Error`; `tls_error` gets it back.

use std::io::{self, Read, Write};

use mio::net::TcpStream;
use rustls::ClientConnection;

use crate::tls::Inbox;

pub struct Stream {
    pub tcp: TcpStream,
    tls: Option<Box<Session>>,
    /// The HTTPS proxy's session under `tls` (only ever set with `tls`).
    proxy: Option<Box<Session>>,
}

/// A TLS session and the records read for it.
struct Session {
    conn: ClientConnection,
    /// Records read from the socket and not yet given to `conn` (only the
    /// lowest session reads the socket).
    inbox: Inbox,
    /// The last plaintext read filled the reader's buffer: `conn` may
    /// hold more.
    more_plain: bool,
}

/// What a TLS session's records travel over: the socket, or the HTTPS
/// proxy's session on it.
struct Under<'a> {
    tcp: &'a mut TcpStream,
    proxy: Option<&'a mut Session>,
}

impl Read for Under<'_> {
    /// Only the handshake reads the socket directly, before the inbox has
    /// held anything.
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.proxy.as_deref_mut() {
            None => self.tcp.read(buf),
            Some(p) => read_lowest(p, self.tcp, buf),
        }
    }
}

impl Write for Under<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self.proxy.as_deref_mut() {
            None => self.tcp.write(buf),
            Some(p) => write_plain(&mut p.conn, self.tcp, buf),
        }
    }

    /// rustls hands its records over as several slices: one writev to
    /// the socket, as when it writes to the socket itself.
    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        match self.proxy.as_deref_mut() {
            None => self.tcp.write_vectored(bufs),
            Some(p) => {
                let first = bufs.iter().find(|b| !b.is_empty()).map_or(&[][..], |b| b);
                write_plain(&mut p.conn, self.tcp, first)
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Stream {
    pub fn plain(tcp: TcpStream) -> Stream {
        Stream {
            tcp,
            tls: None,
            proxy: None,
        }
    }

    /// Starts a TLS session; one already running (an HTTPS proxy's, whose
    /// tunnel is open) goes under it.
    pub fn start_tls(&mut self, session: ClientConnection) {
        if let Some(proxy) = self.tls.take() {
            self.proxy = Some(proxy);
        }
        self.tls = Some(Box::new(Session {
            conn: session,
            inbox: Inbox::default(),
            more_plain: false,
        }));
    }

    /// Sends on a plain socket; None under TLS (see [`Stream::write`]).
    #[inline(always)]
    pub fn send_plain(&self, buf: &[u8]) -> Option<io::Result<usize>> {
        match self.tls {
            None => Some(crate::ffi::socket::send(&self.tcp, buf)),
            Some(_) => None,
        }
    }

    pub fn is_tls(&self) -> bool {
        self.tls.is_some()
    }

    /// Moves the TLS handshake along. Ok(true) once it is complete.
    pub fn handshake(&mut self) -> io::Result<bool> {
        let Some(Session { conn: tls, .. }) = self.tls.as_deref_mut() else {
            return Ok(true);
        };
        let io = &mut Under {
            tcp: &mut self.tcp,
            proxy: self.proxy.as_deref_mut(),
        };
        loop {
            flush_records(tls, io)?;
            if !tls.is_handshaking() {
                return Ok(true);
            }
            if !tls.wants_read() {
                return Ok(false);
            }
            match tls.read_tls(io) {
                Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
                Ok(_) => process(tls, io)?,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Plaintext from the peer. Under TLS, Ok(0) is a close_notify; a TCP
    /// close without one is an `UnexpectedEof` error. Inlined: the plain
    /// case is one test before the socket's own read.
    #[inline]
    pub fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.tls.is_none() {
            return crate::ffi::socket::recv(&self.tcp, buf);
        }
        self.read_tls(buf)
    }

    fn read_tls(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let Some(tls) = self.tls.as_deref_mut() else {
            return self.tcp.read(buf);
        };
        match self.proxy.as_deref_mut() {
            None => read_lowest(tls, &mut self.tcp, buf),
            Some(p) => {
                let io = &mut Under {
                    tcp: &mut self.tcp,
                    proxy: Some(p),
                };
                read_plain(&mut tls.conn, io, buf)
            }
        }
    }

    /// A read may give more without the socket signalling again: never
    /// for plain TCP (a short read drained it); under TLS while records
    /// or plaintext are held, or the socket may hold more than the last
    /// read took (always through a proxy, whose session holds its own).
    #[inline]
    pub fn holds_more(&self) -> bool {
        match self.tls.as_deref() {
            None => false,
            Some(t) => self.proxy.is_some() || t.more_plain || t.inbox.holds_more(),
        }
    }

    /// Takes plaintext to send; Ok(n) with n < buf.len() when the socket
    /// (and, under TLS, rustls' bounded record buffer) is full. Inline: the
    /// plain case is one `send` in the caller's frame.
    #[inline]
    pub fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.tls.is_none() {
            return crate::ffi::socket::send(&self.tcp, buf);
        }
        self.write_tls(buf)
    }

    #[inline(never)]
    fn write_tls(&mut self, buf: &[u8]) -> io::Result<usize> {
        let Some(Session { conn: tls, .. }) = self.tls.as_deref_mut() else {
            return self.tcp.write(buf);
        };
        let io = &mut Under {
            tcp: &mut self.tcp,
            proxy: self.proxy.as_deref_mut(),
        };
        write_plain(tls, io, buf)
    }

    /// Sends TLS records rustls holds; Ok even when the socket refuses some.
    #[inline]
    pub fn flush(&mut self) -> io::Result<()> {
        if self.tls.is_none() {
            return Ok(());
        }
        self.flush_tls()
    }

    fn flush_tls(&mut self) -> io::Result<()> {
        let Some(Session { conn: tls, .. }) = self.tls.as_deref_mut() else {
            return Ok(());
        };
        let proxy = self.proxy.as_deref_mut();
        let io = &mut Under {
            tcp: &mut self.tcp,
            proxy,
        };
        flush_records(tls, io)?;
        match self.proxy.as_deref_mut() {
            Some(p) => flush_records(&mut p.conn, &mut self.tcp),
            None => Ok(()),
        }
    }

    /// TLS records are waiting for the socket.
    pub fn backlogged(&self) -> bool {
        self.tls.as_ref().is_some_and(|t| {
            t.conn.wants_write() || self.proxy.as_ref().is_some_and(|p| p.conn.wants_write())
        })
    }

    /// Sends a TLS close_notify, best effort, before the socket is dropped.
    pub fn close_notify(&mut self) {
        if let Some(Session { conn: tls, .. }) = self.tls.as_deref_mut() {
            if !tls.is_handshaking() {
                tls.send_close_notify();
                let io = &mut Under {
                    tcp: &mut self.tcp,
                    proxy: self.proxy.as_deref_mut(),
                };
                let _ = flush_records(tls, io);
            }
        }
        if let Some(Session { conn: p, .. }) = self.proxy.as_deref_mut() {
            p.send_close_notify();
            let _ = flush_records(p, &mut self.tcp);
        }
    }
}

/// Plaintext from `tls`, reading records from `io` as needed.
fn read_plain<T: Read + Write>(
    tls: &mut ClientConnection,
    io: &mut T,
    buf: &mut [u8],
) -> io::Result<usize> {
    loop {
        if let Some(r) = plaintext(tls, buf) {
            return r;
        }
        match tls.read_tls(io) {
            // EOF: rustls now answers the next read with Ok(0) or UnexpectedEof.
            Ok(_) => process(tls, io)?,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// Plaintext from the lowest session, fed from its inbox, which reads the
/// socket when empty.
fn read_lowest(s: &mut Session, tcp: &mut TcpStream, buf: &mut [u8]) -> io::Result<usize> {
    let Session {
        conn,
        inbox,
        more_plain,
    } = s;
    loop {
        if let Some(r) = plaintext(conn, buf) {
            if let Ok(n) = r {
                *more_plain = n == buf.len() && n > 0;
            }
            return r;
        }
        if inbox.bytes().is_empty() {
            match inbox.fill(tcp) {
                Ok(0) => {
                    // EOF: rustls now answers the next read with Ok(0)
                    // (after a close_notify) or UnexpectedEof.
                    conn.read_tls(&mut io::empty())?;
                    process(conn, tcp)?;
                    continue;
                }
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
        let mut rest = inbox.bytes();
        let held = rest.len();
        let taken = conn.read_tls(&mut rest)?;
        // Ok(0) from bytes held: rustls takes nothing after a close_notify.
        inbox.consume(if taken == 0 { held } else { taken });
        process(conn, tcp)?;
    }
}

/// Plaintext rustls holds, into `buf`; None when it holds none yet.
#[inline(always)]
fn plaintext(tls: &mut ClientConnection, buf: &mut [u8]) -> Option<io::Result<usize>> {
    match tls.reader().read(buf) {
        Ok(n) => Some(Ok(n)),
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => None,
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Some(Err(no_close_notify())),
        Err(e) => Some(Err(e)),
    }
}

fn no_close_notify() -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        "the peer closed TCP without a TLS close_notify",
    )
}

/// Plaintext into `tls`, its records out to `io`; WouldBlock when neither
/// takes anything. rustls takes at most its buffer limit (64 KiB) at a
/// time: while the socket takes all its records, it is given the rest, so
/// a longer write does not wait for the socket to signal room.
fn write_plain<T: Read + Write>(
    tls: &mut ClientConnection,
    io: &mut T,
    buf: &[u8],
) -> io::Result<usize> {
    flush_records(tls, io)?;
    let mut n = 0;
    loop {
        let taken = tls.writer().write(&buf[n..])?;
        n += taken;
        flush_records(tls, io)?;
        if n == buf.len() || taken == 0 || tls.wants_write() {
            break;
        }
    }
    if n == 0 && !buf.is_empty() {
        return Err(io::ErrorKind::WouldBlock.into());
    }
    Ok(n)
}

/// Handles records read; on a TLS error the alert rustls queued is sent.
fn process<T: Read + Write>(tls: &mut ClientConnection, tcp: &mut T) -> io::Result<()> {
    match tls.process_new_packets() {
        Ok(_) => flush_records(tls, tcp),
        Err(e) => {
            let _ = flush_records(tls, tcp);
            Err(io::Error::new(io::ErrorKind::InvalidData, e))
        }
    }
}

fn flush_records<T: Write>(tls: &mut ClientConnection, tcp: &mut T) -> io::Result<()> {
    while tls.wants_write() {
        match tls.write_tls(tcp) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// The rustls error inside an `io::Error` from a `Stream`, if it holds one.
pub fn tls_error(e: &io::Error) -> Option<&rustls::Error> {
    e.get_ref()?.downcast_ref::<rustls::Error>()
}
