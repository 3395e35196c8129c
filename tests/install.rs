//! Installing like a C library: `scripts/install` into a temporary prefix
//! (the release build), then the minimal client built four ways against the
//! installed files (pkg-config shared and static, CMake shared and static)
//! and an lws-style program (tests/port/tx.c, unmodified) through the
//! `wsloop-lws` pkg-config module and CMake's `lws` component, each run
//! against a Node `ws` echo server. The shared builds load the installed
//! libwsloop.so.MAJOR (ldd says so); the static ones load no libwsloop.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::*;

const LIMIT: Duration = Duration::from_secs(30);
const VERSION: &str = env!("CARGO_PKG_VERSION");
const MAJOR: &str = env!("CARGO_PKG_VERSION_MAJOR");

fn install(prefix: &Path, destdir: Option<&Path>) {
    let mut cmd = Command::new(root().join("scripts/install"));
    without_test_env(&mut cmd).arg("--prefix").arg(prefix);
    cmd.env_remove("PREFIX")
        .env_remove("LIBDIR")
        .env_remove("INCLUDEDIR");
    match destdir {
        Some(d) => cmd.env("DESTDIR", d),
        None => cmd.env_remove("DESTDIR"),
    };
    stdout_of(&mut cmd);
}

/// The names of a file's sections (of every member, for an archive).
fn sections(file: &Path) -> Vec<String> {
    stdout_of(Command::new("readelf").arg("-SW").arg(file))
        .lines()
        .filter_map(|l| Some(l.split_once("] ")?.1.split_whitespace().next()?.to_string()))
        .collect()
}

fn has_debug_info(file: &Path) -> bool {
    sections(file).iter().any(|s| s.starts_with(".debug_"))
}

fn pkg_config(prefix: &Path, args: &[&str]) -> Vec<String> {
    stdout_of(
        Command::new("pkg-config")
            .args(args)
            .env("PKG_CONFIG_PATH", prefix.join("lib/pkgconfig")),
    )
    .split_whitespace()
    .map(String::from)
    .collect()
}

/// What `ldd` says about a program, with the installed lib dir on the path.
fn ldd(exe: &Path, libdir: &Path) -> String {
    stdout_of(Command::new("ldd").arg(exe).env("LD_LIBRARY_PATH", libdir))
}

fn assert_loads_installed(exe: &Path, libdir: &Path) {
    let l = ldd(exe, libdir);
    let want = format!(
        "libwsloop.so.{MAJOR} => {}",
        libdir.join(format!("libwsloop.so.{MAJOR}")).display()
    );
    assert!(
        l.contains(&want),
        "{}: no `{want}` in ldd:\n{l}",
        exe.display()
    );
}

fn assert_no_libwsloop(exe: &Path, libdir: &Path) {
    let l = ldd(exe, libdir);
    assert!(
        !l.contains("libwsloop"),
        "{} is a static build but loads libwsloop:\n{l}",
        exe.display()
    );
}

fn run_minimal(exe: &Path, libdir: &Path, port: u16) {
    let dir = libdir.to_string_lossy().into_owned();
    let (code, out, err) = run_env(
        exe,
        &["-p", &port.to_string()],
        &[("LD_LIBRARY_PATH", &dir)],
        LIMIT,
    );
    assert_eq!(code, 0, "{}: {out}{err}", exe.display());
    assert_eq!(out, "established\nreceived: hello from wsloop\nclosed\n");
}

fn run_tx(exe: &Path, libdir: &Path, port: u16) {
    let dir = libdir.to_string_lossy().into_owned();
    let (code, out, err) = run_env(
        exe,
        &["-p", &port.to_string(), "-n", "20"],
        &[("LD_LIBRARY_PATH", &dir)],
        LIMIT,
    );
    assert_eq!(code, 0, "{}: {out}{err}", exe.display());
    assert_eq!(
        out,
        "established\nclosed\nproduced 40, sent 40, received 40, bytes match\n"
    );
}

/// Configures and builds tests/install/CMakeLists.txt; returns its build dir.
fn cmake_build(prefix: &Path, dir: &Path, static_libs: bool) -> PathBuf {
    let _ = std::fs::remove_dir_all(dir);
    stdout_of(
        Command::new("cmake")
            .arg("-S")
            .arg(root().join("tests/install"))
            .arg("-B")
            .arg(dir)
            .arg(format!("-DCMAKE_PREFIX_PATH={}", prefix.display()))
            .arg(format!("-DWSLOOP_VERSION={VERSION}"))
            .arg(format!(
                "-DWSLOOP_USE_STATIC_LIBS={}",
                if static_libs { "ON" } else { "OFF" }
            )),
    );
    stdout_of(Command::new("cmake").arg("--build").arg(dir));
    dir.to_path_buf()
}

