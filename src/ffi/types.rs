//! The C types of `wsloop.h`: structs, enums and constants, named as
//! libwebsockets names them with `lws_`/`LWS_` swapped for `ws_`/`WS_`.
//! Struct field names are lws' own; zero means "default" in every field.

#![allow(non_camel_case_types)]
// The constants and fields are lws' own, one to one; each group is
// documented where it is declared, and in lws' reference.
#![allow(missing_docs)]

use std::ffi::{c_char, c_int, c_long, c_uint, c_ushort, c_void};

// The callback reasons and timer types, in their own file.
pub use super::reasons::*;

/// Bytes of headroom `ws_write` needs before the payload, and that received
/// payload has before it (libwebsockets' `LWS_PRE`).
pub const WS_PRE: usize = 16;
/// `port` value of a context that does not listen (the only kind wsloop makes).
pub const WS_CONTEXT_PORT_NO_LISTEN: c_int = -1;

/// Microseconds per second.
pub const WS_US_PER_SEC: i64 = 1_000_000;
/// Microseconds per second (lws' other spelling).
pub const WS_USEC_PER_SEC: i64 = 1_000_000;
/// Microseconds per millisecond.
pub const WS_US_PER_MS: i64 = 1000;
/// Milliseconds per second.
pub const WS_MS_PER_SEC: i64 = 1000;

/// A connection ("wsi"). Opaque: only its address is ever used. A handle is
/// valid from `ws_client_connect_via_info` (or `*pwsi`) until its
/// `WS_CALLBACK_WSI_DESTROY` returns; after that, calls with it are refused
/// with a log line instead of touching freed memory.
pub struct ws {
    _opaque: [u8; 0],
}

/// A context: the protocol table, the connections and the poll loop.
pub struct ws_context {
    _opaque: [u8; 0],
}

/// A virtual host. wsloop has one per context; this type exists so that
/// lws code that names it compiles.
pub struct ws_vhost {
    _opaque: [u8; 0],
}

/// The protocol callback: `int cb(struct ws *wsi, enum ws_callback_reasons
/// reason, void *user, void *in, size_t len)`. Return 0 to continue; non-zero
/// closes the connection (see the README's close rules).
pub type ws_callback_function = Option<
    unsafe extern "C" fn(
        wsi: *mut ws,
        reason: ws_callback_reasons,
        user: *mut c_void,
        in_: *mut c_void,
        len: usize,
    ) -> c_int,
>;

/// One entry of the protocol table; an entry whose `callback` is NULL ends it.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct ws_protocols {
    /// Subprotocol name; also the key `local_protocol_name` binds by.
    pub name: *const c_char,
    /// Called for every event of the connections bound to this entry; NULL ends
    /// the table.
    pub callback: ws_callback_function,
    /// Bytes of zeroed per-connection memory passed as `user` (unless
    /// `ws_client_connect_info.userdata` is set).
    pub per_session_data_size: usize,
    /// Largest chunk of received payload per `WS_CALLBACK_CLIENT_RECEIVE`;
    /// 0 means `pt_serv_buf_size` (default 4096).
    pub rx_buffer_size: usize,
    /// Ignored, as by lws.
    pub id: c_uint,
    /// Ignored, as by lws.
    pub user: *mut c_void,
    /// Ignored: wsloop never splits a frame into several sends.
    pub tx_packet_size: usize,
}

/// Per-protocol options, handed to `WS_CALLBACK_PROTOCOL_INIT` as `in`.
#[repr(C)]
pub struct ws_protocol_vhost_options {
    /// The next protocol's options (or the next option in an `options` list);
    /// NULL ends the list.
    pub next: *const ws_protocol_vhost_options,
    /// For a protocol entry: its list of name/value options.
    pub options: *const ws_protocol_vhost_options,
    /// The protocol name (protocol entry) or the option name.
    pub name: *const c_char,
    /// The option's value; find it with `ws_pvo_search`.
    pub value: *const c_char,
}

