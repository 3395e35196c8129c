//! Test harness: peer servers started as child processes, C programs built
//! against the library, and a recorder that drives the C API from Rust.
#![allow(dead_code)]

use std::cell::RefCell;
use std::ffi::{c_int, c_void, CStr, CString};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use wsloop::ffi::*;

pub mod hostile;
pub mod pkg;
pub mod proxies;
pub mod tls;

// ---- log lines ----

static LINES: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

unsafe extern "C" fn emit(_level: c_int, line: *const std::ffi::c_char) {
    let line = CStr::from_ptr(line)
        .to_string_lossy()
        .trim_end()
        .to_string();
    LINES.lock().unwrap().push(line);
}

/// Sends the library's log lines of `mask` to a list `logged` searches.
pub fn capture_log(mask: c_int) {
    unsafe { ws_set_log_level(mask, log_emitter()) };
}

/// The emitter `capture_log` installs.
pub fn log_emitter() -> ws_log_emit_t {
    Some(emit)
}

/// A captured log line contains `needle`.
pub fn logged(needle: &str) -> bool {
    LINES.lock().unwrap().iter().any(|l| l.contains(needle))
}

/// The lines captured so far (without their trailing newline).
pub fn log_lines() -> Vec<String> {
    LINES.lock().unwrap().clone()
}

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"))
}

/// Removes what cargo sets for a test (OUT_DIR, CARGO_PKG_*, ...) from the
/// environment of a cargo run inside it: ring's build script watches such
/// variables, so cargo would rebuild ring and all above it here, and again
/// at the next build outside the test.
pub fn without_test_env(cmd: &mut Command) -> &mut Command {
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy();
        if key == "OUT_DIR"
            || (key.starts_with("CARGO_") && key != "CARGO_HOME" && key != "CARGO_TARGET_DIR")
        {
            cmd.env_remove(&*key);
        }
    }
    cmd
}

/// The static library, built once per test binary.
pub fn static_lib() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
            let st = without_test_env(&mut Command::new(cargo))
                .args(["build", "--lib", "--quiet"])
                .current_dir(root())
                .status()
                .expect("cargo runs");
            assert!(st.success(), "cargo build --lib failed");
            target_dir().join("debug/libwsloop.a")
        })
        .clone()
}

/// Compiles a C source against include/ and the static library with
/// -Wall -Wextra -Werror; returns the program.
pub fn build_c(source: &Path, extra: &[&str]) -> PathBuf {
    let name = source.file_stem().unwrap().to_string_lossy().into_owned();
    let mut flags = vec!["-std=c99".to_string(), "-I".into()];
    flags.push(root().join("include").to_string_lossy().into_owned());
    flags.extend(extra.iter().map(|s| s.to_string()));
    let lib = static_lib().to_string_lossy().into_owned();
    compile(source, &name, &flags, &[&lib, "-lpthread", "-ldl", "-lm"])
}

