//! The HTTP upgrade: the request out, the response in, the checks, CLIENT_ESTABLISHED.

use std::io;
use std::time::Duration;

use super::dial::read_failed;
use super::{Context, Pmd};
use crate::callbacks::{CbIn, ConnId, Reason};
use crate::connection::{Exchange, Partial, Phase};
use crate::deflate::Offer;
use crate::error::{ConnectError, HandshakeError};
use crate::handshake::{self, RequestParams, Response};
use crate::log;
use crate::timers::Kind;

/// Room given to `CLIENT_APPEND_HANDSHAKE_HEADER`.
const HEADER_SPACE: usize = 4096;

impl Context {
    /// TCP is up: ask the application for extra headers, then send the
    /// request. `read`: look for an answer at once (edge-triggered
    /// readiness: bytes that arrived before the event that brought us here
    /// bring no new one; an answer to the request will).
    pub(super) fn send_upgrade(&self, id: ConnId, read: bool) {
        self.sweep_timers_if_due();
        // The headers are written into the receive buffer, which is not in
        // use between reads: no buffer of their own for each connection.
        let mut rx = self.take_rx_buf();
        let space = &mut rx.read_area()[..HEADER_SPACE];
        let mut used = 0usize;
        let r = self.dispatch(
            id,
            Reason::ClientAppendHandshakeHeader,
            CbIn::HeaderSpace {
                space,
                used: &mut used,
            },
        );
        if r.unwrap_or(0) != 0 {
            self.put_rx_buf(rx);
            self.fail(id, ConnectError::RejectedByFilter);
            return;
        }
        let space = &rx.read_area()[..HEADER_SPACE];
        let secs = self.cfg.timeout_secs;
        let mut random = [0u8; 16];
        self.random(&mut random);
        let offer = self.deflate_offer(id);
        let extensions = offer.as_ref().map(|o| o.to_string());
        let failed = self.with_conn(id, |c| {
            let key = handshake::new_key(random);
            let request = handshake::build_request(&RequestParams {
                path: c.req.path(),
                host: c.req.host(),
                origin: c.req.origin(),
                protocol: c.req.protocol(),
                key: &key,
                extensions: extensions.as_deref(),
                extra: &space[..used.min(HEADER_SPACE)],
            });
            if log::enabled(log::HEADER) {
                wlog!(
                    log::HEADER,
                    "upgrade request to {}:\n{}",
                    c.peer(),
                    String::from_utf8_lossy(&request).trim_end()
                );
            }
            // Written at once: the socket normally takes it whole, and
            // then the connection keeps none of it while it waits.
            let mut sent = 0;
            let mut error = None;
            if let Some(sock) = c.sock.as_mut() {
                while sent < request.len() {
                    match sock.write(&request[sent..]) {
                        Ok(n) => sent += n,
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                        Err(e) => {
                            error = Some(e);
                            break;
                        }
                    }
                }
            }
            let partial = (sent < request.len()).then(|| {
                Box::new(Partial {
                    unsent: request[sent..].to_vec(),
                    head: Vec::new(),
                })
            });
            c.phase = Phase::Upgrading(Exchange {
                nonce: random,
                offer,
                partial,
            });
            self.set_deadline(c, Duration::from_secs(secs.into()));
            error.map(|e| read_failed(&c.target(), &e, 0))
        });
        self.put_rx_buf(rx);
        if let Some(Some(e)) = failed {
            return self.fail(id, e);
        }
        self.handshake_io(id, false, read, false);
    }

