//! The context's one vhost: per-protocol storage and protocol options.
//!
//! Called from the thread that services the context; `ws_pvo_search` reads
//! only the list it is given and may be called from any thread.

use std::ffi::{c_char, c_void, CStr};

use super::handles::{self, Wsi};
use super::types::*;

/// The vhost of a connection, or of a protocol's `wsi` in PROTOCOL_INIT. A
/// context has exactly one vhost.
#[no_mangle]
pub unsafe extern "C" fn ws_get_vhost(wsi: *mut ws) -> *mut ws_vhost {
    guard!(
        "ws_get_vhost",
        std::ptr::null_mut(),
        ctx = super::handles::any_wsi_shell(wsi).map(|(s, _)| s),
        {
            match handles::wsi_shell(wsi) {
                Some((s, Wsi::Protocol(_))) => {
                    handles::vhost_handle(handles::ctx_handle(s.slot, s.gen))
                }
                Some((s, Wsi::Conn(id))) if s.core.is_live(id) => {
                    handles::vhost_handle(handles::ctx_handle(s.slot, s.gen))
                }
                _ => refuse!(
                    std::ptr::null_mut(),
                    "ws_get_vhost: wsi {wsi:p} is not a live handle"
                ),
            }
        }
    )
}

/// The vhost's name: a context's one vhost is "default", as in
/// libwebsockets. The string is static: do not free it.
#[no_mangle]
pub unsafe extern "C" fn ws_get_vhost_name(vhost: *mut ws_vhost) -> *const c_char {
    guard!(
        "ws_get_vhost_name",
        std::ptr::null(),
        ctx = super::handles::vhost_shell(vhost),
        {
            match handles::vhost_shell(vhost) {
                Some(_) => c"default".as_ptr(),
                None => refuse!(std::ptr::null(), "ws_get_vhost_name: not a live vhost"),
            }
        }
    )
}

/// The vhost named `name` ("default" is the only one), or NULL.
#[no_mangle]
pub unsafe extern "C" fn ws_get_vhost_by_name(
    context: *mut ws_context,
    name: *const c_char,
) -> *mut ws_vhost {
    guard!(
        "ws_get_vhost_by_name",
        std::ptr::null_mut(),
        ctx = super::handles::any_shell(context),
        {
            if handles::shell(context).is_none() {
                refuse!(
                    std::ptr::null_mut(),
                    "ws_get_vhost_by_name: not a live context"
                );
            }
            if name.is_null() || CStr::from_ptr(name) != c"default" {
                return std::ptr::null_mut();
            }
            handles::vhost_handle(context)
        }
    )
}

/// Allocates `size` zeroed bytes (16-byte aligned) of storage for protocol
/// `prot` on this vhost, freed when the context is destroyed. `prot` is an
/// entry of the protocol table (yours or `ws_get_protocol`'s). Allocating
/// again gives fresh memory; the old block stays valid until destroy.
#[no_mangle]
pub unsafe extern "C" fn ws_protocol_vh_priv_zalloc(
    vhost: *mut ws_vhost,
    prot: *const ws_protocols,
    size: std::ffi::c_int,
) -> *mut c_void {
    guard!(
        "ws_protocol_vh_priv_zalloc",
        std::ptr::null_mut(),
        ctx = super::handles::vhost_shell(vhost),
        {
            let Some(s) = handles::vhost_shell(vhost) else {
                refuse!(
                    std::ptr::null_mut(),
                    "ws_protocol_vh_priv_zalloc: not a live vhost"
                )
            };
            let Some(i) = s.protocol_index(prot) else {
                refuse!(
                std::ptr::null_mut(),
                "ws_protocol_vh_priv_zalloc: prot is not an entry of this context's protocol table"
            )
            };
            if size < 0 {
                refuse!(
                    std::ptr::null_mut(),
                    "ws_protocol_vh_priv_zalloc: size {size} is negative"
                );
            }
            let mut privs = s.vh_privs.borrow_mut();
            if privs.len() < s.protocols.len() {
                privs.resize_with(s.protocols.len(), Vec::new);
            }
            let mut block = vec![0u128; (size as usize).div_ceil(16).max(1)].into_boxed_slice();
            let p = block.as_mut_ptr().cast();
            privs[i].push(block);
            p
        }
    )
}