#[test]
fn installed_library_links_four_ways_and_through_the_lws_names() {
    let base = target_dir().join("install-test");
    let _ = std::fs::remove_dir_all(&base);
    let prefix = base.join("prefix");
    install(&prefix, None);
    let lib = prefix.join("lib");
    let so = lib.join(format!("libwsloop.so.{VERSION}"));

    // The files, the links and the SONAME.
    for f in [
        "include/wsloop/wsloop.h",
        "include/wsloop/wsloop/lws-compat.h",
        "include/wsloop/wsloop/lws/libwebsockets.h",
        "lib/libwsloop.a",
        "lib/pkgconfig/wsloop.pc",
        "lib/pkgconfig/wsloop-lws.pc",
        "lib/cmake/wsloop/wsloopConfig.cmake",
        "lib/cmake/wsloop/wsloopConfigVersion.cmake",
    ] {
        assert!(prefix.join(f).is_file(), "{f} was not installed");
    }
    assert_eq!(
        std::fs::read_link(lib.join(format!("libwsloop.so.{MAJOR}"))).unwrap(),
        PathBuf::from(format!("libwsloop.so.{VERSION}"))
    );
    assert_eq!(
        std::fs::read_link(lib.join("libwsloop.so")).unwrap(),
        PathBuf::from(format!("libwsloop.so.{MAJOR}"))
    );
    let dynamic = stdout_of(Command::new("readelf").arg("-d").arg(&so));
    assert!(
        dynamic.contains(&format!("Library soname: [libwsloop.so.{MAJOR}]")),
        "{dynamic}"
    );
    assert_exports_match_list(&so);

    // Debug info: split out of both libraries, kept beside them for gdb.
    assert!(!has_debug_info(&so), "{} has debug info", so.display());
    assert!(sections(&so).iter().any(|s| s == ".gnu_debuglink"));
    assert!(!has_debug_info(&lib.join("libwsloop.a")));
    let debug = lib.join(format!(".debug/libwsloop.so.{VERSION}.debug"));
    assert!(
        has_debug_info(&debug),
        "{} holds no debug info",
        debug.display()
    );

    let version = pkg_config(&prefix, &["--modversion", "wsloop-lws"]);
    assert_eq!(version, [VERSION]);

    let srv = Server::node("echo");
    let example = root().join("c-examples/minimal-client.c");
    let c99 = |mut v: Vec<String>| {
        v.insert(0, "-std=c99".into());
        v
    };

    // pkg-config, shared.
    let cflags = c99(pkg_config(&prefix, &["--cflags", "wsloop"]));
    let libs = pkg_config(&prefix, &["--libs", "wsloop"]);
    let libs: Vec<&str> = libs.iter().map(String::as_str).collect();
    let exe = compile(&example, "install-pc-shared", &cflags, &libs);
    assert_loads_installed(&exe, &lib);
    run_minimal(&exe, &lib, srv.port);

    // pkg-config, static: the archive in place of -lwsloop, then the
    // system libraries of Libs.private (the README's command).
    let private = pkg_config(&prefix, &["--static", "--libs", "wsloop"]);
    let mut libs = vec![
        "-Wl,-Bstatic",
        "-lwsloop",
        "-Wl,-Bdynamic",
        "-Wl,--as-needed",
    ];
    libs.extend(private.iter().map(String::as_str));
    let exe = compile(&example, "install-pc-static", &cflags, &libs);
    assert_no_libwsloop(&exe, &lib);
    run_minimal(&exe, &lib, srv.port);

    // An lws program through wsloop-lws: `pkg-config libwebsockets` renamed.
    let lws_cflags = pkg_config(&prefix, &["--cflags", "wsloop-lws"]);
    let mut lws_libs = pkg_config(&prefix, &["--libs", "wsloop-lws"]);
    lws_libs.push("-lpthread".into());
    let lws_libs: Vec<&str> = lws_libs.iter().map(String::as_str).collect();
    let tx = root().join("tests/port/tx.c");
    let exe = compile(&tx, "install-pc-lws", &lws_cflags, &lws_libs);
    assert_loads_installed(&exe, &lib);
    run_tx(&exe, &lib, srv.port);

    // CMake, shared then static; each also builds the lws program.
    for (static_libs, name) in [(false, "cmake-shared"), (true, "cmake-static")] {
        let dir = cmake_build(&prefix, &base.join(name), static_libs);
        for exe in [dir.join("minimal-client"), dir.join("tx")] {
            if static_libs {
                assert_no_libwsloop(&exe, &lib);
            } else {
                assert_loads_installed(&exe, &lib);
            }
        }
        run_minimal(&dir.join("minimal-client"), &lib, srv.port);
        run_tx(&dir.join("tx"), &lib, srv.port);
    }
}

#[test]
fn destdir_stages_without_being_recorded() {
    let base = target_dir().join("install-test-destdir");
    let _ = std::fs::remove_dir_all(&base);
    let stage = base.join("stage");
    install(Path::new("/opt/wsloop"), Some(&stage));
    let root_dir = stage.join("opt/wsloop");
    assert!(root_dir
        .join(format!("lib/libwsloop.so.{VERSION}"))
        .is_file());
    for f in [
        "lib/pkgconfig/wsloop.pc",
        "lib/pkgconfig/wsloop-lws.pc",
        "lib/cmake/wsloop/wsloopConfig.cmake",
    ] {
        let text = std::fs::read_to_string(root_dir.join(f)).unwrap();
        assert!(text.contains("/opt/wsloop/"), "{f}:\n{text}");
        assert!(
            !text.contains(&*stage.to_string_lossy()),
            "{f} records DESTDIR:\n{text}"
        );
    }
}

#[test]
fn install_refuses_a_relative_prefix() {
    let out = Command::new(root().join("scripts/install"))
        .args(["--prefix", "relative/dir"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("install: 'relative/dir' is not an absolute path"),
        "{err}"
    );
}