    /// Moves the upgrade request out and the response in.
    /// `closed`: the peer had closed when the event came, so a short read
    /// does not mean the socket is drained.
    pub(super) fn handshake_io(&self, id: ConnId, writable: bool, readable: bool, closed: bool) {
        enum Next {
            Wait,
            Fail(Failure),
            /// The head, what followed it, whether the read that completed it
            /// may have left more in the socket.
            Head(Vec<u8>, [u8; 16], Option<Offer>, bool),
        }
        // Responses are read into the receive buffer: no buffer of their
        // own to clear for each connection.
        let mut rx = self.take_rx_buf();
        let chunk = rx.read_area();
        let next = self.with_conn(id, |c| {
            let (Some(sock), Phase::Upgrading(hs)) = (c.sock.as_mut(), &mut c.phase) else {
                return Next::Wait;
            };
            if let (true, Some(p)) = (writable, hs.partial.as_deref_mut()) {
                while !p.unsent.is_empty() {
                    match sock.write(&p.unsent) {
                        Ok(n) => drop(p.unsent.drain(..n)),
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                        Err(e) => return Next::Fail(Failure::Io(e, p.head.len())),
                    }
                }
            }
            if !readable {
                return Next::Wait;
            }
            loop {
                match sock.read(chunk) {
                    Ok(0) => return Next::Fail(Failure::HungUp(hs.head_len())),
                    Ok(n) => {
                        // The head is parsed where it was read, unless an
                        // earlier read brought part of it.
                        let parsed = match hs.partial.as_deref_mut() {
                            Some(p) if !p.head.is_empty() => {
                                p.head.extend_from_slice(&chunk[..n]);
                                handshake::parse_response(&p.head)
                                    .map(|r| r.map(|(resp, len)| (resp, p.head[len..].to_vec())))
                            }
                            _ => handshake::parse_response(&chunk[..n])
                                .map(|r| r.map(|(resp, len)| (resp, chunk[len..n].to_vec()))),
                        };
                        match parsed {
                            Ok(Some((resp, rest))) => {
                                let nonce = hs.nonce;
                                let offer = hs.offer.take();
                                // A short read drained the socket (the
                                // test read_frames makes), unless the peer
                                // had closed: what comes later is a new event.
                                let more = n == chunk.len() || sock.holds_more() || closed;
                                c.http_status = resp.status;
                                c.phase = Phase::Accepting(Box::new(resp));
                                return Next::Head(rest, nonce, offer, more);
                            }
                            Ok(None) => {
                                let p = hs.partial.get_or_insert_with(Default::default);
                                if p.head.is_empty() {
                                    p.head.extend_from_slice(&chunk[..n]);
                                }
                                continue;
                            }
                            Err(error) => {
                                let offered = c.req.protocol().map(str::to_string);
                                return Next::Fail(Failure::Refused(error, offered));
                            }
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Next::Wait,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Next::Fail(Failure::Io(e, hs.head_len())),
                }
            }
        });
        self.put_rx_buf(rx);
        match next {
            Some(Next::Fail(f)) => {
                // The target is written out only for the error message.
                let target = self.with_conn(id, |c| c.target()).unwrap_or_default();
                self.fail(id, f.error(target));
            }
            Some(Next::Head(rest, nonce, offer, more)) => {
                let key = handshake::new_key(nonce);
                self.on_response(id, rest, &key, offer.as_ref());
                // Readiness is edge-triggered: whatever came after the head
                // in the same burst (frames, the peer's FIN) brings no new
                // event, so read on until the socket is drained.
                let open = self.with_conn(id, |c| matches!(c.phase, Phase::Established));
                if more && open == Some(true) {
                    self.read_frames(id, true);
                    self.after_io(id);
                }
            }
            _ => {}
        }
    }

    /// A complete response head arrived.
    fn on_response(&self, id: ConnId, rest: Vec<u8>, key: &str, offer: Option<&Offer>) {
        if self.follow_redirect(id) {
            return;
        }
        let checked = self.with_conn(id, |c| {
            let Phase::Accepting(resp) = &c.phase else {
                return None;
            };
            if log::enabled(log::HEADER) {
                log_response(resp);
            }
            let checked = handshake::check_response(resp, key, c.req.protocol(), offer);
            Some(checked.map_err(|error| ConnectError::Handshake {
                target: c.target(),
                error,
                offered: c.req.protocol().map(str::to_string),
            }))
        });
        let accepted = match checked.flatten() {
            Some(Ok(a)) => a,
            Some(Err(e)) => return self.fail(id, e),
            None => return,
        };
        if accepted.protocol.is_none() {
            let strict = self.with_conn(id, |c| {
                let offered = c.req.protocol().map(str::to_string)?;
                let local = self.cfg.protocols[c.protocol]
                    .name
                    .clone()
                    .unwrap_or_default();
                if c.req.require_subprotocol {
                    return Some(Err(ConnectError::NoSubprotocol { offered, local }));
                }
                Some(Ok((offered, local)))
            });
            match strict.flatten() {
                Some(Err(e)) => return self.fail(id, e),
                Some(Ok((offered, local))) => wlog!(
                    log::WARN,
                    "subprotocol mismatch: offered '{offered}', server selected none; continuing bound to local protocol '{local}' (set WS_CONNECT_REQUIRE_SUBPROTOCOL in wsloop_flags to fail instead)"
                ),
                None => {}
            }
        }
        if self
            .dispatch(id, Reason::ClientFilterPreEstablish, CbIn::None)
            .unwrap_or(0)
            != 0
        {
            return self.fail(id, ConnectError::RejectedByFilter);
        }
        self.with_conn(id, |c| {
            if let Some(params) = &accepted.deflate {
                c.decoder.set_permessage_deflate(true);
                c.pmd = Some(Box::new(Pmd::new(params)));
            }
            c.phase = Phase::Established;
            c.timer_seq[Kind::Deadline as usize] = 0;
            c.stats.established = Some(std::time::Instant::now());
            c.stats.rx_wire += rest.len() as u64;
        });
        self.start_keepalive(id);
        self.totals.borrow_mut().established += 1;
        let pmd = match &accepted.deflate {
            Some(p) => format!(" with permessage-deflate ({p})"),
            None => String::new(),
        };
        wlog!(
            log::INFO,
            "established {}{pmd}",
            self.with_conn(id, |c| c.target()).unwrap_or_default()
        );
        if self.reconnected(id) != 0
            || self
                .dispatch(id, Reason::ClientEstablished, CbIn::None)
                .unwrap_or(0)
                != 0
        {
            return self.fail(id, ConnectError::RejectedAtEstablished);
        }
        self.process_bytes(id, &rest);
        self.after_io(id);
    }
}

/// Why moving the upgrade along failed, before the target is known.
enum Failure {
    /// Reading or writing failed, with the head's bytes received so far.
    Io(io::Error, usize),
    /// The peer hung up, after sending this many bytes of the head.
    HungUp(usize),
    /// The head is not an acceptable answer; the subprotocol offered.
    Refused(HandshakeError, Option<String>),
}

impl Failure {
    fn error(self, target: String) -> ConnectError {
        match self {
            Failure::Io(e, received) => read_failed(&target, &e, received),
            Failure::HungUp(received) => ConnectError::HungUp { target, received },
            Failure::Refused(error, offered) => ConnectError::Handshake {
                target,
                error,
                offered,
            },
        }
    }
}

/// Logs the upgrade response at `WS_LLL_HEADER`.
fn log_response(resp: &Response) {
    let lines: Vec<String> = resp
        .headers
        .iter()
        .map(|(n, v)| format!("{n}: {}", String::from_utf8_lossy(v)))
        .collect();
    wlog!(
        log::HEADER,
        "upgrade response: {} {}\n{}",
        resp.status,
        resp.reason,
        lines.join("\n")
    );
}
