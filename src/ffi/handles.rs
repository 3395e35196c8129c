//! Handles given to C: `struct ws_context *` and `struct ws *` are encoded
//! numbers, never addresses of our memory, so a stale or foreign handle is
//! recognised and refused instead of being dereferenced.
//!
//! A context handle names a registry slot and its generation. A connection
//! handle names the context slot, the connection's slot index and its
//! generation; generation 0 marks a protocol's pseudo-connection (the `wsi`
//! of PROTOCOL_INIT and EVENT_WAIT_CANCELLED).

use std::cell::RefCell;
use std::ffi::{c_char, c_int, c_void, CStr};
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use mio::Waker;

use super::types::*;
use crate::callbacks::{Callbacks, CbIn, ConnId, Opaque, Reason, Target};
use crate::context::Context;

const MAX_CONTEXTS: usize = 1023;

/// A live context as C sees it.
pub struct Shell {
    pub slot: usize,
    pub gen: u32,
    pub core: Context,
    /// Copy of the protocol table, for `ws_get_protocol`.
    pub protocols: Box<[ws_protocols]>,
    /// The application's own table, also accepted where a protocol is named by pointer.
    pub app_protocols: *const ws_protocols,
    pub user: *mut c_void,
    /// `ws_protocol_vh_priv_zalloc` memory per protocol, 16-byte aligned,
    /// freed with the context (replaced blocks included).
    pub vh_privs: RefCell<Vec<Vec<Box<[u128]>>>>,
}

impl Shell {
    /// The index of a protocol named by a pointer into either table, or by name.
    pub fn protocol_index(&self, p: *const ws_protocols) -> Option<usize> {
        let n = self.protocols.len();
        let ours = self.protocols.as_ptr();
        for base in [ours, self.app_protocols] {
            let off = (p as usize).wrapping_sub(base as usize);
            let size = std::mem::size_of::<ws_protocols>();
            if off % size == 0 && off / size < n {
                return Some(off / size);
            }
        }
        // SAFETY: a non-NULL `p` is a protocol entry the application passes us.
        let name = unsafe { p.as_ref() }?.name;
        if name.is_null() {
            return None;
        }
        // SAFETY: protocol names are NUL-terminated strings.
        let name = unsafe { CStr::from_ptr(name) };
        self.protocols
            .iter()
            .position(|q| !q.name.is_null() && unsafe { CStr::from_ptr(q.name) } == name)
    }
}

#[allow(clippy::declare_interior_mutable_const)]
const EMPTY: AtomicPtr<Shell> = AtomicPtr::new(std::ptr::null_mut());
static SLOTS: [AtomicPtr<Shell>; MAX_CONTEXTS] = [EMPTY; MAX_CONTEXTS];
static NEXT_GEN: AtomicU32 = AtomicU32::new(1);

/// What `ws_cancel_service` needs, reachable from any thread.
struct WakeEntry {
    gen: u32,
    /// None while the slot is reserved but the context not yet published.
    waker: Option<(Arc<Waker>, Arc<AtomicBool>)>,
}
static WAKERS: Mutex<Vec<Option<WakeEntry>>> = Mutex::new(Vec::new());

pub fn ctx_handle(slot: usize, gen: u32) -> *mut ws_context {
    (((gen as usize) << 14 | (slot + 1)) << 4) as *mut ws_context
}

fn ctx_decode(h: *const ws_context) -> Option<(usize, u32)> {
    let v = h as usize;
    if v & 0xf != 0 {
        return None;
    }
    let v = v >> 4;
    let slot = (v & 0x3fff).checked_sub(1)?;
    let gen = u32::try_from(v >> 14).ok()?;
    (slot < MAX_CONTEXTS).then_some((slot, gen))
}

/// The context's one vhost: its handle with bit 3 set.
pub fn vhost_handle(ctx: *mut ws_context) -> *mut ws_vhost {
    (ctx as usize | 0x8) as *mut ws_vhost
}

pub fn vhost_shell<'a>(vh: *const ws_vhost) -> Option<&'a Shell> {
    let v = vh as usize;
    if v & 0xf != 0x8 {
        return None;
    }
    shell((v & !0xf) as *const ws_context)
}

/// Encodes a connection (gen >= 1) or a protocol's pseudo-connection (gen 0).
pub fn wsi_handle(slot: usize, index: u32, gen: u32) -> *mut ws {
    ((gen as usize) << 40 | (slot + 1) << 30 | (index as usize) << 2) as *mut ws
}

/// A decoded connection handle.
pub enum Wsi {
    Conn(ConnId),
    Protocol(usize),
}

fn wsi_decode(h: *const ws) -> Option<(usize, Wsi)> {
    let v = h as usize;
    if v & 0x3 != 0 || v == 0 {
        return None;
    }
    let index = ((v >> 2) & 0x0fff_ffff) as u32;
    let slot = ((v >> 30) & 0x3ff).checked_sub(1)?;
    let gen = (v >> 40) as u32;
    let which = if gen == 0 {
        Wsi::Protocol(index as usize)
    } else {
        Wsi::Conn(ConnId { index, gen })
    };
    Some((slot, which))
}

