//! The committed header is the one cbindgen generates from the source, and
//! it compiles on its own as C99 and C++ with every warning an error.

mod common;

use std::process::Command;

#[test]
fn committed_headers_match_the_source() {
    for h in ["wsloop.h", "wsloop/lws-compat.h"] {
        let fresh =
            std::fs::read_to_string(format!("{}/{h}", env!("OUT_DIR"))).expect("build.rs wrote it");
        let committed = std::fs::read_to_string(common::root().join("include").join(h))
            .expect("the committed header");
        assert!(
            fresh == committed,
            "include/{h} is stale: run `WSLOOP_UPDATE_HEADER=1 cargo build` and commit it"
        );
    }
}

#[test]
fn header_compiles_as_c99_and_cpp() {
    let dir = std::env::temp_dir().join(format!("wsloop-header-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let src = dir.join("h.c");
    std::fs::write(
        &src,
        "#include <wsloop.h>\n#include <wsloop/lws-compat.h>\n\
         static lws_callback_function cb;\n\
         static int cb(struct lws *w, enum lws_callback_reasons r, void *u, void *i, size_t l)\n\
         { return lws_callback_http_dummy(w, r, u, i, l); }\n\
         int main(void) { struct lws_protocols p = { \"x\", cb, 0, 0, 0, NULL, 0 };\n\
         return LWS_PRE == WS_PRE && LCCSCF_USE_SSL == 1 && p.callback ? 0 : 1; }\n",
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
