//! A context inside the application's GLib main loop
//! (`LWS_SERVER_OPTION_GLIB` with `foreign_loops[0]` a `GMainLoop *`, as
//! lws 4.1 takes it; cargo feature `glib`): a unix-fd source on the
//! context's descriptor and a timeout source made again from the context's
//! timeout after every service, both attached to the loop's
//! `GMainContext`, as c-examples/glib-loop.c does by hand. Destroying the
//! context destroys both sources; the loop is the application's to quit.

use std::ffi::{c_int, c_uint, c_void};

use super::foreign::{self, ms};
use super::types::*;

type GSource = c_void;

const G_IO_IN: c_uint = 1;
const G_SOURCE_CONTINUE: c_int = 1;
const G_SOURCE_REMOVE: c_int = 0;

// GLib's functions, not ours: kept out of wsloop.h.
/// cbindgen:ignore
#[allow(unused_doc_comments)]
#[link(name = "glib-2.0")]
extern "C" {
    fn g_main_loop_get_context(l: *mut c_void) -> *mut c_void;
    fn g_unix_fd_source_new(fd: c_int, condition: c_uint) -> *mut GSource;
    fn g_timeout_source_new(interval: c_uint) -> *mut GSource;
    fn g_source_set_callback(
        s: *mut GSource,
        func: *const c_void,
        data: *mut c_void,
        notify: *const c_void,
    );
    fn g_source_attach(s: *mut GSource, context: *mut c_void) -> c_uint;
    fn g_source_destroy(s: *mut GSource);
    fn g_source_unref(s: *mut GSource);
}

/// The two sources of one context, and which context they serve.
struct Binding {
    context: *mut ws_context,
    main: *mut c_void,
    fd: *mut GSource,
    /// The pending timeout source, or NULL while the context needs none.
    timer: *mut GSource,
}

pub fn attach(context: *mut ws_context, l: *mut c_void) -> Result<(), String> {
    let fd = foreign::poll_fd(context, "GLIB")?;
    // SAFETY: `l` is the application's GMainLoop (foreign_loops[0]); the
    // sources hold the binding's address until `release` destroys them.
    unsafe {
        let main = g_main_loop_get_context(l);
        let b = Box::into_raw(Box::new(Binding {
            context,
            main,
            fd: g_unix_fd_source_new(fd, G_IO_IN),
            timer: std::ptr::null_mut(),
        }));
        let readable: unsafe extern "C" fn(c_int, c_uint, *mut c_void) -> c_int = on_fd;
        g_source_set_callback(
            (*b).fd,
            readable as *const c_void,
            b.cast(),
            std::ptr::null(),
        );
        g_source_attach((*b).fd, main);
        // The first service runs at the loop's next turn.
        arm(b, 0);
        foreign::register(context, b as usize, release);
    }
    Ok(())
}

/// Destroys both sources and frees the binding.
unsafe fn release(b: usize) {
    let b = Box::from_raw(b as *mut Binding);
    for s in [b.fd, b.timer] {
        if !s.is_null() {
            g_source_destroy(s);
            g_source_unref(s);
        }
    }
}

/// Replaces the timeout source by one that fires in `ms` milliseconds.
unsafe fn arm(b: *mut Binding, ms: c_uint) {
    disarm(b);
    let t = g_timeout_source_new(ms);
    let due: unsafe extern "C" fn(*mut c_void) -> c_int = on_timer;
    g_source_set_callback(t, due as *const c_void, b.cast(), std::ptr::null());
    g_source_attach(t, (*b).main);
    (*b).timer = t;
}

unsafe fn disarm(b: *mut Binding) {
    let t = std::mem::replace(&mut (*b).timer, std::ptr::null_mut());
    if !t.is_null() {
        g_source_destroy(t);
        g_source_unref(t);
    }
}

unsafe extern "C" fn on_fd(_fd: c_int, _condition: c_uint, b: *mut c_void) -> c_int {
    service(b.cast());
    G_SOURCE_CONTINUE
}

/// A timeout source fires once: `service` makes the next one.
unsafe extern "C" fn on_timer(b: *mut c_void) -> c_int {
    service(b.cast());
    G_SOURCE_REMOVE
}

/// Runs what is due, then re-arms the timer from the context's timeout.
unsafe fn service(b: *mut Binding) {
    let Some(timeout) = foreign::service((*b).context) else {
        return;
    };
    match timeout {
        Some(d) => arm(b, c_uint::try_from(ms(d)).unwrap_or(c_uint::MAX)),
        None => disarm(b),
    }
}