/// The live context a handle names.
pub fn shell<'a>(h: *const ws_context) -> Option<&'a Shell> {
    let (slot, gen) = ctx_decode(h)?;
    let p = SLOTS[slot].load(Ordering::Acquire);
    if p.is_null() {
        return None;
    }
    // SAFETY: a non-null slot points to a live Shell; it is freed only by
    // ws_context_destroy on the loop thread, after the slot is cleared.
    let s = unsafe { &*p };
    (s.gen == gen).then_some(s)
}

/// The context and connection a handle names (the connection may be gone).
pub fn wsi_shell<'a>(h: *const ws) -> Option<(&'a Shell, Wsi)> {
    let (slot, which) = wsi_decode(h)?;
    let p = SLOTS[slot].load(Ordering::Acquire);
    if p.is_null() {
        return None;
    }
    // SAFETY: as in `shell`.
    Some((unsafe { &*p }, which))
}

/// Reserves a slot; the shell is published by [`publish`].
pub fn reserve() -> Option<(usize, u32)> {
    let mut wakers = WAKERS.lock().unwrap_or_else(|e| e.into_inner());
    if wakers.len() < MAX_CONTEXTS {
        wakers.resize_with(MAX_CONTEXTS, || None);
    }
    let slot = (0..MAX_CONTEXTS)
        .find(|&i| wakers[i].is_none() && SLOTS[i].load(Ordering::Acquire).is_null())?;
    let gen = NEXT_GEN.fetch_add(1, Ordering::Relaxed) & 0x3ffff | 1;
    // Taken now, under the lock: a context created at the same time on
    // another thread must not get the same slot.
    wakers[slot] = Some(WakeEntry { gen, waker: None });
    Some((slot, gen))
}

/// Gives back a slot from [`reserve`] that was never published.
pub fn release(slot: usize) {
    WAKERS.lock().unwrap_or_else(|e| e.into_inner())[slot] = None;
}

pub fn publish(shell: Box<Shell>) -> *mut ws_context {
    let (slot, gen) = (shell.slot, shell.gen);
    let (waker, flag) = shell.core.canceller();
    WAKERS.lock().unwrap_or_else(|e| e.into_inner())[slot] = Some(WakeEntry {
        gen,
        waker: Some((waker, flag)),
    });
    SLOTS[slot].store(Box::into_raw(shell), Ordering::Release);
    ctx_handle(slot, gen)
}

/// Unpublishes and returns the shell for dropping.
pub fn retire(slot: usize) -> Option<Box<Shell>> {
    WAKERS.lock().unwrap_or_else(|e| e.into_inner())[slot] = None;
    let p = SLOTS[slot].swap(std::ptr::null_mut(), Ordering::AcqRel);
    // SAFETY: the pointer came from Box::into_raw in `publish` and is taken once.
    (!p.is_null()).then(|| unsafe { Box::from_raw(p) })
}

/// Wakes a context's loop from any thread. False for an unknown handle.
pub fn cancel(h: *const ws_context) -> bool {
    let Some((slot, gen)) = ctx_decode(h) else {
        return false;
    };
    let wakers = WAKERS.lock().unwrap_or_else(|e| e.into_inner());
    match wakers.get(slot) {
        Some(Some(WakeEntry {
            gen: g,
            waker: Some((waker, flag)),
        })) if *g == gen => {
            flag.store(true, Ordering::Release);
            let _ = waker.wake();
            true
        }
        _ => false,
    }
}

/// Calls the C protocol callbacks for the core.
pub struct CCallbacks {
    pub slot: usize,
    pub protocols: Vec<ws_protocols>,
}

impl Callbacks for CCallbacks {
    fn call(
        &self,
        protocol: usize,
        target: Target,
        reason: Reason,
        user: Opaque,
        data: CbIn<'_>,
    ) -> i32 {
        let Some(cb) = self.protocols.get(protocol).and_then(|p| p.callback) else {
            return 0;
        };
        let wsi = match target {
            Target::Protocol(i) => wsi_handle(self.slot, i as u32, 0),
            Target::Conn(id) => wsi_handle(self.slot, id.index, id.gen),
        };
        let reason = reason_to_c(reason);
        // SAFETY: `cb` is the application's callback from its protocol table;
        // every pointer passed is valid for the duration of the call.
        unsafe {
            match data {
                CbIn::None => cb(wsi, reason, user.0, std::ptr::null_mut(), 0),
                CbIn::Opaque(o) => cb(wsi, reason, user.0, o.0, 0),
                CbIn::Len(n) => cb(wsi, reason, user.0, std::ptr::null_mut(), n),
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
    }
}

/// A C string argument as UTF-8; Err names the argument when it is not UTF-8.
///
/// # Safety
/// `p` is NULL or points to a NUL-terminated string.
pub unsafe fn opt_str(p: *const c_char, what: &str) -> Result<Option<String>, String> {
    if p.is_null() {
        return Ok(None);
    }
    CStr::from_ptr(p)
        .to_str()
        .map(|s| Some(s.to_string()))
        .map_err(|_| format!("{what} is not valid UTF-8"))
}

/// Clamps a byte count to the C `int` a function returns.
pub fn c_len(n: usize) -> c_int {
    c_int::try_from(n).unwrap_or(c_int::MAX)
}
