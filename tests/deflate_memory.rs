//! What permessage-deflate costs in memory, counted by a global allocator:
//! nothing before a connection's first compressed message; without context
//! takeover, one stream per direction for any number of connections; with
//! it, one per connection and direction. Prints the sizes it measured
//! (`cargo test --test deflate_memory -- --nocapture`).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicIsize, Ordering::Relaxed};

use wsloop::deflate::{Deflater, Inflater, Params, Pool, Progress, Settings};

/// Counts the bytes live on the thread that asked (the test harness's own
/// threads allocate too).
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

thread_local! {
    static COUNTED: Cell<bool> = const { Cell::new(false) };
}

fn count(delta: isize) {
    if COUNTED.with(Cell::get) {
        LIVE.fetch_add(delta, Relaxed);
    }
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        count(l.size() as isize);
        unsafe { System.alloc(l) }
    }
    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        count(l.size() as isize);
        unsafe { System.alloc_zeroed(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        count(-(l.size() as isize));
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        count(new as isize - l.size() as isize);
        unsafe { System.realloc(p, l, new) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

fn live() -> isize {
    LIVE.load(Relaxed)
}

fn params(no_context_takeover: bool) -> Params {
    Params {
        server_no_context_takeover: no_context_takeover,
        client_no_context_takeover: no_context_takeover,
        server_max_window_bits: 15,
        client_max_window_bits: 15,
    }
}

struct Conn {
    tx: Deflater,
    rx: Inflater,
}

/// One compressed message each way on every connection; the scratch
/// buffers are the caller's and exist before the count starts.
fn traffic(conns: &mut [Conn], pool: &mut Pool, msg: &[u8], wire: &mut Vec<u8>, out: &mut [u8]) {
    for c in conns {
        wire.clear();
        c.tx.compress(pool, msg, true, wire).unwrap();
        let s = c.rx.inflate(pool, wire, true, out).unwrap();
        assert_eq!(s.progress, Progress::MessageEnd);
        assert_eq!(&out[..s.produced], msg);
    }
}

#[test]
fn memory_per_connection_and_per_stream() {
    COUNTED.with(|c| c.set(true));
    let msg: Vec<u8> = b"{\"id\":7,\"name\":\"user\",\"active\":true},"
        .iter()
        .copied()
        .cycle()
        .take(1024)
        .collect();
    let mut wire = Vec::with_capacity(4096);
    let mut out = vec![0u8; 4096];
    let mut conns: Vec<Conn> = Vec::with_capacity(1000);

    // (a) Negotiated, no message yet: nothing.
    let before = live();
    let mut pool = Pool::new(Settings::default());
    for _ in 0..1000 {
        conns.push(Conn {
            tx: Deflater::new(&params(true)),
            rx: Inflater::new(&params(true)),
        });
    }
    assert_eq!(
        live() - before,
        0,
        "allocated before any compressed message"
    );
    // Messages under the threshold are not compressed and cost nothing.
    assert!(!conns[0].tx.compresses(&pool, 100, true));

    // One message on one connection: a stream per direction, into the pool.
    let before = live();
    traffic(&mut conns[..1], &mut pool, &msg, &mut wire, &mut out);
    let one = live() - before;
    assert_eq!(pool.idle(), (1, 1));

    // (b) No context takeover: the same two streams serve 1000 connections.
    let before = live();
    traffic(&mut conns, &mut pool, &msg, &mut wire, &mut out);
    traffic(&mut conns, &mut pool, &msg, &mut wire, &mut out);
    assert_eq!(live() - before, 0, "grew with the connections");
    assert!(conns
        .iter()
        .all(|c| !c.tx.holds_stream() && !c.rx.holds_stream()));
    drop(pool);

    // (c) Context takeover: each connection keeps a stream per direction.
    let mut pool = Pool::new(Settings::default());
    let mut kept: Vec<Conn> = (0..100)
        .map(|_| Conn {
            tx: Deflater::new(&params(false)),
            rx: Inflater::new(&params(false)),
        })
        .collect();
    // A sender alone, then a receiver alone: the size of each kind.
    let before = live();
    wire.clear();
    kept[0]
        .tx
        .compress(&mut pool, &msg, true, &mut wire)
        .unwrap();
    let deflate_stream = live() - before;
    let before = live();
    let s = kept[0]
        .rx
        .inflate(&mut pool, &wire, true, &mut out)
        .unwrap();
    assert_eq!(&out[..s.produced], msg);
    let inflate_stream = live() - before;
    let pair = deflate_stream + inflate_stream;
    // The pool's pair, plus its two lists.
    assert!((0..256).contains(&(one - pair)), "{one} {pair}");

    let before = live();
    traffic(&mut kept[1..], &mut pool, &msg, &mut wire, &mut out);
    let per_conn = (live() - before) / 99;
    assert_eq!(per_conn, pair, "each connection holds a pair");
    assert!(kept
        .iter()
        .all(|c| c.tx.holds_stream() && c.rx.holds_stream()));
    assert_eq!(pool.idle(), (0, 0));

    println!(
        "deflate stream (window 2^15, memLevel 5): {deflate_stream} bytes; inflate stream: {inflate_stream} bytes"
    );
    println!(
        "per connection with context takeover: {per_conn} bytes; without: 0 (one pair per context: {one} bytes)"
    );
    // The sizes the module documents, within a few percent.
    assert!(
        (260_000..300_000).contains(&deflate_stream),
        "{deflate_stream}"
    );
    assert!(
        (40_000..52_000).contains(&inflate_stream),
        "{inflate_stream}"
    );
}
