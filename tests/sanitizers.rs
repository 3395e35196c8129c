//! The C examples (the event-loop ones too, and the lws programs joining
//! foreign loops) and the Autobahn driver under AddressSanitizer (with
//! LeakSanitizer) and under valgrind's memcheck: zero errors, zero leaks.
//!
//! The C side is instrumented (`-fsanitize=address`) and linked with the
//! Rust static library; ASan's allocator and leak check cover both.
//! Valgrind runs the plain builds with every leak kind but "still reachable"
//! (the process-wide logger and handle registry) counted as an error.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::*;

/// How a program runs: instrumented by ASan, or under valgrind.
#[derive(Clone, Copy)]
enum Checker {
    Asan,
    Valgrind,
}

impl Checker {
    fn name(self) -> &'static str {
        match self {
            Checker::Asan => "asan",
            Checker::Valgrind => "valgrind",
        }
    }

    /// Builds a C example into target/c-bin/<checker>/.
    fn build(self, example: &str) -> PathBuf {
        let source = root().join("c-examples").join(format!("{example}.c"));
        let lib = static_lib();
        self.build_with(&source, example, &["-std=c99".into()], &lib, &[])
    }

    /// Builds a C program into target/c-bin/<checker>/`name`, linked with
    /// the static library `lib` and then `libs`.
    fn build_with(
        self,
        source: &Path,
        name: &str,
        cflags: &[String],
        lib: &Path,
        libs: &[String],
    ) -> PathBuf {
        let dir = target_dir().join("c-bin").join(self.name());
        std::fs::create_dir_all(&dir).unwrap();
        let exe = dir.join(name);
        let mut cc = Command::new("cc");
        cc.args(["-Wall", "-Wextra", "-Werror", "-g"]).args(cflags);
        if let Checker::Asan = self {
            cc.args(["-fsanitize=address", "-fno-omit-frame-pointer"]);
        }
        let out = cc
            .arg("-I")
            .arg(root().join("include"))
            .arg(source)
            .arg(lib)
            .args(libs)
            .args(["-lpthread", "-ldl", "-lm", "-o"])
            .arg(&exe)
            .output()
            .expect("cc runs");
        assert!(
            out.status.success(),
            "compiling {name} ({}) failed:\n{}",
            self.name(),
            String::from_utf8_lossy(&out.stderr)
        );
        exe
    }

    /// Runs a program; asserts the checker found nothing. Returns (code, stdout).
    fn run(self, exe: &Path, args: &[&str], limit: Duration) -> (i32, String) {
        self.run_input(exe, args, None, limit)
    }

    /// `run` with standard input read from the file `input`.
    fn run_input(
        self,
        exe: &Path,
        args: &[&str],
        input: Option<&Path>,
        limit: Duration,
    ) -> (i32, String) {
        // `sh -c 'exec "$@" < "$0"' INPUT PROGRAM ARGS...`
        let run = |exe: &Path, args: &[&str], limit| match input {
            None => run(exe, args, limit),
            Some(input) => {
                let mut sh = vec!["-c", "exec \"$@\" < \"$0\"", input.to_str().unwrap()];
                sh.push(exe.to_str().unwrap());
                sh.extend_from_slice(args);
                common::run(Path::new("sh"), &sh, limit)
            }
        };
        let (code, out, err) = match self {
            Checker::Asan => run(exe, args, limit),
            Checker::Valgrind => {
                let supp = format!(
                    "--suppressions={}",
                    root().join("tests/valgrind/ring.supp").display()
                );
                let mut vg = vec![
                    "-q",
                    supp.as_str(),
                    "--leak-check=full",
                    "--show-leak-kinds=definite,indirect,possible",
                    "--errors-for-leak-kinds=definite,indirect,possible",
                    "--error-exitcode=86",
                    exe.to_str().unwrap(),
                ];
                vg.extend_from_slice(args);
                run(Path::new("valgrind"), &vg, limit)
            }
        };
        let clean = match self {
            Checker::Asan => !err.contains("Sanitizer"),
            Checker::Valgrind => code != 86 && !err.contains("=="),
        };
        assert!(
            clean,
            "{} found errors in {} {args:?}:\n{err}",
            self.name(),
            exe.display()
        );
        (code, out)
    }
}

