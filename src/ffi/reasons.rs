//! The C types of `wsloop.h` about callbacks and time: lws' callback
//! reasons (same numbers), and the types and constants of timers, scheduled
//! callbacks and timeouts.

#![allow(non_camel_case_types)]
// lws' own names and numbers, one to one; documented per group.
#![allow(missing_docs)]

use std::ffi::{c_int, c_void};

/// Why a callback is called. The numbers are libwebsockets' own.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ws_callback_reasons {
    WS_CALLBACK_ESTABLISHED = 0,
    WS_CALLBACK_CLIENT_CONNECTION_ERROR = 1,
    WS_CALLBACK_CLIENT_FILTER_PRE_ESTABLISH = 2,
    WS_CALLBACK_CLIENT_ESTABLISHED = 3,
    WS_CALLBACK_CLOSED = 4,
    WS_CALLBACK_CLOSED_HTTP = 5,
    WS_CALLBACK_RECEIVE = 6,
    WS_CALLBACK_RECEIVE_PONG = 7,
    WS_CALLBACK_CLIENT_RECEIVE = 8,
    WS_CALLBACK_CLIENT_RECEIVE_PONG = 9,
    WS_CALLBACK_CLIENT_WRITEABLE = 10,
    WS_CALLBACK_SERVER_WRITEABLE = 11,
    WS_CALLBACK_HTTP = 12,
    WS_CALLBACK_HTTP_BODY = 13,
    WS_CALLBACK_HTTP_BODY_COMPLETION = 14,
    WS_CALLBACK_HTTP_FILE_COMPLETION = 15,
    WS_CALLBACK_HTTP_WRITEABLE = 16,
    WS_CALLBACK_FILTER_NETWORK_CONNECTION = 17,
    WS_CALLBACK_FILTER_HTTP_CONNECTION = 18,
    WS_CALLBACK_SERVER_NEW_CLIENT_INSTANTIATED = 19,
    WS_CALLBACK_FILTER_PROTOCOL_CONNECTION = 20,
    WS_CALLBACK_OPENSSL_LOAD_EXTRA_CLIENT_VERIFY_CERTS = 21,
    WS_CALLBACK_OPENSSL_LOAD_EXTRA_SERVER_VERIFY_CERTS = 22,
    WS_CALLBACK_OPENSSL_PERFORM_CLIENT_CERT_VERIFICATION = 23,
    WS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER = 24,
    WS_CALLBACK_CONFIRM_EXTENSION_OKAY = 25,
    WS_CALLBACK_CLIENT_CONFIRM_EXTENSION_SUPPORTED = 26,
    WS_CALLBACK_PROTOCOL_INIT = 27,
    WS_CALLBACK_PROTOCOL_DESTROY = 28,
    WS_CALLBACK_WSI_CREATE = 29,
    WS_CALLBACK_WSI_DESTROY = 30,
    WS_CALLBACK_GET_THREAD_ID = 31,
    WS_CALLBACK_ADD_POLL_FD = 32,
    WS_CALLBACK_DEL_POLL_FD = 33,
    WS_CALLBACK_CHANGE_MODE_POLL_FD = 34,
    WS_CALLBACK_LOCK_POLL = 35,
    WS_CALLBACK_UNLOCK_POLL = 36,
    WS_CALLBACK_OPENSSL_CONTEXT_REQUIRES_PRIVATE_KEY = 37,
    WS_CALLBACK_WS_PEER_INITIATED_CLOSE = 38,
    WS_CALLBACK_WS_EXT_DEFAULTS = 39,
    WS_CALLBACK_CGI = 40,
    WS_CALLBACK_CGI_TERMINATED = 41,
    WS_CALLBACK_CGI_STDIN_DATA = 42,
    WS_CALLBACK_CGI_STDIN_COMPLETED = 43,
    WS_CALLBACK_ESTABLISHED_CLIENT_HTTP = 44,
    WS_CALLBACK_CLOSED_CLIENT_HTTP = 45,
    WS_CALLBACK_RECEIVE_CLIENT_HTTP = 46,
    WS_CALLBACK_COMPLETED_CLIENT_HTTP = 47,
    WS_CALLBACK_RECEIVE_CLIENT_HTTP_READ = 48,
    WS_CALLBACK_HTTP_BIND_PROTOCOL = 49,
    WS_CALLBACK_HTTP_DROP_PROTOCOL = 50,
    WS_CALLBACK_CHECK_ACCESS_RIGHTS = 51,
    WS_CALLBACK_PROCESS_HTML = 52,
    WS_CALLBACK_ADD_HEADERS = 53,
    WS_CALLBACK_SESSION_INFO = 54,
    WS_CALLBACK_GS_EVENT = 55,
    WS_CALLBACK_HTTP_PMO = 56,
    WS_CALLBACK_CLIENT_HTTP_WRITEABLE = 57,
    WS_CALLBACK_OPENSSL_PERFORM_SERVER_CERT_VERIFICATION = 58,
    WS_CALLBACK_RAW_RX = 59,
    WS_CALLBACK_RAW_CLOSE = 60,
    WS_CALLBACK_RAW_WRITEABLE = 61,
    WS_CALLBACK_RAW_ADOPT = 62,
    WS_CALLBACK_RAW_ADOPT_FILE = 63,
    WS_CALLBACK_RAW_RX_FILE = 64,
    WS_CALLBACK_RAW_WRITEABLE_FILE = 65,
    WS_CALLBACK_RAW_CLOSE_FILE = 66,
    WS_CALLBACK_SSL_INFO = 67,
    WS_CALLBACK_CHILD_CLOSING = 69,
    WS_CALLBACK_CGI_PROCESS_ATTACH = 70,
    WS_CALLBACK_EVENT_WAIT_CANCELLED = 71,
    WS_CALLBACK_VHOST_CERT_AGING = 72,
    WS_CALLBACK_TIMER = 73,
    WS_CALLBACK_VHOST_CERT_UPDATE = 74,
    WS_CALLBACK_CLIENT_CLOSED = 75,
    WS_CALLBACK_CLIENT_HTTP_DROP_PROTOCOL = 76,
    WS_CALLBACK_WS_SERVER_BIND_PROTOCOL = 77,
    WS_CALLBACK_WS_SERVER_DROP_PROTOCOL = 78,
    WS_CALLBACK_WS_CLIENT_BIND_PROTOCOL = 79,
    WS_CALLBACK_WS_CLIENT_DROP_PROTOCOL = 80,
    WS_CALLBACK_RAW_SKT_BIND_PROTOCOL = 81,
    WS_CALLBACK_RAW_SKT_DROP_PROTOCOL = 82,
    WS_CALLBACK_RAW_FILE_BIND_PROTOCOL = 83,
    WS_CALLBACK_RAW_FILE_DROP_PROTOCOL = 84,
    WS_CALLBACK_CLIENT_HTTP_BIND_PROTOCOL = 85,
    WS_CALLBACK_HTTP_CONFIRM_UPGRADE = 86,
    WS_CALLBACK_RAW_PROXY_CLI_RX = 89,
    WS_CALLBACK_RAW_PROXY_SRV_RX = 90,
    WS_CALLBACK_RAW_PROXY_CLI_CLOSE = 91,
    WS_CALLBACK_RAW_PROXY_SRV_CLOSE = 92,
    WS_CALLBACK_RAW_PROXY_CLI_WRITEABLE = 93,
    WS_CALLBACK_RAW_PROXY_SRV_WRITEABLE = 94,
    WS_CALLBACK_RAW_PROXY_CLI_ADOPT = 95,
    WS_CALLBACK_RAW_PROXY_SRV_ADOPT = 96,
    WS_CALLBACK_RAW_PROXY_CLI_BIND_PROTOCOL = 97,
    WS_CALLBACK_RAW_PROXY_SRV_BIND_PROTOCOL = 98,
    WS_CALLBACK_RAW_PROXY_CLI_DROP_PROTOCOL = 99,
    WS_CALLBACK_RAW_PROXY_SRV_DROP_PROTOCOL = 100,
    WS_CALLBACK_RAW_CONNECTED = 101,
    WS_CALLBACK_VERIFY_BASIC_AUTHORIZATION = 102,
    WS_CALLBACK_WSI_TX_CREDIT_GET = 103,
    WS_CALLBACK_CLIENT_HTTP_REDIRECT = 104,
    WS_CALLBACK_CONNECTING = 105,
    WS_CALLBACK_MQTT_NEW_CLIENT_INSTANTIATED = 200,
    WS_CALLBACK_MQTT_IDLE = 201,
    WS_CALLBACK_MQTT_CLIENT_ESTABLISHED = 202,
    WS_CALLBACK_MQTT_SUBSCRIBED = 203,
    WS_CALLBACK_MQTT_CLIENT_WRITEABLE = 204,
    WS_CALLBACK_MQTT_CLIENT_RX = 205,
    WS_CALLBACK_MQTT_UNSUBSCRIBED = 206,
    WS_CALLBACK_MQTT_DROP_PROTOCOL = 207,
    WS_CALLBACK_MQTT_CLIENT_CLOSED = 208,
    WS_CALLBACK_MQTT_ACK = 209,
    WS_CALLBACK_MQTT_RESEND = 210,
    WS_CALLBACK_CLIENT_ESTABLISHED_EARLY = 219,
    /// wsloop's own (900-999, numbers lws does not use): a connection made
    /// with `WS_CONNECT_RECONNECT` dropped, or one of its attempts failed,
    /// and another attempt is scheduled. `in`/`len`: why, a NUL-terminated
    /// line. `ws_reconnect_state()` gives the delay and the attempt number.
    /// Return non-zero to give up instead (the final
    /// `CLIENT_CONNECTION_ERROR` or `CLIENT_CLOSED` then comes at once).
    WS_CALLBACK_CLIENT_RECONNECTING = 900,
    /// wsloop's own: a connection made with `WS_CONNECT_RECONNECT` is up
    /// again, just before its `CLIENT_ESTABLISHED`. `in`/`len`: why it had
    /// dropped, as in the `CLIENT_RECONNECTING` that came before.
    WS_CALLBACK_CLIENT_RECONNECTED = 901,
    WS_CALLBACK_USER = 1000,
}