/// An entry of the context's extension table (libwebsockets' `struct
/// lws_extension`); the table ends with an entry whose `name` and
/// `callback` are NULL. wsloop implements permessage-deflate (RFC 7692):
/// an entry named `"permessage-deflate"` makes every connection offer it
/// (see WS_CONNECT_NO_PERMESSAGE_DEFLATE and
/// WS_CALLBACK_CLIENT_CONFIRM_EXTENSION_SUPPORTED to hold the offer back);
/// other names are logged and not offered.
#[repr(C)]
pub struct ws_extension {
    /// Extension name (e.g. "permessage-deflate").
    pub name: *const c_char,
    /// `ws_extension_callback_pm_deflate`. wsloop never calls it; it
    /// ends the table when NULL.
    pub callback: *mut c_void,
    /// The offer, e.g. libwebsockets' `"permessage-deflate;
    /// client_no_context_takeover; client_max_window_bits"` (NULL: the bare
    /// name). Parsed at context creation, which fails on a malformed offer;
    /// sent as `Sec-WebSocket-Extensions`. The server's answer is checked
    /// (RFC 7692 section 7) and a bad one fails the connection with
    /// libwebsockets' `HS: EXT: ...` wording. Where the server limits the
    /// client's window to 8 bits (`client_max_window_bits=8`), wsloop sends
    /// its messages uncompressed, which the RFC allows: zlib cannot deflate
    /// with a 256-byte window, and libwebsockets' use of 9 bits there makes
    /// data such a server may fail to inflate.
    pub client_offer: *const c_char,
}

/// Retry and idle policy (lws' `lws_retry_bo_t`).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct ws_retry_bo {
    /// Delays in ms before retry 1, 2, ...; the last one repeats.
    pub retry_ms_table: *const u32,
    /// Entries in `retry_ms_table`.
    pub retry_ms_table_count: u16,
    /// Retries before `ws_retry_sul_schedule*` return 1 (give up).
    pub conceal_count: u16,
    /// Seconds of silence before a keepalive PING; 0 turns keepalive off.
    pub secs_since_valid_ping: u16,
    /// Seconds without receiving anything before the connection is dropped; 0
    /// turns keepalive off.
    pub secs_since_valid_hangup: u16,
    /// Up to this percentage of the delay is added at random.
    pub jitter_percent: u8,
}

/// lws' name for [`ws_retry_bo`].
pub type ws_retry_bo_t = ws_retry_bo;

