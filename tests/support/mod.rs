//! Shared harness for Rampart's integration tests against REAL targets.
//!
//! Include it from an integration test with `mod support;`.
//!
//! * Python targets live in `tests/targets/<family>/app.py` and run from the
//!   test venv (`$RAMPART_TEST_VENV` or `<repo>/.venv`, created by
//!   `scripts/test` from `tests/targets/requirements.txt`).  A missing venv is
//!   a hard failure, never a silent skip.
//! * [`MotoServer`] runs `moto_server` (DynamoDB for the targets),
//!   [`FlaskApp`] runs one twin of a target app against it.
//! * [`ChildProcess`] is the generic guard (log file, readiness polling,
//!   terminate-and-reap on Drop) that other starters (e.g. a future
//!   `tests/support/proxy.rs` for Varnish/nginx) build on.
//! * [`rampart`] / [`scan`] / [`scan_json`] run the binary under test.
//! * HTTPS targets: [`TestPki`] makes a throwaway CA and leaf with the
//!   `openssl` CLI, [`FlaskApp::start_tls`] runs a twin that serves TLS
//!   itself ([`FlaskApp::start_tls`], readiness polled over HTTPS), and
//!   [`https_get`] talks to it.
//!
//! Everything binds and talks to 127.0.0.1 only.
//!
//! Conventions for children started here:
//! * stdout+stderr go to a temp log file (kept when `RAMPART_TEST_KEEP_LOGS=1`);
//! * `RAMPART_PARENT_PID` is exported so Python targets can exit when the
//!   test binary dies without running Drop (`common/watchdog.py`);
//! * proxy variables are removed and dummy AWS credentials are set, so
//!   nothing ever leaves the machine or reads a real AWS profile.

#![allow(dead_code)]

pub mod proxy;

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::OnceLock;
use std::thread;
use std::time::{Duration, Instant};

/// Default time a child gets to become ready.
pub const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// Lines of a child's log shown when it fails.
pub const LOG_TAIL_LINES: usize = 40;
/// Default wall-clock limit for one `rampart` invocation
/// (override with `RAMPART_TEST_RUN_TIMEOUT_SECS`).
pub const RAMPART_TIMEOUT: Duration = Duration::from_secs(300);

// ---------------------------------------------------------------------------
// Paths
// ---------------------------------------------------------------------------

/// The crate root (where Cargo.toml lives).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `<repo>/tests/targets`.
pub fn targets_dir() -> PathBuf {
    repo_root().join("tests").join("targets")
}

/// The Python test venv: `$RAMPART_TEST_VENV`, else `<repo>/.venv`.
/// Panics (never skips) when it is missing.
pub fn venv_dir() -> PathBuf {
    static VENV: OnceLock<PathBuf> = OnceLock::new();
    VENV.get_or_init(|| {
        let dir = match std::env::var_os("RAMPART_TEST_VENV") {
            Some(v) if !v.is_empty() => {
                let p = PathBuf::from(v);
                if p.is_relative() {
                    repo_root().join(p)
                } else {
                    p
                }
            }
            _ => repo_root().join(".venv"),
        };
        if !dir.join("bin").join("python").exists() {
            panic!(
                "Python test venv missing: run scripts/test (it creates .venv) \
                 [looked for {}/bin/python; set RAMPART_TEST_VENV to use another venv]",
                dir.display()
            );
        }
        dir
    })
    .clone()
}

/// `<venv>/bin/<name>`; panics with the venv hint when it is missing.
pub fn venv_bin(name: &str) -> PathBuf {
    let p = venv_dir().join("bin").join(name);
    if !p.exists() {
        panic!(
            "Python test venv missing: run scripts/test (it creates .venv) \
             [{} not found; is tests/targets/requirements.txt installed?]",
            p.display()
        );
    }
    p
}

/// `<venv>/bin/python`.
pub fn venv_python() -> PathBuf {
    venv_bin("python")
}

// ---------------------------------------------------------------------------
// Ports and tiny HTTP client (std only, loopback only)
// ---------------------------------------------------------------------------

/// A currently free TCP port on 127.0.0.1 (bind :0, read, drop).
/// There is an unavoidable small race until the child binds it; the
/// starters below retry with a new port when a bind fails.
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local_addr").port()
}

/// A parsed minimal HTTP response.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    pub status: u16,
    /// Raw header block (without the status line).
    pub headers: String,
    pub body: String,
}

impl HttpResponse {
    /// Case-insensitive header lookup (first match).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }
}

fn assert_loopback(host: &str) {
    let ok = host == "localhost" || host == "[::1]" || host == "::1" || host.starts_with("127.");
    assert!(ok, "test harness only talks to loopback, got host {host:?}");
}

