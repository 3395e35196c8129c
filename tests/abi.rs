//! The binary interface C programs link against: the shared library
//! exports exactly the functions in `tests/abi/exported-symbols.txt`, each
//! one declared in `wsloop.h`; every public struct keeps the size and field
//! offsets recorded in `tests/abi/layout.txt`, and libwebsockets' own layout
//! where that file names the lws struct; `ws_get_library_version()` agrees
//! with the header's version macros.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use common::*;

const LIMIT: Duration = Duration::from_secs(30);

#[test]
fn shared_library_exports_exactly_the_listed_functions() {
    static_lib(); // `cargo build --lib` builds libwsloop.so beside the archive
    let so = target_dir().join("debug/libwsloop.so");
    assert_exports_match_list(&so);

    let header = std::fs::read_to_string(root().join("include/wsloop.h")).unwrap();
    for name in exported_symbols(&so) {
        assert!(
            name.starts_with("ws_") || name.starts_with("wsl_"),
            "libwsloop.so exports {name}: only ws_/wsl_ names belong to the API"
        );
        assert!(
            header.contains(&format!(" {name}(")) || header.contains(&format!("*{name}(")),
            "libwsloop.so exports {name}, which wsloop.h does not declare"
        );
    }
}

#[test]
fn shared_library_has_a_soname_with_the_major_version() {
    static_lib();
    let dynamic = stdout_of(
        std::process::Command::new("readelf")
            .arg("-d")
            .arg(target_dir().join("debug/libwsloop.so")),
    );
    let soname = format!(
        "Library soname: [libwsloop.so.{}]",
        env!("CARGO_PKG_VERSION_MAJOR")
    );
    assert!(dynamic.contains(&soname), "no {soname} in:\n{dynamic}");
}

/// One line of layout.txt: `struct size [lws_struct]` or `struct.field offset`.
struct Entry {
    key: String,
    value: usize,
    lws: Option<String>,
}

fn layout_entries() -> Vec<Entry> {
    std::fs::read_to_string(root().join("tests/abi/layout.txt"))
        .expect("tests/abi/layout.txt")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            Entry {
                key: f[0].to_string(),
                value: f[1].parse().unwrap_or_else(|_| panic!("layout.txt: {l:?}")),
                lws: f.get(2).map(|s| s.to_string()),
            }
        })
        .collect()
}

