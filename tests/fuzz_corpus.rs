//! Replays the committed fuzzing corpus (fuzz/corpus/) through the fuzz
//! targets' bodies on stable Rust, so every input found interesting once
//! stays covered by `scripts/test`. Fuzzing itself: see fuzz/README.md.

#[path = "../fuzz/harness.rs"]
mod harness;

use std::path::PathBuf;

fn corpus(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no corpus in {}", dir.display());
    files
        .into_iter()
        .map(|p| {
            let data = std::fs::read(&p).unwrap();
            (p, data)
        })
        .collect()
}

fn replay(target: &str, f: fn(&[u8])) {
    for (path, data) in corpus(target) {
        let r = std::panic::catch_unwind(|| f(&data));
        assert!(r.is_ok(), "{target} fails on {}", path.display());
    }
}

#[test]
fn handshake_response_corpus() {
    replay("handshake_response", harness::handshake_response);
}

#[test]
fn frame_receive_corpus() {
    replay("frame_receive", harness::frame_receive);
}
