//! Scheduled callbacks, per-connection timers and timeouts, retry backoff.
//!
//! Like every call on a context, these belong to the thread that services
//! it (callbacks included); `ws_now_usecs` may be called from any thread.
//! A scheduled `ws_sorted_usec_list_t` stays the application's memory:
//! wsloop keeps only its address, and writes its `list.owner` and `us`.

use std::ffi::{c_char, c_int, c_uint};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use super::handles::{self};
use super::types::*;
use crate::log;
use crate::retry::RetryPolicy;

/// Reads a `ws_retry_bo_t` (NULL: None).
pub unsafe fn policy(p: *const ws_retry_bo, what: &str) -> Result<Option<RetryPolicy>, String> {
    let Some(r) = p.as_ref() else {
        return Ok(None);
    };
    let table = match (r.retry_ms_table.is_null(), r.retry_ms_table_count) {
        (_, 0) => Vec::new(),
        (true, n) => {
            return Err(format!(
                "{what}: retry_ms_table is NULL but retry_ms_table_count is {n}"
            ))
        }
        (false, n) => std::slice::from_raw_parts(r.retry_ms_table, n as usize).to_vec(),
    };
    Ok(Some(RetryPolicy {
        table,
        conceal_count: r.conceal_count,
        secs_since_valid_ping: r.secs_since_valid_ping,
        secs_since_valid_hangup: r.secs_since_valid_hangup,
        jitter_percent: r.jitter_percent,
    }))
}

fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

/// Microseconds on a monotonic clock (the time base of
/// `ws_sorted_usec_list_t.us`).
#[no_mangle]
pub extern "C" fn ws_now_usecs() -> ws_usec_t {
    guard!("ws_now_usecs", 0, {
        epoch().elapsed().as_micros() as ws_usec_t
    })
}

/// Schedules `cb(sul)` to run on the loop thread `us` microseconds from now;
/// scheduling an already scheduled `sul` moves it, and `us ==
/// WS_SET_TIMER_USEC_CANCEL` cancels it. `tsi` must be 0 (one loop per
/// context). Never allocates per call. `sul` must stay valid until the
/// callback runs or is cancelled.
#[no_mangle]
pub unsafe extern "C" fn ws_sul_schedule(
    context: *mut ws_context,
    tsi: c_int,
    sul: *mut ws_sorted_usec_list_t,
    cb: ws_sul_cb_t,
    us: ws_usec_t,
) {
    guard!(
        "ws_sul_schedule",
        (),
        ctx = super::handles::any_shell(context),
        {
            let Some(s) = handles::shell(context) else {
                refuse!((), "ws_sul_schedule: not a live context")
            };
            let Some(l) = sul.as_mut() else {
                refuse!((), "ws_sul_schedule: sul is NULL")
            };
            if tsi != 0 {
                wlog!(
                    log::WARN,
                    "ws_sul_schedule: tsi {tsi} ignored: a context has one service thread (use 0)"
                );
            }
            if us == WS_SET_TIMER_USEC_CANCEL {
                cancel(sul);
                return;
            }
            if cb.is_none() {
                refuse!((), "ws_sul_schedule: cb is NULL");
            }
            l.cb = cb;
            let after = us.max(0) as u64;
            s.core
                .sul_schedule(sul as usize, Duration::from_micros(after));
            l.us = ws_now_usecs().saturating_add(after as ws_usec_t);
            l.list.owner = context.cast();
        }
    )
}

/// Cancels a scheduled callback; nothing happens if it is not scheduled.
#[no_mangle]
pub unsafe extern "C" fn ws_sul_cancel(sul: *mut ws_sorted_usec_list_t) {
    guard!("ws_sul_cancel", (), {
        if sul.is_null() {
            refuse!((), "ws_sul_cancel: sul is NULL");
        }
        cancel(sul);
    })
}

unsafe fn cancel(sul: *mut ws_sorted_usec_list_t) {
    let l = &mut *sul;
    if let Some(s) = handles::shell(l.list.owner.cast()) {
        s.core.sul_cancel(sul as usize);
    }
    l.list.owner = std::ptr::null_mut();
}

/// Delivers `WS_CALLBACK_TIMER` to the connection once, `us` microseconds
/// from now; calling again re-arms it, `WS_SET_TIMER_USEC_CANCEL` cancels.
#[no_mangle]
pub unsafe extern "C" fn ws_set_timer_usecs(wsi: *mut ws, us: ws_usec_t) {
    guard!(
        "ws_set_timer_usecs",
        (),
        ctx = super::handles::any_wsi_shell(wsi).map(|(s, _)| s),
        {
            if let Some((s, id)) = handles::live_conn(wsi, "ws_set_timer_usecs") {
                let after = (us >= 0).then(|| Duration::from_micros(us as u64));
                s.core.set_timer(id, after);
            }
        }
    )
}

/// Closes the connection after `secs` seconds, as a callback returning
/// non-zero would (a Close frame when established, else
/// `CLIENT_CONNECTION_ERROR`). `WS_TO_KILL_ASYNC` (or `WS_TO_KILL_SYNC`)
/// closes at the next service; 0 cancels. `reason` (a
/// `WS_PENDING_TIMEOUT_*` value or your own) is only logged.
#[no_mangle]
pub unsafe extern "C" fn ws_set_timeout(wsi: *mut ws, reason: c_int, secs: c_int) {
    guard!(
        "ws_set_timeout",
        (),
        ctx = super::handles::any_wsi_shell(wsi).map(|(s, _)| s),
        {
            set_timeout(
                wsi,
                reason,
                i64::from(secs) * WS_US_PER_SEC,
                "ws_set_timeout",
            )
        }
    )
}