/// Split `http://host:port[/...]` into (host, port). Loopback only.
pub fn host_port(base_url: &str) -> (String, u16) {
    let rest = base_url
        .strip_prefix("http://")
        .unwrap_or_else(|| panic!("only http:// URLs are supported here: {base_url}"));
    let authority = rest.split('/').next().unwrap_or(rest);
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if !h.is_empty() && !p.contains(']') => (
            h.to_string(),
            p.parse::<u16>()
                .unwrap_or_else(|_| panic!("bad port in {base_url}")),
        ),
        _ => (authority.to_string(), 80),
    };
    assert_loopback(&host);
    (host, port)
}

/// One plain HTTP/1.0 GET over a std `TcpStream` (no extra crates).
/// `path` must start with `/` and may carry a query string.
pub fn http_get_raw(
    host: &str,
    port: u16,
    path: &str,
    timeout: Duration,
) -> std::io::Result<HttpResponse> {
    assert_loopback(host);
    let ip = if host == "localhost" {
        "127.0.0.1"
    } else {
        host.trim_matches(|c| c == '[' || c == ']')
    };
    let addr: SocketAddr = format!(
        "{}:{port}",
        if ip.contains(':') {
            format!("[{ip}]")
        } else {
            ip.to_string()
        }
    )
    .parse()
    .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("{e}")))?;
    let mut stream = TcpStream::connect_timeout(&addr, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    let req = format!(
        "GET {path} HTTP/1.0\r\nHost: {host}:{port}\r\nUser-Agent: rampart-test-harness\r\n\
         Accept: */*\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(req.as_bytes())?;
    let mut buf = Vec::new();
    stream.read_to_end(&mut buf)?;
    let text = String::from_utf8_lossy(&buf).into_owned();
    let (head, body) = match text.split_once("\r\n\r\n") {
        Some((h, b)) => (h.to_string(), b.to_string()),
        None => (text.clone(), String::new()),
    };
    let mut lines = head.splitn(2, "\r\n");
    let status_line = lines.next().unwrap_or("");
    let headers = lines.next().unwrap_or("").to_string();
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!(
                    "no HTTP status line in response: {:?}",
                    truncate(&text, 200)
                ),
            )
        })?;
    Ok(HttpResponse {
        status,
        headers,
        body,
    })
}

/// GET `base_url` + `path` (e.g. `http_get("http://127.0.0.1:5000", "/api/health")`).
/// Panics on connection errors.
pub fn http_get(base_url: &str, path: &str) -> HttpResponse {
    let (host, port) = host_port(base_url);
    http_get_raw(&host, port, path, Duration::from_secs(10))
        .unwrap_or_else(|e| panic!("GET {base_url}{path} failed: {e}"))
}

fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…[{} more bytes]", &s[..end], s.len() - end)
}

// ---------------------------------------------------------------------------
// Generic child-process guard
// ---------------------------------------------------------------------------

/// A spawned helper process whose stdout+stderr go to a temp log file.
/// Dropping it terminates (SIGTERM, then SIGKILL after a grace period) and
/// reaps it, so no zombies or orphans are left behind.
pub struct ChildProcess {
    name: String,
    child: Option<Child>,
    log: tempfile::NamedTempFile,
    grace: Duration,
}

