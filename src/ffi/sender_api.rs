//! Sending from any thread (a wsloop extension: libwebsockets has no such
//! call). A `struct ws_sender *` is a counted reference to a connection's
//! outbox; unlike `struct ws *` it is a real pointer, owned by whoever holds
//! it, because other threads keep it past the connection's end.

#![allow(non_camel_case_types)]

use std::ffi::c_int;
use std::sync::Arc;
use std::time::Duration;

use super::handles;
use super::types::ws;
use super::types::ws_write_protocol::{WS_WRITE_BINARY, WS_WRITE_TEXT};
use crate::context::WriteError;
use crate::frame::OpCode;
use crate::outbox::{Outbox, Push, Room};

/// A connection's sender: writes whole messages into the connection from
/// any thread (wsloop extension). Obtained with ws_sender_get(), released
/// with ws_sender_release().
pub struct ws_sender {
    _opaque: [u8; 0],
}

/// ws_sender_write(), ws_sender_wait(): the message was queued, or there is room.
pub const WS_SENDER_OK: c_int = 0;
/// ws_sender_write(), ws_sender_wait(): the connection has closed (or is
/// closing); nothing more will be sent. Release the sender.
pub const WS_SENDER_CLOSED: c_int = -1;
/// ws_sender_write(): the sender's queue is full (the peer or the loop is
/// behind); nothing was queued. Wait with ws_sender_wait() and write again.
pub const WS_SENDER_FULL: c_int = -2;
/// ws_sender_wait(): the timeout passed before there was room.
pub const WS_SENDER_TIMEOUT: c_int = -3;
/// ws_sender_write(), ws_sender_wait(): a bad argument (logged): NULL
/// sender, NULL buffer with a length, a kind other than WS_WRITE_TEXT or
/// WS_WRITE_BINARY, a wait on the loop thread.
pub const WS_SENDER_INVALID: c_int = -4;

fn outbox<'a>(s: *const ws_sender) -> Option<&'a Outbox> {
    // SAFETY: a non-NULL sender comes from ws_sender_get/ws_sender_ref and
    // its holder has not released it (the documented contract).
    unsafe { s.cast::<Outbox>().as_ref() }
}

/// Returns a sender for an established connection (wsloop extension; not
/// in libwebsockets). Call it on the thread that services the context, from
/// WS_CALLBACK_CLIENT_ESTABLISHED or later. Each call returns a new
/// reference that its holder must give back with ws_sender_release(), on
/// any thread, at any time (after the connection or the context is gone
/// too). Hand one to each producer thread.
///
/// `queue_limit` bounds, in bytes (payload plus 6 to 14 header bytes per
/// message), what producers may have queued and the loop not yet taken;
/// 0 keeps the current limit (1 MiB unless set). A message is always taken
/// by an empty queue, whatever its size.
///
/// Returns NULL, with a log line, when `wsi` is not an established
/// connection.
#[no_mangle]
pub unsafe extern "C" fn ws_sender_get(wsi: *mut ws, queue_limit: usize) -> *mut ws_sender {
    guard!(
        "ws_sender_get",
        std::ptr::null_mut(),
        ctx = handles::any_wsi_shell(wsi).map(|(s, _)| s),
        {
            let Some((s, id)) = handles::conn(wsi, "ws_sender_get") else {
                return std::ptr::null_mut();
            };
            match s.core.outbox(id, queue_limit) {
                Ok(ob) => Arc::into_raw(ob).cast_mut().cast(),
                Err(WriteError::Gone) => {
                    handles::gone(wsi, "ws_sender_get");
                    std::ptr::null_mut()
                }
                Err(e) => refuse!(std::ptr::null_mut(), "ws_sender_get: {e}"),
            }
        }
    )
}

/// Another reference to the same sender, for another holder (wsloop
/// extension). Any thread. Returns `sender`, or NULL (logged) for NULL.
#[no_mangle]
pub unsafe extern "C" fn ws_sender_ref(sender: *mut ws_sender) -> *mut ws_sender {
    guard!("ws_sender_ref", std::ptr::null_mut(), {
        if sender.is_null() {
            refuse!(std::ptr::null_mut(), "ws_sender_ref: sender is NULL");
        }
        // SAFETY: a live reference from ws_sender_get/ws_sender_ref.
        Arc::increment_strong_count(sender.cast_const().cast::<Outbox>());
        sender
    })
}

