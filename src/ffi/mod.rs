//! The C boundary: the only place with `extern "C"`, raw pointers and
//! `unsafe`. Every exported function checks its arguments, runs its body
//! inside `guard!` so a panic becomes the documented error value, and calls
//! into the safe core.
//!
//! The safety contract of each function is its C documentation in
//! `wsloop.h`: pointers are NULL or valid for what the function says it reads
//! or writes.

#![allow(clippy::missing_safety_doc, clippy::unused_unit)]

pub mod reasons;
pub mod types;

#[macro_use]
mod guard;
mod callback;
pub(crate) mod clock;
mod conn_api;
mod context_api;
mod deflate_api;
pub(crate) mod events;
mod foreign;
#[cfg(feature = "libevent")]
mod foreign_event;
#[cfg(feature = "glib")]
mod foreign_glib;
#[cfg(feature = "libuv")]
mod foreign_uv;
mod handles;
mod log_api;
mod restart_api;
mod ring_api;
mod sender_api;
mod service_api;
pub(crate) mod socket;
mod stats_api;
mod timer_api;
mod tls_options;
mod util_api;
mod vhost_api;
mod wsi_api;

#[cfg(test)]
mod panic_tests;

pub use conn_api::*;
pub use context_api::*;
pub use deflate_api::*;
pub use log_api::*;
pub use restart_api::*;
pub use ring_api::*;
pub use sender_api::*;
pub use service_api::*;
pub use stats_api::*;
pub use timer_api::*;
pub use types::*;
pub use util_api::*;
pub use vhost_api::*;
pub use wsi_api::*;