impl ChildProcess {
    /// Spawn `cmd` with stdin closed and stdout/stderr appended to a fresh
    /// temp log file. Adds the hygiene env described in the module docs.
    /// Panics when the program cannot be started.
    pub fn spawn(name: &str, mut cmd: Command) -> ChildProcess {
        let log = tempfile::Builder::new()
            .prefix(&format!("rampart-test-{}-", sanitize(name)))
            .suffix(".log")
            .tempfile()
            .expect("create child log file");
        // One O_APPEND description shared by stdout and stderr (dup), so the
        // two streams interleave instead of overwriting each other.
        let out: File = OpenOptions::new()
            .append(true)
            .open(log.path())
            .expect("open child log");
        let err: File = out.try_clone().expect("dup child log for stderr");
        apply_child_env(&mut cmd);
        cmd.stdin(Stdio::null())
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err));
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("failed to start {name} ({:?}): {e}", cmd.get_program()));
        ChildProcess {
            name: name.to_string(),
            child: Some(child),
            log,
            grace: Duration::from_secs(5),
        }
    }

    /// How long Drop waits after SIGTERM before SIGKILL (default 5 s).
    pub fn set_grace(&mut self, grace: Duration) {
        self.grace = grace;
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(|c| c.id()).unwrap_or(0)
    }

    pub fn log_path(&self) -> &Path {
        self.log.path()
    }

    /// Whole log so far (ANSI colour codes stripped).
    pub fn log_contents(&self) -> String {
        let bytes = std::fs::read(self.log.path()).unwrap_or_default();
        strip_ansi(&String::from_utf8_lossy(&bytes))
    }

    /// Last `n` lines of the log.
    pub fn log_tail(&self, n: usize) -> String {
        let text = self.log_contents();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }

    /// `Some(status)` once the child has exited (it is reaped then).
    pub fn try_exit_status(&mut self) -> Option<ExitStatus> {
        self.child
            .as_mut()
            .and_then(|c| c.try_wait().ok().flatten())
    }

    pub fn is_running(&mut self) -> bool {
        self.child.is_some() && self.try_exit_status().is_none()
    }

    /// Panic with `msg`, the child's exit status (if any) and its log tail.
    pub fn fail(&mut self, msg: &str) -> ! {
        let status = match self.try_exit_status() {
            Some(s) => format!("exited with {s}"),
            None => "still running".to_string(),
        };
        let pid = self.pid();
        self.stop();
        // Read the log after stopping so the child's last words are in it.
        // Readiness probes can flood the log with access lines, so the
        // startup banner (first lines) is shown too when the log is long.
        let text = self.log_contents();
        let lines: Vec<&str> = text.lines().collect();
        const HEAD: usize = 10;
        let head = if lines.len() > LOG_TAIL_LINES + HEAD {
            format!(
                "first {HEAD} lines:\n{}\n[... {} lines omitted ...]\n",
                lines[..HEAD].join("\n"),
                lines.len() - LOG_TAIL_LINES - HEAD
            )
        } else {
            String::new()
        };
        let tail = lines[lines.len().saturating_sub(LOG_TAIL_LINES)..].join("\n");
        panic!(
            "{msg}\n{} (pid {pid}) {status}; log {}:\n{head}last {LOG_TAIL_LINES} lines:\n{tail}\n--- end of {} log ---",
            self.name,
            self.log.path().display(),
            self.name,
        );
    }

    /// Poll `GET path` on 127.0.0.1:`port` (HTTP/1.0 over std TcpStream)
    /// until `ready(status)` holds. Returns `Err(log tail)` when the child
    /// exits first or `timeout` passes; see [`Self::wait_for_http`].
    pub fn poll_http(
        &mut self,
        port: u16,
        path: &str,
        timeout: Duration,
        ready: impl Fn(u16) -> bool,
    ) -> Result<(), String> {
        self.poll(Wire::Http, port, path, timeout, ready)
    }

    /// Polls `GET path` over `wire` until `ready(status)` holds, the child
    /// exits, or `timeout` passes.
    pub fn poll(
        &mut self,
        wire: Wire,
        port: u16,
        path: &str,
        timeout: Duration,
        ready: impl Fn(u16) -> bool,
    ) -> Result<(), String> {
        let deadline = Instant::now() + timeout;
        let mut last = String::from("no attempt made");
        loop {
            if let Some(status) = self.try_exit_status() {
                return Err(format!(
                    "{} exited before it was ready ({status}); last probe: {last}",
                    self.name
                ));
            }
            match wire.get("127.0.0.1", port, path, Duration::from_secs(2)) {
                Ok(resp) if ready(resp.status) => return Ok(()),
                Ok(resp) => last = format!("HTTP {} {}", resp.status, truncate(&resp.body, 200)),
                Err(e) => last = e.to_string(),
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "{} not ready on {}://127.0.0.1:{port}{path} after {:?}; last probe: {last}",
                    self.name,
                    wire.scheme(),
                    timeout
                ));
            }
            thread::sleep(Duration::from_millis(100));
        }
    }

    /// Like [`Self::poll_http`] but panics with the last
    /// [`LOG_TAIL_LINES`] lines of the child's log on failure.
    pub fn wait_for_http(
        &mut self,
        port: u16,
        path: &str,
        timeout: Duration,
        ready: impl Fn(u16) -> bool,
    ) {
        if let Err(msg) = self.poll_http(port, path, timeout, ready) {
            self.fail(&msg);
        }
    }

    /// Terminate and reap now (idempotent). SIGTERM first so servers that
    /// manage workers (nginx, varnish) can take them down, SIGKILL after the
    /// grace period.
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        if matches!(child.try_wait(), Ok(Some(_))) {
            return;
        }
        // std has no SIGTERM without libc: use kill(1) on our own child's pid.
        let termed = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        if termed {
            let deadline = Instant::now() + self.grace;
            while Instant::now() < deadline {
                if matches!(child.try_wait(), Ok(Some(_))) {
                    break;
                }
                thread::sleep(Duration::from_millis(25));
            }
        }
        if !matches!(child.try_wait(), Ok(Some(_))) {
            let _ = child.kill(); // SIGKILL
        }
        let _ = child.wait();
    }
}