/// Gives back one reference (wsloop extension). Any thread; NULL is ignored.
/// The sender must not be used through this reference afterwards. Messages
/// already queued are still sent.
#[no_mangle]
pub unsafe extern "C" fn ws_sender_release(sender: *mut ws_sender) {
    guard!("ws_sender_release", (), {
        if !sender.is_null() {
            // SAFETY: one reference from ws_sender_get/ws_sender_ref, given back once.
            drop(Arc::from_raw(sender.cast_const().cast::<Outbox>()));
        }
    })
}

/// Queues one whole message from any thread (wsloop extension). `buf` is
/// copied (it needs no WS_PRE headroom and may be reused at once);
/// `protocol` is WS_WRITE_TEXT or WS_WRITE_BINARY (no fragments, no
/// control frames). The loop is woken and sends the messages in the order
/// each thread wrote them, each whole, after what the loop thread itself
/// wrote before; it takes them only while the connection's own send queue
/// has room, so a peer that stops reading makes the queue fill.
///
/// Returns WS_SENDER_OK when queued, WS_SENDER_FULL when the queue is at
/// its limit (nothing queued: wait with ws_sender_wait() and write again),
/// WS_SENDER_CLOSED once the connection has closed, WS_SENDER_INVALID for a
/// bad argument (logged). Queued messages are lost if the connection closes
/// before the loop sends them.
#[no_mangle]
pub unsafe extern "C" fn ws_sender_write(
    sender: *mut ws_sender,
    buf: *const u8,
    len: usize,
    protocol: c_int,
) -> c_int {
    guard!("ws_sender_write", WS_SENDER_INVALID, {
        let Some(ob) = outbox(sender) else {
            refuse!(WS_SENDER_INVALID, "ws_sender_write: sender is NULL");
        };
        let payload: &[u8] = if buf.is_null() {
            if len > 0 {
                refuse!(
                    WS_SENDER_INVALID,
                    "ws_sender_write: buf is NULL but len is {len}"
                );
            }
            &[]
        } else {
            // SAFETY: the caller provides `len` readable bytes at `buf`.
            std::slice::from_raw_parts(buf, len)
        };
        let op = match protocol {
            p if p == WS_WRITE_TEXT as c_int => OpCode::Text,
            p if p == WS_WRITE_BINARY as c_int => OpCode::Binary,
            other => refuse!(
                WS_SENDER_INVALID,
                "ws_sender_write: write protocol {other} refused: only whole WS_WRITE_TEXT or WS_WRITE_BINARY messages are sent from other threads (use ws_write on the loop thread for the rest)"
            ),
        };
        match ob.write(op, payload) {
            Push::Queued => WS_SENDER_OK,
            Push::Full => WS_SENDER_FULL,
            Push::Closed => WS_SENDER_CLOSED,
        }
    })
}

/// Waits until a message of `len` bytes would be queued, the connection
/// closes, or `timeout_ms` milliseconds pass (a negative timeout waits
/// without limit) (wsloop extension). For producer threads: the loop thread
/// makes the room, so waiting on it is refused.
///
/// Returns WS_SENDER_OK when there is room (another producer may take it
/// first: ws_sender_write() can still say WS_SENDER_FULL), WS_SENDER_CLOSED,
/// WS_SENDER_TIMEOUT, or WS_SENDER_INVALID (logged).
#[no_mangle]
pub unsafe extern "C" fn ws_sender_wait(
    sender: *mut ws_sender,
    len: usize,
    timeout_ms: c_int,
) -> c_int {
    guard!("ws_sender_wait", WS_SENDER_INVALID, {
        let Some(ob) = outbox(sender) else {
            refuse!(WS_SENDER_INVALID, "ws_sender_wait: sender is NULL");
        };
        let timeout = u64::try_from(timeout_ms).ok().map(Duration::from_millis);
        match ob.wait_room(len, timeout) {
            Room::Ready => WS_SENDER_OK,
            Room::Closed => WS_SENDER_CLOSED,
            Room::TimedOut => WS_SENDER_TIMEOUT,
            Room::LoopThread => refuse!(
                WS_SENDER_INVALID,
                "ws_sender_wait: called on the thread that services the context, which alone makes room, so it would wait forever; wait on a producer thread, or on WS_SENDER_FULL let ws_service() run and write again"
            ),
        }
    })
}
