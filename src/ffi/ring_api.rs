//! `ws_ring_*`: libwebsockets' ring buffer of fixed-size elements. A ring is
//! not tied to a context; like lws', it has no lock of its own: guard it
//! with a mutex when threads share it.

use std::ffi::{c_int, c_void};

use super::types::*;
use crate::ring::Ring;

/// Called for each element a ring gives up (consumed past the oldest
/// tail, or left at destroy).
#[allow(non_camel_case_types)]
pub type ws_ring_destroy_element = Option<unsafe extern "C" fn(element: *mut c_void)>;

struct CRing {
    ring: Ring,
    destroy: ws_ring_destroy_element,
}

/// The ring behind `r`; NULL is refused with a log line naming `func`.
unsafe fn ring<'a>(r: *mut ws_ring, func: &str) -> Option<&'a mut CRing> {
    let ring = r.cast::<CRing>().as_mut();
    if ring.is_none() {
        wlog!(crate::log::ERR, "{func}: ring is NULL");
    }
    ring
}

fn destroy_each(d: ws_ring_destroy_element) -> impl FnMut(&mut [u8]) {
    move |e: &mut [u8]| {
        if let Some(f) = d {
            // SAFETY: the application's destroy callback, given its own element.
            unsafe { f(e.as_mut_ptr().cast()) }
        }
    }
}

/// A ring of `count` elements of `element_len` bytes (it holds `count - 1`),
/// or NULL for sizes of zero (or a count below 2).
#[no_mangle]
pub extern "C" fn ws_ring_create(
    element_len: usize,
    count: usize,
    destroy_element: ws_ring_destroy_element,
) -> *mut ws_ring {
    guard!("ws_ring_create", std::ptr::null_mut(), {
        match Ring::new(element_len, count) {
            Some(ring) => Box::into_raw(Box::new(CRing {
                ring,
                destroy: destroy_element,
            }))
            .cast(),
            None => refuse!(
                std::ptr::null_mut(),
                "ws_ring_create: element_len {element_len} and count {count} do not make a ring"
            ),
        }
    })
}

/// Frees the ring, passing every element still in it to `destroy_element`.
#[no_mangle]
pub unsafe extern "C" fn ws_ring_destroy(r: *mut ws_ring) {
    guard!("ws_ring_destroy", (), {
        if r.is_null() {
            refuse!((), "ws_ring_destroy: ring is NULL");
        }
        let mut b = Box::from_raw(r.cast::<CRing>());
        let d = b.destroy;
        b.ring.drain(destroy_each(d));
    })
}

/// How many more elements fit.
#[no_mangle]
pub unsafe extern "C" fn ws_ring_get_count_free_elements(r: *mut ws_ring) -> usize {
    guard!("ws_ring_get_count_free_elements", 0, {
        ring(r, "ws_ring_get_count_free_elements").map_or(0, |r| r.ring.free())
    })
}

/// How many elements wait at `*tail` (NULL: at the oldest tail).
#[no_mangle]
pub unsafe extern "C" fn ws_ring_get_count_waiting_elements(
    r: *mut ws_ring,
    tail: *mut u32,
) -> usize {
    guard!("ws_ring_get_count_waiting_elements", 0, {
        let Some(r) = ring(r, "ws_ring_get_count_waiting_elements") else {
            return 0;
        };
        let t = tail.as_ref().map_or(r.ring.oldest_tail(), |t| *t as usize);
        r.ring.waiting(t)
    })
}

/// Copies up to `max_count` elements from `src`; returns how many fit.
#[no_mangle]
pub unsafe extern "C" fn ws_ring_insert(
    r: *mut ws_ring,
    src: *const c_void,
    max_count: usize,
) -> usize {
    guard!("ws_ring_insert", 0, {
        let Some(r) = ring(r, "ws_ring_insert") else {
            return 0;
        };
        if src.is_null() {
            refuse!(0, "ws_ring_insert: src is NULL");
        }
        let n = max_count.min(r.ring.free());
        let elem = r.ring_elem();
        r.ring
            .insert(std::slice::from_raw_parts(src.cast::<u8>(), n * elem))
    })
}

