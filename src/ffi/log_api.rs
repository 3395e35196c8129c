//! Logging functions.

use std::ffi::{c_char, c_int, CStr, CString};
use std::sync::Arc;

use super::types::ws_log_emit_t;
use crate::log;

/// Sets which levels are logged (a bitmask of `WS_LLL_*`, e.g. 1151) and
/// where lines go: `emit(level, line)` with a line ending in a newline, or
/// NULL for the default (stderr through Rust's `log`/`env_logger`, where
/// `RUST_LOG` also enables levels). Safe to call at any time.
#[no_mangle]
pub unsafe extern "C" fn ws_set_log_level(level: c_int, emit: ws_log_emit_t) {
    guard!("ws_set_log_level", (), {
        let emitter: Option<log::Emitter> = emit.map(|f| {
            Arc::new(move |bit: u32, line: &str| {
                if let Ok(c) = CString::new(line.replace('\0', " ")) {
                    // SAFETY: the application's emitter, called with a valid C string.
                    unsafe { f(bit as c_int, c.as_ptr()) }
                }
            }) as log::Emitter
        });
        log::set_level(level as u32, emitter);
    })
}

/// 1 when lines of this level are logged. Used by the `wsl_*` macros.
#[no_mangle]
pub extern "C" fn ws_log_level_enabled(level: c_int) -> c_int {
    guard!("ws_log_level_enabled", 0, {
        log::enabled(level as u32) as c_int
    })
}

/// Logs one line at `level` (a single `WS_LLL_*` bit). Used by the `wsl_*` macros.
#[no_mangle]
pub unsafe extern "C" fn ws_log_line(level: c_int, line: *const c_char) {
    guard!("ws_log_line", (), {
        if line.is_null() {
            return;
        }
        let text = CStr::from_ptr(line).to_string_lossy();
        let bit = level as u32;
        if log::enabled(bit) {
            log::emit(bit, format_args!("{}", text.trim_end_matches('\n')));
        }
    })
}

/// Logs `len` bytes at `buf` as a hex dump, 16 bytes a line, at `level`
/// (used by the `wsl_hexdump_*` macros).
#[no_mangle]
pub unsafe extern "C" fn ws_hexdump_level(level: c_int, buf: *const std::ffi::c_void, len: usize) {
    guard!("ws_hexdump_level", (), {
        let bit = level as u32;
        if !log::enabled(bit) {
            return;
        }
        if buf.is_null() {
            log::emit(bit, format_args!("(hexdump: NULL)"));
            return;
        }
        let bytes = std::slice::from_raw_parts(buf.cast::<u8>(), len);
        for (i, row) in bytes.chunks(16).enumerate() {
            let mut line = format!("{:04X}: ", i * 16);
            for b in row {
                line.push_str(&format!("{b:02X} "));
            }
            line.push_str(&"   ".repeat(16 - row.len()));
            line.push_str("   ");
            line.extend(row.iter().map(|&b| {
                if (0x20..0x7f).contains(&b) {
                    b as char
                } else {
                    '.'
                }
            }));
            log::emit(bit, format_args!("{line}"));
        }
    })
}
