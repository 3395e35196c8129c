//! The C side of the core's calls into the application: the protocol
//! callbacks (with handles built for `wsi` and lws' reason numbers),
//! scheduled callbacks, and clearing the application's `pwsi`.

use super::handles::{wsi_context_bits, wsi_in};
use super::types::*;
use crate::callbacks::{Callbacks, CbIn, ConnId, Opaque, Reason, Target};
use std::ffi::c_void;

/// Calls the C protocol callbacks for the core.
pub struct CCallbacks {
    /// The context's bits of each `wsi` handed over (`wsi_context_bits`).
    context_bits: usize,
    /// Each protocol's callback, in the table's order.
    callbacks: Box<[ws_callback_function]>,
}

impl CCallbacks {
    /// The callbacks of the context in registry slot `slot`.
    pub fn new(slot: usize, protocols: &[ws_protocols]) -> CCallbacks {
        CCallbacks {
            context_bits: wsi_context_bits(slot),
            callbacks: protocols.iter().map(|p| p.callback).collect(),
        }
    }

    /// Protocol `protocol`'s callback (None when it has none).
    #[inline]
    fn callback(&self, protocol: usize) -> ws_callback_function {
        self.callbacks.get(protocol).copied().flatten()
    }

    /// The `wsi` handed over for `target`.
    #[inline]
    fn wsi(&self, target: Target) -> *mut ws {
        match target {
            Target::Protocol(i) => wsi_in(self.context_bits, i as u32, 0),
            Target::Conn(id) => wsi_in(self.context_bits, id.index, id.gen),
        }
    }
}

impl Callbacks for CCallbacks {
    fn call_conn(&self, protocol: usize, id: ConnId, reason: Reason, user: Opaque) -> i32 {
        let Some(cb) = self.callback(protocol) else {
            return 0;
        };
        let wsi = self.wsi(Target::Conn(id));
        // SAFETY: `cb` is the application's callback from its protocol table.
        unsafe { cb(wsi, reason_to_c(reason), user.0, std::ptr::null_mut(), 0) }
    }

    fn call_conn_data(
        &self,
        protocol: usize,
        id: ConnId,
        reason: Reason,
        user: Opaque,
        data: &mut [u8],
    ) -> i32 {
        let Some(cb) = self.callback(protocol) else {
            return 0;
        };
        let wsi = self.wsi(Target::Conn(id));
        let len = data.len() - 1;
        // SAFETY: as in `call`; `data` is valid for the duration of the call.
        unsafe {
            cb(
                wsi,
                reason_to_c(reason),
                user.0,
                data.as_mut_ptr().cast(),
                len,
            )
        }
    }

    fn call(
        &self,
        protocol: usize,
        target: Target,
        reason: Reason,
        user: Opaque,
        data: CbIn<'_>,
    ) -> i32 {
        let Some(cb) = self.callback(protocol) else {
            return 0;
        };
        let wsi = self.wsi(target);
        let reason = reason_to_c(reason);
        // SAFETY: `cb` is the application's callback from its protocol table;
        // every pointer passed is valid for the duration of the call.
        unsafe {
            match data {
                CbIn::None => cb(wsi, reason, user.0, std::ptr::null_mut(), 0),
                CbIn::Opaque(o) => cb(wsi, reason, user.0, o.0, 0),
                CbIn::Len(n) => cb(wsi, reason, user.0, std::ptr::null_mut(), n),
                CbIn::Text { text, len } => {
                    debug_assert_eq!(text.last(), Some(&0));
                    cb(wsi, reason, user.0, text.as_ptr() as *mut c_void, len)
                }
                CbIn::Data { buf, start, len } => {
                    let p = buf.as_mut_ptr().add(start);
                    cb(wsi, reason, user.0, p.cast(), len)
                }
                CbIn::HeaderSpace { space, used } => {
                    let start = space.as_mut_ptr();
                    let mut p: *mut u8 = start;
                    let r = cb(
                        wsi,
                        reason,
                        user.0,
                        (&mut p as *mut *mut u8).cast(),
                        space.len(),
                    );
                    let off = (p as usize).wrapping_sub(start as usize);
                    *used = if off <= space.len() { off } else { 0 };
                    r
                }
            }
        }
    }

    fn sul(&self, key: usize) {
        let sul = key as *mut ws_sorted_usec_list;
        // SAFETY: `key` is the address of a ws_sorted_usec_list the
        // application scheduled and, as documented, keeps alive until it
        // runs or is cancelled.
        unsafe {
            (*sul).list.owner = std::ptr::null_mut();
            if let Some(cb) = (*sul).cb {
                cb(sul);
            }
        }
    }

    fn clear_handle(&self, pwsi: Opaque) {
        if !pwsi.is_null() {
            // SAFETY: `pwsi` is the application's `struct ws **` from the connect info,
            // documented to stay valid while the connection lives.
            unsafe { *(pwsi.0 as *mut *mut ws) = std::ptr::null_mut() };
        }
    }
}

fn reason_to_c(r: Reason) -> ws_callback_reasons {
    use ws_callback_reasons::*;
    match r {
        Reason::ClientConnectionError => WS_CALLBACK_CLIENT_CONNECTION_ERROR,
        Reason::ClientFilterPreEstablish => WS_CALLBACK_CLIENT_FILTER_PRE_ESTABLISH,
        Reason::ClientEstablished => WS_CALLBACK_CLIENT_ESTABLISHED,
        Reason::ClientReceive => WS_CALLBACK_CLIENT_RECEIVE,
        Reason::ClientReceivePong => WS_CALLBACK_CLIENT_RECEIVE_PONG,
        Reason::ClientWriteable => WS_CALLBACK_CLIENT_WRITEABLE,
        Reason::ClientAppendHandshakeHeader => WS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER,
        Reason::ClientConfirmExtensionSupported => WS_CALLBACK_CLIENT_CONFIRM_EXTENSION_SUPPORTED,
        Reason::ProtocolInit => WS_CALLBACK_PROTOCOL_INIT,
        Reason::ProtocolDestroy => WS_CALLBACK_PROTOCOL_DESTROY,
        Reason::WsiCreate => WS_CALLBACK_WSI_CREATE,
        Reason::WsiDestroy => WS_CALLBACK_WSI_DESTROY,
        Reason::AddPollFd => WS_CALLBACK_ADD_POLL_FD,
        Reason::DelPollFd => WS_CALLBACK_DEL_POLL_FD,
        Reason::LockPoll => WS_CALLBACK_LOCK_POLL,
        Reason::UnlockPoll => WS_CALLBACK_UNLOCK_POLL,
        Reason::WsPeerInitiatedClose => WS_CALLBACK_WS_PEER_INITIATED_CLOSE,
        Reason::EventWaitCancelled => WS_CALLBACK_EVENT_WAIT_CANCELLED,
        Reason::Timer => WS_CALLBACK_TIMER,
        Reason::ClientClosed => WS_CALLBACK_CLIENT_CLOSED,
        Reason::ClientHttpRedirect => WS_CALLBACK_CLIENT_HTTP_REDIRECT,
        Reason::ClientReconnecting => WS_CALLBACK_CLIENT_RECONNECTING,
        Reason::ClientReconnected => WS_CALLBACK_CLIENT_RECONNECTED,
    }
}
