//! The HTML API reference builds from the header's comments with Doxygen
//! (scripts/docs), with every warning an error: each exported function,
//! type, field and macro stays documented.

mod common;

use std::process::Command;

use common::*;

#[test]
fn api_reference_builds_without_warnings() {
    let out = Command::new(root().join("scripts/docs"))
        .output()
        .expect("scripts/docs runs");
    assert!(
        out.status.success(),
        "scripts/docs failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let page = std::fs::read_to_string(target_dir().join("api-docs/html/wsloop_8h.html"))
        .expect("the header's page");
    for name in [
        "ws_service",
        "ws_get_library_version",
        "ws_client_connect_info",
    ] {
        assert!(
            page.contains(name),
            "the header's page does not mention {name}"
        );
    }
}
