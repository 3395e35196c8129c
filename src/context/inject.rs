//! Test builds only: a panic injected at a named point of the loop, to
//! prove that a caught panic leaves the context in a defined state. None
//! of this exists in a release build.

use std::cell::Cell;

thread_local! {
    static PANIC_AT: Cell<Option<&'static str>> = const { Cell::new(None) };
}

/// The next time this thread reaches `at` ("service", "callback"), it panics.
pub(crate) fn panic_at(at: &'static str) {
    PANIC_AT.with(|p| p.set(Some(at)));
}

pub(crate) fn maybe_panic(at: &'static str) {
    if PANIC_AT.with(|p| p.get() == Some(at)) {
        PANIC_AT.with(|p| p.set(None));
        panic!("injected panic at {at}");
    }
}
