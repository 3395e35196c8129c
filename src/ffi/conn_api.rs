//! Functions on one connection (`struct ws *`).
//!
//! All of them may be called from inside any callback, for this connection
//! or another; none from another thread.

use std::ffi::{c_int, c_void};

use super::handles::{self, c_len, Wsi};
use super::types::*;
use crate::context::WriteError;
use crate::frame::OpCode;
use crate::log;

/// Sends one message or fragment. `buf` must have `WS_PRE` writable bytes
/// before it: the frame header is built there, and the payload may be masked
/// in place, so do not reuse its contents after the call (the buffer itself
/// may be freed at once). `protocol` is a `WS_WRITE_*` kind, with
/// `WS_WRITE_NO_FIN` for every fragment but the last.
///
/// Returns `len` once the frame is sent or queued (wsloop never drops data:
/// what the socket does not take is sent before the next
/// `WS_CALLBACK_CLIENT_WRITEABLE`), or -1 with a log line when the
/// connection is not open or the request is invalid (PING/PONG over 125
/// bytes, a CONTINUATION with no message started, more than 16 MiB already
/// queued because the peer is not reading, ...), or `WS_WRITE_RECONNECTING`
/// (-2) while a `WS_CONNECT_RECONNECT` connection is down (nothing queued).
#[no_mangle]
pub unsafe extern "C" fn ws_write(
    wsi: *mut ws,
    buf: *mut u8,
    len: usize,
    protocol: c_int,
) -> c_int {
    guard!(
        "ws_write",
        -1,
        ctx = super::handles::any_wsi_shell(wsi).map(|(s, _)| s),
        {
            let Some((s, id)) = handles::conn(wsi, "ws_write") else {
                return -1;
            };
            if len > c_int::MAX as usize {
                refuse!(-1, "ws_write: len {len} is larger than INT_MAX");
            }
            let mut empty: [u8; WS_PRE];
            let frame: &mut [u8] = if buf.is_null() {
                if len > 0 {
                    refuse!(-1, "ws_write: buf is NULL but len is {len}");
                }
                empty = [0; WS_PRE];
                &mut empty
            } else {
                // SAFETY: the caller provides WS_PRE writable bytes before `buf`
                // and `len` bytes at it (the documented contract, as in lws).
                std::slice::from_raw_parts_mut(buf.sub(WS_PRE), len + WS_PRE)
            };
            let fin = protocol & WS_WRITE_NO_FIN == 0;
            let Some(op) = write_opcode(protocol) else {
                refuse_write_kind(protocol);
                return -1;
            };
            match s.core.write(id, frame, WS_PRE, op, fin) {
                Ok(n) => c_len(n),
                Err(WriteError::Gone) => {
                    handles::gone(wsi, "ws_write");
                    -1
                }
                Err(e @ WriteError::Reconnecting { .. }) => {
                    wlog!(log::NOTICE, "ws_write: {e}");
                    WS_WRITE_RECONNECTING
                }
                Err(e) => refuse!(-1, "ws_write: {e}"),
            }
        }
    )
}

const TEXT: c_int = ws_write_protocol::WS_WRITE_TEXT as c_int;
const BINARY: c_int = ws_write_protocol::WS_WRITE_BINARY as c_int;
const CONTINUATION: c_int = ws_write_protocol::WS_WRITE_CONTINUATION as c_int;
const HTTP: c_int = ws_write_protocol::WS_WRITE_HTTP as c_int;
const CLOSE: c_int = 4;
const PING: c_int = ws_write_protocol::WS_WRITE_PING as c_int;
const PONG: c_int = ws_write_protocol::WS_WRITE_PONG as c_int;

/// The opcode of a `WS_WRITE_*` kind (its low five bits); None for kinds
/// that are not frames of a WebSocket message. One load from a table.
#[inline]
fn write_opcode(protocol: c_int) -> Option<OpCode> {
    const OPS: [Option<OpCode>; 32] = {
        let mut t = [None; 32];
        t[TEXT as usize] = Some(OpCode::Text);
        t[BINARY as usize] = Some(OpCode::Binary);
        t[CONTINUATION as usize] = Some(OpCode::Continuation);
        t[PING as usize] = Some(OpCode::Ping);
        t[PONG as usize] = Some(OpCode::Pong);
        t
    };
    OPS[(protocol & 0x1f) as usize]
}

