//! A connection's socket: plain TCP, or TLS over the same non-blocking TCP
//! socket. Reads and writes follow `std::io` rules (`WouldBlock` when the
//! socket has nothing to give or take), so the connection code is the same
//! for both.
//!
//! TLS errors travel as `io::Error`s of kind `InvalidData` wrapping the
//! `rustls::Error`; `tls_error` gets it back.

use std::io::{self, Read, Write};

use mio::net::TcpStream;
use rustls::ClientConnection;

pub struct Stream {
    pub tcp: TcpStream,
    tls: Option<Box<ClientConnection>>,
}

impl Stream {
    pub fn plain(tcp: TcpStream) -> Stream {
        Stream { tcp, tls: None }
    }

    pub fn start_tls(&mut self, session: ClientConnection) {
        self.tls = Some(Box::new(session));
    }

    pub fn is_tls(&self) -> bool {
        self.tls.is_some()
    }

    /// Moves the TLS handshake along. Ok(true) once it is complete.
    pub fn handshake(&mut self) -> io::Result<bool> {
        let Some(tls) = self.tls.as_mut() else {
            return Ok(true);
        };
        loop {
            flush_records(tls, &mut self.tcp)?;
            if !tls.is_handshaking() {
                return Ok(true);
            }
            if !tls.wants_read() {
                return Ok(false);
            }
            match tls.read_tls(&mut self.tcp) {
                Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
                Ok(_) => process(tls, &mut self.tcp)?,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Plaintext from the peer. Under TLS, Ok(0) is a close_notify; a TCP
    /// close without one is an `UnexpectedEof` error.
    pub fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let Some(tls) = self.tls.as_mut() else {
            return self.tcp.read(buf);
        };
        loop {
            match tls.reader().read(buf) {
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the peer closed TCP without a TLS close_notify",
                    ))
                }
                Err(e) => return Err(e),
            }
            match tls.read_tls(&mut self.tcp) {
                // EOF: rustls now answers the next read with Ok(0) or UnexpectedEof.
                Ok(_) => process(tls, &mut self.tcp)?,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Takes plaintext to send; Ok(n) with n < buf.len() when the socket
    /// (and, under TLS, rustls' bounded record buffer) is full.
    pub fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let Some(tls) = self.tls.as_mut() else {
            return self.tcp.write(buf);
        };
        flush_records(tls, &mut self.tcp)?;
        let n = tls.writer().write(buf)?;
        flush_records(tls, &mut self.tcp)?;
        if n == 0 && !buf.is_empty() {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        Ok(n)
    }

    /// Sends TLS records rustls holds; Ok even when the socket refuses some.
    pub fn flush(&mut self) -> io::Result<()> {
        match self.tls.as_mut() {
            Some(tls) => flush_records(tls, &mut self.tcp),
            None => Ok(()),
        }
    }

    /// TLS records are waiting for the socket.
    pub fn backlogged(&self) -> bool {
        self.tls.as_ref().is_some_and(|t| t.wants_write())
    }

    /// Sends a TLS close_notify, best effort, before the socket is dropped.
    pub fn close_notify(&mut self) {
        if let Some(tls) = self.tls.as_mut() {
            if !tls.is_handshaking() {
                tls.send_close_notify();
                let _ = flush_records(tls, &mut self.tcp);
            }
        }
    }
}

/// Handles records read; on a TLS error the alert rustls queued is sent.
fn process(tls: &mut ClientConnection, tcp: &mut TcpStream) -> io::Result<()> {
    match tls.process_new_packets() {
        Ok(_) => flush_records(tls, tcp),
        Err(e) => {
            let _ = flush_records(tls, tcp);
            Err(io::Error::new(io::ErrorKind::InvalidData, e))
        }
    }
}

fn flush_records(tls: &mut ClientConnection, tcp: &mut TcpStream) -> io::Result<()> {
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