fn examples(checker: Checker) {
    let node = Server::node("echo");
    let port = node.port.to_string();

    let minimal = checker.build("minimal-client");
    let (code, out) = checker.run(&minimal, &["-p", &port], SECS10 * 3);
    assert_eq!(
        (code, out.as_str()),
        (0, "established\nreceived: hello from wsloop\nclosed\n")
    );
    let refused = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
        .to_string();
    let (code, _) = checker.run(&minimal, &["-p", &refused], SECS10 * 3);
    assert_eq!(code, 1, "the connection error path");

    let echo = checker.build("echo-client");
    let (code, out) = checker.run(
        &echo,
        &["-p", &port, "-n", "12", "-s", "1048576"],
        SECS10 * 6,
    );
    assert_eq!(code, 0, "{out}");
    assert!(
        out.ends_with("closed after 12 of 12 messages\nOK\n"),
        "{out}"
    );

    let strict = Server::node_with(
        "subprotocol-strict",
        &["--protocols", "chat", "--allow-none"],
    );
    let sub = checker.build("subprotocol-client");
    let (code, out) = checker.run(&sub, &["-p", &strict.port.to_string()], SECS10 * 3);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("attempt 2: received 'hi'"), "{out}");

    // TLS: rustls and ring under the checker, through a whole session.
    let pki = common::tls::pki();
    let tls = common::tls::TlsServer::start(common::tls::TlsOpts::new(&pki.good));
    let ca = pki.file("ca.pem", &pki.ca_pem);
    let wss = checker.build("wss-client");
    let (code, out) = checker.run(
        &wss,
        &[
            "-p",
            &tls.port.to_string(),
            "--host",
            "localhost",
            "--ca",
            &ca,
        ],
        SECS10 * 6,
    );
    assert_eq!(
        (code, out.as_str()),
        (
            0,
            "established over TLS\nreceived: hello over wss\nclosed\n"
        )
    );
}

/// The event-loop examples (c-examples/*-loop.c, the context's descriptor
/// in poll(), GLib, libuv and libevent loops, standard input given at
/// once), and the lws programs joining those loops as foreign loops
/// (tests/port/uv.c, glib.c, libevent.c, with the foreign-loop build).
fn event_loops(checker: Checker) {
    let node = Server::node("echo");
    let port = node.port.to_string();
    let dir = target_dir().join("c-bin").join(checker.name());
    std::fs::create_dir_all(&dir).unwrap();
    let input = dir.join("event-loop-lines.txt");
    std::fs::write(&input, "one\ntwo words\nthree\n").unwrap();
    for (example, pkg) in [
        ("poll-loop", None),
        ("glib-loop", Some("glib-2.0")),
        ("uv-loop", Some("libuv")),
        ("libevent-loop", Some("libevent")),
    ] {
        let (inc, link) = pkg.map(pkg::pkg_flags).unwrap_or_default();
        let mut cflags = vec!["-std=c99".to_string()];
        cflags.extend(inc);
        let source = root().join("c-examples").join(format!("{example}.c"));
        let exe = checker.build_with(&source, example, &cflags, &static_lib(), &link);
        let (code, out) = checker.run_input(&exe, &["-p", &port], Some(&input), SECS10 * 9);
        assert_eq!(
            (code, out.as_str()),
            (
                0,
                "established\necho: one\necho: two words\necho: three\nclosed after 3 echoes\n"
            ),
            "{example} under {}",
            checker.name()
        );
    }
    let lib = pkg::foreign_static_lib();
    let link = pkg::foreign_link_flags();
    for (name, pkg) in [
        ("uv", "libuv"),
        ("glib", "glib-2.0"),
        ("libevent", "libevent"),
    ] {
        let mut cflags = vec!["-I".to_string()];
        cflags.push(
            root()
                .join("include/wsloop/lws")
                .to_string_lossy()
                .into_owned(),
        );
        cflags.extend(pkg::pkg_flags(pkg).0);
        let source = root().join("tests/port").join(format!("{name}.c"));
        let exe = checker.build_with(&source, &format!("{name}-foreign"), &cflags, &lib, &link);
        let (code, out) = checker.run(&exe, &["-p", &port], SECS10 * 9);
        assert_eq!(code, 0, "{name} under {}: {out}", checker.name());
        assert!(
            out.contains("received: ") && out.contains("\ntimer fired\nclosed\nloop ended"),
            "{name} under {}: {out}",
            checker.name()
        );
    }
}

