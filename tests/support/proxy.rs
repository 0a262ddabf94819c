//! Real shared caches (Varnish, nginx `proxy_cache`) in front of a test
//! target, for the web-cache poisoning / deception checks.
//!
//! std only. Each proxy renders its template (see `tests/targets/cache/`)
//! into a private scratch directory, listens on a free `127.0.0.1` port,
//! is polled until `GET /api/health` answers 200 *through the proxy* (so
//! start the origin first), and is stopped (SIGTERM, then SIGKILL) and its
//! scratch directory removed on `Drop`.
//!
//! ```ignore
//! let origin_port = ...; // the Flask cache target, already up
//! let varnish = proxy::Varnish::start(proxy::cache_target_path(proxy::VARNISH_VULNERABLE), origin_port);
//! let nginx = proxy::Nginx::start(proxy::cache_target_path(proxy::NGINX_FIXED), origin_port);
//! let url = format!("{}/api/account?cb={}", varnish.base_url(), nonce);
//! ```
//!
//! Binaries: `varnishd` / `nginx` from `PATH`, else `/usr/sbin`,
//! `/usr/local/sbin`, `/sbin`; override with `RAMPART_VARNISHD` /
//! `RAMPART_NGINX`. Use [`varnish_available`] / [`nginx_available`] to skip
//! gracefully where they are not installed.
//!
//! Templates use `@PLACEHOLDER@` markers:
//! * Varnish: `@BACKEND_HOST@`, `@BACKEND_PORT@`.
//! * nginx: `@PREFIX@`, `@LISTEN_PORT@`, `@BACKEND_HOST@`, `@BACKEND_PORT@`.

#![allow(dead_code)]

use std::fs::{self, File};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// File names inside `tests/targets/cache/`.
pub const VARNISH_VULNERABLE: &str = "varnish-vulnerable.vcl";
pub const VARNISH_FIXED: &str = "varnish-fixed.vcl";
pub const NGINX_VULNERABLE: &str = "nginx-vulnerable.conf.template";
pub const NGINX_FIXED: &str = "nginx-fixed.conf.template";

/// Default readiness path, requested through the proxy.
pub const HEALTH_PATH: &str = "/api/health";

const BACKEND_HOST: &str = "127.0.0.1";
const READY_TIMEOUT: Duration = Duration::from_secs(30);
const START_ATTEMPTS: usize = 3;

/// Starts a process with `spawn_once` until `GET health_path` answers 200
/// through it, retrying only while it exits early (a lost port race); one
/// that runs but never gets ready fails at once, with its log tail.
fn start_until_ready(
    name: &str,
    health_path: &str,
    mut spawn_once: impl FnMut() -> (ManagedProcess, u16),
) -> (ManagedProcess, u16) {
    let mut last_err = String::new();
    for attempt in 1..=START_ATTEMPTS {
        let (mut proc, port) = spawn_once();
        match proc.wait_ready(port, health_path) {
            Ok(()) => return (proc, port),
            Err(e) => {
                last_err = format!(
                    "attempt {attempt}: {e}\n--- log tail ---\n{}",
                    proc.log_tail(40)
                );
                proc.stop();
                if !proc.exited_early {
                    break;
                }
            }
        }
    }
    panic!("{name} did not become ready:\n{last_err}");
}

/// `<crate>/tests/targets/cache/<file>`.
pub fn cache_target_path(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("targets")
        .join("cache")
        .join(file)
}

/// True when a `varnishd` binary can be found.
pub fn varnish_available() -> bool {
    find_binary("varnishd", "RAMPART_VARNISHD").is_some()
}

/// True when an `nginx` binary can be found.
pub fn nginx_available() -> bool {
    find_binary("nginx", "RAMPART_NGINX").is_some()
}

// ---------------------------------------------------------------------------
// Varnish
// ---------------------------------------------------------------------------

/// A `varnishd -F` running a rendered VCL template.
pub struct Varnish {
    proc: ManagedProcess,
    port: u16,
}

