//! A ring buffer of fixed-size elements with libwebsockets' `lws_ring`
//! semantics: `count` slots hold at most `count - 1` elements; readers keep
//! their own tails (byte offsets into the buffer), and the oldest tail marks
//! what may be overwritten.

pub struct Ring {
    buf: Vec<u8>,
    elem: usize,
    head: usize,
    oldest_tail: usize,
}

impl Ring {
    /// None when the sizes are zero or too large.
    pub fn new(element_len: usize, count: usize) -> Option<Ring> {
        if element_len == 0 || count < 2 {
            return None;
        }
        let len = element_len.checked_mul(count)?;
        if len > u32::MAX as usize {
            return None;
        }
        Some(Ring {
            buf: vec![0; len],
            elem: element_len,
            head: 0,
            oldest_tail: 0,
        })
    }

    pub fn element_len(&self) -> usize {
        self.elem
    }

    fn slots(&self) -> usize {
        self.buf.len() / self.elem
    }

    /// Elements between `tail` and the head.
    pub fn waiting(&self, tail: usize) -> usize {
        let len = self.buf.len();
        ((self.head + len - tail % len) % len) / self.elem
    }

    /// Room for this many more elements.
    pub fn free(&self) -> usize {
        self.slots() - 1 - self.waiting(self.oldest_tail)
    }

    /// Copies whole elements from `src` (as many as fit); returns how many.
    pub fn insert(&mut self, src: &[u8]) -> usize {
        let n = (src.len() / self.elem).min(self.free());
        for e in src.chunks_exact(self.elem).take(n) {
            self.buf[self.head..self.head + self.elem].copy_from_slice(e);
            self.head = (self.head + self.elem) % self.buf.len();
        }
        n
    }

    /// Takes up to `max` elements at `*tail` (copied into `dest` when given,
    /// element by element through `each`); returns how many.
    pub fn consume(
        &mut self,
        tail: &mut usize,
        max: usize,
        mut each: impl FnMut(usize, &mut [u8]),
    ) -> usize {
        let n = self.waiting(*tail).min(max);
        for i in 0..n {
            let at = *tail % self.buf.len();
            each(i, &mut self.buf[at..at + self.elem]);
            *tail = (at + self.elem) % self.buf.len();
        }
        n
    }

    /// The element at `tail`, if one is waiting.
    pub fn element(&mut self, tail: usize) -> Option<&mut [u8]> {
        if self.waiting(tail) == 0 {
            return None;
        }
        let at = tail % self.buf.len();
        Some(&mut self.buf[at..at + self.elem])
    }

    pub fn oldest_tail(&self) -> usize {
        self.oldest_tail
    }

    /// Moves the oldest tail to `tail`, passing each element given up to `each`.
    pub fn update_oldest_tail(&mut self, tail: usize, mut each: impl FnMut(&mut [u8])) {
        let tail = tail % self.buf.len();
        while self.oldest_tail != tail && self.oldest_tail != self.head {
            let at = self.oldest_tail;
            each(&mut self.buf[at..at + self.elem]);
            self.oldest_tail = (at + self.elem) % self.buf.len();
        }
    }

    /// Where the application may write new elements itself, in place: the
    /// offset of the head and how many bytes from there are free without
    /// wrapping (None when the ring is full). `bump_head` then commits them.
    pub fn linear_insert_range(&self) -> Option<(usize, usize)> {
        let free = self.free() * self.elem;
        if free == 0 {
            return None;
        }
        Some((self.head, free.min(self.buf.len() - self.head)))
    }

    /// Commits `bytes` written at the head (whole elements).
    pub fn bump_head(&mut self, bytes: usize) {
        self.head = (self.head + bytes) % self.buf.len();
    }

    /// The buffer, for in-place writes at `linear_insert_range`.
    pub fn buffer(&mut self) -> &mut [u8] {
        &mut self.buf
    }

    /// One line describing the ring (for `ws_ring_dump`).
    pub fn describe(&self, tail: Option<usize>) -> String {
        let mut line = format!(
            "ring: {} elements of {} bytes, head {}, oldest tail {} ({} waiting), {} free",
            self.slots(),
            self.elem,
            self.head,
            self.oldest_tail,
            self.waiting(self.oldest_tail),
            self.free()
        );
        if let Some(t) = tail {
            line.push_str(&format!(", tail {t} ({} waiting)", self.waiting(t)));
        }
        line
    }

    /// Every element still held, oldest first (for destroy).
    pub fn drain(&mut self, mut each: impl FnMut(&mut [u8])) {
        let head = self.head;
        self.update_oldest_tail(head, &mut each);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_count_minus_one_and_wraps() {
        let mut r = Ring::new(4, 4).unwrap();
        assert_eq!(r.free(), 3);
        assert_eq!(r.insert(b"aaaabbbbccccdddd"), 3);
        assert_eq!(r.free(), 0);
        let mut tail = r.oldest_tail();
        let mut got = Vec::new();
        assert_eq!(r.consume(&mut tail, 2, |_, e| got.extend_from_slice(e)), 2);
        assert_eq!(got, b"aaaabbbb");
        // Room comes back only when the oldest tail moves.
        assert_eq!(r.free(), 0);
        r.update_oldest_tail(tail, |_| {});
        assert_eq!(r.free(), 2);
        assert_eq!(r.insert(b"eeeeffff"), 2);
        assert_eq!(r.waiting(tail), 3);
        assert_eq!(r.element(tail).unwrap(), b"cccc");
        let mut dropped = 0;
        r.drain(|_| dropped += 1);
        assert_eq!(dropped, 3);
        assert_eq!(r.free(), 3);
    }

    #[test]
    fn in_place_inserts_stop_at_the_end_of_the_buffer() {
        let mut r = Ring::new(4, 4).unwrap();
        assert_eq!(r.linear_insert_range(), Some((0, 12)));
        r.buffer()[..8].copy_from_slice(b"aaaabbbb");
        r.bump_head(8);
        let mut tail = 0;
        assert_eq!(r.consume(&mut tail, 2, |_, _| {}), 2);
        r.update_oldest_tail(tail, |_| {});
        // Free: 3 elements, but only one before the end of the buffer.
        assert_eq!(r.linear_insert_range(), Some((8, 8)));
        r.bump_head(8);
        assert_eq!(r.linear_insert_range(), Some((0, 4)));
        r.bump_head(4);
        assert_eq!(r.linear_insert_range(), None);
    }

    #[test]
    fn bad_sizes_are_refused() {
        assert!(Ring::new(0, 4).is_none());
        assert!(Ring::new(4, 1).is_none());
        assert!(Ring::new(usize::MAX, 2).is_none());
    }
}