/// Both timeout calls: `us` 0 cancels, negative closes at the next service.
fn set_timeout(wsi: *mut ws, reason: c_int, us: ws_usec_t, func: &str) {
    if let Some((s, id)) = handles::live_conn(wsi, func) {
        let after = match us {
            0 => None,
            n if n < 0 => Some(Duration::ZERO),
            n => Some(Duration::from_micros(n as u64)),
        };
        s.core.set_timeout(id, reason, after);
    }
}

/// `ws_set_timeout()` with the delay in microseconds (lws 4.1+): closes
/// the connection `us` from now; 0 cancels, a negative value closes at the
/// next service.
#[no_mangle]
pub unsafe extern "C" fn ws_set_timeout_us(wsi: *mut ws, reason: c_int, us: ws_usec_t) {
    guard!("ws_set_timeout_us", (), {
        set_timeout(wsi, reason, us, "ws_set_timeout_us")
    })
}

/// Seconds since the Unix epoch (wall-clock time, as lws' `lws_now_secs`;
/// `ws_now_usecs()` is the monotonic clock timers use).
#[no_mangle]
pub extern "C" fn ws_now_secs() -> std::ffi::c_ulong {
    guard!("ws_now_secs", 0, {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as std::ffi::c_ulong)
    })
}

/// The next backoff delay in ms from `retry` for try count `*ctry` (which
/// is then incremented); `*conceal` (if not NULL) is set to 1 while retries
/// remain (`conceal_count`), else 0. libwebsockets' semantics: the table
/// entry (its last one once the count passes its end; 3000 with no table)
/// plus up to `jitter_percent` (30 if 0) of it at random.
#[no_mangle]
pub unsafe extern "C" fn ws_retry_get_delay_ms(
    context: *mut ws_context,
    retry: *const ws_retry_bo_t,
    ctry: *mut u16,
    conceal: *mut c_char,
) -> c_uint {
    guard!(
        "ws_retry_get_delay_ms",
        0,
        ctx = super::handles::any_shell(context),
        {
            let (Some(s), Some(ctry)) = (handles::shell(context), ctry.as_mut()) else {
                refuse!(
                    0,
                    "ws_retry_get_delay_ms: context is not live or ctry is NULL"
                )
            };
            let p = match policy(retry, "retry") {
                Ok(Some(p)) => p,
                Ok(None) => refuse!(0, "ws_retry_get_delay_ms: retry is NULL"),
                Err(e) => refuse!(0, "ws_retry_get_delay_ms: {e}"),
            };
            let (ms, go) = s.core.retry_delay(&p, ctry);
            if let Some(c) = conceal.as_mut() {
                *c = go as c_char;
            }
            ms
        }
    )
}

/// Schedules `cb(sul)` after the next backoff delay of `retry` and returns
/// 0; returns 1 and schedules nothing once the retries are used up.
#[no_mangle]
pub unsafe extern "C" fn ws_retry_sul_schedule(
    context: *mut ws_context,
    tid: c_int,
    sul: *mut ws_sorted_usec_list_t,
    retry: *const ws_retry_bo_t,
    cb: ws_sul_cb_t,
    ctry: *mut u16,
) -> c_int {
    guard!(
        "ws_retry_sul_schedule",
        1,
        ctx = super::handles::any_shell(context),
        {
            let (Some(s), Some(c)) = (handles::shell(context), ctry.as_mut()) else {
                refuse!(
                    1,
                    "ws_retry_sul_schedule: context is not live or ctry is NULL"
                )
            };
            let p = match policy(retry, "retry") {
                Ok(Some(p)) => p,
                Ok(None) => refuse!(1, "ws_retry_sul_schedule: retry is NULL"),
                Err(e) => refuse!(1, "ws_retry_sul_schedule: {e}"),
            };
            schedule_retry(s, context, tid, sul, &p, cb, c)
        }
    )
}

/// As `ws_retry_sul_schedule`, with the connection's policy (its
/// `retry_and_idle_policy`, else the context's, else the default) and its
/// context. Use it from `CLIENT_CONNECTION_ERROR` or `CLIENT_CLOSED`.
#[no_mangle]
pub unsafe extern "C" fn ws_retry_sul_schedule_retry_wsi(
    wsi: *mut ws,
    sul: *mut ws_sorted_usec_list_t,
    cb: ws_sul_cb_t,
    ctry: *mut u16,
) -> c_int {
    guard!(
        "ws_retry_sul_schedule_retry_wsi",
        1,
        ctx = super::handles::any_wsi_shell(wsi).map(|(s, _)| s),
        {
            let Some((s, id)) = handles::live_conn(wsi, "ws_retry_sul_schedule_retry_wsi") else {
                return 1;
            };
            let Some(c) = ctry.as_mut() else {
                refuse!(1, "ws_retry_sul_schedule_retry_wsi: ctry is NULL")
            };
            let Some(p) = s.core.retry_policy(id) else {
                return 1;
            };
            let ctx = handles::ctx_handle(s.slot, s.gen);
            schedule_retry(s, ctx, 0, sul, &p, cb, c)
        }
    )
}

unsafe fn schedule_retry(
    s: &handles::Shell,
    ctx: *mut ws_context,
    tid: c_int,
    sul: *mut ws_sorted_usec_list_t,
    p: &RetryPolicy,
    cb: ws_sul_cb_t,
    ctry: &mut u16,
) -> c_int {
    let (ms, go) = s.core.retry_delay(p, ctry);
    if !go {
        wlog!(
            log::INFO,
            "retry: giving up after {} tries (conceal_count {})",
            *ctry - 1,
            p.conceal_count
        );
        return 1;
    }
    wlog!(log::INFO, "retry: try {} in {ms} ms", *ctry);
    ws_sul_schedule(ctx, tid, sul, cb, ms as ws_usec_t * 1000);
    0
}