/// Why `ws_write` refuses a kind `write_opcode` does not take.
#[cold]
fn refuse_write_kind(protocol: c_int) {
    match protocol & 0x1f {
        HTTP => wlog!(
            log::ERR,
            "ws_write: WS_WRITE_HTTP/RAW is not supported on a WebSocket connection"
        ),
        CLOSE => wlog!(
            log::ERR,
            "ws_write: WS_WRITE_CLOSE is not a write: use ws_close_reason() and return non-zero"
        ),
        other => wlog!(log::ERR, "ws_write: unknown write protocol {other}"),
    }
}

/// The `WS_WRITE_*` kind of one fragment of a message sent in pieces:
/// `initial` (TEXT or BINARY) for the first, CONTINUATION after, and
/// `WS_WRITE_NO_FIN` on all but the last.
#[no_mangle]
pub extern "C" fn ws_write_ws_flags(initial: c_int, is_start: c_int, is_end: c_int) -> c_int {
    guard!("ws_write_ws_flags", -1, {
        let base = if is_start != 0 {
            initial
        } else {
            ws_write_protocol::WS_WRITE_CONTINUATION as c_int
        };
        base | if is_end != 0 { 0 } else { WS_WRITE_NO_FIN }
    })
}

/// Asks for one `WS_CALLBACK_CLIENT_WRITEABLE`, delivered from `ws_service`
/// once the connection can take data. Returns 1, 0 when the connection is
/// closing, -1 when the handle is not a live connection.
#[no_mangle]
pub unsafe extern "C" fn ws_callback_on_writable(wsi: *mut ws) -> c_int {
    guard!(
        "ws_callback_on_writable",
        -1,
        ctx = super::handles::any_wsi_shell(wsi).map(|(s, _)| s),
        {
            match handles::conn(wsi, "ws_callback_on_writable") {
                Some((s, id)) => match s.core.callback_on_writable(id) {
                    -1 => {
                        handles::gone(wsi, "ws_callback_on_writable");
                        -1
                    }
                    n => n,
                },
                None => -1,
            }
        }
    )
}

/// Sets the code and reason (at most 123 bytes, copied) of the Close frame
/// sent when a callback of this connection next returns non-zero. Without
/// it, wsloop sends 1000 (libwebsockets sends no Close frame at all).
/// `WS_CLOSE_STATUS_NOSTATUS` sends a Close frame without a code.
#[no_mangle]
pub unsafe extern "C" fn ws_close_reason(wsi: *mut ws, status: c_int, buf: *mut u8, len: usize) {
    guard!(
        "ws_close_reason",
        (),
        ctx = super::handles::any_wsi_shell(wsi).map(|(s, _)| s),
        {
            let Some((s, id)) = handles::live_conn(wsi, "ws_close_reason") else {
                return;
            };
            let code = match u16::try_from(status) {
                Ok(0) => 0,
                Ok(c) if crate::frame::close_code_allowed(c) => c,
                _ => {
                    wlog!(
                        log::ERR,
                        "ws_close_reason: {status} may not be sent in a Close frame; sending 1000"
                    );
                    1000
                }
            };
            let reason: &[u8] = if buf.is_null() || len == 0 {
                if buf.is_null() && len > 0 {
                    wlog!(
                    log::ERR,
                    "ws_close_reason: buf is NULL but len is {len}; sending the code without a reason"
                );
                }
                &[]
            } else {
                std::slice::from_raw_parts(buf, len.min(123))
            };
            s.core.close_reason(id, code, reason);
        }
    )
}

/// The context a connection (or protocol wsi) belongs to.
#[no_mangle]
pub unsafe extern "C" fn ws_get_context(wsi: *const ws) -> *mut ws_context {
    guard!(
        "ws_get_context",
        std::ptr::null_mut(),
        ctx = super::handles::any_wsi_shell(wsi).map(|(s, _)| s),
        {
            match handles::wsi_shell(wsi) {
                Some((s, _)) => handles::ctx_handle(s.slot, s.gen),
                None => refuse!(
                    std::ptr::null_mut(),
                    "ws_get_context: wsi {wsi:p} is not a live handle"
                ),
            }
        }
    )
}

