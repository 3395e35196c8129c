//! Foreign event loops (`LWS_SERVER_OPTION_LIBUV` and friends with
//! `foreign_loops`): what `ws_create_context` accepts, and the binding of a
//! context to a loop, built on the context's descriptor and timeout.
//!
//! libuv is implemented behind the `libuv` cargo feature (`foreign_uv.rs`);
//! without it, and for the libraries wsloop does not drive (libev,
//! libevent, GLib, sd-event, uloop), asking for a foreign loop fails with a
//! log line that names what to do instead.

use std::ffi::c_void;

use super::types::*;

/// A foreign loop to join once the context exists.
pub enum Foreign {
    #[cfg_attr(not(feature = "libuv"), allow(dead_code))]
    Uv(*mut c_void),
}

const LIBS: [(u64, &str, &str); 6] = [
    (WS_SERVER_OPTION_LIBUV, "LIBUV", "c-examples/uv-loop.c"),
    (WS_SERVER_OPTION_LIBEV, "LIBEV", "c-examples/poll-loop.c"),
    (
        WS_SERVER_OPTION_LIBEVENT,
        "LIBEVENT",
        "c-examples/libevent-loop.c",
    ),
    (WS_SERVER_OPTION_GLIB, "GLIB", "c-examples/glib-loop.c"),
    (
        WS_SERVER_OPTION_SDEVENT,
        "SDEVENT",
        "c-examples/poll-loop.c",
    ),
    (WS_SERVER_OPTION_ULOOP, "ULOOP", "c-examples/poll-loop.c"),
];

/// Checks the event-library options of a creation info. Ok(None): the
/// context runs on its own loop (`ws_service()`, or the application's loop
/// around `ws_get_poll_fd()`); an event library named without
/// `foreign_loops` is accepted that way, since the application cannot reach
/// the loop lws would have made.
///
/// # Safety
/// `info.foreign_loops` is NULL or points to at least one pointer.
pub unsafe fn check(info: &ws_context_creation_info) -> Result<Option<Foreign>, String> {
    let named: Vec<&(u64, &str, &str)> = LIBS
        .iter()
        .filter(|(bit, _, _)| info.options & bit != 0)
        .collect();
    let foreign = info
        .foreign_loops
        .as_ref()
        .copied()
        .unwrap_or(std::ptr::null_mut());
    match (named.as_slice(), foreign.is_null()) {
        ([], true) => Ok(None),
        ([], false) => Err("foreign_loops is set, but no LWS_SERVER_OPTION_LIBUV (or other event library option) says what kind of loop it is".into()),
        ([_, _, ..], _) => Err(format!(
            "more than one event library is asked for ({}): choose one",
            named.iter().map(|(_, n, _)| format!("LWS_SERVER_OPTION_{n}")).collect::<Vec<_>>().join(", ")
        )),
        ([(_, name, _)], true) => {
            wlog!(
                crate::log::INFO,
                "ws_create_context: LWS_SERVER_OPTION_{name} without foreign_loops: the context runs on wsloop's own loop, driven by ws_service() as usual"
            );
            Ok(None)
        }
        ([(bit, name, example)], false) => foreign_loop(*bit, name, example, foreign),
    }
}

#[cfg(feature = "libuv")]
fn foreign_loop(
    bit: u64,
    name: &str,
    example: &str,
    l: *mut c_void,
) -> Result<Option<Foreign>, String> {
    if bit == WS_SERVER_OPTION_LIBUV {
        return Ok(Some(Foreign::Uv(l)));
    }
    Err(unsupported(name, example))
}

#[cfg(not(feature = "libuv"))]
fn foreign_loop(
    bit: u64,
    name: &str,
    example: &str,
    _: *mut c_void,
) -> Result<Option<Foreign>, String> {
    if bit == WS_SERVER_OPTION_LIBUV {
        return Err(format!("LWS_SERVER_OPTION_LIBUV with foreign_loops needs wsloop built with its `libuv` cargo feature (cargo build --features libuv, and link with -luv); without it, watch ws_get_poll_fd() with a uv_poll_t and re-arm a uv_timer_t from ws_get_poll_timeout_ms() (see {example})"));
    }
    Err(unsupported(name, example))
}

fn unsupported(name: &str, example: &str) -> String {
    format!("LWS_SERVER_OPTION_{name} with foreign_loops is not supported: wsloop joins only libuv loops itself; watch ws_get_poll_fd() in your loop and call ws_service(context, -1) when it is readable or ws_get_poll_timeout_ms() has passed (see {example})")
}

/// Joins the context to its foreign loop.
pub fn attach(context: *mut ws_context, f: Foreign) -> Result<(), String> {
    match f {
        #[cfg(feature = "libuv")]
        Foreign::Uv(l) => super::foreign_uv::attach(context, l),
        #[cfg(not(feature = "libuv"))]
        Foreign::Uv(_) => {
            let _ = context;
            Ok(())
        }
    }
}

/// Leaves the foreign loop, if the context joined one (before it is destroyed).
pub fn detach(context: *mut ws_context) {
    #[cfg(feature = "libuv")]
    super::foreign_uv::detach(context);
    #[cfg(not(feature = "libuv"))]
    let _ = context;
}
