//! Reading the statistics: one connection's (`ws_get_conn_stats`) and the
//! context's (`ws_get_context_stats`). Nothing here runs on the data path.

use std::time::Instant;

use super::Context;
use crate::callbacks::ConnId;
use crate::connection::{Conn, Outcome, Phase};
use crate::stats::{ConnReport, ContextReport, Counts};

/// A connection's byte, frame and message counts, with what its other
/// threads queued (`ws_sender_write`).
pub(super) fn counts(c: &Conn) -> Counts {
    let s = &c.stats;
    let mut n = Counts {
        rx_wire: s.rx_wire,
        tx_wire: s.tx_wire,
        rx_payload: s.rx_payload,
        tx_payload: s.tx_payload,
        rx_messages: c.decoder.message_number(),
        tx_messages: s.tx_messages,
        rx_frames: c.decoder.frames,
        tx_frames: s.tx_frames,
    };
    if let Some(crate::outbox::Link(ob)) = &c.outbox {
        let [frames, wire, payload] = ob.sent();
        n.tx_frames += frames;
        n.tx_wire += wire;
        n.tx_payload += payload;
        n.tx_messages += frames;
    }
    if let Some(r) = &c.restart {
        n += r.earlier;
    }
    n
}

impl Context {
    /// One connection's statistics; None when it is gone.
    pub fn conn_stats(&self, id: ConnId) -> Option<ConnReport> {
        let now = Instant::now();
        self.with_conn(id, |c| ConnReport {
            counts: counts(c),
            established: c
                .stats
                .established
                .map(|t| now.saturating_duration_since(t)),
            rtt_last: c.stats.rtt.as_ref().and_then(|r| r.last),
            rtt_smoothed: c.stats.rtt.as_ref().and_then(|r| r.smoothed),
            rtt_samples: c.stats.rtt.as_ref().map_or(0, |r| r.samples),
            queued: c.buffered() as u64,
            tls_backlogged: c.sock.as_ref().is_some_and(|s| s.backlogged()),
        })
    }

    /// The context's connections by phase, and totals since it was made.
    pub fn context_stats(&self) -> ContextReport {
        let t = self.totals.borrow();
        let mut r = ContextReport {
            started: t.started,
            established_total: t.established,
            failed: t.failed,
            closed: t.closed,
            counts: t.ended,
            ..Default::default()
        };
        drop(t);
        for slot in self.slots.borrow().iter() {
            let Some(c) = slot.conn.as_deref() else {
                continue;
            };
            let phase = match c.phase {
                Phase::New | Phase::Resolving => &mut r.resolving,
                Phase::Connecting(_) => &mut r.connecting,
                Phase::Tunneling(_) | Phase::ProxyTls => &mut r.tunneling,
                Phase::Tls => &mut r.tls,
                Phase::Upgrading(_) | Phase::Accepting(_) => &mut r.upgrading,
                Phase::Established => &mut r.established,
                Phase::Closing | Phase::Done(_) => &mut r.closing,
            };
            *phase += 1;
            r.counts += counts(c);
        }
        r
    }

    /// A connection is freed: its counts go into the context's totals.
    pub(super) fn count_ended(&self, c: &Conn) {
        let mut t = self.totals.borrow_mut();
        match c.phase {
            Phase::Done(Outcome::Failed { .. }) => t.failed += 1,
            _ => t.closed += 1,
        }
        t.ended += counts(c);
    }
}
