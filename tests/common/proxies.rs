//! Real proxies for the tests, each a Debian package started on 127.0.0.1
//! with a generated configuration on a free port and stopped when dropped:
//! tinyproxy (HTTP CONNECT, with or without Basic credentials), stunnel4
//! (TLS in front of a proxy: an HTTPS proxy), microsocks (SOCKS5, with or
//! without a user name and password) and Dante (SOCKS5 with a ruleset).

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// A proxy process; killed, and its directory removed, on drop.
pub struct Proxy {
    child: Child,
    pub port: u16,
    pub dir: PathBuf,
    name: &'static str,
}

impl Drop for Proxy {
    /// SIGTERM first, so Dante's mother process takes its children with it;
    /// SIGKILL after 2 s.
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(2);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Proxy {
    /// The proxy's log so far (for failure messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("log")).unwrap_or_default()
    }
}

/// A port nobody listens on now (bound, then released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn workdir(name: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = super::target_dir().join("tmp").join(format!(
        "{name}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn need(program: &str) {
    let found = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(program).is_file()))
        .unwrap_or(false);
    assert!(found, "{program} is not installed: run scripts/setup");
}

/// Starts the program `configure` describes on a free port until it
/// accepts connections (10 s at most; a port taken in between gets a
/// second try on another).
fn start(
    name: &'static str,
    program: &str,
    configure: impl Fn(&PathBuf, u16) -> Vec<String>,
) -> Proxy {
    need(program);
    let mut last_log = String::new();
    for _ in 0..3 {
        let dir = workdir(name);
        let port = free_port();
        let args = configure(&dir, port);
        let log = std::fs::File::create(dir.join("log")).unwrap();
        let child = Command::new(program)
            .args(&args)
            .current_dir(&dir)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("{program} does not start: {e}"));
        let mut p = Proxy {
            child,
            port,
            dir,
            name,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return p;
            }
            if let Ok(Some(_)) = p.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        last_log = p.log();
    }
    panic!("{name} did not start listening; its log:\n{last_log}");
}

/// tinyproxy; with `auth`, Basic credentials are required; with
/// `connect_ports`, CONNECT is allowed to those ports only (403 otherwise).
pub fn tinyproxy(auth: Option<(&str, &str)>, connect_ports: &[u16]) -> Proxy {
    start("tinyproxy", "tinyproxy", |dir, port| {
        let mut conf = format!(
            "Port {port}\nListen 127.0.0.1\nTimeout 30\nMaxClients 200\nLogLevel Info\nAllow 127.0.0.1\nDisableViaHeader Yes\n"
        );
        if let Some((u, p)) = auth {
            conf.push_str(&format!("BasicAuth {u} {p}\n"));
        }
        for p in connect_ports {
            conf.push_str(&format!("ConnectPort {p}\n"));
        }
        std::fs::write(dir.join("tinyproxy.conf"), conf).unwrap();
        vec!["-d".into(), "-c".into(), "tinyproxy.conf".into()]
    })
}

/// stunnel4 terminating TLS with `cert_pem`/`key_pem` on a free port and
/// passing the plain bytes to 127.0.0.1:`backend`: an HTTPS proxy when the
/// backend is an HTTP proxy.
pub fn stunnel(backend: u16, cert_pem: &str, key_pem: &str) -> Proxy {
    start("stunnel", "stunnel4", |dir, port| {
        std::fs::write(dir.join("cert.pem"), cert_pem).unwrap();
        std::fs::write(dir.join("key.pem"), key_pem).unwrap();
        let conf = format!(
            "foreground = yes\npid =\ndebug = notice\n[proxy]\naccept = 127.0.0.1:{port}\nconnect = 127.0.0.1:{backend}\ncert = {cert}\nkey = {key}\n",
            cert = dir.join("cert.pem").display(),
            key = dir.join("key.pem").display(),
        );
        std::fs::write(dir.join("stunnel.conf"), conf).unwrap();
        vec![dir.join("stunnel.conf").display().to_string()]
    })
}

/// microsocks; with `auth`, only that user name and password are accepted.
pub fn microsocks(auth: Option<(&str, &str)>) -> Proxy {
    start("microsocks", "microsocks", |_, port| {
        let mut args = vec![
            "-i".into(),
            "127.0.0.1".into(),
            "-p".into(),
            port.to_string(),
        ];
        if let Some((u, p)) = auth {
            args.extend(["-u".into(), u.into(), "-P".into(), p.into()]);
        }
        args
    })
}

/// Dante's SOCKS5 server without authentication, refusing by its ruleset
/// every connection to 127.0.0.1:`blocked` and allowing the rest.
pub fn dante(blocked: u16) -> Proxy {
    start("dante", "danted", |dir, port| {
        let conf = format!(
            "logoutput: stderr\ninternal: 127.0.0.1 port = {port}\nexternal: 127.0.0.1\nclientmethod: none\nsocksmethod: none\nuser.privileged: root\nuser.unprivileged: nobody\nclient pass {{\n  from: 127.0.0.0/8 to: 0.0.0.0/0\n}}\nsocks block {{\n  from: 0.0.0.0/0 to: 127.0.0.1/32 port = {blocked}\n}}\nsocks pass {{\n  from: 0.0.0.0/0 to: 0.0.0.0/0\n}}\n"
        );
        std::fs::write(dir.join("danted.conf"), conf).unwrap();
        vec![
            "-f".into(),
            "danted.conf".into(),
            "-p".into(),
            dir.join("danted.pid").display().to_string(),
            "-N".into(),
            "1".into(),
        ]
    })
}

impl std::fmt::Debug for Proxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} on 127.0.0.1:{}", self.name, self.port)
    }
}