impl Varnish {
    /// Render `vcl_template` for `127.0.0.1:<backend_port>`, start varnishd
    /// on a free port and wait until `GET /api/health` answers 200 through it.
    /// Panics (with the log tail) on failure.
    pub fn start(vcl_template: impl AsRef<Path>, backend_port: u16) -> Varnish {
        Self::start_with_health(vcl_template, backend_port, HEALTH_PATH)
    }

    /// Like [`Varnish::start`] with a custom readiness path.
    pub fn start_with_health(
        vcl_template: impl AsRef<Path>,
        backend_port: u16,
        health_path: &str,
    ) -> Varnish {
        let template = read_template(vcl_template.as_ref());
        let bin = find_binary("varnishd", "RAMPART_VARNISHD").unwrap_or_else(|| {
            panic!("varnishd not found (apt-get install varnish, or set RAMPART_VARNISHD)")
        });
        let (proc, port) = start_until_ready("varnishd", health_path, || {
            let dir = ScratchDir::new("varnish");
            let vcl = render(
                &template,
                &[
                    ("BACKEND_HOST", BACKEND_HOST.to_string()),
                    ("BACKEND_PORT", backend_port.to_string()),
                ],
            );
            let vcl_path = dir.path().join("rampart.vcl");
            fs::write(&vcl_path, vcl).expect("write rendered VCL");
            let port = free_port();
            let log_path = dir.path().join("varnishd.log");
            let log = File::create(&log_path).expect("create varnishd log");
            let mut cmd = Command::new(&bin);
            cmd.arg("-F")
                // No privilege separation: works as root (the default unix
                // jail would drop to the `varnish` user, which can't read a
                // 0700 scratch dir) and as an ordinary user alike.
                .args(["-j", "none"])
                .arg("-n")
                .arg(dir.path().join("work"))
                .arg("-a")
                .arg(format!("127.0.0.1:{port}"))
                .arg("-f")
                .arg(&vcl_path)
                .args(["-s", "malloc,32m"])
                .args(["-T", "none"])
                .args(["-p", "vsl_space=4M"])
                .args(["-p", "thread_pools=1"])
                .args(["-p", "thread_pool_min=10"])
                .stdin(Stdio::null())
                .stdout(Stdio::from(log.try_clone().expect("clone log handle")))
                .stderr(Stdio::from(log));
            let child = cmd
                .spawn()
                .unwrap_or_else(|e| panic!("spawn {}: {e}", bin.display()));
            let proc = ManagedProcess::new("varnishd", child, dir, vec![log_path]);
            (proc, port)
        });
        Varnish { proc, port }
    }

    /// `http://127.0.0.1:<port>` (no trailing slash).
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Scratch directory (rendered VCL, `varnishd.log`, `-n` work dir).
    pub fn dir(&self) -> &Path {
        self.proc.dir.path()
    }

    /// Last `lines` lines of the varnishd output.
    pub fn log_tail(&self, lines: usize) -> String {
        self.proc.log_tail(lines)
    }
}

// ---------------------------------------------------------------------------
// nginx
// ---------------------------------------------------------------------------

/// An `nginx -g 'daemon off;'` running a rendered config template.
pub struct Nginx {
    proc: ManagedProcess,
    port: u16,
}

impl Nginx {
    /// Render `conf_template` (prefix, listen port, backend), start nginx and
    /// wait until `GET /api/health` answers 200 through it. Panics (with the
    /// log tail) on failure.
    pub fn start(conf_template: impl AsRef<Path>, backend_port: u16) -> Nginx {
        Self::start_with_health(conf_template, backend_port, HEALTH_PATH)
    }

