//! Logging with libwebsockets' level bits.
//!
//! A line is emitted when its bit is in the mask set by `ws_set_log_level`
//! (default ERR|WARN|NOTICE, as lws 4.1's). It goes to the application's
//! emitter when one is set, else through the `log` crate, for which
//! `env_logger` is started on first use; when `RUST_LOG` is set, it also
//! enables the levels it names.

use std::fmt;
use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Once, RwLock};

pub(crate) const ERR: u32 = 1 << 0;
pub(crate) const WARN: u32 = 1 << 1;
pub(crate) const NOTICE: u32 = 1 << 2;
pub(crate) const INFO: u32 = 1 << 3;
pub(crate) const DEBUG: u32 = 1 << 4;
pub(crate) const PARSER: u32 = 1 << 5;
pub(crate) const HEADER: u32 = 1 << 6;
pub(crate) const EXT: u32 = 1 << 7;
pub(crate) const CLIENT: u32 = 1 << 8;
pub(crate) const LATENCY: u32 = 1 << 9;
pub(crate) const USER: u32 = 1 << 10;
pub(crate) const THREAD: u32 = 1 << 11;
/// lws' default (`log_level` in its logs.c): ERR | WARN | NOTICE. USER
/// lines show once the application asks for them, as lws' examples do.
pub(crate) const DEFAULT_MASK: u32 = ERR | WARN | NOTICE;

/// Receives each line (level bit, text ending in a newline).
pub type Emitter = Arc<dyn Fn(u32, &str) + Send + Sync>;

static MASK: AtomicU32 = AtomicU32::new(DEFAULT_MASK);
static RUST_LOG_SET: AtomicBool = AtomicBool::new(false);
static EMITTER: RwLock<Option<Emitter>> = RwLock::new(None);
static INIT: Once = Once::new();

fn init() {
    INIT.call_once(|| {
        let set = std::env::var_os("RUST_LOG").is_some();
        RUST_LOG_SET.store(set, Ordering::Relaxed);
        let _ = env_logger::Builder::from_env(
            env_logger::Env::default().default_filter_or("wsloop=trace"),
        )
        .format(|buf, rec| writeln!(buf, "[wsloop] {}", rec.args()))
        .try_init();
    });
}

/// Changes the level mask, keeping the emitter.
pub fn set_mask(mask: u32) {
    init();
    MASK.store(mask, Ordering::Relaxed);
}

/// The level mask in force.
pub fn mask() -> u32 {
    MASK.load(Ordering::Relaxed)
}

/// Sets the mask and the emitter (None: the `log` crate).
pub fn set_level(mask: u32, emitter: Option<Emitter>) {
    init();
    MASK.store(mask, Ordering::Relaxed);
    *EMITTER.write().unwrap_or_else(|e| e.into_inner()) = emitter;
}

fn rust_level(bit: u32) -> log::Level {
    match bit {
        ERR => log::Level::Error,
        WARN => log::Level::Warn,
        NOTICE | USER | INFO => log::Level::Info,
        DEBUG => log::Level::Debug,
        _ => log::Level::Trace,
    }
}

/// The lws letter for a level bit.
pub fn letter(bit: u32) -> &'static str {
    match bit {
        ERR => "E",
        WARN => "W",
        NOTICE => "N",
        INFO => "I",
        DEBUG => "D",
        PARSER => "P",
        HEADER => "H",
        EXT => "X",
        CLIENT => "C",
        LATENCY => "L",
        USER => "U",
        THREAD => "T",
        _ => "?",
    }
}

/// Is a line of this level emitted?
#[inline]
pub fn enabled(bit: u32) -> bool {
    MASK.load(Ordering::Relaxed) & bit != 0
        || (RUST_LOG_SET.load(Ordering::Relaxed)
            && log::log_enabled!(target: "wsloop", rust_level(bit)))
}

/// Emits one line (call through [`wlog!`], which checks [`enabled`] first).
pub fn emit(bit: u32, args: fmt::Arguments<'_>) {
    init();
    let emitter = EMITTER.read().unwrap_or_else(|e| e.into_inner()).clone();
    match emitter {
        Some(e) => e(bit, &format!("{}: {}\n", letter(bit), args)),
        None => log::log!(target: "wsloop", rust_level(bit), "{}: {}", letter(bit), args),
    }
}

/// `wlog!(log::WARN, "format", args)`: logs when the level is enabled.
#[macro_export]
#[doc(hidden)]
macro_rules! wlog {
    ($bit:expr, $($arg:tt)*) => {
        if $crate::log::enabled($bit) {
            $crate::log::emit($bit, format_args!($($arg)*))
        }
    };
}
