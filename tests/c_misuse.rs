//! What C programs really do wrong, and what they may do that is easy to
//! get wrong inside the library: each gives the documented result, a log
//! line where it is refused, and never a crash.

mod common;

use std::ffi::{c_int, c_void};

use wsloop::ffi::*;

unsafe extern "C" fn quiet_cb(
    _wsi: *mut ws,
    _reason: ws_callback_reasons,
    _user: *mut c_void,
    _in: *mut c_void,
    _len: usize,
) -> c_int {
    0
}

/// A protocol table with one entry that ignores everything.
fn quiet_protocols() -> [ws_protocols; 2] {
    let mut p: [ws_protocols; 2] = unsafe { std::mem::zeroed() };
    p[0].name = c"quiet".as_ptr();
    p[0].callback = Some(quiet_cb);
    p
}

#[test]
fn contexts_created_on_many_threads_at_once_are_all_live() {
    let threads: Vec<_> = (0..8)
        .map(|_| {
            std::thread::spawn(|| {
                for _ in 0..50 {
                    let mut info: ws_context_creation_info = unsafe { std::mem::zeroed() };
                    info.port = WS_CONTEXT_PORT_NO_LISTEN;
                    let protocols = quiet_protocols();
                    info.protocols = protocols.as_ptr();
                    let mut mine = 0u8;
                    info.user = &mut mine as *mut u8 as *mut c_void;
                    let ctx = unsafe { ws_create_context(&info) };
                    assert!(!ctx.is_null());
                    assert_eq!(unsafe { ws_service(ctx, -1) }, 0, "the new context is live");
                    assert_eq!(unsafe { ws_context_user(ctx) }, info.user, "and it is ours");
                    unsafe { ws_context_destroy(ctx) };
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("no thread saw a dead or foreign context");
    }
}
