//! The panic boundary placed inside every exported function.

/// `guard!("ws_name", error_value, { body })`: runs the body; a panic is
/// logged and becomes `error_value` instead of unwinding into C.
macro_rules! guard {
    ($name:literal, $fail:expr, $body:block) => {
        match ::std::panic::catch_unwind(::std::panic::AssertUnwindSafe(|| $body)) {
            Ok(v) => v,
            Err(_) => {
                $crate::wlog!(
                    $crate::log::ERR,
                    "{}: internal error (a bug in wsloop, please report it); returning failure",
                    $name
                );
                $fail
            }
        }
    };
}

/// Logs a refused call and returns the error value.
macro_rules! refuse {
    ($fail:expr, $($arg:tt)*) => {{
        $crate::wlog!($crate::log::ERR, $($arg)*);
        return $fail;
    }};
}