    /// Like [`Nginx::start`] with a custom readiness path.
    pub fn start_with_health(
        conf_template: impl AsRef<Path>,
        backend_port: u16,
        health_path: &str,
    ) -> Nginx {
        let template = read_template(conf_template.as_ref());
        let bin = find_binary("nginx", "RAMPART_NGINX").unwrap_or_else(|| {
            panic!("nginx not found (apt-get install nginx, or set RAMPART_NGINX)")
        });
        let (proc, port) = start_until_ready("nginx", health_path, || {
            let dir = ScratchDir::new("nginx");
            let prefix = dir.path().to_path_buf();
            let port = free_port();
            let conf = render(
                &template,
                &[
                    ("PREFIX", prefix.display().to_string()),
                    ("LISTEN_PORT", port.to_string()),
                    ("BACKEND_HOST", BACKEND_HOST.to_string()),
                    ("BACKEND_PORT", backend_port.to_string()),
                ],
            );
            let conf_path = prefix.join("nginx.conf");
            fs::write(&conf_path, conf).expect("write rendered nginx.conf");
            let error_log = prefix.join("error.log");
            let out_path = prefix.join("nginx.out");
            let out = File::create(&out_path).expect("create nginx.out");
            let mut cmd = Command::new(&bin);
            cmd.arg("-p")
                .arg(format!("{}/", prefix.display()))
                // -e: the startup error log, before the config's error_log
                // applies (default /var/log/nginx/error.log).
                .arg("-e")
                .arg(&error_log)
                .arg("-c")
                .arg(&conf_path)
                .args(["-g", "daemon off;"])
                .stdin(Stdio::null())
                .stdout(Stdio::from(out.try_clone().expect("clone log handle")))
                .stderr(Stdio::from(out));
            let child = cmd
                .spawn()
                .unwrap_or_else(|e| panic!("spawn {}: {e}", bin.display()));
            let proc = ManagedProcess::new("nginx", child, dir, vec![out_path, error_log]);
            (proc, port)
        });
        Nginx { proc, port }
    }

    /// `http://127.0.0.1:<port>` (no trailing slash).
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Scratch directory (rendered nginx.conf, logs, cache).
    pub fn dir(&self) -> &Path {
        self.proc.dir.path()
    }

    /// Last `lines` lines of nginx's stdout/stderr and error.log.
    pub fn log_tail(&self, lines: usize) -> String {
        self.proc.log_tail(lines)
    }
}

// ---------------------------------------------------------------------------
// Process management
// ---------------------------------------------------------------------------

/// Stopped (and its scratch dir removed) when dropped, i.e. when the
/// owning `Varnish` / `Nginx` goes out of scope.
struct ManagedProcess {
    name: &'static str,
    child: Option<Child>,
    /// `sh` loop that SIGTERMs the proxy if this test process dies without
    /// running Drop (SIGKILL, CI timeout); killed first on a normal stop.
    watchdog: Option<Child>,
    dir: ScratchDir,
    logs: Vec<PathBuf>,
    exited_early: bool,
}

impl ManagedProcess {
    fn new(name: &'static str, child: Child, dir: ScratchDir, logs: Vec<PathBuf>) -> Self {
        let watchdog = spawn_watchdog(child.id(), dir.path());
        ManagedProcess {
            name,
            child: Some(child),
            watchdog,
            dir,
            logs,
            exited_early: false,
        }
    }

    fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }

    fn check_alive(&mut self) -> Result<(), String> {
        if let Some(child) = self.child.as_mut() {
            if let Ok(Some(status)) = child.try_wait() {
                self.exited_early = true;
                return Err(format!("{} exited during startup with {status}", self.name));
            }
        }
        Ok(())
    }

    /// Poll TCP, then `GET health_path` through the proxy until 200.
    fn wait_ready(&mut self, port: u16, health_path: &str) -> Result<(), String> {
        let deadline = Instant::now() + READY_TIMEOUT;
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let mut last = String::from("no attempt");
        let mut n: u64 = 0;
        loop {
            self.check_alive()?;
            if Instant::now() >= deadline {
                return Err(format!(
                    "{} not ready on 127.0.0.1:{port} after {:?}: {last}",
                    self.name, READY_TIMEOUT
                ));
            }
            match TcpStream::connect_timeout(&addr, Duration::from_millis(500)) {
                Err(e) => last = format!("connect: {e}"),
                Ok(_) => {
                    n += 1;
                    // A fresh query string per poll, so a (vulnerable) cache
                    // can't serve a stored 5xx from an earlier poll.
                    let sep = if health_path.contains('?') { '&' } else { '?' };
                    let path = format!("{health_path}{sep}rampart_ready={n}");
                    match http_get_status(addr, &path) {
                        Ok(200) => return Ok(()),
                        Ok(code) => last = format!("GET {path} -> {code}"),
                        Err(e) => last = format!("GET {path}: {e}"),
                    }
                }
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn log_tail(&self, lines: usize) -> String {
        let mut out = String::new();
        for path in &self.logs {
            let text = fs::read(path)
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_else(|e| format!("<unreadable: {e}>"));
            let all: Vec<&str> = text.lines().collect();
            let start = all.len().saturating_sub(lines);
            out.push_str(&format!("==> {} <==\n", path.display()));
            for line in &all[start..] {
                out.push_str(line);
                out.push('\n');
            }
        }
        out
    }

    /// SIGTERM the master, wait up to 5 s, then SIGKILL it and any child it
    /// left behind (varnish cache child, nginx workers); reap.
    fn stop(&mut self) {
        if let Some(mut w) = self.watchdog.take() {
            let _ = w.kill();
            let _ = w.wait();
        }
        let Some(mut child) = self.child.take() else {
            return;
        };
        let pid = child.id();
        let descendants = descendants_of(pid);
        if let Ok(None) = child.try_wait() {
            signal(pid, "TERM");
            let deadline = Instant::now() + Duration::from_secs(5);
            loop {
                match child.try_wait() {
                    Ok(Some(_)) | Err(_) => break,
                    Ok(None) if Instant::now() >= deadline => {
                        let _ = child.kill();
                        let _ = child.wait();
                        break;
                    }
                    Ok(None) => std::thread::sleep(Duration::from_millis(50)),
                }
            }
        } else {
            let _ = child.wait();
        }
        // Orphans (reparented to init) must not keep the port or the dir.
        let deadline = Instant::now() + Duration::from_secs(3);
        for d in &descendants {
            while process_alive(*d) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
            if process_alive(*d) {
                signal(*d, "KILL");
            }
        }
    }
}

impl Drop for ManagedProcess {
    fn drop(&mut self) {
        if self.child.is_some() && std::thread::panicking() {
            eprintln!(
                "--- {} log tail (test panicked) ---\n{}",
                self.name,
                self.log_tail(30)
            );
        }
        self.stop();
    }
}

/// Parent-death watchdog: polls this test process once a second and, once it
/// is gone, sends SIGTERM to `child` (varnishd / nginx master, which then
/// stop their own children) and removes the scratch dir `dir` (unless
/// `RAMPART_KEEP_PROXY_DIRS` is set). Exits by itself when `child` is gone.
fn spawn_watchdog(child: u32, dir: &Path) -> Option<Child> {
    const SCRIPT: &str = r#"p=$1; c=$2; d=$3
while kill -0 "$p" 2>/dev/null && kill -0 "$c" 2>/dev/null; do sleep 1; done
kill -0 "$p" 2>/dev/null && exit 0
kill -TERM "$c" 2>/dev/null
n=0; while kill -0 "$c" 2>/dev/null && [ $n -lt 50 ]; do sleep 0.2; n=$((n+1)); done
kill -KILL "$c" 2>/dev/null
[ -n "$d" ] && rm -rf "$d"
exit 0"#;
    let dir_arg = if std::env::var_os("RAMPART_KEEP_PROXY_DIRS").is_some() {
        String::new()
    } else {
        dir.display().to_string()
    };
    Command::new("sh")
        .arg("-c")
        .arg(SCRIPT)
        .arg("rampart-proxy-watchdog")
        .arg(std::process::id().to_string())
        .arg(child.to_string())
        .arg(dir_arg)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()
}

fn signal(pid: u32, sig: &str) {
    let _ = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// Linux: whether /proc/<pid> exists and is not a zombie.
fn process_alive(pid: u32) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit_once(") ")
            .map(|(_, rest)| !rest.starts_with('Z'))
            .unwrap_or(true),
        Err(_) => false,
    }
}

/// Linux: all transitive children of `root` (via /proc/*/stat ppid).
fn descendants_of(root: u32) -> Vec<u32> {
    let mut pairs = Vec::new();
    if let Ok(entries) = fs::read_dir("/proc") {
        for entry in entries.flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|s| s.parse::<u32>().ok())
            else {
                continue;
            };
            if let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) {
                // "pid (comm) state ppid ..."; comm may contain spaces/parens.
                if let Some((_, rest)) = stat.rsplit_once(") ") {
                    if let Some(ppid) = rest
                        .split_whitespace()
                        .nth(1)
                        .and_then(|p| p.parse::<u32>().ok())
                    {
                        pairs.push((pid, ppid));
                    }
                }
            }
        }
    }
    let mut out = Vec::new();
    let mut frontier = vec![root];
    while let Some(parent) = frontier.pop() {
        for &(pid, ppid) in &pairs {
            if ppid == parent && !out.contains(&pid) {
                out.push(pid);
                frontier.push(pid);
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------
// Small private helpers
// ---------------------------------------------------------------------------

/// A fresh directory under the system temp dir, removed on drop.
struct ScratchDir(PathBuf);

impl ScratchDir {
    fn new(kind: &str) -> ScratchDir {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!(
            "rampart-{kind}-{}-{n}-{nanos:08x}",
            std::process::id()
        ));
        fs::create_dir_all(&path).unwrap_or_else(|e| panic!("create {}: {e}", path.display()));
        ScratchDir(path)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        if std::env::var_os("RAMPART_KEEP_PROXY_DIRS").is_none() {
            let _ = fs::remove_dir_all(&self.0);
        }
    }
}

fn read_template(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("read template {}: {e}", path.display()))
}

/// Replace `@KEY@` markers; panics if any `@UPPER_CASE@` marker is left.
fn render(template: &str, vars: &[(&str, String)]) -> String {
    let mut out = template.to_string();
    for (key, value) in vars {
        out = out.replace(&format!("@{key}@"), value);
    }
    let bytes = out.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'@' {
            let rest = &out[i + 1..];
            let end = rest
                .find(|c: char| !(c.is_ascii_uppercase() || c == '_'))
                .unwrap_or(rest.len());
            if end > 0 && rest[end..].starts_with('@') {
                panic!("unreplaced template placeholder @{}@", &rest[..end]);
            }
        }
        i += 1;
    }
    out
}

