//! Servicing a context from another event loop: wsloop's descriptor and
//! timeout, and libwebsockets' external-poll calls (`ws_service_fd`,
//! `ws_service_adjust_timeout`, `ws_service_tsi`) built on them, plus
//! `ws_callback_all_protocol`.

#![allow(non_camel_case_types)]

use std::ffi::{c_int, c_short, c_uint, c_void};
use std::time::Duration;

use super::handles::{self, Shell};
use super::types::*;
use crate::log;

/// lws' `lws_sockfd_type`: a socket descriptor.
pub type ws_sockfd_type = c_int;

/// What `WS_CALLBACK_ADD_POLL_FD`, `..._DEL_POLL_FD` and
/// `..._CHANGE_MODE_POLL_FD` receive as `in` (lws' `struct lws_pollargs`).
#[repr(C)]
pub struct ws_pollargs {
    /// The descriptor: the context's one pollable descriptor.
    pub fd: ws_sockfd_type,
    /// The `WS_POLLIN` / `WS_POLLOUT` bits to watch now.
    pub events: c_int,
    /// The bits watched before this change.
    pub prev_events: c_int,
}

/// `struct ws_pollfd` is the system's `struct pollfd` (lws' `lws_pollfd`),
/// so an array of them goes straight to poll(2). Only for the Rust side:
/// the header names the system's type.
#[repr(C)]
pub struct pollfd {
    /// The descriptor.
    pub fd: c_int,
    /// Requested events.
    pub events: c_short,
    /// Returned events.
    pub revents: c_short,
}

/// lws' `LWS_POLLIN`: readable.
pub const WS_POLLIN: c_int = 0x1;
/// lws' `LWS_POLLOUT`: writable.
pub const WS_POLLOUT: c_int = 0x4;
/// lws' `LWS_POLLHUP` (POLLHUP | POLLERR).
pub const WS_POLLHUP: c_int = 0x10 | 0x8;

/// `ws_context_creation_info.wsloop_flags`: deliver libwebsockets'
/// external-poll callbacks to `protocols[0]`: `WS_CALLBACK_LOCK_POLL`,
/// `WS_CALLBACK_ADD_POLL_FD` with the context's descriptor (see
/// `ws_get_poll_fd()`), `WS_CALLBACK_UNLOCK_POLL` after PROTOCOL_INIT, and
/// `WS_CALLBACK_DEL_POLL_FD` (inside LOCK/UNLOCK) from `ws_context_destroy`
/// before PROTOCOL_DESTROY. `lws_create_context()` of `wsloop/lws-compat.h`
/// sets it, as lws built with `LWS_WITH_EXTERNAL_POLL` behaves.
pub const WS_CONTEXT_EXTERNAL_POLL: c_uint = 1 << 0;

fn live_ctx<'a>(context: *const ws_context, func: &str) -> Option<&'a Shell> {
    let s = handles::shell(context);
    if s.is_none() {
        wlog!(log::ERR, "{func}: not a live context");
    }
    s
}

/// Whole milliseconds, rounded up so a loop that sleeps that long wakes
/// when the timer is due and not just before it.
fn ceil_ms(d: Duration) -> c_int {
    let ms = d.as_nanos().div_ceil(1_000_000);
    c_int::try_from(ms).unwrap_or(c_int::MAX)
}

/// wsloop extension (lws has no equivalent): the context's descriptor. It
/// is readable whenever `ws_service()` has network, wake-up
/// (`ws_cancel_service()`) or name-resolution work, and made readable when
/// the application queues work from outside `ws_service()` (a connect, a
/// write, `ws_callback_on_writable()`, a timer). Watch it for reading in
/// your own loop; see THE SERVICE LOOP at the top of this header. It stays
/// the same for the context's life; do not read, write or close it.
///
/// Returns -1 (with a log line) for a handle that is not a live context.
#[no_mangle]
pub unsafe extern "C" fn ws_get_poll_fd(context: *mut ws_context) -> c_int {
    guard!("ws_get_poll_fd", -1, {
        match live_ctx(context, "ws_get_poll_fd") {
            Some(s) => s.core.poll_fd(),
            None => -1,
        }
    })
}