impl Drop for ChildProcess {
    fn drop(&mut self) {
        self.stop();
        if std::env::var_os("RAMPART_TEST_KEEP_LOGS").is_some_and(|v| v == "1") {
            // Persist the log for post-mortem debugging.
            let src = self.log.path().to_path_buf();
            let dst = src.with_extension("kept.log");
            if std::fs::copy(&src, &dst).is_ok() {
                eprintln!("[support] kept {} log at {}", self.name, dst.display());
            }
        }
    }
}

/// Start a server on a fresh free port: `make(port)` builds the command,
/// `wait(child, port)` checks readiness. Retries up to 3 times with a new
/// port when the child dies because the port got taken in between.
pub fn spawn_on_free_port(
    name: &str,
    make: impl Fn(u16) -> Command,
    probe_path: &str,
    timeout: Duration,
    ready: impl Fn(u16) -> bool,
) -> (ChildProcess, u16) {
    spawn_on_free_port_over(Wire::Http, name, make, probe_path, timeout, ready)
}

/// How a test talks to a server it started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wire {
    Http,
    /// HTTPS, any certificate accepted.
    Https,
}

impl Wire {
    pub fn scheme(self) -> &'static str {
        match self {
            Wire::Http => "http",
            Wire::Https => "https",
        }
    }

    pub fn get(
        self,
        host: &str,
        port: u16,
        path: &str,
        timeout: Duration,
    ) -> std::io::Result<HttpResponse> {
        match self {
            Wire::Http => http_get_raw(host, port, path, timeout),
            Wire::Https => https_get_raw(host, port, path, timeout),
        }
    }
}

/// [`spawn_on_free_port`] with readiness probed over `wire`.
pub fn spawn_on_free_port_over(
    wire: Wire,
    name: &str,
    make: impl Fn(u16) -> Command,
    probe_path: &str,
    timeout: Duration,
    ready: impl Fn(u16) -> bool,
) -> (ChildProcess, u16) {
    const ATTEMPTS: usize = 3;
    for attempt in 1..=ATTEMPTS {
        let port = free_port();
        let mut child = ChildProcess::spawn(name, make(port));
        match child.poll(wire, port, probe_path, timeout, &ready) {
            Ok(()) => return (child, port),
            Err(msg) => {
                let log = child.log_contents();
                let port_clash = log.contains("Address already in use")
                    || log.contains("address already in use");
                if port_clash && attempt < ATTEMPTS {
                    eprintln!(
                        "[support] {name}: port {port} taken, retrying ({attempt}/{ATTEMPTS})"
                    );
                    child.stop();
                    continue;
                }
                child.fail(&msg);
            }
        }
    }
    unreachable!("spawn_on_free_port_over loop always returns or panics")
}

