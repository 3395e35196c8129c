//! Masking keys for the frames a client sends (RFC 6455 §5.3: each frame's
//! key must be fresh and unpredictable, from a strong source of entropy).
//!
//! Keys come from ChaCha8 seeded by the operating system, 64 at a time: a
//! key then costs a counter and a load, and the stream's block function runs
//! once per 64 frames.

use std::cell::Cell;

use rand::SeedableRng;
use rand_chacha::rand_core::block::BlockRngCore;
use rand_chacha::ChaCha8Core;

/// Keys made per refill (one 256-byte run of the ChaCha8 stream).
const BATCH: usize = 64;

pub(super) struct Masks {
    /// Keys not handed out yet: `keys[..left]`.
    keys: Cell<[u32; BATCH]>,
    left: Cell<usize>,
    core: std::cell::RefCell<ChaCha8Core>,
}

impl Masks {
    pub(super) fn new() -> Masks {
        Masks {
            keys: Cell::new([0; BATCH]),
            left: Cell::new(0),
            core: std::cell::RefCell::new(ChaCha8Core::from_os_rng()),
        }
    }

    /// The next key; each is handed out once.
    #[inline(always)]
    pub(super) fn next(&self) -> [u8; 4] {
        match self.left.get() {
            0 => self.refill(),
            n => {
                let i = (n - 1) % BATCH;
                self.left.set(i);
                let keys: &Cell<[u32]> = &self.keys;
                keys.as_slice_of_cells()[i].get().to_ne_bytes()
            }
        }
    }

    /// Makes the next `BATCH` keys and hands out the last of them.
    #[cold]
    #[inline(never)]
    fn refill(&self) -> [u8; 4] {
        let mut block = <ChaCha8Core as BlockRngCore>::Results::default();
        self.core.borrow_mut().generate(&mut block);
        let keys: [u32; BATCH] = block.as_ref().try_into().expect("64 words");
        self.keys.set(keys);
        self.left.set(BATCH - 1);
        keys[BATCH - 1].to_ne_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_not_repeated_across_refills() {
        let m = Masks::new();
        let keys: Vec<[u8; 4]> = (0..BATCH * 3 + 5).map(|_| m.next()).collect();
        let mut sorted = keys.clone();
        sorted.sort();
        sorted.dedup();
        // 197 draws of 32 bits: a repeat has odds of about 4.5e-6.
        assert_eq!(sorted.len(), keys.len(), "a key was handed out twice");
        let other = Masks::new();
        let theirs: Vec<[u8; 4]> = (0..BATCH).map(|_| other.next()).collect();
        assert_ne!(keys[..BATCH], theirs[..], "two contexts got the same keys");
    }
}
