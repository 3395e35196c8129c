//! The context's compression settings, the zlib streams it lends to
//! connections for one message at a time, and [`Lease`], a connection's
//! hold on its stream for one direction.

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

    /// New settings (`level` above 9 is taken as 9). Idle deflate streams
    /// made at another level are dropped; streams a connection keeps (with
    /// context takeover) keep the level they were made with.
    pub fn set_settings(&mut self, settings: Settings) {
        let level = settings.level.min(9);
        if level != self.settings.level {
            self.deflaters.clear();
        }
        self.settings = Settings { level, ..settings };
    }

    /// Idle (inflate, deflate) streams held.
    pub fn idle(&self) -> (usize, usize) {
        (self.inflaters.len(), self.deflaters.len())
    }

    fn new_inflater(&self) -> Box<Inflate> {
        Box::new(Inflate::new(false, INFLATE_BITS))
    }

    fn new_deflater(&self, bits: u8) -> Box<Deflate> {
        Box::new(Deflate::new_with_config(DeflateConfig {
            level: i32::from(self.settings.level),
            method: Method::Deflated,
            window_bits: -i32::from(bits),
            mem_level: MEM_LEVEL,
            strategy: Strategy::Default,
        }))
    }
}

/// A zlib stream as the pool lends it: made for a window of 2^`bits` bytes
/// (9..=15; inflating ignores it), started over between messages.
pub(super) trait Stream: Sized {
    fn make(pool: &Pool, bits: u8) -> Box<Self>;
    /// An idle one from the pool, or a new one.
    fn take(pool: &mut Pool, bits: u8) -> Box<Self>;
    /// Back into the pool, started over.
    fn put(pool: &mut Pool, bits: u8, s: Box<Self>);
    fn restart(&mut self);
}

impl Stream for Inflate {
    fn make(pool: &Pool, _: u8) -> Box<Inflate> {
        pool.new_inflater()
    }

    fn take(pool: &mut Pool, _: u8) -> Box<Inflate> {
        pool.inflaters.pop().unwrap_or_else(|| pool.new_inflater())
    }

    fn put(pool: &mut Pool, _: u8, mut s: Box<Inflate>) {
        if pool.inflaters.len() < IDLE_MAX {
            s.restart();
            pool.inflaters.push(s);
        }
    }

    fn restart(&mut self) {
        self.reset(false);
    }
}

impl Stream for Deflate {
    fn make(pool: &Pool, bits: u8) -> Box<Deflate> {
        pool.new_deflater(bits)
    }

    fn take(pool: &mut Pool, bits: u8) -> Box<Deflate> {
        match pool.deflaters.iter().rposition(|(b, _)| *b == bits) {
            Some(i) => pool.deflaters.swap_remove(i).1,
            None => pool.new_deflater(bits),
        }
    }

    fn put(pool: &mut Pool, bits: u8, mut s: Box<Deflate>) {
        if pool.deflaters.iter().filter(|(b, _)| *b == bits).count() < IDLE_MAX {
            s.restart();
            pool.deflaters.push((bits, s));
        }
    }

    fn restart(&mut self) {
        self.reset();
    }
}

/// A connection's hold on a stream for one direction. With context
/// takeover the stream is its own, made at its first message and kept; without,
/// it is taken from the pool when a message starts and given back when it
/// ends. Holds nothing until the first message.
pub(super) struct Lease<S> {
    stream: Option<Box<S>>,
    takeover: bool,
    bits: u8,
    in_message: bool,
}

impl<S: Stream> Lease<S> {
    pub(super) fn new(takeover: bool, bits: u8) -> Lease<S> {
        Lease {
            stream: None,
            takeover,
            bits,
            in_message: false,
        }
    }

    pub(super) fn in_message(&self) -> bool {
        self.in_message
    }

    pub(super) fn holds_stream(&self) -> bool {
        self.stream.is_some()
    }

    /// The stream of the message in progress; `started`: the call begins
    /// a message.
    pub(super) fn stream(&mut self, pool: &mut Pool) -> (&mut S, bool) {
        let started = !self.in_message;
        self.in_message = true;
        let stream = match self.stream {
            Some(ref mut s) => s,
            None if self.takeover => self.stream.insert(S::make(pool, self.bits)),
            None => self.stream.insert(S::take(pool, self.bits)),
        };
        (stream, started)
    }

    /// The message ended. `restart`: the connection's own stream starts
    /// over too (the peer ended its deflate stream).
    pub(super) fn finish(&mut self, pool: &mut Pool, restart: bool) {
        self.in_message = false;
        if !self.takeover {
            if let Some(s) = self.stream.take() {
                S::put(pool, self.bits, s);
            }
        } else if restart {
            if let Some(s) = self.stream.as_deref_mut() {
                s.restart();
            }
        }
    }

    /// The message is given up (bad data, a failure, the connection is
    /// closing): a lent stream goes back started over; the connection's own
    /// is freed, its state no longer matching the peer's.
    pub(super) fn abandon(&mut self, pool: &mut Pool) {
        self.in_message = false;
        if let Some(s) = self.stream.take() {
            if !self.takeover {
                S::put(pool, self.bits, s);
            }
        }
    }
}
