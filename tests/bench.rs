//! A smoke run of the benchmark (bench/), so it cannot rot: the programs
//! build with -Wall -Wextra -Werror, and a tiny cell of each client runs
//! against the bench echo server with every echo checked, over TCP and over
//! TLS (wss://, with the test certificates). No timings are asserted. The
//! libwebsockets build is tried only where its header exists; the Boost.Beast
//! and WebSocket++ clients (which scripts/setup installs) always run.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use common::*;

const LIMIT: Duration = Duration::from_secs(60);

struct EchoServer {
    child: Child,
    port: u16,
}

impl EchoServer {
    /// `tls`: the server's certificate and key files. The plain servers
    /// listen on 127.0.0.1 to 127.0.0.3 (the scale cells' spreading).
    fn start(exe: &Path, mode: &str, tls: Option<(&str, &str)>) -> EchoServer {
        let mut args = vec!["--port", "0", "--mode", mode];
        if tls.is_none() {
            args.extend(["--addrs", "3"]);
        }
        if let Some((cert, key)) = tls {
            args.extend(["--tls", cert, key]);
        }
        let mut child = Command::new(exe)
            .args(&args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("echo server starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line
            .trim()
            .strip_prefix("listening ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("unexpected echo-server output {line:?}"));
        EchoServer { child, port }
    }
}

impl Drop for EchoServer {
    fn drop(&mut self) {
        drop(self.child.stdin.take()); // it exits when stdin closes
        let _ = self.child.wait();
    }
}

fn bench_src(name: &str) -> PathBuf {
    root().join("bench").join(name)
}

/// The C++ peer clients, bench/NAME-client.cpp, and the lib= their result
/// lines carry (the second Beast one runs with a 64 KiB write buffer).
const PEERS: [(&str, &[&str], &str); 3] = [
    ("beast", &[], "beast"),
    ("beast", &["--write-buffer", "65536"], "beast-64k"),
    ("websocketpp", &[], "websocketpp"),
];

/// Starts compiling bench/NAME-client.cpp into target/c-bin in the
/// background: Asio's templates take seconds, so both peers compile side by
/// side while the C clients run. -O0: bench/run builds them optimised; here
/// they only have to build and echo.
fn start_cxx(name: &str) -> (Child, PathBuf) {
    let header = match name {
        "beast" => ("/usr/include/boost/beast/websocket.hpp", "libboost-dev"),
        _ => ("/usr/include/websocketpp/client.hpp", "libwebsocketpp-dev"),
    };
    assert!(
        Path::new(header.0).exists(),
        "bench/{name}-client.cpp needs {} ({} is missing): run scripts/setup",
        header.1,
        header.0
    );
    let out_dir = target_dir().join("c-bin");
    std::fs::create_dir_all(&out_dir).unwrap();
    let exe = out_dir.join(format!("client-{name}"));
    let child = Command::new("c++")
        .args(["-std=c++17", "-O0", "-Wall", "-Wextra", "-Werror"])
        .arg(bench_src(&format!("{name}-client.cpp")))
        .arg("-o")
        .arg(&exe)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("c++ runs");
    (child, exe)
}

fn finish_cxx((child, exe): (Child, PathBuf)) -> PathBuf {
    let Output { status, stderr, .. } = child.wait_with_output().unwrap();
    assert!(
        status.success(),
        "compiling {} failed:\n{}",
        exe.display(),
        String::from_utf8_lossy(&stderr)
    );
    exe
}

/// Runs one cell; checks the result line says every echo came back intact.
fn cell(exe: &Path, port: u16, args: &[&str]) -> String {
    let port = port.to_string();
    let mut all = vec!["-p", &port, "-t", "50"];
    all.extend_from_slice(args);
    let (code, out, err) = run(exe, &all, LIMIT);
    assert_eq!(code, 0, "{} {all:?}: {out}{err}", exe.display());
    assert!(
        out.contains(" mismatches=0 errors=0"),
        "{} {all:?}: {out}",
        exe.display()
    );
    out
}

#[test]
fn bench_clients_echo_against_the_bench_server() {
    let beast = start_cxx("beast");
    let websocketpp = start_cxx("websocketpp");
    let ssl = ["-lssl", "-lcrypto"];
    let server = compile(&bench_src("echo-server.c"), "echo-server", &[], &ssl);
    let client = build_c(&bench_src("client.c"), &[]);
    let raw_client = compile(&bench_src("raw-client.c"), "raw-client", &[], &ssl);
    let ws = EchoServer::start(&server, "ws", None);
    let raw = EchoServer::start(&server, "raw", None);
    let pki = tls::pki();
    let cert = pki.file("bench-server.pem", &pki.good.cert_pem);
    let key = pki.file("bench-server.key", &pki.good.key_pem);
    let ca = pki.file("bench-ca.pem", &pki.ca_pem);
    let wss = EchoServer::start(&server, "ws", Some((&cert, &key)));
    let raw_tls = EchoServer::start(&server, "raw", Some((&cert, &key)));

    let mut lines = Vec::new();
    // Small and large messages, several in flight, several connections.
    for args in [
        ["-c", "3", "-w", "4", "-s", "16", "-n", "200"],
        ["-c", "2", "-w", "2", "-s", "300000", "-n", "5"],
    ] {
        let out = cell(&client, ws.port, &args);
        assert!(out.starts_with("lib=wsloop "), "{out}");
        lines.push(out);
        lines.push(cell(&raw_client, raw.port, &args));
    }
    // Idle connections beside an active one.
    for (exe, port) in [(&client, ws.port), (&raw_client, raw.port)] {
        let out = cell(exe, port, &["-c", "5", "-i", "4", "-s", "100", "-n", "50"]);
        assert!(out.contains(" msgs=50 "), "{out}");
        lines.push(out);
    }
    // A timed cell stops by itself.
    lines.push(cell(&client, ws.port, &["-s", "1024", "-d", "0.2"]));
    // Connections spread over 127.0.0.1-3 (the scale cells' -A), idle
    // ones among them.
    for (exe, port) in [(&client, ws.port), (&raw_client, raw.port)] {
        let args = ["-c", "7", "-i", "3", "-A", "3", "-s", "64", "-n", "20"];
        let out = cell(exe, port, &args);
        assert!(
            out.contains(" established=7 ") && out.contains(" msgs=80 "),
            "{out}"
        );
        lines.push(out);
    }

    // wss:// and the raw-TLS ceiling: small and large messages.
    let mut tls_lines = Vec::new();
    for args in [
        ["-c", "2", "-w", "4", "-s", "1024", "-n", "100"],
        ["-c", "1", "-w", "2", "-s", "300000", "-n", "4"],
    ] {
        let mut args = args.to_vec();
        args.extend(["-T", &ca]);
        let out = cell(&client, wss.port, &args);
        assert!(out.starts_with("lib=wsloop tls=1 "), "{out}");
        tls_lines.push(out);
        let out = cell(&raw_client, raw_tls.port, &args);
        assert!(out.starts_with("lib=raw tls=1 "), "{out}");
        tls_lines.push(out);
    }

    // Where libwebsockets is installed, the same source builds against it.
    let mut lws = None;
    if Path::new("/usr/include/libwebsockets.h").exists() {
        let exe = root().join("target/c-bin/client-lws");
        let st = Command::new("cc")
            .args(["-std=c99", "-Wall", "-Wextra", "-Werror", "-DUSE_LWS"])
            .arg(bench_src("client.c"))
            .args(["-lwebsockets", "-o"])
            .arg(&exe)
            .status()
            .expect("cc runs");
        assert!(
            st.success(),
            "bench/client.c does not build against libwebsockets"
        );
        let out = cell(
            &exe,
            ws.port,
            &["-c", "2", "-w", "4", "-s", "1024", "-n", "100"],
        );
        assert!(out.starts_with("lib=lws "), "{out}");
        lines.push(out);
        let out = cell(
            &exe,
            wss.port,
            &["-c", "2", "-w", "4", "-s", "1024", "-n", "100", "-T", &ca],
        );
        assert!(out.starts_with("lib=lws tls=1 "), "{out}");
        tls_lines.push(out);
        lws = Some(exe);
    } else {
        println!("bench smoke: libwebsockets-dev is not installed; the lws build is skipped (bench/run installs it)");
    }

    // The compressed cells (bench/run's z-*): permessage-deflate offered
    // from an extension table and accepted on every connection, with each
    // of the offers, on JSON-like text and on random bytes.
    let mut z_lines = Vec::new();
    for exe in std::iter::once(&client).chain(lws.as_ref()) {
        for args in [
            [
                "-c", "1", "-w", "64", "-s", "1024", "-j", "1", "-z", "1", "-n", "300",
            ],
            [
                "-c", "1", "-w", "8", "-s", "65536", "-j", "1", "-z", "2", "-n", "20",
            ],
            [
                "-c", "2", "-w", "8", "-s", "65536", "-j", "0", "-z", "3", "-n", "10",
            ],
        ] {
            let out = cell(exe, ws.port, &args);
            let conns = args[1];
            assert!(
                out.contains(&format!(" deflate={} ", args[9]))
                    && out.contains(&format!(" negotiated={conns} ")),
                "{out}"
            );
            z_lines.push(out);
        }
    }

    // The C++ peers: the same plain cells, and a timed one.
    let beast = finish_cxx(beast);
    let websocketpp = finish_cxx(websocketpp);
    for (name, pre, lib) in PEERS {
        let exe = if name == "beast" {
            &beast
        } else {
            &websocketpp
        };
        for args in [
            &["-c", "3", "-w", "4", "-s", "16", "-n", "200"][..],
            &["-c", "2", "-w", "2", "-s", "300000", "-n", "5"],
            &["-c", "5", "-i", "4", "-s", "100", "-n", "50"],
            &["-s", "1024", "-d", "0.2"],
            &["-c", "4", "-A", "2", "-s", "64", "-n", "20"],
        ] {
            let mut all = pre.to_vec();
            all.extend_from_slice(args);
            let out = cell(exe, ws.port, &all);
            assert!(out.starts_with(&format!("lib={lib} ")), "{out}");
            if args.contains(&"-i") {
                assert!(out.contains(" msgs=50 "), "{out}");
            }
            lines.push(out);
        }
    }

    // The table script reads these lines.
    let results = root().join("target/c-bin/bench-smoke-results.txt");
    let text: String = lines
        .iter()
        .map(|l| format!("cell=1x1-1k rep=1 {} server_cpu_pct=0\n", l.trim()))
        .chain(
            tls_lines
                .iter()
                .map(|l| format!("cell=wss-1x1-1k rep=1 {} server_cpu_pct=0\n", l.trim())),
        )
        .chain(
            z_lines
                .iter()
                .map(|l| format!("cell=z-1x64-1k-json rep=1 {} server_cpu_pct=0\n", l.trim())),
        )
        .collect();
    std::fs::write(&results, text).unwrap();
    let table = Command::new("python3")
        .arg(bench_src("table.py"))
        .arg(&results)
        .output()
        .expect("python3 runs");
    let table_out = String::from_utf8_lossy(&table.stdout);
    assert!(
        table.status.success()
            && table_out.contains("| 1 conn × 1 in flight, 1 KiB | msg/s |")
            && table_out.contains("| wss:// 1 conn × 1 in flight, 1 KiB | msg/s |")
            && table_out.contains(
                "| permessage-deflate, 1 conn × 64 in flight, 1 KiB JSON-like text | msg/s |"
            ),
        "{table_out}{}",
        String::from_utf8_lossy(&table.stderr)
    );
    // Every client has a figure in the plain row, and wsloop's ratio to the
    // best peer names that peer.
    let header: Vec<&str> = table_out.lines().next().unwrap().split(" | ").collect();
    let plain: Vec<&str> = table_out
        .lines()
        .find(|l| l.starts_with("| 1 conn × 1 in flight, 1 KiB | msg/s |"))
        .unwrap()
        .split(" | ")
        .collect();
    for column in [
        "wsloop",
        "Boost.Beast",
        "Beast, 64 KiB write buffer",
        "WebSocket++",
        "raw TCP (TLS for wss://)",
    ] {
        let i = header.iter().position(|h| *h == column);
        let value = i.and_then(|i| plain.get(i)).copied().unwrap_or("–");
        assert_ne!(value, "–", "no {column} figure:\n{table_out}");
    }
    let best = header.iter().position(|h| *h == "wsloop/best peer");
    assert!(
        best.and_then(|i| plain.get(i))
            .is_some_and(|v| v.ends_with(')')),
        "the best peer is not named:\n{table_out}"
    );
}

/// bench/run's BENCH_STRACE=1 lines (two runs per client, n and n + k
/// messages per connection) become system calls per message: the
/// difference of the counts over the difference of the messages.
#[test]
fn the_syscalls_table_counts_calls_per_message() {
    let results = root().join("target/c-bin/bench-smoke-syscalls.txt");
    std::fs::create_dir_all(results.parent().unwrap()).unwrap();
    let lines = [
        "cell=100x1-1k lib=wsloop n=5 active=100 calls=1700 sc.sendto=500 sc.recvfrom=520 sc.epoll_wait=600",
        "cell=100x1-1k lib=wsloop n=25 active=100 calls=7700 sc.sendto=2500 sc.recvfrom=2520 sc.epoll_wait=2600",
        "cell=100x1-1k lib=raw n=5 active=100 calls=1600",
        "cell=100x1-1k lib=raw n=25 active=100 calls=8100",
        "cell=100x1-1k lib=beast n=5 active=100 calls=900",
    ];
    std::fs::write(&results, lines.join("\n") + "\n").unwrap();
    let table = Command::new("python3")
        .arg(bench_src("table.py"))
        .arg("--syscalls")
        .arg(&results)
        .output()
        .expect("python3 runs");
    let out = String::from_utf8_lossy(&table.stdout);
    assert!(
        table.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&table.stderr)
    );
    // wsloop: 6,000 calls over 2,000 messages; raw: 6,500; Beast ran once.
    let row = out
        .lines()
        .find(|l| l.starts_with("| 100 conns × 1, 1 KiB |"))
        .unwrap_or_else(|| panic!("no row:\n{out}"));
    assert_eq!(
        row,
        "| 100 conns × 1, 1 KiB | 3.00 | – | – | – | – | 3.25 | 0.92 | sendto 1.00, recvfrom 1.00, epoll_wait 1.00 |",
        "{out}"
    );
}
