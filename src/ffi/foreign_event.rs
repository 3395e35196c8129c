//! A context inside the application's libevent loop
//! (`LWS_SERVER_OPTION_LIBEVENT` with `foreign_loops[0]` a
//! `struct event_base *`; cargo feature `libevent`): a persistent read
//! event on the context's descriptor and a timer event re-armed from the
//! context's timeout after every service, as c-examples/libevent-loop.c
//! does by hand. Destroying the context frees both events, so
//! `event_base_dispatch()` returns once the application's own events are
//! done too.

use std::ffi::{c_int, c_long, c_short, c_void};

use super::foreign::{self, ms};
use super::types::*;

type Event = c_void;

const EV_READ: c_short = 0x02;
const EV_PERSIST: c_short = 0x10;

#[repr(C)]
struct Timeval {
    tv_sec: c_long,
    tv_usec: c_long,
}

type Callback = unsafe extern "C" fn(c_int, c_short, *mut c_void);

// libevent's functions, not ours: kept out of wsloop.h.
/// cbindgen:ignore
#[allow(unused_doc_comments)]
#[link(name = "event")]
extern "C" {
    fn event_new(
        base: *mut c_void,
        fd: c_int,
        events: c_short,
        cb: Callback,
        arg: *mut c_void,
    ) -> *mut Event;
    fn event_add(ev: *mut Event, timeout: *const Timeval) -> c_int;
    fn event_del(ev: *mut Event) -> c_int;
    fn event_free(ev: *mut Event);
}

/// The two events of one context, and which context they serve.
struct Binding {
    context: *mut ws_context,
    fd: *mut Event,
    timer: *mut Event,
}

pub fn attach(context: *mut ws_context, base: *mut c_void) -> Result<(), String> {
    let fd = foreign::poll_fd(context, "LIBEVENT")?;
    let b = Box::into_raw(Box::new(Binding {
        context,
        fd: std::ptr::null_mut(),
        timer: std::ptr::null_mut(),
    }));
    // SAFETY: `base` is the application's event_base (foreign_loops[0]);
    // the events hold the binding's address until `release` frees them.
    unsafe {
        (*b).fd = event_new(base, fd, EV_READ | EV_PERSIST, on_event, b.cast());
        (*b).timer = event_new(base, -1, 0, on_event, b.cast());
        if (*b).fd.is_null() || (*b).timer.is_null() || event_add((*b).fd, std::ptr::null()) != 0 {
            release(b as usize);
            return Err("LWS_SERVER_OPTION_LIBEVENT: event_new or event_add on the context's descriptor failed: is foreign_loops[0] a struct event_base *?".into());
        }
        // The first service runs at the loop's next turn.
        arm(b, 0);
    }
    foreign::register(context, b as usize, release);
    Ok(())
}

/// Frees both events and the binding.
unsafe fn release(b: usize) {
    let b = Box::from_raw(b as *mut Binding);
    for ev in [b.fd, b.timer] {
        if !ev.is_null() {
            event_free(ev);
        }
    }
}

unsafe fn arm(b: *mut Binding, ms: u64) {
    let tv = Timeval {
        tv_sec: c_long::try_from(ms / 1000).unwrap_or(c_long::MAX),
        tv_usec: ((ms % 1000) * 1000) as c_long,
    };
    event_add((*b).timer, &tv);
}

/// The descriptor became readable or the timer fired: runs what is due,
/// then re-arms the timer from the context's timeout.
unsafe extern "C" fn on_event(_fd: c_int, _what: c_short, b: *mut c_void) {
    let b = b.cast::<Binding>();
    let Some(timeout) = foreign::service((*b).context) else {
        return;
    };
    match timeout {
        Some(d) => arm(b, ms(d)),
        None => {
            event_del((*b).timer);
        }
    }
}
