//! The library builds for a Unix other than Linux. FreeBSD stands for the
//! BSDs and macOS: there the loop waits through mio's poll (kqueue) and
//! computes each wait from the clock, as they have no timerfd, and the
//! socket calls go through std. Those paths are not compiled on Linux, so
//! without this check they break unseen. The library is type-checked and
//! linted for `x86_64-unknown-freebsd` (no linker is needed); its standard
//! library comes from `rustup target add`, which `scripts/setup` runs.

use std::process::Command;

const TARGET: &str = "x86_64-unknown-freebsd";

#[test]
fn the_library_builds_for_freebsd() {
    let Ok(list) = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
    else {
        eprintln!("skipped: no rustup to install the {TARGET} standard library with (Rust not installed with rustup)");
        return;
    };
    let installed = String::from_utf8_lossy(&list.stdout);
    if !installed.lines().any(|l| l.trim() == TARGET) {
        eprintln!(
            "skipped: the {TARGET} standard library is not installed (scripts/setup runs rustup target add {TARGET}; it needs rustup's download server)"
        );
        return;
    }
    let root = env!("CARGO_MANIFEST_DIR");
    let out = Command::new(env!("CARGO"))
        .args([
            "clippy", "--lib", "--quiet", "--target", TARGET, "--", "-D", "warnings",
        ])
        .current_dir(root)
        // A target directory of its own: the suite's build is not locked or rebuilt.
        .env("CARGO_TARGET_DIR", format!("{root}/target/other-systems"))
        .output()
        .expect("cargo runs");
    assert!(
        out.status.success(),
        "cargo clippy --lib --target {TARGET} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
