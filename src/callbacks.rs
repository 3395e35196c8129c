//! What the core hands to the application: reasons, targets and callback
//! data. The core calls the application only through [`Callbacks`], which the
//! C boundary implements; nothing here knows about C.

use std::ffi::c_void;

/// A pointer the application gave us, carried back to it untouched.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Opaque(pub *mut c_void);

impl Opaque {
    pub const NULL: Opaque = Opaque(std::ptr::null_mut());

    pub fn is_null(self) -> bool {
        self.0.is_null()
    }
}

/// A connection: slot index and the generation of its slot, so a handle kept
/// after the connection is gone is recognised as stale.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ConnId {
    /// The connection's slot.
    pub index: u32,
    /// The slot's generation when the connection took it.
    pub gen: u32,
}

impl ConnId {
    /// The connection as one number (resolver keys, poll tokens).
    #[inline]
    pub(crate) fn key(self) -> u64 {
        u64::from(self.index) | (u64::from(self.gen) << 32)
    }

    /// The connection a [`ConnId::key`] names.
    #[inline]
    pub(crate) fn from_key(key: u64) -> ConnId {
        ConnId {
            index: key as u32,
            gen: (key >> 32) as u32,
        }
    }

    /// Its poll token.
    #[inline]
    pub(crate) fn token(self) -> mio::Token {
        mio::Token(self.key() as usize)
    }
}

/// Who a callback is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// A protocol as a whole (PROTOCOL_INIT, EVENT_WAIT_CANCELLED, ...).
    Protocol(usize),
    Conn(ConnId),
}

/// The callback reasons the core emits, with libwebsockets' numbers (and
/// wsloop's own from 900 on, a range lws does not use).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(i32)]
pub enum Reason {
    ClientConnectionError = 1,
    ClientFilterPreEstablish = 2,
    ClientEstablished = 3,
    ClientReceive = 8,
    ClientReceivePong = 9,
    ClientWriteable = 10,
    ClientAppendHandshakeHeader = 24,
    ClientConfirmExtensionSupported = 26,
    ProtocolInit = 27,
    ProtocolDestroy = 28,
    WsiCreate = 29,
    WsiDestroy = 30,
    AddPollFd = 32,
    DelPollFd = 33,
    LockPoll = 35,
    UnlockPoll = 36,
    WsPeerInitiatedClose = 38,
    EventWaitCancelled = 71,
    Timer = 73,
    ClientClosed = 75,
    ClientHttpRedirect = 104,
    /// wsloop's: the connection dropped (or an attempt failed) and another
    /// attempt is scheduled.
    ClientReconnecting = 900,
    /// wsloop's: a later attempt is established again.
    ClientReconnected = 901,
}

/// The `in`/`len` of a callback.
pub enum CbIn<'a> {
    None,
    /// `buf[start..start + len]`; `buf[start + len]` is 0.
    Data {
        buf: &'a mut [u8],
        start: usize,
        len: usize,
    },
    /// Room for extra handshake headers; the callee stores how much it used.
    HeaderSpace {
        space: &'a mut [u8],
        used: &'a mut usize,
    },
    /// An application pointer (the protocol's options for PROTOCOL_INIT).
    Opaque(Opaque),
    /// No data, only a length (LOCK_POLL, UNLOCK_POLL).
    Len(usize),
    /// A string ending in a 0 byte, with a number as `len` (the status of
    /// CLIENT_HTTP_REDIRECT, as lws).
    Text {
        text: &'a [u8],
        len: usize,
    },
}

/// The application side of the context.
pub trait Callbacks {
    /// Calls protocol `protocol`'s callback; returns its result.
    fn call(
        &self,
        protocol: usize,
        target: Target,
        reason: Reason,
        user: Opaque,
        data: CbIn<'_>,
    ) -> i32;
    /// [`call`](Self::call) for connection `id` with [`CbIn::None`]
    /// (CLIENT_WRITEABLE, once per message sent), without building it.
    fn call_conn(&self, protocol: usize, id: ConnId, reason: Reason, user: Opaque) -> i32 {
        self.call(protocol, Target::Conn(id), reason, user, CbIn::None)
    }
    /// [`call`](Self::call) for connection `id` with [`CbIn::Data`] of all
    /// of `data` but its last byte, a 0 (CLIENT_RECEIVE, once per message
    /// received), without building it.
    fn call_conn_data(
        &self,
        protocol: usize,
        id: ConnId,
        reason: Reason,
        user: Opaque,
        data: &mut [u8],
    ) -> i32 {
        let len = data.len() - 1;
        let data = CbIn::Data {
            buf: data,
            start: 0,
            len,
        };
        self.call(protocol, Target::Conn(id), reason, user, data)
    }
    /// The connection behind `pwsi` failed: forget the handle stored there.
    fn clear_handle(&self, pwsi: Opaque);
    /// Runs the scheduled callback `key` (the address of the application's
    /// `ws_sorted_usec_list_t`), now unscheduled.
    fn sul(&self, key: usize);
}
