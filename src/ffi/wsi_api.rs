//! More of lws' per-connection and per-protocol calls that client code
//! uses: the socket descriptor, the peer's address, the upgrade's headers
//! (extra request headers by name or token; the response's lengths,
//! copies and status), TLS or not, and the vhost flavours of the
//! all-protocol calls (wsloop has one vhost per context).

use std::ffi::{c_char, c_int, c_uint, c_void, CStr};

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
        ws_add_http_header_by_name(wsi, with_colon.as_ptr(), value, length, p, end)
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

/// In `WS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER` (`in` is `char **p`,
/// `len` the room left): appends `name value\r\n` at `*p` and advances it.
/// `name` is given with its colon, as in lws (`"x-token:"`); one is added if
/// missing. Returns 0, or 1 when it does not fit before `end` or a CR/LF
/// would be injected.
#[no_mangle]
pub unsafe extern "C" fn ws_add_http_header_by_name(
    wsi: *mut ws,
    name: *const u8,
    value: *const u8,
    length: c_int,
    p: *mut *mut u8,
    end: *mut u8,
) -> c_int {
    guard!(
        "ws_add_http_header_by_name",
        1,
        ctx = super::handles::any_wsi_shell(wsi).map(|(s, _)| s),
        {
            let _ = wsi;
            if name.is_null()
                || p.is_null()
                || (*p).is_null()
                || end.is_null()
                || (value.is_null() && length > 0)
                || length < 0
            {
                refuse!(
                    1,
                    "ws_add_http_header_by_name: NULL argument or negative length"
                );
            }
            let name = CStr::from_ptr(name.cast()).to_bytes();
            let value: &[u8] = if length == 0 {
                &[]
            } else {
                std::slice::from_raw_parts(value, length as usize)
            };
            if name.iter().chain(value).any(|&b| b == b'\r' || b == b'\n') || name.is_empty() {
                refuse!(
                    1,
                    "ws_add_http_header_by_name: header name or value is empty or contains CR/LF"
                );
            }
            let colon = !name.ends_with(b":");
            let need = name.len() + colon as usize + 1 + value.len() + 2;
            let room = (end as usize).saturating_sub(*p as usize);
            if need > room {
                refuse!(1, "ws_add_http_header_by_name: no room for {need} more bytes of headers ({room} left)");
            }
            let mut line = Vec::with_capacity(need);
            line.extend_from_slice(name);
            if colon {
                line.push(b':');
            }
            line.push(b' ');
            line.extend_from_slice(value);
            line.extend_from_slice(b"\r\n");
            std::ptr::copy_nonoverlapping(line.as_ptr(), *p, need);
            *p = (*p).add(need);
            0
        }
    )
}

/// Copies a response header (NUL-terminated) into `dst`; usable from the
/// upgrade response's arrival until `WS_CALLBACK_CLIENT_ESTABLISHED`
/// returns, i.e. in `WS_CALLBACK_CLIENT_FILTER_PRE_ESTABLISH`. Returns its
/// length, or -1 when it is absent or does not fit with its NUL.
unsafe fn copy_header(wsi: *mut ws, dst: *mut c_char, len: c_int, name: &str, func: &str) -> c_int {
    let Some((s, id)) = handles::live_conn(wsi, func) else {
        return -1;
    };
    if dst.is_null() || len <= 0 {
        refuse!(-1, "{func}: dst is NULL or len is not positive");
    }
    let Some(v) = s.core.response_header(id, name) else {
        return -1;
    };
    if v.len() + 1 > len as usize {
        return -1;
    }
    std::ptr::copy_nonoverlapping(v.as_ptr(), dst.cast::<u8>(), v.len());
    *dst.add(v.len()) = 0;
    c_len(v.len())
}

/// `ws_hdr_copy(wsi, dst, len, WS_WSI_TOKEN_...)`: a response header by token.
#[no_mangle]
pub unsafe extern "C" fn ws_hdr_copy(
    wsi: *mut ws,
    dst: *mut c_char,
    len: c_int,
    token: c_int,
) -> c_int {
    guard!(
        "ws_hdr_copy",
        -1,
        ctx = super::handles::any_wsi_shell(wsi).map(|(s, _)| s),
        {
            match token_header(token) {
            Some(name) => copy_header(wsi, dst, len, name, "ws_hdr_copy"),
            None => refuse!(-1, "ws_hdr_copy: token {token} is not a response header wsloop knows; use ws_hdr_custom_copy"),
        }
        }
    )
}

/// A response header by name (`"x-thing:"`, with or without the colon,
/// any case).
#[no_mangle]
pub unsafe extern "C" fn ws_hdr_custom_copy(
    wsi: *mut ws,
    dst: *mut c_char,
    len: c_int,
    name: *const c_char,
    nlen: c_int,
) -> c_int {
    guard!(
        "ws_hdr_custom_copy",
        -1,
        ctx = super::handles::any_wsi_shell(wsi).map(|(s, _)| s),
        {
            if name.is_null() || nlen <= 0 {
                refuse!(
                    -1,
                    "ws_hdr_custom_copy: name is NULL or nlen is not positive"
                );
            }
            let raw = std::slice::from_raw_parts(name.cast::<u8>(), nlen as usize);
            let Ok(n) = std::str::from_utf8(raw) else {
                refuse!(-1, "ws_hdr_custom_copy: name is not UTF-8")
            };
            copy_header(wsi, dst, len, n.trim_end_matches(':'), "ws_hdr_custom_copy")
        }
    )
}

/// The HTTP status of the upgrade response (0 before one arrived); usable in
/// `WS_CALLBACK_CLIENT_CONNECTION_ERROR`.
#[no_mangle]
pub unsafe extern "C" fn ws_http_client_http_response(wsi: *mut ws) -> c_uint {
    guard!(
        "ws_http_client_http_response",
        0,
        ctx = super::handles::any_wsi_shell(wsi).map(|(s, _)| s),
        {
            match handles::live_conn(wsi, "ws_http_client_http_response") {
                Some((s, id)) => s.core.http_status(id).map_or(0, c_uint::from),
                None => 0,
            }
        }
    )
}
