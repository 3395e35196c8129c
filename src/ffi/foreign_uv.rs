//! A context inside the application's libuv loop (`LWS_SERVER_OPTION_LIBUV`
//! with `foreign_loops`, cargo feature `libuv`): one `uv_poll_t` on the
//! context's descriptor and one `uv_timer_t` re-armed from its timeout after
//! every service, as c-examples/uv-loop.c does by hand. The handles are
//! allocated here (`uv_handle_size`) and freed by their close callbacks,
//! which run when the application's loop runs after `ws_context_destroy`,
//! as with lws.

use std::ffi::{c_char, c_int, c_void, CStr};

use super::foreign::{self, ms};
use super::types::*;

const UV_POLL: c_int = 8;
const UV_TIMER: c_int = 13;
const UV_READABLE: c_int = 1;

type Handle = *mut c_void;

// libuv's functions, not ours: kept out of wsloop.h.
/// cbindgen:ignore
#[allow(unused_doc_comments)]
#[link(name = "uv")]
extern "C" {
    fn uv_handle_size(kind: c_int) -> usize;
    fn uv_poll_init(l: *mut c_void, h: Handle, fd: c_int) -> c_int;
    fn uv_poll_start(
        h: Handle,
        events: c_int,
        cb: unsafe extern "C" fn(Handle, c_int, c_int),
    ) -> c_int;
    fn uv_timer_init(l: *mut c_void, h: Handle) -> c_int;
    fn uv_timer_start(
        h: Handle,
        cb: unsafe extern "C" fn(Handle),
        timeout: u64,
        repeat: u64,
    ) -> c_int;
    fn uv_timer_stop(h: Handle) -> c_int;
    fn uv_close(h: Handle, cb: unsafe extern "C" fn(Handle));
    fn uv_handle_set_data(h: Handle, data: *mut c_void);
    fn uv_handle_get_data(h: Handle) -> *mut c_void;
    fn uv_strerror(err: c_int) -> *const c_char;
}

/// The two handles of one context, and which context they serve.
struct Binding {
    context: *mut ws_context,
    poll: Box<[u128]>,
    timer: Box<[u128]>,
    /// Handles not yet closed; the binding is freed when it reaches 0.
    open: u8,
}

fn handle_memory(kind: c_int) -> Box<[u128]> {
    // SAFETY: uv_handle_size only reads its argument.
    let size = unsafe { uv_handle_size(kind) };
    vec![0u128; size.div_ceil(16)].into_boxed_slice()
}

fn uv_error(what: &str, err: c_int) -> String {
    // SAFETY: uv_strerror returns a static NUL-terminated string.
    let text = unsafe { CStr::from_ptr(uv_strerror(err)) }.to_string_lossy();
    format!("LWS_SERVER_OPTION_LIBUV: {what} failed: {text}")
}

pub fn attach(context: *mut ws_context, l: *mut c_void) -> Result<(), String> {
    let fd = foreign::poll_fd(context, "LIBUV")?;
    let b = Box::into_raw(Box::new(Binding {
        context,
        poll: handle_memory(UV_POLL),
        timer: handle_memory(UV_TIMER),
        open: 0,
    }));
    // SAFETY: `l` is the application's uv_loop_t (foreign_loops[0]); the
    // handle memory is sized by uv_handle_size and lives until the close
    // callbacks free the binding.
    unsafe {
        let poll = (*b).poll.as_mut_ptr().cast::<c_void>();
        let timer = (*b).timer.as_mut_ptr().cast::<c_void>();
        let r = uv_poll_init(l, poll, fd);
        if r != 0 {
            drop(Box::from_raw(b));
            return Err(uv_error("uv_poll_init on the context's descriptor", r));
        }
        (*b).open += 1;
        uv_handle_set_data(poll, b.cast());
        let r = uv_timer_init(l, timer);
        if r != 0 {
            uv_close(poll, closed);
            return Err(uv_error("uv_timer_init", r));
        }
        (*b).open += 1;
        uv_handle_set_data(timer, b.cast());
        uv_poll_start(poll, UV_READABLE, on_poll);
        // The first service runs at the loop's next turn.
        uv_timer_start(timer, on_timer, 0, 0);
    }
    foreign::register(context, b as usize, release);
    Ok(())
}

/// Closes both handles; the binding is freed when both are closed.
unsafe fn release(b: usize) {
    let b = b as *mut Binding;
    (*b).context = std::ptr::null_mut();
    uv_close((*b).poll.as_mut_ptr().cast(), closed);
    uv_close((*b).timer.as_mut_ptr().cast(), closed);
}

unsafe extern "C" fn closed(h: Handle) {
    let b = uv_handle_get_data(h).cast::<Binding>();
    (*b).open -= 1;
    if (*b).open == 0 {
        drop(Box::from_raw(b));
    }
}

unsafe extern "C" fn on_poll(h: Handle, _status: c_int, _events: c_int) {
    service(uv_handle_get_data(h).cast());
}

unsafe extern "C" fn on_timer(h: Handle) {
    service(uv_handle_get_data(h).cast());
}

/// Runs what is due, then re-arms the timer from the context's timeout.
unsafe fn service(b: *mut Binding) {
    let Some(timeout) = foreign::service((*b).context) else {
        return;
    };
    let timer = (*b).timer.as_mut_ptr().cast::<c_void>();
    uv_timer_stop(timer);
    if let Some(d) = timeout {
        uv_timer_start(timer, on_timer, ms(d), 0);
    }
}