/// The connection's `user` pointer: its per-session data, or the
/// `userdata` given at connect. Valid until `WS_CALLBACK_WSI_DESTROY` returns.
#[no_mangle]
pub unsafe extern "C" fn ws_wsi_user(wsi: *mut ws) -> *mut c_void {
    guard!(
        "ws_wsi_user",
        std::ptr::null_mut(),
        ctx = super::handles::any_wsi_shell(wsi).map(|(s, _)| s),
        {
            match handles::live_conn(wsi, "ws_wsi_user") {
                Some((s, id)) => s.core.user(id).map_or(std::ptr::null_mut(), |u| u.0),
                None => std::ptr::null_mut(),
            }
        }
    )
}

/// The `opaque_user_data` given at connect.
#[no_mangle]
pub unsafe extern "C" fn ws_get_opaque_user_data(wsi: *const ws) -> *mut c_void {
    guard!(
        "ws_get_opaque_user_data",
        std::ptr::null_mut(),
        ctx = super::handles::any_wsi_shell(wsi).map(|(s, _)| s),
        {
            match handles::live_conn(wsi, "ws_get_opaque_user_data") {
                Some((s, id)) => s
                    .core
                    .opaque_user_data(id)
                    .map_or(std::ptr::null_mut(), |u| u.0),
                None => std::ptr::null_mut(),
            }
        }
    )
}

/// Sets the pointer `ws_get_opaque_user_data` returns.
#[no_mangle]
pub unsafe extern "C" fn ws_set_opaque_user_data(wsi: *mut ws, data: *mut c_void) {
    guard!(
        "ws_set_opaque_user_data",
        (),
        ctx = super::handles::any_wsi_shell(wsi).map(|(s, _)| s),
        {
            if let Some((s, id)) = handles::live_conn(wsi, "ws_set_opaque_user_data") {
                s.core
                    .set_opaque_user_data(id, crate::callbacks::Opaque(data));
            }
        }
    )
}

/// Replaces the `user` pointer the connection's callbacks receive (and
/// `ws_wsi_user` returns). Per-session memory wsloop allocated stays valid
/// until `WS_CALLBACK_WSI_DESTROY`.
#[no_mangle]
pub unsafe extern "C" fn ws_set_wsi_user(wsi: *mut ws, user: *mut c_void) {
    guard!(
        "ws_set_wsi_user",
        (),
        ctx = super::handles::any_wsi_shell(wsi).map(|(s, _)| s),
        {
            if let Some((s, id)) = handles::live_conn(wsi, "ws_set_wsi_user") {
                s.core.set_user(id, crate::callbacks::Opaque(user));
            }
        }
    )
}

/// Pauses (`enable` 0) or resumes (1) receiving: while paused, no
/// `CLIENT_RECEIVE` is delivered and the socket is not read (the server is
/// slowed by TCP flow control); data already read is kept and delivered on
/// resume. Also takes libwebsockets' `WS_RXFLOW_REASON_APPLIES_ENABLE` /
/// `_DISABLE` forms. Returns 0, or -1 for a dead connection.
#[no_mangle]
pub unsafe extern "C" fn ws_rx_flow_control(wsi: *mut ws, enable: c_int) -> c_int {
    guard!(
        "ws_rx_flow_control",
        -1,
        ctx = super::handles::any_wsi_shell(wsi).map(|(s, _)| s),
        {
            let on = if enable & WS_RXFLOW_REASON_APPLIES != 0 {
                enable & WS_RXFLOW_REASON_APPLIES_ENABLE_BIT != 0
            } else {
                enable != 0
            };
            match handles::live_conn(wsi, "ws_rx_flow_control") {
                Some((s, id)) if s.core.rx_flow(id, on) => 0,
                _ => -1,
            }
        }
    )
}

/// Tells keepalive the connection is alive (as if data had arrived), for
/// proof of life the application sees itself.
#[no_mangle]
pub unsafe extern "C" fn ws_validity_confirmed(wsi: *mut ws) {
    guard!(
        "ws_validity_confirmed",
        (),
        ctx = super::handles::any_wsi_shell(wsi).map(|(s, _)| s),
        {
            if let Some((s, id)) = handles::live_conn(wsi, "ws_validity_confirmed") {
                s.core.validity_confirmed(id);
            }
        }
    )
}