/// The Autobahn driver through the given sections; every case must pass.
fn autobahn(checker: Checker, sections: &[u32]) {
    let dir = target_dir().join("autobahn").join(checker.name());
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let results = dir.join("results.json");
    let mut cmd = Command::new("python3");
    cmd.current_dir(root().join("tests/servers"))
        .arg("autobahn_server.py")
        .arg("--out")
        .arg(&results);
    for s in sections {
        cmd.args(["--include", &format!("{s}.*")]);
    }
    let server = Server::start(cmd);
    let driver = checker.build("autobahn-client");
    let (code, out) = checker.run(
        &driver,
        &["-p", &server.port.to_string()],
        Duration::from_secs(300),
    );
    assert_eq!(code, 0, "{out}");
    let start = Instant::now();
    while !results.exists() {
        assert!(start.elapsed() < Duration::from_secs(60), "no results");
        std::thread::sleep(Duration::from_millis(50));
    }
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&results).unwrap()).unwrap();
    let cases = v.as_object().unwrap();
    assert!(cases.len() > 200, "{} cases", cases.len());
    for (case, r) in cases {
        let ok = |k: &str, good: &[&str]| good.contains(&r[k].as_str().unwrap_or("?"));
        assert!(
            ok("behavior", &["OK", "INFORMATIONAL"])
                && ok("behaviorClose", &["OK", "INFORMATIONAL"]),
            "{case} under {}: {r}",
            checker.name()
        );
    }
}

#[test]
fn c_examples_under_address_sanitizer() {
    examples(Checker::Asan);
}

#[test]
fn event_loops_under_address_sanitizer() {
    event_loops(Checker::Asan);
}

#[test]
fn event_loops_under_valgrind() {
    event_loops(Checker::Valgrind);
}

#[test]
fn autobahn_driver_under_address_sanitizer() {
    autobahn(Checker::Asan, &[1, 2, 3, 4, 5, 6, 7, 9, 10]);
}

#[test]
fn c_examples_under_valgrind() {
    examples(Checker::Valgrind);
}

/// 9.* (16 MiB messages) is left to ASan: under valgrind it takes minutes.
#[test]
fn autobahn_driver_under_valgrind() {
    autobahn(Checker::Valgrind, &[1, 2, 3, 4, 5, 6, 7, 10]);
}

/// Every hostile-server scenario (tests/hostile.rs, each next to a healthy
/// connection) run under valgrind: no definite or indirect leak, no error.
/// Cargo builds every test binary before running any, so it is beside this one.
#[test]
fn hostile_scenarios_under_valgrind() {
    let deps = std::env::current_exe()
        .unwrap()
        .parent()
        .unwrap()
        .to_path_buf();
    let newest = std::fs::read_dir(&deps)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.starts_with("hostile-") && !name.contains('.')
        })
        .max_by_key(|e| e.metadata().and_then(|m| m.modified()).ok());
    let Some(bin) = newest else {
        eprintln!(
            "the hostile test binary is not built: run the whole suite (cargo test --all-targets)"
        );
        return;
    };
    let bin = bin.path();
    let out = std::process::Command::new("valgrind")
        .args([
            "-q",
            "--leak-check=full",
            "--show-leak-kinds=definite,indirect",
            "--errors-for-leak-kinds=definite,indirect",
            "--error-exitcode=86",
        ])
        .arg(&bin)
        .args(["--test-threads=1", "-q"])
        .output()
        .expect("valgrind runs");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && !err.contains("=="),
        "valgrind on {}: {err}\n{}",
        bin.display(),
        String::from_utf8_lossy(&out.stdout)
    );
}
