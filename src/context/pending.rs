//! The queue of connections with deferred work (`Conn::pend`), in the
//! order they asked for it.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;

use crate::callbacks::ConnId;

/// The queue, with its length kept beside it: the loop asks "anything
/// queued?" twice per iteration, and reads one integer to know.
#[derive(Default)]
pub(super) struct Pending {
    queue: RefCell<VecDeque<ConnId>>,
    /// `queue.len()`, set by every change of the queue.
    len: Cell<usize>,
}

impl Pending {
    #[inline]
    pub(super) fn len(&self) -> usize {
        self.len.get()
    }

    #[inline]
    pub(super) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub(super) fn push(&self, id: ConnId) {
        let mut q = self.queue.borrow_mut();
        q.push_back(id);
        self.len.set(q.len());
    }

    pub(super) fn pop(&self) -> Option<ConnId> {
        let mut q = self.queue.borrow_mut();
        let id = q.pop_front();
        self.len.set(q.len());
        id
    }

    /// What is queued now, in order.
    pub(super) fn ids(&self) -> Vec<ConnId> {
        self.queue.borrow().iter().copied().collect()
    }

    /// Keeps the connections `keep` says yes to.
    pub(super) fn retain(&self, keep: impl FnMut(&ConnId) -> bool) {
        let mut q = self.queue.borrow_mut();
        q.retain(keep);
        self.len.set(q.len());
    }
}
