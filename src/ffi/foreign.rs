//! Foreign event loops (`LWS_SERVER_OPTION_LIBUV`, `_GLIB`, `_LIBEVENT` with
//! `foreign_loops`): what `ws_create_context` accepts, and the binding of a
//! context to a loop, built on the context's descriptor and timeout.
//!
//! Each library is implemented behind its cargo feature (`libuv`:
//! `foreign_uv.rs`, `glib`: `foreign_glib.rs`, `libevent`:
//! `foreign_event.rs`): one watcher on the context's descriptor and one
//! timer re-armed from its timeout after every service. Without the
//! feature, and for the libraries wsloop does not drive (libev, sd-event,
//! uloop), asking for a foreign loop fails with a log line that names what
//! to do instead.

use std::ffi::c_void;
use std::sync::Mutex;
use std::time::Duration;

use super::handles;
use super::types::*;

/// A foreign loop to join once the context exists.
#[cfg_attr(
    not(any(feature = "libuv", feature = "glib", feature = "libevent")),
    allow(dead_code)
)]
pub enum Foreign {
    Uv(*mut c_void),
    Glib(*mut c_void),
    Event(*mut c_void),
}

/// An event library lws names: its option, its name, its cargo feature (if
/// wsloop can join its loops), what to link, and the example that watches
/// the descriptor in such a loop instead.
struct Lib {
    bit: u64,
    name: &'static str,
    feature: Option<(&'static str, bool, &'static str)>,
    example: &'static str,
}

const LIBS: [Lib; 6] = [
    Lib {
        bit: WS_SERVER_OPTION_LIBUV,
        name: "LIBUV",
        feature: Some(("libuv", cfg!(feature = "libuv"), "-luv")),
        example: "c-examples/uv-loop.c does (a uv_poll_t on it, and a uv_timer_t re-armed from ws_get_poll_timeout_ms())",
    },
    Lib {
        bit: WS_SERVER_OPTION_LIBEV,
        name: "LIBEV",
        feature: None,
        example: "c-examples/poll-loop.c",
    },
    Lib {
        bit: WS_SERVER_OPTION_LIBEVENT,
        name: "LIBEVENT",
        feature: Some(("libevent", cfg!(feature = "libevent"), "-levent")),
        example: "c-examples/libevent-loop.c does (an EV_READ|EV_PERSIST event on it, and a timer event re-armed from ws_get_poll_timeout_ms())",
    },
    Lib {
        bit: WS_SERVER_OPTION_GLIB,
        name: "GLIB",
        feature: Some(("glib", cfg!(feature = "glib"), "-lglib-2.0")),
        example: "c-examples/glib-loop.c does (g_unix_fd_add() on it, and a timeout source re-armed from ws_get_poll_timeout_ms())",
    },
    Lib {
        bit: WS_SERVER_OPTION_SDEVENT,
        name: "SDEVENT",
        feature: None,
        example: "c-examples/poll-loop.c",
    },
    Lib {
        bit: WS_SERVER_OPTION_ULOOP,
        name: "ULOOP",
        feature: None,
        example: "c-examples/poll-loop.c",
    },
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
    let named: Vec<&Lib> = LIBS.iter().filter(|l| info.options & l.bit != 0).collect();
    let foreign = info
        .foreign_loops
        .as_ref()
        .copied()
        .unwrap_or(std::ptr::null_mut());
    match (named.as_slice(), foreign.is_null()) {
        ([], true) => Ok(None),
        ([], false) => Err("foreign_loops is set, but no LWS_SERVER_OPTION_LIBUV, _GLIB or _LIBEVENT says what kind of loop it is".into()),
        ([_, _, ..], _) => Err(format!(
            "more than one event library is asked for ({}): choose one",
            named.iter().map(|l| format!("LWS_SERVER_OPTION_{}", l.name)).collect::<Vec<_>>().join(", ")
        )),
        ([l], true) => {
            wlog!(
                crate::log::INFO,
                "ws_create_context: LWS_SERVER_OPTION_{} without foreign_loops: the context runs on wsloop's own loop, driven by ws_service() as usual",
                l.name
            );
            Ok(None)
        }
        ([l], false) => foreign_loop(l, foreign),
    }
}

