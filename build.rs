//! Generates the C header from the Rust source into OUT_DIR. The committed
//! `include/wsloop.h` is checked against it by `tests/header.rs`; set
//! WSLOOP_UPDATE_HEADER=1 to write it there as well.

use std::path::PathBuf;

fn main() {
    let crate_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets it")).join("wsloop.h");
    println!("cargo:rerun-if-changed=src");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    println!("cargo:rerun-if-env-changed=WSLOOP_UPDATE_HEADER");
    let config =
        cbindgen::Config::from_file(crate_dir.join("cbindgen.toml")).expect("cbindgen.toml parses");
    let bindings = cbindgen::Builder::new()
        .with_crate(&crate_dir)
        .with_config(config)
        .generate()
        .expect("cbindgen generates the header");
    bindings.write_to_file(&out);
    if std::env::var_os("WSLOOP_UPDATE_HEADER").is_some() {
        bindings.write_to_file(crate_dir.join("include/wsloop.h"));
    }
}