/// Context settings. `memset` it to 0, then set what you need.
#[repr(C)]
pub struct ws_context_creation_info {
    /// `WS_CONTEXT_PORT_NO_LISTEN` (or 0). wsloop is a client: a listening port is refused.
    pub port: c_int,
    /// Ignored (a server's listening interface).
    pub iface: *const c_char,
    /// The protocol table, ended by an entry with a NULL callback. Copied.
    pub protocols: *const ws_protocols,
    /// Extensions to offer (permessage-deflate): a table of ws_extension
    /// ended by a zero entry, or NULL. `WS_CONTEXT_PERMESSAGE_DEFLATE` in
    /// `wsloop_flags` offers it without a table.
    pub extensions: *const ws_extension,
    /// Ignored (a server's header limits).
    pub token_limits: *const c_void,
    /// Ignored (server TLS).
    pub ssl_private_key_password: *const c_char,
    /// Ignored (server TLS).
    pub ssl_cert_filepath: *const c_char,
    /// Ignored (server TLS).
    pub ssl_private_key_filepath: *const c_char,
    /// Used as `client_ssl_ca_filepath` when that is NULL (lws' legacy name).
    pub ssl_ca_filepath: *const c_char,
    /// Ignored (server TLS).
    pub ssl_cipher_list: *const c_char,
    /// Proxies are not supported yet: non-NULL is refused.
    pub http_proxy_address: *const c_char,
    /// Ignored (see `http_proxy_address`).
    pub http_proxy_port: c_uint,
    /// Ignored: wsloop never changes the process's group.
    pub gid: c_int,
    /// Ignored: wsloop never changes the process's user.
    pub uid: c_int,
    /// `WS_SERVER_OPTION_*` bits.
    pub options: u64,
    /// Returned by `ws_context_user()`.
    pub user: *mut c_void,
    /// TCP keepalive is not applied yet: non-zero logs a warning.
    pub ka_time: c_int,
    /// Ignored (see `ka_time`).
    pub ka_probes: c_int,
    /// Ignored (see `ka_time`).
    pub ka_interval: c_int,
    /// Ignored: wsloop's own limits apply to the upgrade response.
    pub max_http_header_data: c_ushort,
    /// Ignored.
    pub max_http_header_pool: c_ushort,
    /// Ignored: one service thread per context.
    pub count_threads: c_uint,
    /// Ignored: no fixed limit on connections.
    pub fd_limit_per_thread: c_uint,
    /// Seconds allowed for the TLS handshake, and again for the upgrade
    /// exchange; 0 means 15.
    pub timeout_secs: c_uint,
    /// Ignored: the context's one vhost is named "default".
    pub vhost_name: *const c_char,
    /// Options per protocol name, passed to PROTOCOL_INIT.
    pub pvo: *const ws_protocol_vhost_options,
    /// Ignored (a server's HTTP keepalive).
    pub keepalive_timeout: c_int,
    /// Default receive chunk size (see `ws_protocols.rx_buffer_size`); 0 means 4096.
    pub pt_serv_buf_size: c_uint,
    /// Ignored (OpenSSL options).
    pub ssl_options_set: c_long,
    /// Ignored (OpenSSL options).
    pub ssl_options_clear: c_long,
    /// Encrypted keys are not supported: non-NULL is refused.
    pub client_ssl_private_key_password: *const c_char,
    /// Client certificate chain (PEM, leaf first), presented when a server
    /// asks; needs `client_ssl_private_key_filepath` (or `_key_mem`).
    pub client_ssl_cert_filepath: *const c_char,
    /// Client certificate chain in memory (PEM, or one DER certificate).
    pub client_ssl_cert_mem: *const c_void,
    /// Bytes at `client_ssl_cert_mem`.
    pub client_ssl_cert_mem_len: c_uint,
    /// Client private key (PEM: PKCS#8, PKCS#1 or SEC1; unencrypted).
    pub client_ssl_private_key_filepath: *const c_char,
    /// Client private key in memory (PEM or DER).
    pub client_ssl_key_mem: *const c_void,
    /// Bytes at `client_ssl_key_mem`.
    pub client_ssl_key_mem_len: c_uint,
    /// CA certificates to trust (PEM, several allowed), besides the
    /// system's unless `WS_SERVER_OPTION_DISABLE_OS_CA_CERTS`. An unreadable
    /// or non-PEM file makes `ws_create_context` fail with a log line.
    pub client_ssl_ca_filepath: *const c_char,
    /// CA certificates in memory (PEM text, several allowed; a trailing NUL
    /// counted in the length is ignored).
    pub client_ssl_ca_mem: *const c_void,
    /// Bytes at `client_ssl_ca_mem`.
    pub client_ssl_ca_mem_len: c_uint,
    /// Not applied (a warning says so): rustls' safe default suites are used.
    pub client_ssl_cipher_list: *const c_char,
    /// Not applied, as `client_ssl_cipher_list`.
    pub client_tls_1_3_plus_cipher_list: *const c_char,
    /// With `WS_SERVER_OPTION_LIBUV`: `foreign_loops[0]` is the application's
    /// `uv_loop_t *`, which the context joins (wsloop built with its `libuv`
    /// cargo feature). Other event libraries are refused with a log line
    /// pointing to `ws_get_poll_fd()`.
    pub foreign_loops: *mut *mut c_void,
    /// The retry and keepalive policy of connections that give none; NULL
    /// means keepalive at lws 4.1's 300/310 s. Copied.
    pub retry_and_idle_policy: *const ws_retry_bo_t,
    /// Seconds allowed for name resolution and the TCP connect; 0 means 20.
    pub connect_timeout_secs: c_uint,
    /// Proxies are not supported yet: non-NULL is refused.
    pub socks_proxy_address: *const c_char,
    /// Ignored (see `socks_proxy_address`).
    pub socks_proxy_port: c_uint,
    /// wsloop: largest message accepted before closing with 1009; 0 means 64 MiB.
    pub max_message_size: u64,
    /// wsloop: `WS_CONTEXT_*` bits.
    pub wsloop_flags: c_uint,
}

/// Context `wsloop_flags`: refuse a server certificate that names the host
/// only in its subject CN. By default such a certificate (one with no DNS
/// name in its subjectAltName, like libwebsockets' own test certificate) is
/// accepted when its CN matches, as OpenSSL and so libwebsockets do, with a
/// warning in the log each time; browsers and rustls refuse it.
pub const WS_CONTEXT_REQUIRE_SUBJECT_ALT_NAME: c_uint = 1 << 1;

