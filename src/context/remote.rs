//! What other threads may touch: the one `Send + Sync` part of a context.
//!
//! `ws_cancel_service`, the resolver's worker threads and the producers of
//! connection outboxes (`ws_sender_write`) reach the loop only through a
//! [`Remote`]: they leave something here and wake the poll. The loop thread
//! collects it at the top of its next iteration.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use mio::{Registry, Token, Waker};

use crate::outbox::Notify;
use crate::resolve::{Lookup, Resolver};

/// A context's cross-thread mailbox and the waker of its poll.
pub(crate) struct Remote {
    waker: Arc<Waker>,
    /// `ws_cancel_service` was called since the loop last looked.
    cancelled: AtomicBool,
    /// Name lookups: started by the loop, answered by worker threads.
    pub(crate) resolver: Resolver,
    /// Connections whose outbox has messages for the loop.
    outboxes: Mutex<Vec<u64>>,
}

impl Remote {
    pub(crate) fn new(registry: &Registry, token: Token) -> io::Result<Arc<Remote>> {
        let waker = Arc::new(Waker::new(registry, token)?);
        Ok(Arc::new(Remote {
            resolver: Resolver::new(Arc::clone(&waker)),
            waker,
            cancelled: AtomicBool::new(false),
            outboxes: Mutex::new(Vec::new()),
        }))
    }

    /// `ws_cancel_service`: every protocol gets EVENT_WAIT_CANCELLED on the loop thread.
    pub(crate) fn cancel(&self) {
        self.cancelled.store(true, Ordering::Release);
        self.wake();
    }

    /// Wakes the loop: makes the poll (and the context's descriptor) readable.
    pub(crate) fn wake(&self) {
        // Fails only when the poll is gone, and then nobody waits for it.
        let _ = self.waker.wake();
    }

    /// Whether `ws_cancel_service` was called since the last look (loop thread).
    pub(crate) fn take_cancel(&self) -> bool {
        self.cancelled.swap(false, Ordering::AcqRel)
    }

    /// The connections whose outboxes woke the loop since the last look (loop thread).
    pub(crate) fn take_outboxes(&self) -> Vec<u64> {
        std::mem::take(&mut *self.outboxes.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// The lookups finished since the last look (loop thread).
    pub(crate) fn take_lookups(&self) -> Vec<(u64, Lookup)> {
        self.resolver.take()
    }
}

impl Notify for Remote {
    /// An outbox has messages (on a producer thread).
    fn outbox_ready(&self, key: u64) {
        self.outboxes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(key);
        self.wake();
    }
}
