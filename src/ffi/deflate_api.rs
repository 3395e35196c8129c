//! permessage-deflate at the C boundary: the context's offer, from its
//! extension table (libwebsockets' way) or `WS_CONTEXT_PERMESSAGE_DEFLATE`,
//! the settings call, and the extension callback tables name.

use std::ffi::{c_int, c_uint, c_void, CStr};

use super::handles;
use super::types::{ws, ws_context, ws_context_creation_info, ws_extension};
use crate::deflate::{negotiate, Offer, Settings};
use crate::log;

/// Context `wsloop_flags`: offer permessage-deflate on every connection
/// without an extension table, with libwebsockets' usual offer
/// `"permessage-deflate; client_no_context_takeover; client_max_window_bits"`:
/// each message sent is compressed from an empty window (so sending shares
/// one zlib stream per context), while the server may keep its window
/// between messages (better compression of what arrives). Ignored when
/// `extensions` names permessage-deflate: the table's offer is used.
pub const WS_CONTEXT_PERMESSAGE_DEFLATE: c_uint = 1 << 2;

/// The offer of the creation info: the extension table's permessage-deflate
/// entry, else the flag's, else none.
pub(super) unsafe fn offer(info: &ws_context_creation_info) -> Result<Option<Offer>, String> {
    let mut found: Option<Offer> = None;
    let mut e = info.extensions;
    let mut i = 0;
    // lws' table ends at an entry with a NULL callback (its zero entry).
    while !e.is_null() && !(*e).name.is_null() && !(*e).callback.is_null() {
        let ext: &ws_extension = &*e;
        let name = CStr::from_ptr(ext.name).to_string_lossy();
        if name != negotiate::NAME {
            wlog!(
                log::WARN,
                "ws_create_context: extensions[{i}] '{name}' is not implemented (only {} is); it is not offered",
                negotiate::NAME
            );
        } else if found.is_some() {
            wlog!(
                log::WARN,
                "ws_create_context: extensions[{i}] names {name} again; the first entry's offer is used"
            );
        } else {
            let text = if ext.client_offer.is_null() {
                negotiate::NAME.into()
            } else {
                CStr::from_ptr(ext.client_offer).to_string_lossy()
            };
            found = Some(Offer::parse(&text).map_err(|err| format!("extensions[{i}]: {err}"))?);
        }
        e = e.add(1);
        i += 1;
    }
    if found.is_none() && info.wsloop_flags & WS_CONTEXT_PERMESSAGE_DEFLATE != 0 {
        found = Some(Offer::lws_default());
    }
    Ok(found)
}

/// permessage-deflate's settings for every connection of the context
/// (wsloop extension; libwebsockets fixes them when it is built). `level`:
/// zlib's compression level, 0 (stored, no compression) to 9 (smallest
/// output, slowest); 1 by default, as libwebsockets. `threshold`: a whole
/// message shorter than this many bytes is sent uncompressed (RSV1 clear,
/// as RFC 7692 allows); 128 by default, below which deflate hardly
/// shortens a message; 0 compresses every message. A fragmented message is
/// compressed whatever its size. Applies to messages started from now on
/// (a connection with context takeover keeps the level its stream was made
/// with). Returns 0, or -1 (logged) for a bad context or level. Call it on
/// the thread that services the context; nothing is kept of the pointer.
#[no_mangle]
pub unsafe extern "C" fn ws_set_permessage_deflate(
    context: *mut ws_context,
    level: c_int,
    threshold: usize,
) -> c_int {
    guard!(
        "ws_set_permessage_deflate",
        -1,
        ctx = handles::shell(context),
        {
            let Some(s) = handles::shell(context) else {
                refuse!(
                    -1,
                    "ws_set_permessage_deflate: context is NULL or destroyed"
                );
            };
            let Ok(level @ 0..=9) = u8::try_from(level) else {
                refuse!(
                    -1,
                    "ws_set_permessage_deflate: level {level} is out of range: give 0 (stored) to 9 (smallest); 1 is the default"
                );
            };
            s.core
                .pmd_pool
                .borrow_mut()
                .set_settings(Settings { level, threshold });
            0
        }
    )
}

/// libwebsockets' permessage-deflate extension callback: name it in an
/// extension table (`{ "permessage-deflate", ws_extension_callback_pm_deflate,
/// "permessage-deflate; client_no_context_takeover; client_max_window_bits" }`,
/// then a zero entry) to offer compression. wsloop implements the extension
/// itself and never calls it; it returns 0 from any thread and touches none
/// of its arguments.
#[no_mangle]
pub unsafe extern "C" fn ws_extension_callback_pm_deflate(
    context: *mut ws_context,
    ext: *const ws_extension,
    wsi: *mut ws,
    reason: c_int,
    user: *mut c_void,
    in_: *mut c_void,
    len: usize,
) -> c_int {
    guard!("ws_extension_callback_pm_deflate", 0, {
        let _ = (context, ext, wsi, reason, user, in_, len);
        0
    })
}