fn sanitize(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' && chars.peek() == Some(&'[') {
            chars.next();
            for c2 in chars.by_ref() {
                if ('@'..='~').contains(&c2) {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

const PROXY_VARS: &[&str] = &[
    "HTTP_PROXY",
    "http_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "ALL_PROXY",
    "all_proxy",
];

/// Environment every child gets: no proxies, loopback in NO_PROXY, dummy AWS
/// credentials and no AWS profile/config, unbuffered Python without .pyc
/// litter, and our pid for the parent watchdog.
fn apply_child_env(cmd: &mut Command) {
    for v in PROXY_VARS {
        cmd.env_remove(v);
    }
    for v in [
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_ROLE_ARN",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
    ] {
        cmd.env_remove(v);
    }
    cmd.env("NO_PROXY", "127.0.0.1,localhost,::1")
        .env("no_proxy", "127.0.0.1,localhost,::1")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_SESSION_TOKEN", "testing")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("PYTHONUNBUFFERED", "1")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("RAMPART_PARENT_PID", std::process::id().to_string());
}

// ---------------------------------------------------------------------------
// moto_server (DynamoDB)
// ---------------------------------------------------------------------------

/// A `moto_server` on 127.0.0.1:<free port>, killed on Drop.
pub struct MotoServer {
    proc: ChildProcess,
    port: u16,
}

impl MotoServer {
    /// Spawn `<venv>/bin/moto_server -H 127.0.0.1 -p PORT` and wait until it
    /// answers HTTP (typically ~1-2 s).
    pub fn start() -> MotoServer {
        let bin = venv_bin("moto_server");
        let (proc, port) = spawn_on_free_port(
            "moto_server",
            |port| {
                let mut cmd = Command::new(&bin);
                cmd.args(["-H", "127.0.0.1", "-p", &port.to_string()]);
                cmd.current_dir(std::env::temp_dir());
                cmd
            },
            "/",
            READY_TIMEOUT,
            |status| status < 500,
        );
        MotoServer { proc, port }
    }

    /// `http://127.0.0.1:<port>` (what the apps get as `DYNAMODB_ENDPOINT`).
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn process(&mut self) -> &mut ChildProcess {
        &mut self.proc
    }

    pub fn log_tail(&self, n: usize) -> String {
        self.proc.log_tail(n)
    }
}

// ---------------------------------------------------------------------------
// Flask target apps
// ---------------------------------------------------------------------------

/// One twin of a Python target app (`tests/targets/<app>`), killed on Drop.
///
/// Environment passed to the app: `TWIN`, `PORT`, `DYNAMODB_ENDPOINT`,
/// `RAMPART_PARENT_PID`, dummy `AWS_*`, then `extra_env` (which may override
/// any of them, e.g. `TABLE_PREFIX`).
pub struct FlaskApp {
    proc: ChildProcess,
    port: u16,
    twin: String,
    app: String,
    /// HTTP, or HTTPS served by the app itself ([`FlaskApp::start_tls`]).
    wire: Wire,
}

/// How to start one of the Flask targets under tests/targets on a given
/// port: the venv's python, the twin, Flask's reloader and debugger kept
/// off, the caller's `extra_env`, and `configure` for what differs (moto
/// endpoint, TLS files).
fn target_command<'a>(
    app: &str,
    twin: &'a str,
    extra_env: &'a [(&'a str, &'a str)],
    configure: impl Fn(&mut Command) + 'a,
) -> impl Fn(u16) -> Command + 'a {
    let script = targets_dir().join(app);
    assert!(
        script.is_file(),
        "target app {} does not exist",
        script.display()
    );
    let workdir = script
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(targets_dir);
    let python = venv_python();
    move |port| {
        let mut cmd = Command::new(&python);
        cmd.arg(&script)
            .current_dir(&workdir)
            .env("TWIN", twin)
            .env("PORT", port.to_string())
            .env_remove("FLASK_DEBUG")
            .env_remove("FLASK_APP")
            .env_remove("WERKZEUG_RUN_MAIN")
            .env_remove("WERKZEUG_SERVER_FD");
        configure(&mut cmd);
        for (k, v) in extra_env {
            cmd.env(k, v);
        }
        cmd
    }
}

impl FlaskApp {
    /// Start `app` (path relative to `tests/targets`, e.g. "exposure/app.py")
    /// as `twin`, wait until `GET /api/health` returns 200.
    pub fn start(app: &str, twin: &str, moto: &MotoServer, extra_env: &[(&str, &str)]) -> FlaskApp {
        Self::start_with_probe(app, twin, moto, extra_env, "/api/health")
    }

    /// Like [`FlaskApp::start`] with a custom readiness path (must return 200).
    pub fn start_with_probe(
        app: &str,
        twin: &str,
        moto: &MotoServer,
        extra_env: &[(&str, &str)],
        probe_path: &str,
    ) -> FlaskApp {
        let endpoint = moto.endpoint();
        let name = format!("{}[{twin}]", app.trim_end_matches(".py"));
        let make = target_command(app, twin, extra_env, |cmd| {
            cmd.env("DYNAMODB_ENDPOINT", &endpoint);
        });
        let (proc, port) = spawn_on_free_port(&name, make, probe_path, READY_TIMEOUT, |status| {
            status == 200
        });
        FlaskApp {
            proc,
            port,
            twin: twin.to_string(),
            app: app.to_string(),
            wire: Wire::Http,
        }
    }

    /// `http://127.0.0.1:<port>` or `https://…` (no trailing slash).
    pub fn base_url(&self) -> String {
        format!("{}://127.0.0.1:{}", self.wire.scheme(), self.port)
    }

    /// `base_url()` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base_url(), path)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn twin(&self) -> &str {
        &self.twin
    }

    pub fn app(&self) -> &str {
        &self.app
    }

    /// GET a path on this app (over HTTPS: certificate not verified,
    /// redirects not followed).
    pub fn get(&self, path: &str) -> HttpResponse {
        match self.wire {
            Wire::Http => http_get(&self.base_url(), path),
            Wire::Https => https_get(&self.base_url(), path),
        }
    }

    pub fn process(&mut self) -> &mut ChildProcess {
        &mut self.proc
    }

    pub fn log_tail(&self, n: usize) -> String {
        self.proc.log_tail(n)
    }
}

// ---------------------------------------------------------------------------
// Running the rampart binary
// ---------------------------------------------------------------------------

/// Path of the binary under test.
pub fn rampart_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_rampart"))
}

fn run_timeout() -> Duration {
    std::env::var("RAMPART_TEST_RUN_TIMEOUT_SECS")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .map(Duration::from_secs)
        .unwrap_or(RAMPART_TIMEOUT)
}

