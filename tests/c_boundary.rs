//! Misuse at the C boundary: NULL and stale handles give the documented
//! error values and a log line, never a crash; log lines reach the
//! application's emitter; a forgotten service loop is reported.

mod common;

use std::ptr::null_mut;

use common::*;
use wsloop::ffi::*;

#[test]
fn null_and_stale_handles_and_the_forgotten_loop() {
    capture_log(WS_LLL_ERR | WS_LLL_WARN);

    unsafe {
        assert!(ws_create_context(std::ptr::null()).is_null());
        assert_eq!(ws_service(null_mut(), 0), -1);
        ws_cancel_service(null_mut());
        ws_context_destroy(null_mut());
        assert!(ws_context_user(null_mut()).is_null());
        assert!(ws_client_connect_via_info(std::ptr::null()).is_null());
        assert_eq!(ws_write(null_mut(), null_mut(), 0, 0), -1);
        assert_eq!(ws_callback_on_writable(null_mut()), -1);
        ws_close_reason(null_mut(), 1000, null_mut(), 0);
        assert!(ws_get_context(null_mut()).is_null());
        assert!(ws_wsi_user(null_mut()).is_null());
        assert!(ws_get_protocol(null_mut()).is_null());
        assert_eq!(ws_is_first_fragment(null_mut()), 0);
        assert_eq!(ws_is_final_fragment(null_mut()), 0);
        assert_eq!(ws_frame_is_binary(null_mut()), 0);
        assert_eq!(ws_remaining_packet_payload(null_mut()), 0);
        assert_eq!(ws_send_pipe_choked(null_mut()), 1);
        assert_eq!(ws_partial_buffered(null_mut()), 0);
        assert_eq!(ws_hdr_copy(null_mut(), null_mut(), 0, 5), -1);
        assert_eq!(
            ws_hdr_custom_copy(null_mut(), null_mut(), 0, std::ptr::null(), 0),
            -1
        );
        assert_eq!(ws_http_client_http_response(null_mut()), 0);
        let mut p: *mut u8 = null_mut();
        assert_eq!(
            ws_add_http_header_by_name(
                null_mut(),
                std::ptr::null(),
                std::ptr::null(),
                0,
                &mut p,
                null_mut()
            ),
            1
        );
        // A made-up pointer is not a handle.
        assert_eq!(ws_service(0x1234_5670 as *mut ws_context, -1), -1);
        assert_eq!(ws_write(0x000d_eadb_eef0 as *mut ws, null_mut(), 0, 0), -1);
    }
    assert!(logged("ws_service: not a live context"));
    assert!(logged("ws_write: wsi is NULL"));

    // A listening port is refused with the reason.
    let mut info: ws_context_creation_info = unsafe { std::mem::zeroed() };
    info.port = 7681;
    assert!(unsafe { ws_create_context(&info) }.is_null());
    assert!(logged("wsloop is a client library"));

    // Connections made but never serviced: destroy says why nothing happened.
    let c = Ctx::new(CtxOpts::default());
    let wsi = c.connect("127.0.0.1", 9, None, |_| {});
    assert!(!wsi.is_null());
    unsafe { ws_context_destroy(c.ctx) };
    assert!(logged(
        "never made progress because ws_service() was never called"
    ));
    let cce = c.events(ws_callback_reasons::WS_CALLBACK_CLIENT_CONNECTION_ERROR);
    assert_eq!(
        cce[0].text(),
        "Closed before conn: the context was destroyed"
    );
    // The wsi and the context are stale now.
    assert_eq!(send(wsi, 0, b"x"), -1);
    assert!(logged("is not a live connection"));
    unsafe { ws_set_log_level(WS_LLL_ERR | WS_LLL_WARN | WS_LLL_NOTICE | WS_LLL_USER, None) };
}