/// Compiles `source` into target/c-bin/`name` with -Wall -Wextra -Werror,
/// `flags` before the source and `libs` after it.
pub fn compile(source: &Path, name: &str, flags: &[String], libs: &[&str]) -> PathBuf {
    let out_dir = target_dir().join("c-bin");
    std::fs::create_dir_all(&out_dir).unwrap();
    let exe = out_dir.join(name);
    let out = Command::new("cc")
        .args(["-Wall", "-Wextra", "-Werror", "-g"])
        .args(flags)
        .arg(source)
        .args(libs)
        .arg("-o")
        .arg(&exe)
        .output()
        .expect("cc runs");
    assert!(
        out.status.success(),
        "compiling {} failed:\n{}",
        source.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    exe
}

/// Runs a program with a time limit; returns (exit code, stdout, stderr).
pub fn run(exe: &Path, args: &[&str], limit: Duration) -> (i32, String, String) {
    run_env(exe, args, &[], limit)
}

/// `run` with environment variables set (an empty value removes one).
pub fn run_env(
    exe: &Path,
    args: &[&str],
    env: &[(&str, &str)],
    limit: Duration,
) -> (i32, String, String) {
    let mut cmd = Command::new(exe);
    for (k, v) in env {
        if v.is_empty() {
            cmd.env_remove(k);
        } else {
            cmd.env(k, v);
        }
    }
    let mut child = cmd
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("program starts");
    let start = Instant::now();
    loop {
        if let Some(st) = child.try_wait().unwrap() {
            let mut o = String::new();
            let mut e = String::new();
            child.stdout.take().unwrap().read_to_string(&mut o).unwrap();
            child.stderr.take().unwrap().read_to_string(&mut e).unwrap();
            return (st.code().unwrap_or(-1), o, e);
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let mut o = String::new();
            child.stdout.take().unwrap().read_to_string(&mut o).unwrap();
            panic!(
                "{} did not finish within {limit:?}; stdout so far:\n{o}",
                exe.display()
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A peer server child process; stopped (stdin closed, then killed) on drop.
pub struct Server {
    child: Child,
    pub port: u16,
}

impl Server {
    pub fn start(mut cmd: Command) -> Server {
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("server starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .expect("server prints its port");
        let port = line
            .trim()
            .strip_prefix("listening ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("unexpected server output {line:?}"));
        Server { child, port }
    }

    /// Node `ws` server in a mode of tests/servers/ws-server.js.
    pub fn node(mode: &str) -> Server {
        Server::node_with(mode, &[])
    }

    pub fn node_with(mode: &str, args: &[&str]) -> Server {
        let dir = root().join("tests/servers");
        assert!(
            dir.join("node_modules/ws").exists(),
            "run `npm ci` in tests/servers first (.ci/run does)"
        );
        let mut cmd = Command::new("node");
        cmd.current_dir(&dir)
            .args(["ws-server.js", "--port", "0", "--mode", mode])
            .args(args);
        Server::start(cmd)
    }

    /// tests/servers/restart-server.js: redirects, dropped connections,
    /// a pause in listening (its header lists the arguments).
    pub fn restart(args: &[&str]) -> Server {
        let mut cmd = Command::new("node");
        cmd.current_dir(root().join("tests/servers"))
            .args(["restart-server.js", "--port", "0"])
            .args(args);
        Server::start(cmd)
    }

    /// Python `websockets` echo server.
    pub fn python() -> Server {
        Server::python_with(&[])
    }

    /// Python `websockets` echo server with py_echo.py's `args`.
    pub fn python_with(args: &[&str]) -> Server {
        let mut cmd = Command::new("python3");
        cmd.current_dir(root().join("tests/servers"))
            .args(["py_echo.py", "--port", "0"])
            .args(args);
        Server::start(cmd)
    }

    /// libwebsockets' own echo server with its permessage-deflate
    /// (tests/servers/lws-echo-server.c, built once per test binary), with
    /// its `args`.
    pub fn lws_echo(args: &[&str]) -> Server {
        static EXE: OnceLock<PathBuf> = OnceLock::new();
        let exe = EXE.get_or_init(|| {
            assert!(
                Path::new("/usr/include/libwebsockets.h").exists(),
                "the libwebsockets echo server needs libwebsockets-dev (scripts/setup installs it)"
            );
            compile(
                &root().join("tests/servers/lws-echo-server.c"),
                "lws-echo-server",
                &["-std=c99".to_string(), "-O2".to_string()],
                &["-lwebsockets", "-lpthread"],
            )
        });
        let mut cmd = Command::new(exe);
        cmd.args(args);
        Server::start(cmd)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A raw TCP server on 127.0.0.1 that runs `f` on the first connection.
pub fn raw_server(f: impl FnOnce(TcpStream) + Send + 'static) -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        if let Ok((s, _)) = l.accept() {
            s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            f(s)
        }
    });
    port
}

/// Reads an HTTP request head; returns the Sec-WebSocket-Key.
pub fn read_request(s: &mut TcpStream) -> String {
    read_head(s).1
}

/// Reads an HTTP request head; returns it as it came, and its Sec-WebSocket-Key.
pub fn read_head(s: &mut TcpStream) -> (String, String) {
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if s.read(&mut b).unwrap_or(0) == 0 {
            break;
        }
        head.push(b[0]);
    }
    let text = String::from_utf8_lossy(&head).to_string();
    let key = text
        .lines()
        .find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.eq_ignore_ascii_case("sec-websocket-key")
                .then(|| v.trim().to_string())
        })
        .unwrap_or_default();
    (text, key)
}

/// A correct 101 response for `key`, plus extra header lines.
pub fn upgrade_response(key: &str, extra: &str) -> String {
    let accept = tungstenite::handshake::derive_accept_key(key.as_bytes());
    format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n{extra}\r\n"
    )
}

/// An unmasked server frame.
pub fn server_frame(b0: u8, payload: &[u8]) -> Vec<u8> {
    let mut v = vec![b0];
    match payload.len() {
        n if n < 126 => v.push(n as u8),
        n if n <= 65535 => {
            v.push(126);
            v.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            v.push(127);
            v.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    v.extend_from_slice(payload);
    v
}

/// Reads one masked client frame: (opcode byte, unmasked payload).
pub fn read_client_frame(s: &mut TcpStream) -> Option<(u8, Vec<u8>)> {
    let mut h = [0u8; 2];
    s.read_exact(&mut h).ok()?;
    let mut len = (h[1] & 0x7f) as u64;
    if len == 126 {
        let mut b = [0u8; 2];
        s.read_exact(&mut b).ok()?;
        len = u16::from_be_bytes(b) as u64;
    } else if len == 127 {
        let mut b = [0u8; 8];
        s.read_exact(&mut b).ok()?;
        len = u64::from_be_bytes(b);
    }
    assert!(h[1] & 0x80 != 0, "client frames are masked");
    let mut mask = [0u8; 4];
    s.read_exact(&mut mask).ok()?;
    let mut p = vec![0u8; len as usize];
    s.read_exact(&mut p).ok()?;
    for (i, b) in p.iter_mut().enumerate() {
        *b ^= mask[i % 4];
    }
    Some((h[0], p))
}

pub fn write_all(s: &mut TcpStream, b: &[u8]) {
    let _ = s.write_all(b);
}

// ---- driving the C API from Rust ----

/// One recorded callback.
#[derive(Clone, Debug)]
pub struct Ev {
    pub wsi: usize,
    pub reason: i32,
    pub data: Vec<u8>,
    pub first: bool,
    pub last: bool,
    pub binary: bool,
    pub remaining: usize,
    /// For RECEIVE: the byte after the payload was 0.
    pub nul_after: bool,
}

impl Ev {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.data).to_string()
    }
}

type Hook = Box<dyn FnMut(*mut ws, i32, *mut c_void, usize) -> Option<c_int>>;

/// Records every callback of a context; a hook can act and choose the return value.
#[derive(Default)]
pub struct Recorder {
    pub events: Vec<Ev>,
    pub hook: Option<Hook>,
}

pub unsafe extern "C" fn record_cb(
    wsi: *mut ws,
    reason: ws_callback_reasons,
    user: *mut c_void,
    in_: *mut c_void,
    len: usize,
) -> c_int {
    let ctx = ws_get_context(wsi);
    let rec = ws_context_user(ctx) as *const RefCell<Recorder>;
    let Some(rec) = rec.as_ref() else { return 0 };
    let r = reason as i32;
    // CLIENT_HTTP_REDIRECT (104): `in` is the Location, `len` the status.
    let redirect = r == ws_callback_reasons::WS_CALLBACK_CLIENT_HTTP_REDIRECT as i32;
    let with_text = [1, 8, 9, 38, 900, 901].contains(&r);
    let data = if in_.is_null() || !(with_text || redirect) {
        Vec::new()
    } else if redirect {
        CStr::from_ptr(in_ as *const std::ffi::c_char)
            .to_bytes()
            .to_vec()
    } else {
        std::slice::from_raw_parts(in_ as *const u8, len).to_vec()
    };
    let receive = r == ws_callback_reasons::WS_CALLBACK_CLIENT_RECEIVE as i32;
    let ev = Ev {
        wsi: wsi as usize,
        reason: r,
        nul_after: (receive || r == 1 || r == 900 || r == 901) && *(in_ as *const u8).add(len) == 0,
        data,
        first: receive && ws_is_first_fragment(wsi) != 0,
        last: receive && ws_is_final_fragment(wsi) != 0,
        binary: receive && ws_frame_is_binary(wsi) != 0,
        remaining: if redirect {
            len
        } else if receive {
            ws_remaining_packet_payload(wsi)
        } else {
            0
        },
    };
    rec.borrow_mut().events.push(ev);
    let hook = rec.borrow_mut().hook.take();
    if let Some(mut h) = hook {
        let out = h(wsi, r, in_, len);
        let mut b = rec.borrow_mut();
        if b.hook.is_none() {
            b.hook = Some(h);
        }
        drop(b);
        if let Some(v) = out {
            return v;
        }
    }
    ws_callback_http_dummy(wsi, reason, user, in_, len)
}

/// A context whose single protocol records into a Recorder.
pub struct Ctx {
    pub ctx: *mut ws_context,
    pub rec: Box<RefCell<Recorder>>,
    _names: Vec<CString>,
    _protocols: Box<[ws_protocols; 3]>,
}

pub struct CtxOpts {
    pub rx_buffer_size: usize,
    pub pss: usize,
    pub timeout_secs: u32,
    pub second_protocol: Option<&'static str>,
    pub max_message_size: u64,
}

impl Default for CtxOpts {
    fn default() -> Self {
        CtxOpts {
            rx_buffer_size: 0,
            pss: 64,
            timeout_secs: 0,
            second_protocol: None,
            max_message_size: 0,
        }
    }
}

pub const PROTO: &str = "test-proto";

impl Ctx {
    pub fn new(o: CtxOpts) -> Ctx {
        Ctx::with_info(o, |_| {}).expect("ws_create_context failed")
    }

    /// A context whose creation info `f` adjusts; None when creation fails.
    pub fn with_info(o: CtxOpts, f: impl FnOnce(&mut ws_context_creation_info)) -> Option<Ctx> {
        let rec = Box::new(RefCell::new(Recorder::default()));
        let n1 = CString::new(PROTO).unwrap();
        let n2 = CString::new(o.second_protocol.unwrap_or("second")).unwrap();
        let mut protocols: Box<[ws_protocols; 3]> = Box::new(unsafe { std::mem::zeroed() });
        protocols[0].name = n1.as_ptr();
        protocols[0].callback = Some(record_cb);
        protocols[0].per_session_data_size = o.pss;
        protocols[0].rx_buffer_size = o.rx_buffer_size;
        if o.second_protocol.is_some() {
            protocols[1].name = n2.as_ptr();
            protocols[1].callback = Some(record_cb);
            protocols[1].per_session_data_size = o.pss;
        }
        let mut info: ws_context_creation_info = unsafe { std::mem::zeroed() };
        info.port = WS_CONTEXT_PORT_NO_LISTEN;
        info.protocols = protocols.as_ptr();
        info.user = &*rec as *const RefCell<Recorder> as *mut c_void;
        info.timeout_secs = o.timeout_secs;
        info.max_message_size = o.max_message_size;
        f(&mut info);
        let ctx = unsafe { ws_create_context(&info) };
        if ctx.is_null() {
            return None;
        }
        Some(Ctx {
            ctx,
            rec,
            _names: vec![n1, n2],
            _protocols: protocols,
        })
    }

    pub fn hook(&self, h: impl FnMut(*mut ws, i32, *mut c_void, usize) -> Option<c_int> + 'static) {
        self.rec.borrow_mut().hook = Some(Box::new(h));
    }

    /// Connects to 127.0.0.1:port (or `address`).
    pub fn connect(
        &self,
        address: &str,
        port: u16,
        protocol: Option<&str>,
        f: impl FnOnce(&mut ws_client_connect_info),
    ) -> *mut ws {
        let a = CString::new(address).unwrap();
        let p = protocol.map(|p| CString::new(p).unwrap());
        let path = CString::new("/").unwrap();
        let mut ci: ws_client_connect_info = unsafe { std::mem::zeroed() };
        ci.context = self.ctx;
        ci.address = a.as_ptr();
        ci.port = port as c_int;
        ci.path = path.as_ptr();
        ci.protocol = p.as_ref().map_or(std::ptr::null(), |p| p.as_ptr());
        f(&mut ci);
        unsafe { ws_client_connect_via_info(&ci) }
    }

    /// Services until `done` is true for the recorded events, or panics after `limit`.
    pub fn service_until(&self, limit: Duration, mut done: impl FnMut(&[Ev]) -> bool) {
        let start = Instant::now();
        while !done(&self.rec.borrow().events) {
            assert!(
                start.elapsed() < limit,
                "not done within {limit:?}; events: {:?}",
                self.reasons()
            );
            assert_eq!(unsafe { ws_service(self.ctx, 50) }, 0);
        }
    }

    pub fn reasons(&self) -> Vec<i32> {
        self.rec.borrow().events.iter().map(|e| e.reason).collect()
    }

    pub fn events(&self, reason: ws_callback_reasons) -> Vec<Ev> {
        self.rec
            .borrow()
            .events
            .iter()
            .filter(|e| e.reason == reason as i32)
            .cloned()
            .collect()
    }

    pub fn has(&self, reason: ws_callback_reasons) -> bool {
        !self.events(reason).is_empty()
    }

    /// The CLIENT_CONNECTION_ERROR message (waits for it).
    pub fn connection_error(&self, limit: Duration) -> String {
        self.service_until(limit, |e| e.iter().any(|e| e.reason == 30));
        let cce = self.events(ws_callback_reasons::WS_CALLBACK_CLIENT_CONNECTION_ERROR);
        assert_eq!(
            cce.len(),
            1,
            "one CLIENT_CONNECTION_ERROR; events {:?}",
            self.reasons()
        );
        assert!(!self.has(ws_callback_reasons::WS_CALLBACK_CLIENT_CLOSED));
        assert!(cce[0].nul_after, "the message is NUL-terminated");
        cce[0].text()
    }
}

impl Drop for Ctx {
    fn drop(&mut self) {
        unsafe { ws_context_destroy(self.ctx) };
    }
}

/// A keepalive policy and nothing else.
pub fn keepalive_policy(ping: u16, hangup: u16) -> Box<ws_retry_bo_t> {
    Box::new(ws_retry_bo_t {
        retry_ms_table: std::ptr::null(),
        retry_ms_table_count: 0,
        conceal_count: 0,
        secs_since_valid_ping: ping,
        secs_since_valid_hangup: hangup,
        jitter_percent: 0,
    })
}

/// Writes a text message from inside a callback (with WS_PRE headroom).
pub fn send(wsi: *mut ws, kind: c_int, payload: &[u8]) -> c_int {
    let mut buf = vec![0u8; WS_PRE + payload.len()];
    buf[WS_PRE..].copy_from_slice(payload);
    unsafe { ws_write(wsi, buf.as_mut_ptr().add(WS_PRE), payload.len(), kind) }
}

pub fn cstr(p: *const c_void) -> String {
    unsafe { CStr::from_ptr(p as *const std::ffi::c_char) }
        .to_string_lossy()
        .to_string()
}

pub const SECS5: Duration = Duration::from_secs(5);
pub const SECS10: Duration = Duration::from_secs(10);

// ---- the shared library's ABI ----

/// Runs a command to completion and returns its stdout; panics with its
/// output when it cannot start or fails.
pub fn stdout_of(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The functions a shared library exports (`nm -D --defined-only`).
pub fn exported_symbols(so: &Path) -> std::collections::BTreeSet<String> {
    stdout_of(Command::new("nm").args(["-D", "--defined-only"]).arg(so))
        .lines()
        .filter_map(|l| l.split_whitespace().nth(2))
        .map(|s| s.split('@').next().unwrap_or(s).to_string())
        .collect()
}

/// Checks that `so` exports exactly the symbols listed in
/// tests/abi/exported-symbols.txt.
pub fn assert_exports_match_list(so: &Path) {
    let list = root().join("tests/abi/exported-symbols.txt");
    let listed: std::collections::BTreeSet<String> = std::fs::read_to_string(&list)
        .expect("tests/abi/exported-symbols.txt")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(String::from)
        .collect();
    let exported = exported_symbols(so);
    let new: Vec<_> = exported.difference(&listed).collect();
    let gone: Vec<_> = listed.difference(&exported).collect();
    assert!(
        new.is_empty(),
        "{} exports {new:?}, not listed in tests/abi/exported-symbols.txt: list new API there \
         (ws_/wsl_ names declared in wsloop.h only)",
        so.display()
    );
    assert!(
        gone.is_empty(),
        "{} no longer exports {gone:?}, listed in tests/abi/exported-symbols.txt: programs \
         linked to libwsloop.so would fail to load; removing API needs a new SONAME major version",
        so.display()
    );
}