/// Run `rampart <args>` and capture its output. Panics if it does not
/// finish within `RAMPART_TEST_RUN_TIMEOUT_SECS` (default 300 s).
pub fn rampart(args: &[&str]) -> Output {
    rampart_with_env(args, &[])
}

/// [`rampart`] with extra environment variables.
pub fn rampart_with_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(rampart_bin());
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for v in PROXY_VARS {
        cmd.env_remove(v);
    }
    cmd.env("NO_PROXY", "127.0.0.1,localhost,::1")
        .env("no_proxy", "127.0.0.1,localhost,::1");
    cmd.env("NO_COLOR", "1");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("failed to run {}: {e}", rampart_bin().display()));
    // Drain the pipes on threads so a chatty child cannot deadlock us.
    let mut so = child.stdout.take().expect("stdout pipe");
    let mut se = child.stderr.take().expect("stderr pipe");
    let t_out = thread::spawn(move || {
        let mut b = Vec::new();
        let _ = so.read_to_end(&mut b);
        b
    });
    let t_err = thread::spawn(move || {
        let mut b = Vec::new();
        let _ = se.read_to_end(&mut b);
        b
    });
    let limit = run_timeout();
    let deadline = Instant::now() + limit;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                let stderr = t_err.join().unwrap_or_default();
                panic!(
                    "rampart {args:?} did not finish within {limit:?}; stderr:\n{}",
                    truncate(&String::from_utf8_lossy(&stderr), 8000)
                );
            }
            Ok(None) => thread::sleep(Duration::from_millis(50)),
            Err(e) => panic!("waiting for rampart failed: {e}"),
        }
    };
    let stdout = t_out.join().unwrap_or_default();
    let stderr = t_err.join().unwrap_or_default();
    Output {
        status,
        stdout,
        stderr,
    }
}

/// Result of one `rampart scan ... --format json` run.
#[derive(Debug)]
pub struct ScanRun {
    pub report: serde_json::Value,
    /// Raw stdout (the JSON report as printed).
    pub stdout: String,
    pub stderr: String,
    pub exit_code: i32,
}

impl ScanRun {
    /// The `findings` array (panics if the report has none).
    pub fn findings(&self) -> &Vec<serde_json::Value> {
        self.report
            .get("findings")
            .and_then(|f| f.as_array())
            .unwrap_or_else(|| {
                panic!(
                    "report has no findings array:\n{}",
                    truncate(&self.stdout, 4000)
                )
            })
    }

    /// One line per finding: `check severity METHOD path — title`.
    pub fn summary(&self) -> String {
        summarize_findings(&self.report)
    }
}

/// `check severity METHOD path — title`, one line per finding, for messages.
pub fn summarize_findings(report: &serde_json::Value) -> String {
    let s = |f: &serde_json::Value, k: &str| {
        f.get(k).and_then(|v| v.as_str()).unwrap_or("?").to_string()
    };
    match report.get("findings").and_then(|f| f.as_array()) {
        Some(fs) if !fs.is_empty() => fs
            .iter()
            .map(|f| {
                format!(
                    "  {} {} {} {} — {}",
                    s(f, "check"),
                    s(f, "severity"),
                    s(f, "method"),
                    s(f, "path"),
                    s(f, "title")
                )
            })
            .collect::<Vec<_>>()
            .join("\n"),
        Some(_) => "  (no findings)".to_string(),
        None => "  (report has no findings array)".to_string(),
    }
}

/// Run `rampart scan <base_url> --format json <extra_args>`; asserts exit
/// status 0 (nothing at or above `--fail-on`) or 1 (something is) and that
/// stdout is JSON.
pub fn scan(base_url: &str, extra_args: &[&str]) -> ScanRun {
    scan_with_env(base_url, extra_args, &[])
}

/// [`scan`] returning only the parsed report.
pub fn scan_json(base_url: &str, extra_args: &[&str]) -> serde_json::Value {
    scan(base_url, extra_args).report
}

/// [`scan`] with extra environment variables for the `rampart` process
/// (e.g. the secrets an `--identity-file` reads with `env:VAR`).
pub fn scan_with_env(base_url: &str, extra_args: &[&str], env: &[(&str, &str)]) -> ScanRun {
    let mut args = vec!["scan", base_url, "--format", "json"];
    args.extend_from_slice(extra_args);
    let out = rampart_with_env(&args, env);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let code = out.status.code().unwrap_or(-1);
    if code != 0 && code != 1 {
        panic!(
            "rampart {args:?} exited with {} (expected 0 or 1)\n--- stderr ---\n{}\n--- stdout ---\n{}",
            out.status,
            truncate(&stderr, 8000),
            truncate(&stdout, 4000)
        );
    }
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "rampart {args:?} stdout is not JSON ({e})\n--- stderr ---\n{}\n--- stdout ---\n{}",
            truncate(&stderr, 8000),
            truncate(&stdout, 4000)
        )
    });
    ScanRun {
        report,
        stdout,
        stderr,
        exit_code: code,
    }
}

