//! The loop's side of the cross-thread outboxes (`crate::outbox`): handing
//! one out, and moving what producers wrote into the send queue when the
//! connection can take it.

use std::sync::Arc;

use super::send::open_for_messages;
use super::{Context, WriteError};
use crate::callbacks::ConnId;
use crate::connection::{Conn, Phase};
use crate::outbox::{Gate, Link, Outbox};

/// The loop moves an outbox into the send queue only while the send queue
/// holds less than this: what the socket refuses stays with the producers,
/// whose outbox then fills.
const MOVE_BELOW: usize = 64 * 1024;

/// Moves what other threads wrote into the send queue when it may take it,
/// then flushes. One check on a connection without an outbox.
#[inline]
pub(crate) fn feed(c: &mut Conn) -> std::io::Result<()> {
    let Some(Link(ob)) = &c.outbox else {
        return Ok(());
    };
    let gate = match c.phase {
        Phase::Established if c.tx_message_open() || c.buffered() >= MOVE_BELOW => Gate::Later,
        Phase::Established => Gate::Open,
        _ => Gate::Shut,
    };
    let ob = Arc::clone(ob);
    if ob.take(gate, &mut c.out) {
        c.flush()?;
    }
    Ok(())
}

impl Context {
    /// The connection's outbox, made on first use; `limit` (bytes, 0: keep
    /// the current one) bounds it. Loop thread only.
    pub(crate) fn outbox(&self, id: ConnId, limit: usize) -> Result<Arc<Outbox>, WriteError> {
        let r = self.with_conn(id, |c| {
            open_for_messages(c).map_err(|why| super::send::not_open(c, why))?;
            let remote = Arc::clone(&self.remote);
            let Link(ob) = c
                .outbox
                .get_or_insert_with(|| Link(Arc::new(Outbox::new(id.key(), remote))));
            if limit > 0 {
                ob.set_limit(limit);
            }
            Ok(Arc::clone(ob))
        });
        r.unwrap_or(Err(WriteError::Gone))
    }

    /// Feeds the connections whose outboxes woke the loop.
    pub(super) fn feed_outboxes(&self) {
        for key in self.remote.take_outboxes() {
            self.after_io(ConnId::from_key(key));
        }
    }
}