/// The storage `ws_protocol_vh_priv_zalloc` last gave protocol `prot`, or NULL.
#[no_mangle]
pub unsafe extern "C" fn ws_protocol_vh_priv_get(
    vhost: *mut ws_vhost,
    prot: *const ws_protocols,
) -> *mut c_void {
    guard!(
        "ws_protocol_vh_priv_get",
        std::ptr::null_mut(),
        ctx = super::handles::vhost_shell(vhost),
        {
            let Some(s) = handles::vhost_shell(vhost) else {
                refuse!(
                    std::ptr::null_mut(),
                    "ws_protocol_vh_priv_get: not a live vhost"
                )
            };
            let Some(i) = s.protocol_index(prot) else {
                refuse!(
                std::ptr::null_mut(),
                "ws_protocol_vh_priv_get: prot is not an entry of this context's protocol table"
            )
            };
            let mut privs = s.vh_privs.borrow_mut();
            match privs.get_mut(i).and_then(|v| v.last_mut()) {
                Some(b) => b.as_mut_ptr().cast(),
                None => std::ptr::null_mut(),
            }
        }
    )
}

/// The entry named `name` in a list of protocol options (the `options`
/// chain PROTOCOL_INIT receives in `in`), or NULL.
#[no_mangle]
pub unsafe extern "C" fn ws_pvo_search(
    pvo: *const ws_protocol_vhost_options,
    name: *const c_char,
) -> *const ws_protocol_vhost_options {
    guard!("ws_pvo_search", std::ptr::null(), {
        if name.is_null() {
            refuse!(std::ptr::null(), "ws_pvo_search: name is NULL");
        }
        let want = CStr::from_ptr(name);
        let mut p = pvo;
        while let Some(o) = p.as_ref() {
            if !o.name.is_null() && CStr::from_ptr(o.name) == want {
                return p;
            }
            p = o.next;
        }
        std::ptr::null()
    })
}

/// Asks for `WS_CALLBACK_CLIENT_WRITEABLE` on every connection bound to
/// protocol `prot` (an entry of the protocol table). Returns 0, or -1 for a
/// dead context or unknown protocol.
#[no_mangle]
pub unsafe extern "C" fn ws_callback_on_writable_all_protocol(
    context: *const ws_context,
    prot: *const ws_protocols,
) -> std::ffi::c_int {
    guard!(
        "ws_callback_on_writable_all_protocol",
        -1,
        ctx = super::handles::any_shell(context),
        {
            let Some(s) = handles::shell(context) else {
                refuse!(
                    -1,
                    "ws_callback_on_writable_all_protocol: not a live context"
                )
            };
            let Some(i) = s.protocol_index(prot) else {
                refuse!(
                -1,
                "ws_callback_on_writable_all_protocol: prot is not an entry of this context's protocol table"
            )
            };
            for id in s.core.connections_of(i) {
                s.core.callback_on_writable(id);
            }
            0
        }
    )
}

/// `ws_set_proxy` and `ws_set_socks`: the later call wins.
unsafe fn set_proxy(
    vhost: *mut ws_vhost,
    value: *const c_char,
    socks: bool,
    name: &str,
) -> std::ffi::c_int {
    let Some(s) = handles::vhost_shell(vhost) else {
        refuse!(-1, "{name}: not a live vhost");
    };
    if value.is_null() {
        refuse!(-1, "{name}: the proxy is NULL");
    }
    let Ok(value) = CStr::from_ptr(value).to_str() else {
        refuse!(-1, "{name}: the proxy is not valid UTF-8");
    };
    match s.core.set_proxy(value, socks) {
        Ok(()) => 0,
        Err(e) => refuse!(-1, "{name}: {e}"),
    }
}

/// Sends the vhost's connections started from now on through the HTTP
/// CONNECT proxy `proxy`: `"[user:password@]host:port"` (Basic
/// authentication with the credentials), or a URL (`http://`, `https://`
/// for TLS to the proxy, `socks5://`, `socks5h://`). Replaces any earlier
/// `ws_set_proxy` / `ws_set_socks` and the context info's proxy. 0 when
/// set, -1 (with a log line, the password masked) when `proxy` cannot be used.
#[no_mangle]
pub unsafe extern "C" fn ws_set_proxy(
    vhost: *mut ws_vhost,
    proxy: *const c_char,
) -> std::ffi::c_int {
    guard!("ws_set_proxy", -1, ctx = handles::vhost_shell(vhost), {
        set_proxy(vhost, proxy, false, "ws_set_proxy")
    })
}

/// Like `ws_set_proxy`, for a SOCKS5 proxy: `"[user:password@]host:port"`
/// (RFC 1929 credentials; the proxy resolves the target's name).
#[no_mangle]
pub unsafe extern "C" fn ws_set_socks(
    vhost: *mut ws_vhost,
    socks: *const c_char,
) -> std::ffi::c_int {
    guard!("ws_set_socks", -1, ctx = handles::vhost_shell(vhost), {
        set_proxy(vhost, socks, true, "ws_set_socks")
    })
}