// ---------------------------------------------------------------------------
// HTTPS targets: a throwaway PKI, an HTTPS GET, Flask twins served over TLS
// ---------------------------------------------------------------------------

/// A throwaway PKI made with the `openssl` CLI in a temp dir (removed on
/// Drop): a test CA (RSA-2048, SHA-256, CN "Rampart Test CA") and one leaf
/// it signed (RSA-2048, SHA-256, 30 days, CN=localhost, SAN
/// `DNS:localhost, IP:127.0.0.1`, serverAuth).
///
/// Nothing is added to any trust store: clients use `--insecure` (Rampart)
/// or [`https_get_raw`], or trust [`TestPki::ca_cert`] explicitly.
pub struct TestPki {
    dir: tempfile::TempDir,
}

impl TestPki {
    /// Generates the CA and the leaf. Panics (with openssl's output) when
    /// the `openssl` CLI is missing or fails.
    pub fn generate() -> TestPki {
        let dir = tempfile::Builder::new()
            .prefix("rampart-test-pki-")
            .tempdir()
            .expect("create PKI temp dir");
        let d = dir.path();
        let write = |name: &str, text: &str| {
            std::fs::write(d.join(name), text)
                .unwrap_or_else(|e| panic!("write {}: {e}", d.join(name).display()))
        };
        // An empty OPENSSL_CONF keeps distro defaults out of the way; req.cnf
        // carries only what `req` needs.
        write("empty.cnf", "");
        write(
            "req.cnf",
            "[req]\ndistinguished_name = dn\n[dn]\n[v3_ca]\n\
             basicConstraints = critical,CA:TRUE\nkeyUsage = critical,keyCertSign,cRLSign\n\
             subjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid:always\n",
        );
        write(
            "leaf.ext",
            "basicConstraints = CA:FALSE\nkeyUsage = critical,digitalSignature,keyEncipherment\n\
             extendedKeyUsage = serverAuth\nsubjectKeyIdentifier = hash\n\
             authorityKeyIdentifier = keyid\nsubjectAltName = DNS:localhost,IP:127.0.0.1\n",
        );
        let pki = TestPki { dir };
        pki.openssl(&[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-sha256",
            "-days",
            "3650",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-subj",
            "/CN=Rampart Test CA",
            "-config",
            "req.cnf",
            "-extensions",
            "v3_ca",
        ]);
        pki.openssl(&[
            "req",
            "-new",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "leaf.key",
            "-out",
            "leaf.csr",
            "-subj",
            "/CN=localhost",
            "-config",
            "req.cnf",
        ]);
        pki.openssl(&[
            "x509",
            "-req",
            "-in",
            "leaf.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            // Every TestPki has its own fresh CA, so a fixed serial is unique.
            "-set_serial",
            "0x1000",
            "-days",
            "30",
            "-sha256",
            "-extfile",
            "leaf.ext",
            "-out",
            "leaf.pem",
        ]);
        // Leaf then CA: the chain a correctly configured server sends.
        let mut chain = std::fs::read(pki.leaf_cert()).expect("read leaf.pem");
        chain.extend(std::fs::read(pki.ca_cert()).expect("read ca.pem"));
        std::fs::write(pki.cert_chain(), chain).expect("write fullchain.pem");
        pki
    }