/// What to connect to. `memset` it to 0, then set what you need.
#[repr(C)]
pub struct ws_client_connect_info {
    /// The context to connect in (from `ws_create_context`).
    pub context: *mut ws_context,
    /// Host name or IPv4/IPv6 literal; or, as in lws, `"+/path/to.sock"`
    /// for a Unix domain socket or `"+@name"` for an abstract one (`port`
    /// is then unused, and `Host` is `localhost` unless `host` is set).
    pub address: *const c_char,
    /// 0 means 80 (443 with `WS_LCCSCF_USE_SSL`).
    pub port: c_int,
    /// `WS_LCCSCF_*` bits: `WS_LCCSCF_USE_SSL` for wss://, and the
    /// `ALLOW_SELFSIGNED`, `ALLOW_INSECURE` (untrusted issuer), `ALLOW_EXPIRED`
    /// and `SKIP_SERVER_CERT_HOSTNAME_CHECK` relaxations, each accepting only
    /// its own case, with a warning in the log when it does.
    pub ssl_connection: c_int,
    /// Request path; NULL means "/".
    pub path: *const c_char,
    /// Host header; NULL means `address` (with `:port` when not the default).
    /// Over TLS its name part is also the SNI and the name the server's
    /// certificate must cover.
    pub host: *const c_char,
    /// Origin header: `http://` + this (as lws; as given with
    /// `WS_SERVER_OPTION_JUST_USE_RAW_ORIGIN` or when it has a scheme);
    /// NULL sends none.
    pub origin: *const c_char,
    /// Sec-WebSocket-Protocol offer (a comma list), sent verbatim; NULL offers none.
    pub protocol: *const c_char,
    /// Ignored: always version 13 (RFC 6455).
    pub ietf_version_or_minus_one: c_int,
    /// Used as `user` instead of per-session memory; not freed by wsloop.
    pub userdata: *mut c_void,
    /// Ignored (unused by lws too).
    pub client_exts: *const c_void,
    /// Must be NULL: HTTP client requests are not supported.
    pub method: *const c_char,
    /// Not supported: non-NULL is refused.
    pub parent_wsi: *mut ws,
    /// Not supported: non-NULL is refused.
    pub uri_replace_from: *const c_char,
    /// Not supported: non-NULL is refused.
    pub uri_replace_to: *const c_char,
    /// Ignored: the context's one vhost is used.
    pub vhost: *mut ws_vhost,
    /// Set to the new handle before the first callback; set to NULL when the
    /// connection fails (before `WS_CALLBACK_CLIENT_CONNECTION_ERROR`).
    pub pwsi: *mut *mut ws,
    /// Binding to an interface is not supported: non-NULL is refused.
    pub iface: *const c_char,
    /// Protocol table entry to bind to; NULL means the entry named by
    /// `protocol`, else `protocols[0]`.
    pub local_protocol_name: *const c_char,
    /// TLS ALPN offer, a comma list; NULL means "http/1.1". "h2" is dropped.
    pub alpn: *const c_char,
    /// Sequencers are not supported: non-NULL is refused.
    pub seq: *mut c_void,
    /// Returned by `ws_get_opaque_user_data`.
    pub opaque_user_data: *mut c_void,
    /// This connection's retry and keepalive policy; NULL means the
    /// context's. Copied.
    pub retry_and_idle_policy: *const ws_retry_bo_t,
    /// Ignored (HTTP/2 flow control).
    pub manual_initial_tx_credit: c_int,
    /// Ignored (lws' system client certificates).
    pub sys_tls_client_cert: u8,
    /// Ignored (socket priority).
    pub priority: u8,
    /// MQTT is not supported: non-NULL is refused.
    pub mqtt_cp: *mut c_void,
    /// Binding a local port is not supported: non-zero is refused.
    pub local_port: c_int,
    /// Ignored (lws' fault injection).
    pub fi_wsi_name: *const c_char,
    /// Ignored (lws' connection reuse).
    pub keep_warm_secs: u16,
    /// Ignored (lws' log contexts).
    pub log_cx: *mut c_void,
    /// Not supported: non-NULL is refused.
    pub auth_username: *const c_char,
    /// Not supported: non-NULL is refused.
    pub auth_password: *const c_char,
    /// wsloop: `WS_CONNECT_*` bits.
    pub wsloop_flags: c_uint,
    /// Reserved: keep zero.
    pub _unused: [*mut c_void; 4],
}