fn foreign_loop(l: &Lib, foreign: *mut c_void) -> Result<Option<Foreign>, String> {
    let name = l.name;
    let example = l.example;
    match l.feature {
        Some((_, true, _)) => Ok(Some(match l.bit {
            WS_SERVER_OPTION_LIBUV => Foreign::Uv(foreign),
            WS_SERVER_OPTION_GLIB => Foreign::Glib(foreign),
            _ => Foreign::Event(foreign),
        })),
        Some((feature, false, link)) => Err(format!("LWS_SERVER_OPTION_{name} with foreign_loops needs wsloop built with its `{feature}` cargo feature (cargo build --features {feature}, and link with {link}); without it, watch ws_get_poll_fd() yourself as {example}")),
        None => Err(format!("LWS_SERVER_OPTION_{name} with foreign_loops is not supported: wsloop joins only libuv, GLib and libevent loops itself; watch ws_get_poll_fd() in your loop and call ws_service(context, -1) when it is readable or ws_get_poll_timeout_ms() has passed (see {example})")),
    }
}

/// Joins the context to its foreign loop.
pub fn attach(context: *mut ws_context, f: Foreign) -> Result<(), String> {
    match f {
        #[cfg(feature = "libuv")]
        Foreign::Uv(l) => super::foreign_uv::attach(context, l),
        #[cfg(feature = "glib")]
        Foreign::Glib(l) => super::foreign_glib::attach(context, l),
        #[cfg(feature = "libevent")]
        Foreign::Event(l) => super::foreign_event::attach(context, l),
        #[allow(unreachable_patterns)]
        _ => {
            let _ = context;
            Ok(())
        }
    }
}

/// The context's descriptor, for the loop's watcher.
#[cfg_attr(
    not(any(feature = "libuv", feature = "glib", feature = "libevent")),
    allow(dead_code)
)]
pub fn poll_fd(context: *mut ws_context, option: &str) -> Result<std::ffi::c_int, String> {
    match handles::shell(context) {
        Some(s) => Ok(s.core.poll_fd()),
        None => Err(format!("LWS_SERVER_OPTION_{option}: the context is gone")),
    }
}

/// How a binding lets go of its loop: called with the binding's address.
pub type Release = unsafe fn(usize);

/// The bindings: context handle, the binding's address and its release. (A
/// few contexts at most; a Vec, whose memory valgrind sees as reachable,
/// unlike a HashMap's, which it counts as possibly lost at exit.)
static BINDINGS: Mutex<Vec<(usize, usize, Release)>> = Mutex::new(Vec::new());

/// Records the binding of a context, released by [`detach`].
#[cfg_attr(
    not(any(feature = "libuv", feature = "glib", feature = "libevent")),
    allow(dead_code)
)]
pub fn register(context: *mut ws_context, binding: usize, release: Release) {
    BINDINGS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push((context as usize, binding, release));
}

/// Leaves the foreign loop, if the context joined one (before it is destroyed).
pub fn detach(context: *mut ws_context) {
    let b = {
        let mut all = BINDINGS.lock().unwrap_or_else(|e| e.into_inner());
        let i = all.iter().position(|b| b.0 == context as usize);
        i.map(|i| all.swap_remove(i))
    };
    if let Some((_, binding, release)) = b {
        // SAFETY: each binding registers its own release with its address.
        unsafe { release(binding) };
    }
}

/// What a loop's watcher or timer does: runs what is due on the context,
/// then returns its timeout, for the timer to be re-armed (Some(None): no
/// timer is needed). None, leaving the timer alone: the context is gone, or
/// one of its callbacks runs the loop (the service around that callback
/// re-arms the timer when it returns).
#[cfg_attr(
    not(any(feature = "libuv", feature = "glib", feature = "libevent")),
    allow(dead_code)
)]
pub fn service(context: *mut ws_context) -> Option<Option<Duration>> {
    let s = handles::shell(context)?;
    if s.core.in_callback() {
        return None;
    }
    let _ = s.core.service(Some(Duration::ZERO));
    Some(s.core.poll_timeout())
}

/// A timeout in whole milliseconds, rounded up (a timer that fires early
/// would find nothing due and re-arm for the remainder).
#[cfg_attr(
    not(any(feature = "libuv", feature = "glib", feature = "libevent")),
    allow(dead_code)
)]
pub fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_nanos().div_ceil(1_000_000)).unwrap_or(u64::MAX)
}