/// The protocol table entry (wsloop's copy) the connection is bound to.
#[no_mangle]
pub unsafe extern "C" fn ws_get_protocol(wsi: *mut ws) -> *const ws_protocols {
    guard!(
        "ws_get_protocol",
        std::ptr::null(),
        ctx = super::handles::any_wsi_shell(wsi).map(|(s, _)| s),
        {
            let index = match handles::wsi_shell(wsi) {
                Some((s, Wsi::Protocol(i))) => Some((s, i)),
                Some((s, Wsi::Conn(id))) => s.core.protocol_index(id).map(|i| (s, i)),
                None => None,
            };
            match index {
                Some((s, i)) if i < s.protocols.len() => &s.protocols[i] as *const ws_protocols,
                _ => refuse!(
                    std::ptr::null(),
                    "ws_get_protocol: wsi {wsi:p} is not a live handle"
                ),
            }
        }
    )
}

fn rx<T>(wsi: *mut ws, func: &str, f: impl FnOnce(crate::connection::RxInfo) -> T, fail: T) -> T {
    match handles::live_conn(wsi, func) {
        Some((s, id)) => s.core.rx_info(id).map_or(fail, f),
        None => fail,
    }
}

/// In `WS_CALLBACK_CLIENT_RECEIVE`: 1 when this chunk starts a message.
#[no_mangle]
pub unsafe extern "C" fn ws_is_first_fragment(wsi: *mut ws) -> c_int {
    guard!(
        "ws_is_first_fragment",
        0,
        ctx = super::handles::any_wsi_shell(wsi).map(|(s, _)| s),
        { rx(wsi, "ws_is_first_fragment", |r| r.first as c_int, 0) }
    )
}

/// In `WS_CALLBACK_CLIENT_RECEIVE`: 1 when this chunk ends the message.
#[no_mangle]
pub unsafe extern "C" fn ws_is_final_fragment(wsi: *mut ws) -> c_int {
    guard!(
        "ws_is_final_fragment",
        0,
        ctx = super::handles::any_wsi_shell(wsi).map(|(s, _)| s),
        { rx(wsi, "ws_is_final_fragment", |r| r.last as c_int, 0) }
    )
}

/// In `WS_CALLBACK_CLIENT_RECEIVE`: 1 when the message is binary.
#[no_mangle]
pub unsafe extern "C" fn ws_frame_is_binary(wsi: *mut ws) -> c_int {
    guard!(
        "ws_frame_is_binary",
        0,
        ctx = super::handles::any_wsi_shell(wsi).map(|(s, _)| s),
        { rx(wsi, "ws_frame_is_binary", |r| r.binary as c_int, 0) }
    )
}

/// In `WS_CALLBACK_CLIENT_RECEIVE`: payload bytes of the current frame
/// still to come after this chunk. For a compressed message
/// (permessage-deflate), as in libwebsockets, the frame's compressed bytes
/// not yet inflated (0 with the message's last chunk), not how many
/// inflated bytes will follow.
#[no_mangle]
pub unsafe extern "C" fn ws_remaining_packet_payload(wsi: *mut ws) -> usize {
    guard!(
        "ws_remaining_packet_payload",
        0,
        ctx = super::handles::any_wsi_shell(wsi).map(|(s, _)| s),
        {
            rx(
                wsi,
                "ws_remaining_packet_payload",
                |r| r.remaining as usize,
                0,
            )
        }
    )
}

/// 1 when the socket refused data given to `ws_write` that is still queued,
/// or 64 KiB of small writes were gathered in this `ws_service()` call (write
/// again after the next `WS_CALLBACK_CLIENT_WRITEABLE`), 0 when not, and 1
/// for a handle that is not a live connection.
#[no_mangle]
pub unsafe extern "C" fn ws_send_pipe_choked(wsi: *mut ws) -> c_int {
    guard!(
        "ws_send_pipe_choked",
        1,
        ctx = super::handles::any_wsi_shell(wsi).map(|(s, _)| s),
        {
            match handles::live_conn(wsi, "ws_send_pipe_choked") {
                Some((s, id)) => (s.core.choked(id).unwrap_or(true)) as c_int,
                None => 1,
            }
        }
    )
}

/// 1 when part of an earlier `ws_write` is still buffered because the socket
/// refused it (as `ws_send_pipe_choked`), else 0.
#[no_mangle]
pub unsafe extern "C" fn ws_partial_buffered(wsi: *mut ws) -> c_int {
    guard!(
        "ws_partial_buffered",
        0,
        ctx = super::handles::any_wsi_shell(wsi).map(|(s, _)| s),
        {
            match handles::live_conn(wsi, "ws_partial_buffered") {
                Some((s, id)) => (s.core.choked(id).unwrap_or(false)) as c_int,
                None => 0,
            }
        }
    )
}
