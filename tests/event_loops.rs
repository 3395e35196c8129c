//! The event-loop examples (c-examples/poll-loop.c, glib-loop.c, uv-loop.c,
//! libevent-loop.c): each built with -Wall -Wextra -Werror against its
//! library (Debian's -dev packages, from scripts/setup) and run against the
//! Node `ws` echo server. Lines are fed to standard input one at a time,
//! each after the previous echo came back, so the program is idle in its
//! own loop when a line arrives and must get it out through the context.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::*;

fn example(name: &str, lib: Option<&str>) -> PathBuf {
    let source = root().join("c-examples").join(format!("{name}.c"));
    let (inc, link) = lib.map(pkg::pkg_flags).unwrap_or_default();
    let mut cflags = vec!["-std=c99".to_string(), "-I".into()];
    cflags.push(root().join("include").to_string_lossy().into_owned());
    cflags.extend(inc);
    let lib_path = static_lib().to_string_lossy().into_owned();
    let mut libs: Vec<&str> = vec![&lib_path];
    libs.extend(link.iter().map(String::as_str));
    libs.extend(["-lpthread", "-ldl", "-lm"]);
    compile(&source, name, &cflags, &libs)
}

const LINES: [&str; 4] = ["one", "two words", "three", "the fourth line"];
const LIMIT: Duration = Duration::from_secs(20);

/// Runs an example against a new echo server, feeding LINES one by one.
fn talk(exe: &PathBuf) {
    let srv = Server::node("echo");
    let mut child = Command::new(exe)
        .args(["-p", &srv.port.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the example starts");
    let (tx, rx) = mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let start = Instant::now();
    let next = |child: &mut std::process::Child| -> String {
        match rx.recv_timeout(LIMIT.saturating_sub(start.elapsed())) {
            Ok(l) => l,
            Err(_) => {
                let _ = child.kill();
                let mut err = String::new();
                let _ = std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err);
                panic!(
                    "{}: no line within {LIMIT:?}; stderr:\n{err}",
                    exe.display()
                );
            }
        }
    };
    assert_eq!(next(&mut child), "established");
    let mut stdin = child.stdin.take().unwrap();
    for l in LINES {
        // Idle for a moment, so the line arrives while the loop sleeps.
        std::thread::sleep(Duration::from_millis(50));
        writeln!(stdin, "{l}").unwrap();
        stdin.flush().unwrap();
        assert_eq!(next(&mut child), format!("echo: {l}"));
    }
    drop(stdin);
    assert_eq!(
        next(&mut child),
        format!("closed after {} echoes", LINES.len())
    );
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        assert!(start.elapsed() < LIMIT, "{} did not exit", exe.display());
        std::thread::sleep(Duration::from_millis(10));
    };
    assert!(status.success(), "{} exited with {status}", exe.display());
}

#[test]
fn poll_loop_watching_stdin() {
    talk(&example("poll-loop", None));
}

#[test]
fn glib_main_loop() {
    talk(&example("glib-loop", Some("glib-2.0")));
}

#[test]
fn libuv_loop() {
    talk(&example("uv-loop", Some("libuv")));
}

#[test]
fn libevent_loop() {
    talk(&example("libevent-loop", Some("libevent")));
}