/// `wsloop_flags`: fail with CLIENT_CONNECTION_ERROR when a subprotocol was
/// offered and the server selected none (browsers do this; lws accepts it).
pub const WS_CONNECT_REQUIRE_SUBPROTOCOL: c_uint = 1 << 0;
/// `wsloop_flags`: offer no permessage-deflate on this connection, though
/// the context offers it (its messages go uncompressed both ways).
pub const WS_CONNECT_NO_PERMESSAGE_DEFLATE: c_uint = 1 << 1;

/// `ws_write` kinds (lws' `enum lws_write_protocol`); OR in `WS_WRITE_NO_FIN`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ws_write_protocol {
    WS_WRITE_TEXT = 0,
    WS_WRITE_BINARY = 1,
    WS_WRITE_CONTINUATION = 2,
    WS_WRITE_HTTP = 3,
    WS_WRITE_PING = 5,
    WS_WRITE_PONG = 6,
    WS_WRITE_HTTP_FINAL = 7,
    WS_WRITE_HTTP_HEADERS = 8,
    WS_WRITE_HTTP_HEADERS_CONTINUATION = 9,
}

/// Ignored: `ws_write` never splits or merges frames.
pub const WS_WRITE_BUFLIST: c_int = 0x20;
/// This fragment is not the last of its message.
pub const WS_WRITE_NO_FIN: c_int = 0x40;
/// Ignored (HTTP/2).
pub const WS_WRITE_H2_STREAM_END: c_int = 0x80;
/// Ignored: client frames are always masked (RFC 6455).
pub const WS_WRITE_CLIENT_IGNORE_XOR_MASK: c_int = 0x80;
/// Refused by `ws_write`: raw writes are not supported on a WebSocket connection.
pub const WS_WRITE_RAW: c_int = 3;

/// Close codes (lws' `enum lws_close_status`).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ws_close_status {
    WS_CLOSE_STATUS_NOSTATUS = 0,
    WS_CLOSE_STATUS_NORMAL = 1000,
    WS_CLOSE_STATUS_GOINGAWAY = 1001,
    WS_CLOSE_STATUS_PROTOCOL_ERR = 1002,
    WS_CLOSE_STATUS_UNACCEPTABLE_OPCODE = 1003,
    WS_CLOSE_STATUS_RESERVED = 1004,
    WS_CLOSE_STATUS_NO_STATUS = 1005,
    WS_CLOSE_STATUS_ABNORMAL_CLOSE = 1006,
    WS_CLOSE_STATUS_INVALID_PAYLOAD = 1007,
    WS_CLOSE_STATUS_POLICY_VIOLATION = 1008,
    WS_CLOSE_STATUS_MESSAGE_TOO_LARGE = 1009,
    WS_CLOSE_STATUS_EXTENSION_REQUIRED = 1010,
    WS_CLOSE_STATUS_UNEXPECTED_CONDITION = 1011,
    WS_CLOSE_STATUS_TLS_FAILURE = 1015,
    WS_CLOSE_STATUS_CLIENT_TRANSACTION_DONE = 2000,
    WS_CLOSE_STATUS_NOSTATUS_CONTEXT_DESTROY = 9999,
}

/// Header tokens for `ws_hdr_copy` (the values of libwebsockets 4.1 as
/// packaged by Debian; lws names with `WS_` in front).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ws_token_indexes {
    WS_WSI_TOKEN_GET_URI = 0,
    WS_WSI_TOKEN_HOST = 3,
    WS_WSI_TOKEN_CONNECTION = 4,
    WS_WSI_TOKEN_UPGRADE = 5,
    WS_WSI_TOKEN_ORIGIN = 6,
    WS_WSI_TOKEN_EXTENSIONS = 9,
    WS_WSI_TOKEN_PROTOCOL = 12,
    WS_WSI_TOKEN_ACCEPT = 13,
    WS_WSI_TOKEN_HTTP = 15,
    WS_WSI_TOKEN_HTTP_CACHE_CONTROL = 24,
    WS_WSI_TOKEN_HTTP_AUTHORIZATION = 25,
    WS_WSI_TOKEN_HTTP_COOKIE = 26,
    WS_WSI_TOKEN_HTTP_CONTENT_LENGTH = 27,
    WS_WSI_TOKEN_HTTP_CONTENT_TYPE = 28,
    WS_WSI_TOKEN_HTTP_DATE = 29,
    WS_WSI_TOKEN_KEY = 32,
    WS_WSI_TOKEN_VERSION = 33,
    WS_WSI_TOKEN_HTTP_LOCATION = 59,
    WS_WSI_TOKEN_HTTP_RETRY_AFTER = 64,
    WS_WSI_TOKEN_HTTP_SERVER = 65,
    WS_WSI_TOKEN_HTTP_SET_COOKIE = 66,
    WS_WSI_TOKEN_HTTP_WWW_AUTHENTICATE = 72,
}

