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
use std::sync::atomic::{AtomicPtr, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use super::types::*;
use crate::callbacks::ConnId;
use crate::context::{Context, Remote};
use crate::log;

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
/// Contexts a caught panic made unusable, kept for `ws_context_destroy`.
static BROKEN: [AtomicPtr<Shell>; MAX_CONTEXTS] = [EMPTY; MAX_CONTEXTS];
static NEXT_GEN: AtomicU32 = AtomicU32::new(1);

/// A context's cross-thread part, reachable from any thread by its handle.
struct RemoteEntry {
    gen: u32,
    /// None while the slot is reserved but the context not yet published.
    remote: Option<Arc<Remote>>,
}
static REMOTES: Mutex<Vec<Option<RemoteEntry>>> = Mutex::new(Vec::new());

#[inline]
pub fn ctx_handle(slot: usize, gen: u32) -> *mut ws_context {
    (((gen as usize) << 14 | (slot + 1)) << 4) as *mut ws_context
}

#[inline]
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
#[inline]
pub fn wsi_handle(slot: usize, index: u32, gen: u32) -> *mut ws {
    wsi_in(wsi_context_bits(slot), index, gen)
}

/// The bits of a connection handle that name context `slot`.
pub fn wsi_context_bits(slot: usize) -> usize {
    (slot + 1) << 30
}

/// [`wsi_handle`] with the context's bits already worked out.
#[inline]
pub fn wsi_in(context_bits: usize, index: u32, gen: u32) -> *mut ws {
    ((gen as usize) << 40 | context_bits | (index as usize) << 2) as *mut ws
}

/// A decoded connection handle.
pub enum Wsi {
    Conn(ConnId),
    Protocol(usize),
}

#[inline]
fn wsi_decode(h: *const ws) -> Option<(usize, Wsi)> {
    let v = h as usize;
    if v & 0x3 != 0 {
        return None;
    }
    let index = ((v >> 2) & 0x0fff_ffff) as u32;
    // Slot bits 0 (NULL among them) name no context.
    let slot = ((v >> 30) & 0x3ff).checked_sub(1)?;
    let gen = (v >> 40) as u32;
    let which = if gen == 0 {
        Wsi::Protocol(index as usize)
    } else {
        Wsi::Conn(ConnId { index, gen })
    };
    Some((slot, which))
}

/// The live, usable context a handle names. One that a caught panic left
/// unusable is refused with a log line saying so (see [`any_shell`]).
#[inline]
pub fn shell<'a>(h: *const ws_context) -> Option<&'a Shell> {
    let (slot, gen) = ctx_decode(h)?;
    let s = usable(slot)?;
    (s.gen == gen).then_some(s)
}

/// The usable context and the connection a handle names (the connection
/// may be gone).
#[inline]
pub fn wsi_shell<'a>(h: *const ws) -> Option<(&'a Shell, Wsi)> {
    let (slot, which) = wsi_decode(h)?;
    Some((usable(slot)?, which))
}

/// The usable context in `slot`. A context a caught panic made unusable is
/// no longer there (see [`quarantine`]), so this costs nothing extra.
#[inline]
fn usable<'a>(slot: usize) -> Option<&'a Shell> {
    let p = SLOTS[slot].load(Ordering::Acquire);
    if p.is_null() {
        refuse_if_broken(slot);
        return None;
    }
    // SAFETY: a non-null slot points to a live Shell; it is freed only by
    // ws_context_destroy on the loop thread, after the slot is cleared.
    Some(unsafe { &*p })
}

#[cold]
fn refuse_if_broken(slot: usize) {
    let p = BROKEN[slot].load(Ordering::Acquire);
    if p.is_null() {
        return;
    }
    // SAFETY: as in `usable`; a quarantined Shell lives until ws_context_destroy.
    let s = unsafe { &*p };
    wlog!(
        log::ERR,
        "context {:p} is unusable: a panic was caught in {} (a bug in wsloop, please report it); only ws_context_destroy() may be called on it",
        ctx_handle(s.slot, s.gen),
        s.core.broken().unwrap_or_default()
    );
}

/// The Shell in `slot`, usable or quarantined.
fn any_slot<'a>(slot: usize) -> Option<&'a Shell> {
    let mut p = SLOTS[slot].load(Ordering::Acquire);
    if p.is_null() {
        p = BROKEN[slot].load(Ordering::Acquire);
    }
    // SAFETY: as in `usable` and `refuse_if_broken`.
    (!p.is_null()).then(|| unsafe { &*p })
}

/// The context a handle names, usable or not: for `ws_context_destroy`,
/// which must still free a context a panic left unusable.
pub fn any_shell<'a>(h: *const ws_context) -> Option<&'a Shell> {
    let (slot, gen) = ctx_decode(h)?;
    any_slot(slot).filter(|s| s.gen == gen)
}