    fn openssl(&self, args: &[&str]) {
        let d = self.dir.path();
        let out = Command::new("openssl")
            .args(args)
            .current_dir(d)
            .env("OPENSSL_CONF", d.join("empty.cnf"))
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| {
                panic!("the openssl CLI is required (apt-get install -y openssl): {e}")
            });
        assert!(
            out.status.success(),
            "openssl {args:?} failed ({}):\n{}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The CA certificate (PEM).
    pub fn ca_cert(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// The leaf certificate alone (PEM).
    pub fn leaf_cert(&self) -> PathBuf {
        self.dir.path().join("leaf.pem")
    }

    /// Leaf followed by the CA (PEM): what a server should be given.
    pub fn cert_chain(&self) -> PathBuf {
        self.dir.path().join("fullchain.pem")
    }

    /// The leaf's private key (PEM, unencrypted).
    pub fn key(&self) -> PathBuf {
        self.dir.path().join("leaf.key")
    }
}

/// One HTTPS GET to `https://host:port/path` (loopback only) that accepts
/// any certificate and does not follow redirects. Runs reqwest on its own
/// thread and runtime, so it works from sync and async tests alike.
/// `headers` of the result holds one `Name: value` line per header.
pub fn https_get_raw(
    host: &str,
    port: u16,
    path: &str,
    timeout: Duration,
) -> std::io::Result<HttpResponse> {
    assert_loopback(host);
    let url = format!("https://{host}:{port}{path}");
    let worker = thread::spawn(move || -> Result<HttpResponse, String> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("tokio runtime: {e}"))?;
        runtime.block_on(async move {
            let client = reqwest::Client::builder()
                .danger_accept_invalid_certs(true)
                .redirect(reqwest::redirect::Policy::none())
                .no_proxy()
                .timeout(timeout)
                .user_agent("rampart-test-harness")
                .build()
                .map_err(|e| format!("reqwest client: {e}"))?;
            let resp = client.get(&url).send().await.map_err(|e| {
                // The source chain says *why* (refused, handshake, ...).
                let mut msg = e.to_string();
                let mut source = std::error::Error::source(&e);
                while let Some(s) = source {
                    msg.push_str(&format!(": {s}"));
                    source = s.source();
                }
                msg
            })?;
            let status = resp.status().as_u16();
            let headers = resp
                .headers()
                .iter()
                .map(|(k, v)| format!("{}: {}", k.as_str(), String::from_utf8_lossy(v.as_bytes())))
                .collect::<Vec<_>>()
                .join("\r\n");
            let body = resp
                .text()
                .await
                .map_err(|e| format!("reading body: {e}"))?;
            Ok(HttpResponse {
                status,
                headers,
                body,
            })
        })
    });
    match worker.join() {
        Ok(result) => result.map_err(std::io::Error::other),
        Err(_) => Err(std::io::Error::other(
            "https_get_raw worker thread panicked",
        )),
    }
}

/// GET `base_url` + `path` for an `https://127.0.0.1:PORT` base; panics on
/// connection errors. Certificates are not verified.
pub fn https_get(base_url: &str, path: &str) -> HttpResponse {
    let rest = base_url
        .strip_prefix("https://")
        .unwrap_or_else(|| panic!("only https:// URLs are supported here: {base_url}"));
    let (host, port) = host_port(&format!("http://{rest}"));
    https_get_raw(&host, port, path, Duration::from_secs(10))
        .unwrap_or_else(|e| panic!("GET {base_url}{path} failed: {e}"))
}

/// [`spawn_on_free_port`] for a server that speaks HTTPS: readiness is an
/// HTTPS `GET probe_path` (any certificate accepted) answered with a status
/// for which `ready` holds. Same port-clash retries and failure log tail.
pub fn spawn_on_free_port_https(
    name: &str,
    make: impl Fn(u16) -> Command,
    probe_path: &str,
    timeout: Duration,
    ready: impl Fn(u16) -> bool,
) -> (ChildProcess, u16) {
    spawn_on_free_port_over(Wire::Https, name, make, probe_path, timeout, ready)
}

impl FlaskApp {
    /// Start `app` (relative to `tests/targets`) as `twin` over HTTPS with
    /// `pki`'s chain and key; wait until `GET /api/health` over HTTPS
    /// returns 200. `moto` is optional: apps without DynamoDB pass `None`.
    pub fn start_tls(
        app: &str,
        twin: &str,
        pki: &TestPki,
        moto: Option<&MotoServer>,
        extra_env: &[(&str, &str)],
    ) -> FlaskApp {
        FlaskApp::start_tls_with_probe(app, twin, pki, moto, extra_env, "/api/health")
    }

    /// Like [`FlaskApp::start_tls`] with a custom readiness path (must return 200).
    pub fn start_tls_with_probe(
        app: &str,
        twin: &str,
        pki: &TestPki,
        moto: Option<&MotoServer>,
        extra_env: &[(&str, &str)],
        probe_path: &str,
    ) -> FlaskApp {
        let endpoint = moto.map(MotoServer::endpoint);
        let (cert, key) = (pki.cert_chain(), pki.key());
        let name = format!("{}[{twin}, tls]", app.trim_end_matches(".py"));
        let make = target_command(app, twin, extra_env, |cmd| {
            cmd.env("TLS_CERT", &cert).env("TLS_KEY", &key);
            match &endpoint {
                Some(endpoint) => cmd.env("DYNAMODB_ENDPOINT", endpoint),
                None => cmd.env_remove("DYNAMODB_ENDPOINT"),
            };
        });
        let (proc, port) =
            spawn_on_free_port_https(&name, make, probe_path, READY_TIMEOUT, |status| {
                status == 200
            });
        FlaskApp {
            proc,
            port,
            twin: twin.to_string(),
            app: app.to_string(),
            wire: Wire::Https,
        }
    }
}