/// The response header a token names, if wsloop knows it.
pub fn token_header(token: c_int) -> Option<&'static str> {
    Some(match token {
        3 => "host",
        4 => "connection",
        5 => "upgrade",
        6 => "origin",
        9 => "sec-websocket-extensions",
        12 => "sec-websocket-protocol",
        13 => "sec-websocket-accept",
        24 => "cache-control",
        25 => "authorization",
        26 => "cookie",
        27 => "content-length",
        28 => "content-type",
        29 => "date",
        32 => "sec-websocket-key",
        33 => "sec-websocket-version",
        59 => "location",
        64 => "retry-after",
        65 => "server",
        66 => "set-cookie",
        72 => "www-authenticate",
        _ => return None,
    })
}

/// Log level bit (lws' `LLL_ERR`) for `ws_set_log_level`: errors.
pub const WS_LLL_ERR: c_int = 1 << 0;
/// Log level bit: warnings.
pub const WS_LLL_WARN: c_int = 1 << 1;
/// Log level bit: notices.
pub const WS_LLL_NOTICE: c_int = 1 << 2;
/// Log level bit: information.
pub const WS_LLL_INFO: c_int = 1 << 3;
/// Log level bit: debugging.
pub const WS_LLL_DEBUG: c_int = 1 << 4;
/// Log level bit: the frame parser.
pub const WS_LLL_PARSER: c_int = 1 << 5;
/// Log level bit: the upgrade request and response headers.
pub const WS_LLL_HEADER: c_int = 1 << 6;
/// Log level bit: extensions.
pub const WS_LLL_EXT: c_int = 1 << 7;
/// Log level bit: client connections.
pub const WS_LLL_CLIENT: c_int = 1 << 8;
/// Log level bit: latency.
pub const WS_LLL_LATENCY: c_int = 1 << 9;
/// Log level bit: the application's own lines (`wsl_user`).
pub const WS_LLL_USER: c_int = 1 << 10;
/// Log level bit: threads.
pub const WS_LLL_THREAD: c_int = 1 << 11;
/// The number of log level bits.
pub const WS_LLL_COUNT: c_int = 12;

