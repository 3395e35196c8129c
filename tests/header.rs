//! The committed header is the one cbindgen generates from the source, and
//! it compiles on its own as C99 and C++ with every warning an error.

mod common;

use std::process::Command;

#[test]
fn committed_header_matches_the_source() {
    let fresh =
        std::fs::read_to_string(concat!(env!("OUT_DIR"), "/wsloop.h")).expect("build.rs wrote it");
    let committed =
        std::fs::read_to_string(common::root().join("include/wsloop.h")).expect("include/wsloop.h");
    assert!(
        fresh == committed,
        "include/wsloop.h is stale: run `WSLOOP_UPDATE_HEADER=1 cargo build` and commit it"
    );
}

#[test]
fn header_compiles_as_c99_and_cpp() {
    let dir = std::env::temp_dir().join(format!("wsloop-header-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let src = dir.join("h.c");
    std::fs::write(
        &src,
        "#include <wsloop.h>\nint main(void) { return WS_PRE == 16 ? 0 : 1; }\n",
    )
    .unwrap();
    for (compiler, lang) in [
        ("cc", vec!["-std=c99"]),
        ("c++", vec!["-x", "c++", "-std=c++11"]),
    ] {
        let out = Command::new(compiler)
            .args(&lang)
            .args([
                "-Wall",
                "-Wextra",
                "-Wpedantic",
                "-Werror",
                "-fsyntax-only",
                "-I",
            ])
            .arg(common::root().join("include"))
            .arg(&src)
            .output()
            .expect("compiler runs");
        assert!(
            out.status.success(),
            "{compiler}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn version_macros_match_cargo() {
    let h = std::fs::read_to_string(common::root().join("include/wsloop.h")).unwrap();
    let v = env!("CARGO_PKG_VERSION");
    assert!(h.contains(&format!("#define WSLOOP_VERSION \"{v}\"")));
    let parts: Vec<&str> = v.split('.').collect();
    assert!(h.contains(&format!("#define WSLOOP_VERSION_MAJOR {}", parts[0])));
    assert!(h.contains(&format!("#define WSLOOP_VERSION_MINOR {}", parts[1])));
    assert!(h.contains(&format!("#define WSLOOP_VERSION_PATCH {}", parts[2])));
}
