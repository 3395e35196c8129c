//! The context's compression settings and the zlib streams lent to
//! connections for one message at a time.

use zlib_rs::{Deflate, DeflateConfig, Inflate, Method, Strategy};

/// zlib's memLevel for deflate streams. It sizes the symbol buffer (64 KiB
/// at zlib's default 8, 8 KiB at 5); zlib-rs' hash table is fixed, and at
/// level 1 the output is the same at every memLevel. Python `websockets`
/// chose 5 for the same reason.
const MEM_LEVEL: i32 = 5;
/// Idle streams of each kind kept for the next message; more are freed on
/// their return (there are more only while that many messages are half-way
/// at once).
const IDLE_MAX: usize = 2;
/// Inflating always uses the largest window: it reads what any smaller one
/// wrote, and zlib-rs allocates the same for every size.
const INFLATE_BITS: u8 = 15;

/// How messages are compressed, for every connection of a context.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Settings {
    /// zlib level, 0 (stored) to 9; 1 (libwebsockets' choice) by default:
    /// on JSON-like text about four times as fast as level 6, for output a
    /// little larger (1 KiB of JSON: 32 % of its size, 25 % at level 6).
    pub level: u8,
    /// Messages shorter than this go out uncompressed (RSV1 clear, which RFC
    /// 7692 allows for any message). 128 bytes by default: below that,
    /// deflate with an empty window hardly shortens text.
    pub threshold: usize,
}

impl Settings {
    pub(crate) const DEFAULT_LEVEL: u8 = 1;
    pub(crate) const DEFAULT_THRESHOLD: usize = 128;
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            level: Settings::DEFAULT_LEVEL,
            threshold: Settings::DEFAULT_THRESHOLD,
        }
    }
}

/// Owned by the context; holds nothing until a stream is first given back.
///
/// Streams stay boxed from creation to drop: lending one moves a pointer,
/// and a connection that holds none pays 8 bytes per direction for it.
#[allow(clippy::vec_box)]
pub struct Pool {
    settings: Settings,
    inflaters: Vec<Box<Inflate>>,
    /// By window bits: a stream keeps the window it was made with.
    deflaters: Vec<(u8, Box<Deflate>)>,
}

impl Pool {
    /// `settings.level` above 9 is taken as 9.
    pub fn new(settings: Settings) -> Pool {
        Pool {
            settings: Settings {
                level: settings.level.min(9),
                ..settings
            },
            inflaters: Vec::new(),
            deflaters: Vec::new(),
        }
    }

    pub fn settings(&self) -> Settings {
        self.settings
    }

    /// Idle (inflate, deflate) streams held.
    pub fn idle(&self) -> (usize, usize) {
        (self.inflaters.len(), self.deflaters.len())
    }

    /// A fresh inflate stream (raw deflate).
    pub(super) fn new_inflater(&self) -> Box<Inflate> {
        Box::new(Inflate::new(false, INFLATE_BITS))
    }

    /// A fresh deflate stream with a window of 2^`bits` bytes (9..=15).
    pub(super) fn new_deflater(&self, bits: u8) -> Box<Deflate> {
        Box::new(Deflate::new_with_config(DeflateConfig {
            level: i32::from(self.settings.level),
            method: Method::Deflated,
            window_bits: -i32::from(bits),
            mem_level: MEM_LEVEL,
            strategy: Strategy::Default,
        }))
    }

    /// An inflate stream for one message, reset.
    pub(super) fn take_inflater(&mut self) -> Box<Inflate> {
        self.inflaters.pop().unwrap_or_else(|| self.new_inflater())
    }

    /// Gives back a stream from [`Pool::take_inflater`], reset.
    pub(super) fn put_inflater(&mut self, s: Box<Inflate>) {
        if self.inflaters.len() < IDLE_MAX {
            self.inflaters.push(s);
        }
    }

    /// A deflate stream with a window of 2^`bits` bytes for one message, reset.
    pub(super) fn take_deflater(&mut self, bits: u8) -> Box<Deflate> {
        match self.deflaters.iter().rposition(|(b, _)| *b == bits) {
            Some(i) => self.deflaters.swap_remove(i).1,
            None => self.new_deflater(bits),
        }
    }

    /// Gives back a stream from [`Pool::take_deflater`], reset.
    pub(super) fn put_deflater(&mut self, bits: u8, s: Box<Deflate>) {
        if self.deflaters.iter().filter(|(b, _)| *b == bits).count() < IDLE_MAX {
            self.deflaters.push((bits, s));
        }
    }
}
