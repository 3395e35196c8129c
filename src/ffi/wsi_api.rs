//! More of lws' per-connection and per-protocol calls that client code
//! uses: the socket descriptor, the peer's address, response header
//! lengths, extra request headers by token, TLS or not, and the vhost
//! flavours of the all-protocol calls (wsloop has one vhost per context).

use std::ffi::{c_char, c_int, c_void};

use super::handles::{self, c_len};
use super::types::*;

/// The connection's socket descriptor, for socket options or logging only
/// (wsloop owns it: never read, write, close or poll it; watch
/// `ws_get_poll_fd()` instead). -1 before the TCP connect starts, after
/// it closed, or for a handle that is not a live connection.
#[no_mangle]
pub unsafe extern "C" fn ws_get_socket_fd(wsi: *mut ws) -> c_int {
    guard!("ws_get_socket_fd", -1, {
        match handles::live_conn(wsi, "ws_get_socket_fd") {
            Some((s, id)) => s.core.socket_fd(id).unwrap_or(-1),
            None => -1,
        }
    })
}

/// Writes the peer's IP address ("127.0.0.1", "::1") into `name`
/// (`namelen` bytes, NUL-terminated, truncated to fit) and returns `name`;
/// NULL (with `name` left alone) before the connection has a connected
/// socket or for a handle that is not a live connection.
#[no_mangle]
pub unsafe extern "C" fn ws_get_peer_simple(
    wsi: *mut ws,
    name: *mut c_char,
    namelen: usize,
) -> *const c_char {
    guard!("ws_get_peer_simple", std::ptr::null(), {
        if name.is_null() || namelen == 0 {
            refuse!(
                std::ptr::null(),
                "ws_get_peer_simple: name is NULL or namelen is 0"
            );
        }
        let Some((s, id)) = handles::live_conn(wsi, "ws_get_peer_simple") else {
            return std::ptr::null();
        };
        let Some(ip) = s.core.peer_ip(id) else {
            return std::ptr::null();
        };
        let n = ip.len().min(namelen - 1);
        std::ptr::copy_nonoverlapping(ip.as_ptr(), name.cast::<u8>(), n);
        *name.add(n) = 0;
        name
    })
}

/// The length of a response header by `WS_WSI_TOKEN_*`, 0 when the
/// response does not have it (or is no longer kept: it is available until
/// `WS_CALLBACK_CLIENT_ESTABLISHED` returns). Size the buffer for
/// `ws_hdr_copy()` as this + 1. -1 for a token wsloop does not know.
#[no_mangle]
pub unsafe extern "C" fn ws_hdr_total_length(wsi: *mut ws, token: c_int) -> c_int {
    guard!("ws_hdr_total_length", -1, {
        let Some(name) = token_header(token) else {
            refuse!(
                -1,
                "ws_hdr_total_length: token {token} is not a response header wsloop knows; use ws_hdr_custom_copy"
            )
        };
        match handles::live_conn(wsi, "ws_hdr_total_length") {
            Some((s, id)) => s
                .core
                .response_header(id, name)
                .map_or(0, |v| c_len(v.len())),
            None => 0,
        }
    })
}

/// In `WS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER`: as
/// `ws_add_http_header_by_name()`, with the header named by its
/// `WS_WSI_TOKEN_*`. Returns 0, or 1 when it does not fit, the token is
/// unknown, or an argument is invalid.
#[no_mangle]
pub unsafe extern "C" fn ws_add_http_header_by_token(
    wsi: *mut ws,
    token: c_int,
    value: *const u8,
    length: c_int,
    p: *mut *mut u8,
    end: *mut u8,
) -> c_int {
    guard!("ws_add_http_header_by_token", 1, {
        let Some(name) = token_header(token) else {
            refuse!(
                1,
                "ws_add_http_header_by_token: token {token} is not a header wsloop knows; use ws_add_http_header_by_name"
            )
        };
        let mut with_colon = name.as_bytes().to_vec();
        with_colon.extend_from_slice(b":\0");
        super::conn_api::ws_add_http_header_by_name(wsi, with_colon.as_ptr(), value, length, p, end)
    })
}

/// 1 when the connection is over TLS (wss://), else 0.
#[no_mangle]
pub unsafe extern "C" fn ws_is_ssl(wsi: *mut ws) -> c_int {
    guard!("ws_is_ssl", 0, {
        match handles::live_conn(wsi, "ws_is_ssl") {
            Some((s, id)) => c_int::from(s.core.is_tls(id)),
            None => 0,
        }
    })
}

/// `ws_callback_all_protocol()` on the vhost's context, with `argp`/`len`
/// as `in`/`len`; a NULL `protocol` means every protocol. Returns 0, or -1
/// (log line) for a dead vhost or a protocol not in its table.
#[no_mangle]
pub unsafe extern "C" fn ws_callback_all_protocol_vhost_args(
    vh: *mut ws_vhost,
    protocol: *const ws_protocols,
    reason: c_int,
    argp: *mut c_void,
    len: usize,
) -> c_int {
    guard!("ws_callback_all_protocol_vhost_args", -1, {
        let Some(s) = handles::vhost_shell(vh) else {
            refuse!(-1, "ws_callback_all_protocol_vhost_args: not a live vhost")
        };
        let which: Vec<usize> = if protocol.is_null() {
            (0..s.protocols.len()).collect()
        } else {
            match s.protocol_index(protocol) {
                Some(i) => vec![i],
                None => refuse!(
                    -1,
                    "ws_callback_all_protocol_vhost_args: protocol is not an entry of this vhost's protocol table"
                ),
            }
        };
        for i in which {
            super::service_api::call_each(s, i, reason, argp, len);
        }
        0
    })
}

/// `ws_callback_on_writable_all_protocol()` on the vhost's context.
#[no_mangle]
pub unsafe extern "C" fn ws_callback_on_writable_all_protocol_vhost(
    vh: *const ws_vhost,
    prot: *const ws_protocols,
) -> c_int {
    guard!("ws_callback_on_writable_all_protocol_vhost", -1, {
        match handles::vhost_shell(vh) {
            Some(s) => super::vhost_api::ws_callback_on_writable_all_protocol(
                handles::ctx_handle(s.slot, s.gen),
                prot,
            ),
            None => refuse!(
                -1,
                "ws_callback_on_writable_all_protocol_vhost: not a live vhost"
            ),
        }
    })
}

/// Calls every protocol's callback with `wsi`, `reason`, `in` and `len`
/// (and `user` NULL), in table order, until one returns non-zero; returns
/// 1 then, else 0.
#[no_mangle]
pub unsafe extern "C" fn ws_callback_vhost_protocols(
    wsi: *mut ws,
    reason: c_int,
    in_: *mut c_void,
    len: c_int,
) -> c_int {
    guard!("ws_callback_vhost_protocols", 0, {
        let Some((s, _)) = handles::wsi_shell(wsi) else {
            refuse!(
                0,
                "ws_callback_vhost_protocols: wsi is not a connection or protocol handle"
            )
        };
        let len = usize::try_from(len).unwrap_or(0);
        for i in 0..s.protocols.len() {
            if super::service_api::call_raw(s, i, wsi, reason, std::ptr::null_mut(), in_, len) != 0
            {
                return 1;
            }
        }
        0
    })
}
