//! The panic boundary placed inside every exported function.

use std::any::Any;

use super::handles::Shell;
use crate::log;

/// `guard!("ws_name", error_value, { body })`: runs the body; a panic is
/// logged and becomes `error_value` instead of unwinding into C.
///
/// `guard!("ws_name", error_value, ctx = expr, { body })` also marks the
/// context `expr` names (evaluated only after a panic) unusable: its state
/// may be half-updated, so every later call on it is refused and
/// `ws_service` returns -1, while `ws_context_destroy` still frees it.
macro_rules! guard {
    ($name:literal, $fail:expr, $body:block) => {
        match ::std::panic::catch_unwind(::std::panic::AssertUnwindSafe(|| $body)) {
            Ok(v) => v,
            Err(payload) => {
                $crate::ffi::guard::caught($name, payload.as_ref(), None);
                $fail
            }
        }
    };
    ($name:literal, $fail:expr, ctx = $ctx:expr, $body:block) => {
        match ::std::panic::catch_unwind(::std::panic::AssertUnwindSafe(|| $body)) {
            Ok(v) => v,
            Err(payload) => {
                $crate::ffi::guard::caught($name, payload.as_ref(), $ctx);
                $fail
            }
        }
    };
}

/// Logs a panic caught in `name` and marks the context it happened on unusable.
pub(crate) fn caught(name: &str, payload: &(dyn Any + Send), ctx: Option<&Shell>) {
    let msg = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)");
    wlog!(
        log::ERR,
        "{name}: internal error (a bug in wsloop, please report it): panic: {msg}; returning failure"
    );
    if let Some(s) = ctx {
        s.core.mark_broken(format!("{name} ({msg})"));
        super::handles::quarantine(s);
    }
}

/// Logs a refused call and returns the error value.
macro_rules! refuse {
    ($fail:expr, $($arg:tt)*) => {{
        $crate::wlog!($crate::log::ERR, $($arg)*);
        return $fail;
    }};
}
