//! wsloop's own calls for connections that reconnect by themselves
//! (`WS_CONNECT_RECONNECT`); libwebsockets has no equivalent, so they have
//! no lws name in the compatibility header.

use std::ffi::c_int;

use super::handles;
use super::types::*;

/// Where a reconnecting connection stands. While it is reconnecting (from
/// `WS_CALLBACK_CLIENT_RECONNECTING` until `WS_CALLBACK_CLIENT_RECONNECTED`
/// or its final callback), returns 1 and stores the delay chosen before the
/// current attempt in `*delay_ms` and the attempt number (1 for the first
/// since it was last established) in `*attempt`; either pointer may be
/// NULL. Returns 0 when it is not reconnecting, -1 for a handle that is not
/// a live connection. Loop thread only.
#[no_mangle]
pub unsafe extern "C" fn ws_reconnect_state(
    wsi: *mut ws,
    delay_ms: *mut u32,
    attempt: *mut u16,
) -> c_int {
    guard!("ws_reconnect_state", -1, {
        let Some((s, id)) = handles::live_conn(wsi, "ws_reconnect_state") else {
            return -1;
        };
        match s.core.reconnect_state(id) {
            Some((ms, k)) => {
                if let Some(d) = delay_ms.as_mut() {
                    *d = ms;
                }
                if let Some(a) = attempt.as_mut() {
                    *a = k;
                }
                1
            }
            None => 0,
        }
    })
}

/// Marks a close code as final for a connection made with
/// `WS_CONNECT_RECONNECT`: when the server closes it with `code`, it ends
/// with `CLIENT_CLOSED` and does not reconnect (for example 1008, policy
/// violation, or an application code that means "go away"). Call it any
/// time before the close, e.g. from `WS_CALLBACK_CLIENT_ESTABLISHED`.
/// Returns 0, or -1 (with a log line) for a handle that is not a live
/// connection, a connection without `WS_CONNECT_RECONNECT`, or a code
/// outside 1000-4999.
#[no_mangle]
pub unsafe extern "C" fn ws_reconnect_final_code(wsi: *mut ws, code: u16) -> c_int {
    guard!("ws_reconnect_final_code", -1, {
        let Some((s, id)) = handles::live_conn(wsi, "ws_reconnect_final_code") else {
            return -1;
        };
        if !(1000..=4999).contains(&code) {
            refuse!(
                -1,
                "ws_reconnect_final_code: {code} is not a close code (1000-4999)"
            );
        }
        if !s.core.reconnect_final_code(id, code) {
            refuse!(
                -1,
                "ws_reconnect_final_code: the connection was not made with WS_CONNECT_RECONNECT in wsloop_flags"
            );
        }
        0
    })
}
