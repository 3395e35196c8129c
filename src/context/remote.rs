//! What other threads may touch: the one `Send + Sync` part of a context.
//!
//! `ws_cancel_service` and the resolver's worker threads reach the loop only
//! through a [`Remote`]: they leave something here and wake the poll. The
//! loop thread collects it at the top of its next iteration.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use mio::{Registry, Token, Waker};

use crate::resolve::{Lookup, Resolver};

/// A context's cross-thread mailbox and the waker of its poll.
pub(crate) struct Remote {
    waker: Arc<Waker>,
    /// `ws_cancel_service` was called since the loop last looked.
    cancelled: AtomicBool,
    /// Name lookups: started by the loop, answered by worker threads.
    pub(crate) resolver: Resolver,
}

impl Remote {
    pub(crate) fn new(registry: &Registry, token: Token) -> io::Result<Arc<Remote>> {
        let waker = Arc::new(Waker::new(registry, token)?);
        Ok(Arc::new(Remote {
            resolver: Resolver::new(Arc::clone(&waker)),
            waker,
            cancelled: AtomicBool::new(false),
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

    /// The lookups finished since the last look (loop thread).
    pub(crate) fn take_lookups(&self) -> Vec<(u64, Lookup)> {
        self.resolver.take()
    }
}
