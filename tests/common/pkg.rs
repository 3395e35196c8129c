//! Building the event-loop programs: the flags of the C libraries they use
//! (GLib, libuv, libevent: Debian's -dev packages, from scripts/setup), and
//! wsloop built with its foreign-loop features.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

/// `pkg-config --cflags --libs` of a library, split into arguments.
pub fn pkg_config(lib: &str) -> Vec<String> {
    let out = Command::new("pkg-config")
        .args(["--cflags", "--libs", lib])
        .output()
        .expect("pkg-config runs (scripts/setup installs it)");
    assert!(
        out.status.success(),
        "pkg-config {lib}: {} (run scripts/setup)",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

/// A library's flags split into (compile flags, link flags).
#[allow(dead_code)]
pub fn pkg_flags(lib: &str) -> (Vec<String>, Vec<String>) {
    pkg_config(lib)
        .into_iter()
        .partition(|f| f.starts_with("-I"))
}

/// The cargo features of the foreign-loop build.
#[allow(dead_code)]
pub const FOREIGN_FEATURES: &str = "libuv,glib,libevent";

/// libwsloop.a built with every foreign-loop feature together (one extra
/// build for the suite), in its own target directory so the default build
/// is left alone.
#[allow(dead_code)]
pub fn foreign_static_lib() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let dir = super::target_dir().join("foreign");
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
            let st = Command::new(cargo)
                .args(["build", "--lib", "--quiet", "--features", FOREIGN_FEATURES])
                .arg("--target-dir")
                .arg(&dir)
                .current_dir(super::root())
                .status()
                .expect("cargo runs");
            assert!(
                st.success(),
                "cargo build --features {FOREIGN_FEATURES} failed"
            );
            dir.join("debug/libwsloop.a")
        })
        .clone()
}

/// What a program linking [`foreign_static_lib`] adds: the libraries of
/// all three features.
#[allow(dead_code)]
pub fn foreign_link_flags() -> Vec<String> {
    ["libuv", "glib-2.0", "libevent"]
        .into_iter()
        .flat_map(|l| pkg_flags(l).1)
        .collect()
}