/// wsloop extension (lws has no equivalent): how many milliseconds your
/// loop may wait on `ws_get_poll_fd()` before calling `ws_service(context,
/// -1)` anyway. -1: no timer is scheduled (wait for the descriptor only);
/// 0: work is due now. Read it again after every `ws_service()` call (work
/// queued from outside `ws_service()` makes the descriptor readable
/// instead). Rounded up, so waiting that long never wakes before the timer
/// is due.
///
/// Returns 0 for a handle that is not a live context, so the loop calls
/// `ws_service()`, which then returns -1.
#[no_mangle]
pub unsafe extern "C" fn ws_get_poll_timeout_ms(context: *mut ws_context) -> c_int {
    guard!("ws_get_poll_timeout_ms", 0, {
        match live_ctx(context, "ws_get_poll_timeout_ms") {
            Some(s) => s.core.poll_timeout().map_or(-1, ceil_ms),
            None => 0,
        }
    })
}

/// `ws_service()` for service thread `tsi`. wsloop has one service thread
/// per context, tsi 0; any other value is refused with -1 and a log line.
#[no_mangle]
pub unsafe extern "C" fn ws_service_tsi(
    context: *mut ws_context,
    timeout_ms: c_int,
    tsi: c_int,
) -> c_int {
    guard!("ws_service_tsi", -1, {
        if tsi != 0 {
            refuse!(
                -1,
                "ws_service_tsi: tsi {tsi} does not exist: a wsloop context has one service thread (tsi 0); for more cores, create one context per thread"
            );
        }
        super::context_api::ws_service(context, timeout_ms)
    })
}

/// libwebsockets' external-poll service: `pollfd` is one entry of the
/// application's poll(2) array after the poll. When its `fd` is the
/// context's descriptor (announced by `WS_CALLBACK_ADD_POLL_FD`, see
/// `WS_CONTEXT_EXTERNAL_POLL`), runs one `ws_service(context, -1)`, sets
/// `revents` to 0 and returns 0. Any other descriptor is left alone,
/// `revents` untouched, and 0 is returned. NULL (which lws 4.1 refuses and
/// older lws used for timeouts) also services the context.
///
/// Returns -1 when the context is not live or unusable. lws also returns 1
/// when the connection owning the descriptor closed: the context's
/// descriptor never closes while it lives, so wsloop never does.
/// Afterwards, as with lws, loop `while (!ws_service_adjust_timeout(context,
/// 1, 0)) ws_service_tsi(context, -1, 0);` or arm a timer for what it
/// returns.
#[no_mangle]
pub unsafe extern "C" fn ws_service_fd(context: *mut ws_context, pollfd: *mut pollfd) -> c_int {
    guard!("ws_service_fd", -1, {
        ws_service_fd_tsi(context, pollfd, 0)
    })
}

/// `ws_service_fd()` for service thread `tsi`, which must be 0.
#[no_mangle]
pub unsafe extern "C" fn ws_service_fd_tsi(
    context: *mut ws_context,
    pollfd: *mut pollfd,
    tsi: c_int,
) -> c_int {
    guard!("ws_service_fd_tsi", -1, {
        let Some(s) = live_ctx(context, "ws_service_fd") else {
            return -1;
        };
        if tsi != 0 {
            refuse!(
                -1,
                "ws_service_fd_tsi: tsi {tsi} does not exist: a wsloop context has one service thread (tsi 0)"
            );
        }
        let pfd = pollfd.as_mut();
        if let Some(p) = &pfd {
            if p.fd != s.core.poll_fd() {
                return 0;
            }
        }
        if s.core.service(Some(Duration::ZERO)).is_err() {
            return -1;
        }
        if let Some(p) = pfd {
            p.revents = 0;
        }
        0
    })
}

