//! wsloop: a WebSocket client library for C with libwebsockets' programming
//! model: a context with a protocol table, reason-coded callbacks, and one
//! single-threaded poll loop driven by the application's `ws_service()`.
//!
//! `ffi` is the C API (the only unsafe code); everything else is the safe
//! core it calls: `context` (the loop), `connection` (one client), `stream`
//! and `tls` (the socket, plain or TLS), `timers`, `retry`, `keepalive`,
//! `handshake`, `deflate` (permessage-deflate), `frame`, `utf8`, `resolve`, `ring`, `json`, `error`, `log`.

#[cfg(not(target_pointer_width = "64"))]
compile_error!("wsloop encodes handles in 64-bit pointers");

#[macro_use]
pub mod log;
pub mod callbacks;
pub mod connection;
pub mod context;
pub mod deflate;
pub mod error;
pub mod ffi;
pub mod frame;
pub mod handshake;
pub mod json;
pub mod keepalive;
pub mod resolve;
pub mod retry;
pub mod ring;
pub mod stream;
pub mod timers;
pub mod tls;
pub mod utf8;