/// The structs of a C header and their fields, in order.
fn header_structs(header: &str) -> BTreeMap<String, Vec<String>> {
    let text = strip_comments(header);
    let mut structs = BTreeMap::new();
    let mut rest = text.as_str();
    while let Some(at) = rest.find("typedef struct ") {
        rest = &rest[at + "typedef struct ".len()..];
        let Some((name, body)) = rest.split_once('{') else {
            break;
        };
        if name.contains(';') {
            continue; // `typedef struct ws ws;`: opaque
        }
        let body = &body[..body.find('}').expect("struct body ends")];
        let fields = body
            .split(';')
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .map(|d| {
                let d = d.split('[').next().unwrap();
                let d = d.split("(*").nth(1).unwrap_or(d);
                d.rsplit(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .find(|w| !w.is_empty())
                    .unwrap()
                    .to_string()
            })
            .collect();
        structs.insert(name.trim().to_string(), fields);
    }
    structs
}

fn strip_comments(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("/*") {
        out.push_str(&rest[..at]);
        rest = rest[at..].split_once("*/").map_or("", |(_, r)| r);
    }
    out.push_str(rest);
    out.lines()
        .map(|l| l.split("//").next().unwrap())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Compiles and runs a program that prints, for each (key, C struct) entry,
/// the struct's size (key `struct`) or a field's offset (key
/// `struct.field`); returns key -> value.
fn measure(
    name: &str,
    include: &str,
    flags: &[String],
    entries: &[(&str, String)],
) -> BTreeMap<String, usize> {
    let mut src = format!(
        "#include <stddef.h>\n#include <stdio.h>\n#include <{include}>\nint main(void)\n{{\n"
    );
    for (key, c_struct) in entries {
        match key.split_once('.') {
            Some((_, field)) => src.push_str(&format!(
                "    printf(\"{key} %zu\\n\", offsetof(struct {c_struct}, {field}));\n"
            )),
            None => src.push_str(&format!(
                "    printf(\"{key} %zu\\n\", sizeof(struct {c_struct}));\n"
            )),
        }
    }
    src.push_str("    return 0;\n}\n");
    let dir = target_dir().join("abi");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join(format!("{name}.c"));
    std::fs::write(&file, src).unwrap();
    let mut all = vec!["-std=c99".to_string()];
    all.extend_from_slice(flags);
    let exe = compile(&file, name, &all, &[]);
    let (code, out, err) = run(&exe, &[], LIMIT);
    assert_eq!(code, 0, "{name}: {err}");
    out.lines()
        .map(|l| {
            let (k, v) = l.split_once(' ').unwrap();
            (k.to_string(), v.parse().unwrap())
        })
        .collect()
}

#[test]
fn public_structs_keep_their_recorded_layout() {
    let entries = layout_entries();
    let header = std::fs::read_to_string(root().join("include/wsloop.h")).unwrap();

    // Every struct of the header and every field is recorded, in order.
    let mut recorded: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for e in &entries {
        match e.key.split_once('.') {
            Some((s, f)) => recorded.entry(s.into()).or_default().push(f.into()),
            None => {
                recorded.entry(e.key.clone()).or_default();
            }
        }
    }
    let declared = header_structs(&header);
    assert_eq!(
        declared.keys().collect::<Vec<_>>(),
        recorded.keys().collect::<Vec<_>>(),
        "the structs of wsloop.h and of tests/abi/layout.txt differ: record a new struct's \
         size and offsets there"
    );
    for (s, fields) in &declared {
        assert_eq!(
            fields, &recorded[s],
            "struct {s}: wsloop.h's fields and tests/abi/layout.txt's differ (changing a public \
             struct breaks the ABI; record the new layout only with a new SONAME major version)"
        );
    }

    // The C compiler agrees with the recorded sizes and offsets.
    let include = [
        "-I".to_string(),
        root().join("include").display().to_string(),
    ];
    let ours: Vec<(&str, String)> = entries
        .iter()
        .map(|e| (e.key.as_str(), e.key.split('.').next().unwrap().to_string()))
        .collect();
    let measured = measure("layout-wsloop", "wsloop.h", &include, &ours);
    for e in &entries {
        assert_eq!(
            measured[&e.key], e.value,
            "{}: the compiler says {}, tests/abi/layout.txt says {} (an ABI change)",
            e.key, measured[&e.key], e.value
        );
    }

    // Where recorded, libwebsockets 4.1.6 has the same layout (programs
    // ported through lws-compat.h may initialise these positionally or
    // embed them).
    let lws_of: BTreeMap<&str, &str> = entries
        .iter()
        .filter_map(|e| Some((e.key.as_str(), e.lws.as_deref()?)))
        .collect();
    if !Path::new("/usr/include/libwebsockets.h").exists() {
        eprintln!("libwebsockets-dev is not installed: lws' layouts not compared");
        return;
    }
    let theirs: Vec<(&str, String)> = entries
        .iter()
        .filter_map(|e| {
            let s = e.key.split('.').next().unwrap();
            Some((e.key.as_str(), lws_of.get(s)?.to_string()))
        })
        .collect();
    assert!(!theirs.is_empty(), "layout.txt names no lws struct");
    let lws = measure("layout-lws", "libwebsockets.h", &[], &theirs);
    for (key, _) in &theirs {
        assert_eq!(
            lws[*key], measured[*key],
            "{key}: libwebsockets has {}, wsloop {}",
            lws[*key], measured[*key]
        );
    }
}

#[test]
fn library_version_matches_the_header_macros() {
    let exe = build_c(&root().join("tests/abi/version.c"), &[]);
    let (code, out, err) = run(&exe, &[], LIMIT);
    assert_eq!(code, 0, "{err}");
    let v = env!("CARGO_PKG_VERSION");
    assert_eq!(
        out,
        format!("library {v}\nWSLOOP_VERSION {v}\nWSLOOP_VERSION_MAJOR.MINOR.PATCH {v}\n")
    );
}