/// The context of a connection handle, usable or not (for the panic path).
pub fn any_wsi_shell<'a>(h: *const ws) -> Option<(&'a Shell, Wsi)> {
    let (slot, which) = wsi_decode(h)?;
    Some((any_slot(slot)?, which))
}

/// A caught panic made `s` unusable: its handles stop resolving (every call
/// naming it is refused) until `ws_context_destroy` frees it.
pub fn quarantine(s: &Shell) {
    let p = SLOTS[s.slot].load(Ordering::Acquire);
    if std::ptr::eq(p, s) {
        SLOTS[s.slot].store(std::ptr::null_mut(), Ordering::Release);
        BROKEN[s.slot].store(p, Ordering::Release);
    }
}

/// Reserves a slot; the shell is published by [`publish`].
pub fn reserve() -> Option<(usize, u32)> {
    let mut remotes = REMOTES.lock().unwrap_or_else(|e| e.into_inner());
    if remotes.len() < MAX_CONTEXTS {
        remotes.resize_with(MAX_CONTEXTS, || None);
    }
    let slot = (0..MAX_CONTEXTS).find(|&i| {
        remotes[i].is_none()
            && SLOTS[i].load(Ordering::Acquire).is_null()
            && BROKEN[i].load(Ordering::Acquire).is_null()
    })?;
    let gen = NEXT_GEN.fetch_add(1, Ordering::Relaxed) & 0x3ffff | 1;
    // Taken now, under the lock: a context created at the same time on
    // another thread must not get the same slot.
    remotes[slot] = Some(RemoteEntry { gen, remote: None });
    Some((slot, gen))
}

/// Gives back a slot from [`reserve`] that was never published.
pub fn release(slot: usize) {
    REMOTES.lock().unwrap_or_else(|e| e.into_inner())[slot] = None;
}

pub fn publish(shell: Box<Shell>) -> *mut ws_context {
    let (slot, gen) = (shell.slot, shell.gen);
    REMOTES.lock().unwrap_or_else(|e| e.into_inner())[slot] = Some(RemoteEntry {
        gen,
        remote: Some(shell.core.remote()),
    });
    SLOTS[slot].store(Box::into_raw(shell), Ordering::Release);
    ctx_handle(slot, gen)
}

/// Unpublishes and returns the shell for dropping.
pub fn retire(slot: usize) -> Option<Box<Shell>> {
    REMOTES.lock().unwrap_or_else(|e| e.into_inner())[slot] = None;
    let mut p = SLOTS[slot].swap(std::ptr::null_mut(), Ordering::AcqRel);
    if p.is_null() {
        p = BROKEN[slot].swap(std::ptr::null_mut(), Ordering::AcqRel);
    }
    // SAFETY: the pointer came from Box::into_raw in `publish` and is taken once.
    (!p.is_null()).then(|| unsafe { Box::from_raw(p) })
}

/// Wakes a context's loop from any thread. False for an unknown handle.
pub fn cancel(h: *const ws_context) -> bool {
    let Some((slot, gen)) = ctx_decode(h) else {
        return false;
    };
    let remotes = REMOTES.lock().unwrap_or_else(|e| e.into_inner());
    match remotes.get(slot) {
        Some(Some(RemoteEntry {
            gen: g,
            remote: Some(remote),
        })) if *g == gen => {
            remote.cancel();
            true
        }
        _ => false,
    }
}

/// The context and connection a `struct ws *` argument of `func` names,
/// decoded without checking that the connection still lives (the core call
/// that follows does, at no extra lookup; see [`gone`]). NULL, undecodable
/// and protocol handles are refused with a log line.
#[inline]
pub fn conn<'a>(wsi: *const ws, func: &str) -> Option<(&'a Shell, ConnId)> {
    match wsi_shell(wsi) {
        Some((s, Wsi::Conn(id))) => Some((s, id)),
        other => {
            refuse_conn(wsi, func, other.is_some());
            None
        }
    }
}

#[cold]
fn refuse_conn(wsi: *const ws, func: &str, protocol: bool) {
    if protocol {
        wlog!(log::ERR, "{func}: this wsi is a protocol's (PROTOCOL_INIT, EVENT_WAIT_CANCELLED), not a connection");
    } else if wsi.is_null() {
        wlog!(log::ERR, "{func}: wsi is NULL");
    } else {
        gone(wsi, func);
    }
}

/// [`conn`], and the connection must still live.
pub fn live_conn<'a>(wsi: *const ws, func: &str) -> Option<(&'a Shell, ConnId)> {
    let (s, id) = conn(wsi, func)?;
    if s.core.is_live(id) {
        Some((s, id))
    } else {
        gone(wsi, func);
        None
    }
}

/// Logs that `wsi` no longer names a live connection.
#[cold]
pub fn gone(wsi: *const ws, func: &str) {
    wlog!(
        log::ERR,
        "{func}: wsi {wsi:p} is not a live connection (it was destroyed: its WS_CALLBACK_WSI_DESTROY has run)"
    );
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