// ---- timers, scheduled callbacks, timeouts ----

/// Microseconds (libwebsockets' `lws_usec_t`).
pub type ws_usec_t = i64;

/// Nanoseconds per microsecond.
pub const WS_NS_PER_US: ws_usec_t = 1000;
/// As `us` for `ws_sul_schedule` / `ws_set_timer_usecs`: cancel instead.
pub const WS_SET_TIMER_USEC_CANCEL: ws_usec_t = -1;

/// List links of a scheduled callback. Owned by wsloop while the callback
/// is scheduled; `owner` is non-NULL exactly then.
#[repr(C)]
pub struct ws_dll2 {
    /// Owned by wsloop while scheduled.
    pub prev: *mut ws_dll2,
    /// Owned by wsloop while scheduled.
    pub next: *mut ws_dll2,
    /// Non-NULL exactly while the callback is scheduled.
    pub owner: *mut c_void,
}

/// Called on the loop thread when a scheduled callback is due.
pub type ws_sul_cb_t = Option<unsafe extern "C" fn(sul: *mut ws_sorted_usec_list)>;

/// A scheduled callback, embedded by the application in its own struct
/// (reach the struct from the callback with `ws_container_of`). Same layout
/// as libwebsockets' `lws_sorted_usec_list_t` (48 bytes on 64-bit systems).
/// Scheduling never allocates. Cancel it (`ws_sul_cancel`) before freeing
/// the memory that holds it.
#[repr(C)]
pub struct ws_sorted_usec_list {
    /// List links, owned by wsloop while scheduled.
    pub list: ws_dll2,
    /// When it is due, in `ws_now_usecs()` time; set by `ws_sul_schedule`.
    pub us: ws_usec_t,
    /// Called when due; set by `ws_sul_schedule`.
    pub cb: ws_sul_cb_t,
    /// Not used by wsloop (kept for layout).
    pub latency_us: u32,
}