/// Connect flag (`ssl_connection`, lws' `LCCSCF_*`): wss://, TLS on the connection.
pub const WS_LCCSCF_USE_SSL: c_int = 1 << 0;
/// Connect flag: accept a self-signed server certificate (a warning is logged).
pub const WS_LCCSCF_ALLOW_SELFSIGNED: c_int = 1 << 1;
/// Connect flag: accept a certificate not valid for the host name (a warning is logged).
pub const WS_LCCSCF_SKIP_SERVER_CERT_HOSTNAME_CHECK: c_int = 1 << 2;
/// Connect flag: accept an expired or not yet valid certificate (a warning is logged).
pub const WS_LCCSCF_ALLOW_EXPIRED: c_int = 1 << 3;
/// Connect flag: accept a certificate from an untrusted issuer (a warning is logged).
pub const WS_LCCSCF_ALLOW_INSECURE: c_int = 1 << 4;
/// Connect flag, ignored (HTTP/2).
pub const WS_LCCSCF_H2_QUIRK_NGHTTP2_END_STREAM: c_int = 1 << 5;
/// Connect flag, ignored (HTTP/2).
pub const WS_LCCSCF_H2_QUIRK_OVERFLOWS_TXCR: c_int = 1 << 6;
/// Connect flag, ignored (HTTP/2).
pub const WS_LCCSCF_H2_AUTH_BEARER: c_int = 1 << 7;
/// Connect flag, ignored (HTTP/2).
pub const WS_LCCSCF_H2_HEXIFY_AUTH_TOKEN: c_int = 1 << 8;
/// Connect flag, ignored (HTTP/2).
pub const WS_LCCSCF_H2_MANUAL_RXFLOW: c_int = 1 << 9;
/// Connect flag, ignored (HTTP client requests).
pub const WS_LCCSCF_HTTP_MULTIPART_MIME: c_int = 1 << 10;
/// Connect flag, ignored (HTTP client requests).
pub const WS_LCCSCF_HTTP_X_WWW_FORM_URLENCODED: c_int = 1 << 11;
/// Connect flag, ignored (HTTP client requests).
pub const WS_LCCSCF_HTTP_NO_FOLLOW_REDIRECT: c_int = 1 << 12;
/// Connect flag, ignored (HTTP client requests).
pub const WS_LCCSCF_HTTP_NO_CACHE_CONTROL: c_int = 1 << 13;
/// Connect flag, ignored.
pub const WS_LCCSCF_ALLOW_REUSE_ADDR: c_int = 1 << 14;
/// Connect flag, ignored.
pub const WS_LCCSCF_IPV6_PREFER_PUBLIC_ADDR: c_int = 1 << 15;
/// Connect flag, ignored: every connection has its own socket.
pub const WS_LCCSCF_PIPELINE: c_int = 1 << 16;
/// Connect flag, ignored (HTTP/2).
pub const WS_LCCSCF_MUXABLE_STREAM: c_int = 1 << 17;
/// Connect flag, ignored (HTTP/2).
pub const WS_LCCSCF_H2_PRIOR_KNOWLEDGE: c_int = 1 << 18;
/// Connect flag, ignored.
pub const WS_LCCSCF_WAKE_SUSPEND__VALIDITY: c_int = 1 << 19;
/// Connect flag, ignored.
pub const WS_LCCSCF_PRIORITIZE_READS: c_int = 1 << 20;

/// Context option (`options`, lws' `LWS_SERVER_OPTION_*`): libev loop; refused.
pub const WS_SERVER_OPTION_LIBEV: u64 = 16;
/// Context option: trust only the CA certificates given, not the system's.
pub const WS_SERVER_OPTION_DISABLE_OS_CA_CERTS: u64 = 64;
/// Context option, accepted: received text is always validated as UTF-8.
pub const WS_SERVER_OPTION_VALIDATE_UTF8: u64 = 256;
/// Context option: libuv loop; refused.
pub const WS_SERVER_OPTION_LIBUV: u64 = 1024;
/// Context option, accepted: TLS needs no global initialisation.
pub const WS_SERVER_OPTION_DO_SSL_GLOBAL_INIT: u64 = 4096;
/// Context option, ignored: a context has one vhost.
pub const WS_SERVER_OPTION_EXPLICIT_VHOSTS: u64 = 8192;
/// Send the connect info's `origin` as given; without it, as lws, the
/// Origin header is `http://` + `origin`.
pub const WS_SERVER_OPTION_JUST_USE_RAW_ORIGIN: u64 = 1 << 19;
/// Context option: libevent loop; refused with `foreign_loops`.
pub const WS_SERVER_OPTION_LIBEVENT: u64 = 2097152;
/// Context option, ignored (HTTP/2).
pub const WS_SERVER_OPTION_H2_JUST_FIX_WINDOW_UPDATE_OVERFLOW: u64 = 2147483648;
/// Context option: glib loop; refused.
pub const WS_SERVER_OPTION_GLIB: u64 = 8589934592;
/// Context option: sd-event loop; refused.
pub const WS_SERVER_OPTION_SDEVENT: u64 = 137438953472;
/// Context option: uloop loop; refused.
pub const WS_SERVER_OPTION_ULOOP: u64 = 274877906944;
/// wsloop's own option: do not read the proxy environment variables
/// (`http_proxy`, `https_proxy`, `HTTPS_PROXY`, `all_proxy`, `ALL_PROXY`,
/// `no_proxy`, `NO_PROXY`); only `http_proxy_address`,
/// `socks_proxy_address`, `ws_set_proxy()` and `ws_set_socks()` apply.
pub const WS_SERVER_OPTION_IGNORE_PROXY_ENV: u64 = 1 << 62;

/// `void emit(int level, const char *line)`: receives each log line.
pub type ws_log_emit_t = Option<unsafe extern "C" fn(level: c_int, line: *const c_char)>;