/// A free TCP port on 127.0.0.1 (bind :0, read, release).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind 127.0.0.1:0")
}

fn find_binary(name: &str, env_override: &str) -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(env_override) {
        let p = PathBuf::from(p);
        return p.is_file().then_some(p);
    }
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    for extra in ["/usr/sbin", "/usr/local/sbin", "/sbin"] {
        dirs.push(PathBuf::from(extra));
    }
    dirs.into_iter().map(|d| d.join(name)).find(|p| p.is_file())
}

/// Minimal HTTP/1.1 GET (Connection: close); returns the status code.
fn http_get_status(addr: SocketAddr, path: &str) -> Result<u16, String> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2))
        .map_err(|e| format!("connect: {e}"))?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok();
    stream.set_write_timeout(Some(Duration::from_secs(5))).ok();
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: rampart-test-proxy-probe\r\nAccept: */*\r\nConnection: close\r\n\r\n"
    );
    stream
        .write_all(req.as_bytes())
        .map_err(|e| format!("write: {e}"))?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    // The status line is all we need; stop once it's in.
    loop {
        match stream.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => {
                buf.extend_from_slice(&chunk[..n]);
                if buf.windows(2).any(|w| w == b"\r\n") {
                    break;
                }
            }
            Err(e) => return Err(format!("read: {e}")),
        }
    }
    let text = String::from_utf8_lossy(&buf);
    let line = text.lines().next().unwrap_or("");
    let mut parts = line.split_whitespace();
    match (
        parts.next(),
        parts.next().and_then(|c| c.parse::<u16>().ok()),
    ) {
        (Some(v), Some(code)) if v.starts_with("HTTP/") => Ok(code),
        _ => Err(format!("bad status line {line:?}")),
    }
}