/// Takes up to `max_count` elements at `*tail` (NULL: the oldest tail,
/// which then moves), copying them to `dest` when it is not NULL. Returns
/// how many were taken.
#[no_mangle]
pub unsafe extern "C" fn ws_ring_consume(
    r: *mut ws_ring,
    tail: *mut u32,
    dest: *mut c_void,
    max_count: usize,
) -> usize {
    guard!("ws_ring_consume", 0, {
        let Some(r) = ring(r, "ws_ring_consume") else {
            return 0;
        };
        let elem = r.ring_elem();
        let copy = |i: usize, e: &mut [u8]| {
            if !dest.is_null() {
                // SAFETY: `dest` has room for `max_count` elements, as documented.
                unsafe {
                    std::ptr::copy_nonoverlapping(e.as_ptr(), dest.cast::<u8>().add(i * elem), elem)
                }
            }
        };
        match tail.as_mut() {
            Some(t) => {
                let mut at = *t as usize;
                let n = r.ring.consume(&mut at, max_count, copy);
                *t = at as u32;
                n
            }
            None => {
                let mut at = r.ring.oldest_tail();
                let n = r.ring.consume(&mut at, max_count, copy);
                let d = r.destroy;
                r.ring
                    .update_oldest_tail(at, destroy_each(if dest.is_null() { d } else { None }));
                n
            }
        }
    })
}

/// The element at `*tail` (NULL: the oldest tail) without taking it, or
/// NULL when none waits.
#[no_mangle]
pub unsafe extern "C" fn ws_ring_get_element(r: *mut ws_ring, tail: *mut u32) -> *const c_void {
    guard!("ws_ring_get_element", std::ptr::null(), {
        let Some(r) = ring(r, "ws_ring_get_element") else {
            return std::ptr::null();
        };
        let t = tail.as_ref().map_or(r.ring.oldest_tail(), |t| *t as usize);
        r.ring
            .element(t)
            .map_or(std::ptr::null(), |e| e.as_ptr().cast())
    })
}

/// Moves the oldest tail (the one writers wait for) to `tail`, passing the
/// elements given up to `destroy_element`.
#[no_mangle]
pub unsafe extern "C" fn ws_ring_update_oldest_tail(r: *mut ws_ring, tail: u32) {
    guard!("ws_ring_update_oldest_tail", (), {
        if let Some(r) = ring(r, "ws_ring_update_oldest_tail") {
            let d = r.destroy;
            r.ring.update_oldest_tail(tail as usize, destroy_each(d));
        }
    })
}

/// The oldest tail: where a new reader starts.
#[no_mangle]
pub unsafe extern "C" fn ws_ring_get_oldest_tail(r: *mut ws_ring) -> u32 {
    guard!("ws_ring_get_oldest_tail", 0, {
        ring(r, "ws_ring_get_oldest_tail").map_or(0, |r| r.ring.oldest_tail() as u32)
    })
}

/// Where to write new elements in place: sets `*start` to the head and
/// `*bytes` to the free bytes from there up to the end of the buffer (whole
/// elements); returns 0, or 1 when the ring is full. Commit what was
/// written with `ws_ring_bump_head()`.
#[no_mangle]
pub unsafe extern "C" fn ws_ring_next_linear_insert_range(
    r: *mut ws_ring,
    start: *mut *mut c_void,
    bytes: *mut usize,
) -> c_int {
    guard!("ws_ring_next_linear_insert_range", 1, {
        let Some(r) = ring(r, "ws_ring_next_linear_insert_range") else {
            return 1;
        };
        let (Some(start), Some(bytes)) = (start.as_mut(), bytes.as_mut()) else {
            refuse!(
                1,
                "ws_ring_next_linear_insert_range: start or bytes is NULL"
            )
        };
        let Some((at, n)) = r.ring.linear_insert_range() else {
            return 1;
        };
        *start = r.ring.buffer().as_mut_ptr().add(at).cast();
        *bytes = n;
        0
    })
}

/// Commits `bytes` (whole elements, at most what
/// `ws_ring_next_linear_insert_range()` gave) written at the head.
#[no_mangle]
pub unsafe extern "C" fn ws_ring_bump_head(r: *mut ws_ring, bytes: usize) {
    guard!("ws_ring_bump_head", (), {
        if let Some(r) = ring(r, "ws_ring_bump_head") {
            let elem = r.ring_elem();
            let free = r.ring.linear_insert_range().map_or(0, |(_, n)| n);
            if bytes % elem != 0 || bytes > free {
                refuse!(
                    (),
                    "ws_ring_bump_head: {bytes} bytes is not whole elements of {elem} within the {free} free bytes at the head; nothing committed"
                );
            }
            r.ring.bump_head(bytes);
        }
    })
}

/// Logs the ring's state (and `*tail`'s, when not NULL) at NOTICE level.
#[no_mangle]
pub unsafe extern "C" fn ws_ring_dump(r: *mut ws_ring, tail: *mut u32) {
    guard!("ws_ring_dump", (), {
        if let Some(r) = ring(r, "ws_ring_dump") {
            let line = r.ring.describe(tail.as_ref().map(|t| *t as usize));
            wlog!(crate::log::NOTICE, "{line}");
        }
    })
}

impl CRing {
    fn ring_elem(&self) -> usize {
        self.ring.element_len()
    }
}