/// lws' name for [`ws_sorted_usec_list`].
pub type ws_sorted_usec_list_t = ws_sorted_usec_list;

/// `ws_set_timeout` with this many seconds closes at the next service.
pub const WS_TO_KILL_ASYNC: c_int = -1;
/// As `WS_TO_KILL_ASYNC` (wsloop closes from the loop either way).
pub const WS_TO_KILL_SYNC: c_int = -2;
/// `ws_set_timeout` reasons (libwebsockets' `enum pending_timeout`); any
/// value works, it is only logged.
pub const WS_NO_PENDING_TIMEOUT: c_int = 0;
/// A `ws_set_timeout` reason for the application's own timeouts.
pub const WS_PENDING_TIMEOUT_USER_OK: c_int = 32;
/// The first of the application's own `ws_set_timeout` reasons.
pub const WS_PENDING_TIMEOUT_USER_REASON_BASE: c_int = 1000;

/// `retry_ms_table` never runs out of retries with this `conceal_count`.
pub const WS_RETRY_CONCEAL_ALWAYS: u16 = 0xffff;

/// `ws_rx_flow_control` reason bit (lws' `LWS_RXFLOW_REASON_*`): the application's own.
pub const WS_RXFLOW_REASON_USER_BOOL: c_int = 1;
/// `ws_rx_flow_control`: the value carries reason bits rather than a plain 0/1.
pub const WS_RXFLOW_REASON_APPLIES: c_int = 1 << 14;
/// `ws_rx_flow_control`: with `WS_RXFLOW_REASON_APPLIES`, enable (else disable).
pub const WS_RXFLOW_REASON_APPLIES_ENABLE_BIT: c_int = 1 << 13;
/// `ws_rx_flow_control`: enable receiving for the reason bits ORed in.
pub const WS_RXFLOW_REASON_APPLIES_ENABLE: c_int =
    WS_RXFLOW_REASON_APPLIES | WS_RXFLOW_REASON_APPLIES_ENABLE_BIT;
/// `ws_rx_flow_control`: disable receiving for the reason bits ORed in.
pub const WS_RXFLOW_REASON_APPLIES_DISABLE: c_int = WS_RXFLOW_REASON_APPLIES;

/// A ring buffer of fixed-size elements (libwebsockets' `struct lws_ring`).
pub struct ws_ring {
    _opaque: [u8; 0],
}
