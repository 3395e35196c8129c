//! The Autobahn test suite: c-examples/autobahn-client.c against the
//! suite's fuzzing server (PyPI `kosoku`), every case's verdict compared
//! with tests/autobahn/expected.json, which can only get stricter.
//!
//! A case fails the test when its behaviour or close behaviour is worse than
//! recorded (OK < NON-STRICT < INFORMATIONAL < UNIMPLEMENTED < FAILED), when
//! it is missing from the file, or when it FAILED at all. When every case is
//! at least as good as recorded, `WSLOOP_UPDATE_AUTOBAHN=1` writes the new
//! verdicts back. The full Autobahn report (index.json and a page per case)
//! is left in target/autobahn/<run>/reports/.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use common::*;

/// (behavior, behaviorClose) per case id.
type Verdicts = BTreeMap<String, (String, String)>;

fn behavior_rank(b: &str) -> u8 {
    match b {
        "OK" => 0,
        "NON-STRICT" => 1,
        "INFORMATIONAL" => 2,
        "UNIMPLEMENTED" => 3,
        "FAILED" => 4,
        _ => 5,
    }
}

fn close_rank(b: &str) -> u8 {
    match b {
        "OK" => 0,
        "INFORMATIONAL" => 1,
        _ => 2, // UNCLEAN, WRONG CODE, FAILED BY CLIENT, FAILED
    }
}

fn expected_path() -> PathBuf {
    root().join("tests/autobahn/expected.json")
}

fn parse(text: &str, what: &Path) -> Verdicts {
    let v: serde_json::Value = serde_json::from_str(text)
        .unwrap_or_else(|e| panic!("{} is not JSON: {e}", what.display()));
    v.as_object()
        .unwrap_or_else(|| panic!("{} is not a JSON object", what.display()))
        .iter()
        .map(|(case, r)| {
            let field = |k: &str| r[k].as_str().unwrap_or("?").to_string();
            (case.clone(), (field("behavior"), field("behaviorClose")))
        })
        .collect()
}

/// Case ids in the suite's order: 1.2.10 after 1.2.9, 10.1.1 after 9.8.6.
fn case_key(id: &str) -> Vec<u32> {
    id.split('.').map(|n| n.parse().unwrap_or(0)).collect()
}

fn write_expected(all: &Verdicts) {
    let mut cases: Vec<&String> = all.keys().collect();
    cases.sort_by_key(|c| case_key(c));
    let lines: Vec<String> = cases
        .iter()
        .map(|c| {
            let (b, bc) = &all[*c];
            format!("  \"{c}\": {{\"behavior\": \"{b}\", \"behaviorClose\": \"{bc}\"}}")
        })
        .collect();
    std::fs::write(expected_path(), format!("{{\n{}\n}}\n", lines.join(",\n"))).unwrap();
}

/// Runs the cases whose section (the id's first number) is in `sections`,
/// the driver given at most `time` (the server a minute more), and returns
/// their verdicts.
fn run_sections(name: &str, sections: &[u32], time: Duration) -> Verdicts {
    let dir = target_dir().join("autobahn").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let results = dir.join("results.json");

    let mut cmd = Command::new("python3");
    cmd.current_dir(root().join("tests/servers"))
        .arg("autobahn_server.py")
        .arg("--out")
        .arg(&results)
        .arg("--reports")
        .arg(dir.join("reports"))
        .arg("--max-lifetime")
        .arg((time.as_secs() + 60).to_string());
    for s in sections {
        cmd.args(["--include", &format!("{s}.*")]);
    }
    let server = Server::start(cmd);

    // Built once: both tests run it at the same time.
    static DRIVER: OnceLock<PathBuf> = OnceLock::new();
    let driver = DRIVER.get_or_init(|| build_c(&root().join("c-examples/autobahn-client.c"), &[]));
    let (code, out, err) = run(driver, &["-p", &server.port.to_string()], time);
    assert_eq!(code, 0, "autobahn-client failed:\n{out}\n{err}");
    assert!(out.contains(", 0 connection errors"), "{out}");

    // The server writes its results once the driver asked for the reports.
    let start = Instant::now();
    while !results.exists() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the fuzzing server wrote no results"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    drop(server);
    parse(&std::fs::read_to_string(&results).unwrap(), &results)
}

fn tally(v: &Verdicts) -> String {
    let mut t: BTreeMap<(u8, &str), usize> = BTreeMap::new();
    for (b, bc) in v.values() {
        let worst = if close_rank(bc) == 2 { "FAILED" } else { b };
        *t.entry((behavior_rank(worst), worst)).or_default() += 1;
    }
    t.iter()
        .map(|((_, k), n)| format!("{k} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Compares a run with the expectations; panics listing every regression.
fn check(name: &str, sections: &[u32], time: Duration) {
    let got = run_sections(name, sections, time);
    let path = expected_path();
    let mut expected = parse(&std::fs::read_to_string(&path).unwrap(), &path);
    println!("autobahn {name}: {} cases: {}", got.len(), tally(&got));

    let mut problems = Vec::new();
    for (case, (b, bc)) in &got {
        match expected.get(case) {
            None => problems.push(format!("{case}: {b}/{bc}, not in expected.json")),
            Some((eb, ebc)) => {
                if behavior_rank(b) > behavior_rank(eb) || close_rank(bc) > close_rank(ebc) {
                    problems.push(format!("{case}: {b}/{bc}, expected {eb}/{ebc}"));
                }
            }
        }
        if b == "FAILED" || close_rank(bc) == 2 {
            problems.push(format!("{case}: {b}/{bc} is a failure"));
        }
    }
    for case in expected.keys() {
        let section: u32 = case_key(case)[0];
        if sections.contains(&section) && !got.contains_key(case) {
            problems.push(format!("{case}: expected but not run"));
        }
    }
    assert!(
        problems.is_empty(),
        "Autobahn regressions (report in target/autobahn/{name}/reports/):\n{}",
        problems.join("\n")
    );
    if std::env::var_os("WSLOOP_UPDATE_AUTOBAHN").is_some() {
        expected.extend(got);
        write_expected(&expected);
    }
}

/// Framing, pings and pongs, reserved bits, opcodes, fragmentation, UTF-8,
/// close handling, auto-fragmentation (1.* to 7.*, 10.*).
#[test]
fn autobahn_protocol_cases() {
    check(
        "protocol",
        &[1, 2, 3, 4, 5, 6, 7, 10],
        Duration::from_secs(300),
    );
}

/// Limits and performance: messages up to 16 MiB, in up to 64 Ki fragments
/// (9.*).
#[test]
fn autobahn_limits_cases() {
    check("limits", &[9], Duration::from_secs(300));
}

/// permessage-deflate, 12.*: 90 cases of 1000 compressed echoes each, up
/// to 128 KiB per message, with the offer the driver makes (lws' usual
/// one). The longest runs (minutes, most of it in the fuzzing server), so
/// 12.* and 13.* are two tests, which the harness runs at the same time
/// as each other and the rest.
#[test]
fn autobahn_compression_cases() {
    check("compression", &[12], Duration::from_secs(1800));
}

/// permessage-deflate, 13.*: 126 cases, 12.*'s traffic under the
/// parameter sets the fuzzing server answers with (context takeover or
/// not, smaller windows).
#[test]
fn autobahn_compression_parameter_cases() {
    check("compression-parameters", &[13], Duration::from_secs(1800));
}
