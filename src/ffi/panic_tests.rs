//! A panic caught inside the library leaves its context in a defined state:
//! unusable, every later call refused with a line naming the panic,
//! `ws_service` returning -1, and `ws_context_destroy` still delivering the
//! closing callbacks and freeing everything. The panics are injected at
//! named points of the loop (`context::inject`, test builds only).

use std::cell::RefCell;
use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::net::TcpListener;
use std::sync::Mutex;

use super::*;
use crate::context::inject;

static LINES: Mutex<Vec<String>> = Mutex::new(Vec::new());

unsafe extern "C" fn emit(_level: c_int, line: *const c_char) {
    let line = CStr::from_ptr(line).to_string_lossy().into_owned();
    LINES.lock().unwrap().push(line);
}

/// Lines logged on any thread since the test started that contain `what`.
fn logged(what: &str) -> bool {
    LINES.lock().unwrap().iter().any(|l| l.contains(what))
}

thread_local! {
    static REASONS: RefCell<Vec<i32>> = const { RefCell::new(Vec::new()) };
}

unsafe extern "C" fn record(
    _wsi: *mut ws,
    reason: ws_callback_reasons,
    _user: *mut c_void,
    _in: *mut c_void,
    _len: usize,
) -> c_int {
    REASONS.with(|r| r.borrow_mut().push(reason as i32));
    0
}

fn seen(reason: ws_callback_reasons) -> usize {
    REASONS.with(|r| r.borrow().iter().filter(|&&x| x == reason as i32).count())
}

/// A context with one connection to a server that accepts and never answers.
unsafe fn context_with_a_connection(
    listener: &TcpListener,
    protocols: &[ws_protocols; 2],
) -> (*mut ws_context, *mut ws) {
    ws_set_log_level(WS_LLL_ERR | WS_LLL_WARN, Some(emit));
    REASONS.with(|r| r.borrow_mut().clear());
    let mut info: ws_context_creation_info = std::mem::zeroed();
    info.port = WS_CONTEXT_PORT_NO_LISTEN;
    info.protocols = protocols.as_ptr();
    let ctx = ws_create_context(&info);
    assert!(!ctx.is_null());
    let address = CString::new("127.0.0.1").unwrap();
    let mut ci: ws_client_connect_info = std::mem::zeroed();
    ci.context = ctx;
    ci.address = address.as_ptr();
    ci.port = c_int::from(listener.local_addr().unwrap().port());
    ci.path = c"/".as_ptr();
    let wsi = ws_client_connect_via_info(&ci);
    assert!(!wsi.is_null());
    (ctx, wsi)
}

fn protocols() -> [ws_protocols; 2] {
    // SAFETY: an all-zero ws_protocols is the table terminator.
    let mut p: [ws_protocols; 2] = unsafe { std::mem::zeroed() };
    p[0].name = c"panic-test".as_ptr();
    p[0].callback = Some(record);
    p
}

/// After the panic: refused calls, -1 from ws_service, and a destroy that
/// still closes the connection and the protocol.
unsafe fn check_unusable_then_destroy(
    ctx: *mut ws_context,
    wsi: *mut ws,
    at: &str,
    created: usize,
) {
    let why = format!("injected panic at {at}");
    assert!(logged(&format!(
        "ws_service: internal error (a bug in wsloop, please report it): panic: {why}"
    )));
    for _ in 0..3 {
        assert_eq!(ws_service(ctx, -1), -1, "every later ws_service fails");
    }
    assert!(logged(&format!(
        "is unusable: a panic was caught in ws_service ({why})"
    )));
    assert!(
        !logged("called from inside a callback"),
        "the markers were reset"
    );
    let mut buf = [0u8; WS_PRE + 1];
    assert_eq!(
        ws_write(wsi, buf.as_mut_ptr().add(WS_PRE), 1, 0),
        -1,
        "calls on its connections are refused"
    );
    assert_eq!(ws_callback_on_writable(wsi), -1);
    assert!(ws_get_vhost(wsi).is_null());
    ws_context_destroy(ctx);
    assert_eq!(seen(ws_callback_reasons::WS_CALLBACK_WSI_CREATE), created);
    assert_eq!(
        seen(ws_callback_reasons::WS_CALLBACK_CLIENT_CONNECTION_ERROR),
        1
    );
    assert_eq!(seen(ws_callback_reasons::WS_CALLBACK_WSI_DESTROY), 1);
    assert_eq!(seen(ws_callback_reasons::WS_CALLBACK_PROTOCOL_DESTROY), 1);
    assert_eq!(ws_service(ctx, -1), -1, "the handle is dead after destroy");
}

#[test]
fn a_panic_in_the_loop_leaves_the_context_unusable_and_destroyable() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let protocols = protocols();
    unsafe {
        let (ctx, wsi) = context_with_a_connection(&listener, &protocols);
        // WSI_CREATE, and the connect started.
        assert_eq!(ws_service(ctx, -1), 0);
        assert_eq!(seen(ws_callback_reasons::WS_CALLBACK_WSI_CREATE), 1);
        inject::panic_at("service");
        assert_eq!(ws_service(ctx, 10), -1);
        check_unusable_then_destroy(ctx, wsi, "service", 1);
    }
}

#[test]
fn a_panic_inside_a_callback_dispatch_resets_the_callback_marker() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let protocols = protocols();
    unsafe {
        let (ctx, wsi) = context_with_a_connection(&listener, &protocols);
        // The first service delivers WSI_CREATE: it panics on the way in,
        // inside the "in a callback" marker.
        inject::panic_at("callback");
        assert_eq!(ws_service(ctx, -1), -1);
        assert_eq!(seen(ws_callback_reasons::WS_CALLBACK_WSI_CREATE), 0);
        // destroy is refused inside a callback: it works, so the marker is gone.
        check_unusable_then_destroy(ctx, wsi, "callback", 0);
    }
}
