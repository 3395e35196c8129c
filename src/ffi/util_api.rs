//! Small helpers libwebsockets programs use: random bytes, command-line
//! options, the library version.
//!
//! `ws_get_random` belongs to the thread that services its context; the
//! others touch no context and may be called from any thread. Returned
//! pointers point into the caller's own buffers (`argv`, the JSON text),
//! except the version string, which is static.

use std::ffi::{c_char, c_int, c_void, CStr};

use super::handles;
use super::types::*;
use crate::log;

/// Fills `buf` with `len` random bytes (a generator seeded from the
/// operating system). Returns `len`, or 0 for a dead context.
#[no_mangle]
pub unsafe extern "C" fn ws_get_random(
    context: *mut ws_context,
    buf: *mut c_void,
    len: usize,
) -> usize {
    guard!(
        "ws_get_random",
        0,
        ctx = super::handles::any_shell(context),
        {
            let Some(s) = handles::shell(context) else {
                refuse!(0, "ws_get_random: not a live context")
            };
            if buf.is_null() {
                refuse!(0, "ws_get_random: buf is NULL");
            }
            s.core
                .random(std::slice::from_raw_parts_mut(buf.cast(), len));
            len
        }
    )
}

/// libwebsockets' command-line helper: searches `argv` from the end for an
/// argument starting with `val`. Returns the next argument when the match
/// is exact (`-p 7681`), the text after `=` (`--port=7681`), the rest of the
/// argument otherwise (`-p7681`), or NULL when there is no match.
#[no_mangle]
pub unsafe extern "C" fn ws_cmdline_option(
    argc: c_int,
    argv: *const *const c_char,
    val: *const c_char,
) -> *const c_char {
    guard!("ws_cmdline_option", std::ptr::null(), {
        if argv.is_null() || val.is_null() {
            refuse!(std::ptr::null(), "ws_cmdline_option: argv or val is NULL");
        }
        let want = CStr::from_ptr(val).to_bytes();
        let n = want.len();
        let mut c = argc;
        while c > 1 {
            c -= 1;
            let a = *argv.add(c as usize);
            if a.is_null() {
                continue;
            }
            let arg = CStr::from_ptr(a).to_bytes();
            if !arg.starts_with(want) {
                continue;
            }
            if arg.len() == n && c < argc - 1 {
                let next = *argv.add(c as usize + 1);
                if next.is_null() || CStr::from_ptr(next).to_bytes().len() > 1024 {
                    return std::ptr::null();
                }
                return next;
            }
            if arg.get(n) == Some(&b'=') {
                return a.add(n + 1);
            }
            return a.add(n);
        }
        std::ptr::null()
    })
}

/// Applies the standard options libwebsockets examples accept: `-d <level>`
/// sets the log level mask (the emitter is kept).
#[no_mangle]
pub unsafe extern "C" fn ws_cmdline_option_handle_builtin(
    argc: c_int,
    argv: *const *const c_char,
    info: *mut ws_context_creation_info,
) {
    guard!("ws_cmdline_option_handle_builtin", (), {
        let _ = info;
        if argv.is_null() {
            refuse!((), "ws_cmdline_option_handle_builtin: argv is NULL");
        }
        let d = ws_cmdline_option(argc, argv, c"-d".as_ptr());
        if !d.is_null() {
            if let Ok(level) = CStr::from_ptr(d).to_string_lossy().trim().parse::<u32>() {
                log::set_mask(level);
            }
        }
    })
}

/// The version of the library actually loaded, `"MAJOR.MINOR.PATCH"`: equal
/// to the `WSLOOP_VERSION` macro of the header it was built with (a program
/// compiled against another header can compare the two). The string is
/// static: never free it. Callable from any thread, at any time.
#[no_mangle]
pub extern "C" fn ws_get_library_version() -> *const c_char {
    guard!("ws_get_library_version", std::ptr::null(), {
        concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
    })
}

/// libwebsockets' minimal JSON lookup: finds `name` (give the whole
/// pattern, e.g. `"\"price\":"`) in `buf[..len]` and returns its value: the
/// text inside the quotes when quoted (escapes skipped over, not decoded),
/// else up to the next `,`, `]` or `}`; `*alen` gets the value's length.
/// NULL when `name` is absent. For anything more, use a JSON parser.
#[no_mangle]
pub unsafe extern "C" fn ws_json_simple_find(
    buf: *const c_char,
    len: usize,
    name: *const c_char,
    alen: *mut usize,
) -> *const c_char {
    guard!("ws_json_simple_find", std::ptr::null(), {
        if buf.is_null() || name.is_null() || alen.is_null() {
            refuse!(std::ptr::null(), "ws_json_simple_find: NULL argument");
        }
        let text = std::slice::from_raw_parts(buf.cast::<u8>(), len);
        let pat = CStr::from_ptr(name).to_bytes();
        match crate::json::simple_find(text, pat) {
            Some((start, n)) => {
                *alen = n;
                buf.add(start)
            }
            None => std::ptr::null(),
        }
    })
}