/// libwebsockets' `lws_service_adjust_timeout`: `timeout_ms` (negative:
/// none) shortened to when the context next needs service; 0 means call
/// `ws_service_tsi(context, -1, 0)` now. Returns 1 for NULL, as lws does.
#[no_mangle]
pub unsafe extern "C" fn ws_service_adjust_timeout(
    context: *mut ws_context,
    timeout_ms: c_int,
    tsi: c_int,
) -> c_int {
    guard!("ws_service_adjust_timeout", 1, {
        if context.is_null() {
            return 1;
        }
        let Some(s) = live_ctx(context, "ws_service_adjust_timeout") else {
            return 0;
        };
        if tsi != 0 {
            refuse!(
                0,
                "ws_service_adjust_timeout: tsi {tsi} does not exist: a wsloop context has one service thread (tsi 0)"
            );
        }
        match s.core.poll_timeout().map(ceil_ms) {
            None => timeout_ms,
            Some(ours) if timeout_ms < 0 => ours,
            Some(ours) => ours.min(timeout_ms),
        }
    })
}

/// Calls protocol `protocol`'s callback with `reason` (any number,
/// `WS_CALLBACK_USER` and up included) for every connection bound to it
/// that has a socket, with its `user`, `in` NULL and `len` 0. As in lws,
/// the callbacks' return values are ignored (nothing is closed). Returns 0,
/// or -1 (with a log line) for a dead context or a protocol that is not in
/// the context's table. Same thread and reentrancy rules as
/// `ws_callback_on_writable_all_protocol()`.
#[no_mangle]
pub unsafe extern "C" fn ws_callback_all_protocol(
    context: *mut ws_context,
    protocol: *const ws_protocols,
    reason: c_int,
) -> c_int {
    guard!("ws_callback_all_protocol", -1, {
        let Some(s) = live_ctx(context, "ws_callback_all_protocol") else {
            return -1;
        };
        let Some(i) = s.protocol_index(protocol) else {
            refuse!(
                -1,
                "ws_callback_all_protocol: protocol is not an entry of this context's protocol table"
            )
        };
        call_each(s, i, reason, std::ptr::null_mut(), 0);
        0
    })
}

/// Calls protocol `index`'s callback with any reason number for every
/// connection bound to it that has a socket (`ws_callback_all_protocol*`).
pub(super) fn call_each(s: &Shell, index: usize, reason: c_int, argp: *mut c_void, len: usize) {
    s.core.for_each_of_protocol(index, |id, user| {
        let wsi = handles::wsi_handle(s.slot, id.index, id.gen);
        // SAFETY: the application's callback, with its own handle and data.
        unsafe { call_raw(s, index, wsi, reason, user.0, argp, len) };
    });
}

/// Calls protocol `index`'s callback with a reason given as a number.
/// lws' set of reasons is open (`WS_CALLBACK_USER` and up), so the callback
/// gets a plain int, which is how C passes the enum. 0 when the protocol
/// has no callback.
///
/// # Safety
/// `user` and `in_` are what the callback expects for this reason.
pub(super) unsafe fn call_raw(
    s: &Shell,
    index: usize,
    wsi: *mut ws,
    reason: c_int,
    user: *mut c_void,
    in_: *mut c_void,
    len: usize,
) -> c_int {
    let Some(cb) = s.protocols.get(index).and_then(|p| p.callback) else {
        return 0;
    };
    type Callback = unsafe extern "C" fn(
        *mut ws,
        ws_callback_reasons,
        *mut c_void,
        *mut c_void,
        usize,
    ) -> c_int;
    type RawCallback =
        unsafe extern "C" fn(*mut ws, c_int, *mut c_void, *mut c_void, usize) -> c_int;
    let cb = std::mem::transmute::<Callback, RawCallback>(cb);
    cb(wsi, reason, user, in_, len)
}

// The context's wsloop_flags bits are set by different parts of the code;
// two of them sharing a bit would turn one option on with the other.
const _: () = {
    let bits = [
        WS_CONTEXT_EXTERNAL_POLL,
        super::types::WS_CONTEXT_REQUIRE_SUBJECT_ALT_NAME,
        super::deflate_api::WS_CONTEXT_PERMESSAGE_DEFLATE,
    ];
    let mut i = 0;
    while i < bits.len() {
        let mut j = i + 1;
        while j < bits.len() {
            assert!(bits[i] & bits[j] == 0);
            j += 1;
        }
        i += 1;
    }
};
