//! The one process manager for everything the tests start: Flask targets,
//! moto_server, Varnish, nginx, `openssl s_server`, …
//!
//! A [`Launch`] describes a child (its command for a set of free ports,
//! how to tell it is ready, how to stop it); [`Launch::start`] runs it as a
//! [`ChildProcess`]:
//!
//! * in its own process group, so stopping it reaches every process it forked
//!   (nginx workers, Varnish's cache process) and none can be orphaned;
//! * in a scratch directory of its own under [`scratch_root`], which is also
//!   its working directory and holds its log (stdout and stderr) and whatever
//!   the launch renders there (configs, caches);
//! * tagged: its environment carries `RAMPART_TEST_CHILD=<run id>` and its
//!   working directory is below the run's scratch root, so [`survivors`] (and
//!   `scripts/test` after the suite) can find anything left over, including
//!   processes like nginx that overwrite their environment;
//! * watched: a small `sh` watchdog stops the group if the test binary dies
//!   without running `Drop` (SIGKILL, CI timeout); Python targets also exit
//!   by themselves then (`tests/targets/common/watchdog.py`).
//!
//! Dropping a [`ChildProcess`] stops it gracefully: the launch's stop signal
//! (SIGTERM, or SIGQUIT for nginx) to the whole group, a deadline, then
//! SIGKILL to the group, and the leader reaped. Keep guards in locals (a
//! `static` is never dropped: only the watchdog would stop its child, after
//! the test binary exits). Set `RAMPART_TEST_KEEP_LOGS=1` to keep scratch
//! directories for a post-mortem.
//!
//! Everything binds and talks to 127.0.0.1 only.

use std::fs::{self, File, OpenOptions};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::http::Wire;

/// Names the suite run; `scripts/test` sets it for every test binary, a test
/// binary run on its own makes up its own.
pub const RUN_VAR: &str = "RAMPART_TEST_RUN";
/// Every child carries `RAMPART_TEST_CHILD=<run id>`.
pub const CHILD_TAG_VAR: &str = "RAMPART_TEST_CHILD";
/// The test binary's pid, for the targets' own parent-death watchdog.
pub const PARENT_VAR: &str = "RAMPART_PARENT_PID";
/// Default time a child gets to become ready.
pub const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// Default time between the stop signal and SIGKILL.
pub const STOP_GRACE: Duration = Duration::from_secs(5);
/// Lines of a child's log shown when it fails.
pub const LOG_TAIL_LINES: usize = 40;
const START_ATTEMPTS: usize = 3;

pub const SIGTERM: i32 = libc::SIGTERM;
pub const SIGQUIT: i32 = libc::SIGQUIT;

// ---------------------------------------------------------------------------
// The run and its scratch space
// ---------------------------------------------------------------------------

/// The run id: `$RAMPART_TEST_RUN` (file-name characters only), else
/// `<pid>-<nanos>` of this test binary.
pub fn run_id() -> &'static str {
    static ID: OnceLock<String> = OnceLock::new();
    ID.get_or_init(|| {
        let given: String = std::env::var(RUN_VAR)
            .unwrap_or_default()
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            .collect();
        if given.is_empty() {
            let nanos = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or_default();
            format!("{}-{nanos}", std::process::id())
        } else {
            given
        }
    })
}

/// `<tmp>/rampart-test-<run id>`: every child's scratch directory is below it.
pub fn scratch_root() -> PathBuf {
    std::env::temp_dir().join(format!("rampart-test-{}", run_id()))
}

fn keep_logs() -> bool {
    std::env::var_os("RAMPART_TEST_KEEP_LOGS").is_some_and(|v| v == "1")
}

/// A fresh directory `<scratch root>/<test pid>-<name>-<n>`, removed on
/// Drop (with the root, once it is empty) unless logs are kept.
pub struct ScratchDir(PathBuf);

impl ScratchDir {
    pub fn new(name: &str) -> ScratchDir {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = scratch_root().join(format!("{}-{}-{n}", std::process::id(), sanitize(name)));
        fs::create_dir_all(&path).unwrap_or_else(|e| panic!("create {}: {e}", path.display()));
        ScratchDir(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        if keep_logs() {
            eprintln!("[support] kept {}", self.0.display());
            return;
        }
        let _ = fs::remove_dir_all(&self.0);
        // Fails while other children still have theirs: the last one out
        // removes the root.
        let _ = fs::remove_dir(scratch_root());
    }
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

// ---------------------------------------------------------------------------
// The environment every child gets
// ---------------------------------------------------------------------------

const PROXY_VARS: &[&str] = &[
    "HTTP_PROXY",
    "http_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "ALL_PROXY",
    "all_proxy",
];

/// No proxies and loopback in NO_PROXY (so nothing leaves the machine), no
/// colours, the run tag and our pid.
pub fn loopback_env(cmd: &mut Command) {
    for v in PROXY_VARS {
        cmd.env_remove(v);
    }
    cmd.env("NO_PROXY", "127.0.0.1,localhost,::1")
        .env("no_proxy", "127.0.0.1,localhost,::1")
        .env("NO_COLOR", "1")
        .env(CHILD_TAG_VAR, run_id())
        .env(PARENT_VAR, std::process::id().to_string());
}

/// [`loopback_env`] plus dummy AWS credentials and no AWS profile or config
/// (nothing can read a real account), and unbuffered Python without .pyc
/// litter.
fn child_env(cmd: &mut Command) {
    loopback_env(cmd);
    for v in [
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_ROLE_ARN",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
    ] {
        cmd.env_remove(v);
    }
    cmd.env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_SESSION_TOKEN", "testing")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("PYTHONUNBUFFERED", "1")
        .env("PYTHONDONTWRITEBYTECODE", "1");
}

// ---------------------------------------------------------------------------
// Launch: what to start and how to tell it is up
// ---------------------------------------------------------------------------

/// How to tell a child is ready.
#[derive(Debug, Clone)]
pub enum Ready {
    /// At once (the caller waits for what it needs).
    Started,
    /// Every port accepts TCP connections.
    Tcp,
    /// `GET path` on the first port over `wire` answers a status for which
    /// `ok` holds. With `fresh_query`, each poll adds its own
    /// `rampart_ready=<n>` so a cache in front cannot answer from an entry
    /// stored by an earlier poll.
    Http {
        wire: Wire,
        path: String,
        ok: fn(u16) -> bool,
        fresh_query: bool,
    },
}

impl Ready {
    /// `GET path` over plain HTTP answers 200.
    pub fn http_200(path: &str) -> Ready {
        Ready::Http {
            wire: Wire::Http,
            path: path.to_string(),
            ok: |status| status == 200,
            fresh_query: false,
        }
    }
}

/// What a launch's command builder gets: the free ports picked for this
/// attempt and the child's scratch directory (its working directory).
pub struct Slot<'a> {
    pub ports: &'a [u16],
    pub dir: &'a Path,
}

impl Slot<'_> {
    pub fn port(&self) -> u16 {
        self.ports[0]
    }
}

type Builder<'a> = Box<dyn FnMut(&Slot<'_>) -> Command + 'a>;

/// A child to start; see the module docs.
pub struct Launch<'a> {
    name: String,
    ports: usize,
    command: Builder<'a>,
    ready: Ready,
    timeout: Duration,
    stop_signal: i32,
    grace: Duration,
    extra_logs: Vec<String>,
    watch_pid: u32,
}

impl<'a> Launch<'a> {
    /// `command` builds the command line for one attempt; it runs in the
    /// slot's directory, so paths given to it must be absolute.
    pub fn new(name: &str, command: impl FnMut(&Slot<'_>) -> Command + 'a) -> Launch<'a> {
        Launch {
            name: name.to_string(),
            ports: 1,
            command: Box::new(command),
            ready: Ready::Started,
            timeout: READY_TIMEOUT,
            stop_signal: SIGTERM,
            grace: STOP_GRACE,
            extra_logs: Vec::new(),
            watch_pid: std::process::id(),
        }
    }

    /// How many free loopback ports each attempt gets (default 1).
    pub fn ports(mut self, n: usize) -> Self {
        self.ports = n;
        self
    }

    pub fn ready(mut self, ready: Ready) -> Self {
        self.ready = ready;
        self
    }

    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The signal that asks the group to stop (default SIGTERM).
    pub fn stop_signal(mut self, signal: i32) -> Self {
        self.stop_signal = signal;
        self
    }

    /// Another log the child writes in its scratch directory (shown on
    /// failure with the main one), e.g. nginx's `error.log`.
    pub fn log_file(mut self, relative: &str) -> Self {
        self.extra_logs.push(relative.to_string());
        self
    }

    /// The process whose death makes the watchdog stop this child (default:
    /// this test binary). Only tests of the watchdog itself change it.
    pub fn watchdog_parent(mut self, pid: u32) -> Self {
        self.watch_pid = pid;
        self
    }

    /// Starts the child on free ports and waits until it is ready. A child
    /// that exits before it is ready because a port was taken in between is
    /// started again on new ports; any other failure panics with its log.
    pub fn start(mut self) -> ChildProcess {
        for attempt in 1..=START_ATTEMPTS {
            let ports: Vec<u16> = (0..self.ports).map(|_| free_port()).collect();
            let dir = ScratchDir::new(&self.name);
            let cmd = (self.command)(&Slot {
                ports: &ports,
                dir: dir.path(),
            });
            let mut child = ChildProcess::spawn(&self, cmd, dir, ports);
            match child.wait_ready(&self.ready, self.timeout) {
                Ok(()) => return child,
                Err(msg) => {
                    let lost_port = child.exited()
                        && child
                            .log_contents()
                            .to_ascii_lowercase()
                            .contains("address already in use");
                    if lost_port && attempt < START_ATTEMPTS {
                        eprintln!(
                            "[support] {}: a port was taken, retrying ({attempt}/{START_ATTEMPTS})",
                            self.name
                        );
                        child.stop();
                        continue;
                    }
                    child.fail(&msg);
                }
            }
        }
        unreachable!("the last attempt returns or panics")
    }
}

/// A currently free TCP port on 127.0.0.1 (bind :0, read, release). A child
/// may lose it to someone else before it binds: [`Launch::start`] retries.
/// Also the way to name a port nobody listens on.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind 127.0.0.1:0")
}

// ---------------------------------------------------------------------------
// The guard
// ---------------------------------------------------------------------------

/// How a stop went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stopped {
    /// The whole group was gone before the deadline, without SIGKILL.
    pub graceful: bool,
    /// No process of the group was left at the end.
    pub group_gone: bool,
}

/// A running child and its process group; see the module docs.
pub struct ChildProcess {
    name: String,
    child: Option<Child>,
    pgid: i32,
    watchdog: Option<Child>,
    ports: Vec<u16>,
    log: PathBuf,
    extra_logs: Vec<PathBuf>,
    stop_signal: i32,
    grace: Duration,
    stopped: Option<Stopped>,
    // Last: removed after the processes that use it are gone.
    dir: ScratchDir,
}

impl ChildProcess {
    fn spawn(launch: &Launch<'_>, mut cmd: Command, dir: ScratchDir, ports: Vec<u16>) -> Self {
        let name = launch.name.clone();
        let log = dir.path().join("output.log");
        // One O_APPEND description shared by stdout and stderr, so the two
        // streams interleave instead of overwriting each other.
        let out: File = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .expect("create child log");
        let err = out.try_clone().expect("dup child log for stderr");
        child_env(&mut cmd);
        cmd.current_dir(dir.path())
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err));
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("failed to start {name} ({:?}): {e}", cmd.get_program()));
        let pgid = child.id() as i32;
        let watchdog = spawn_watchdog(launch.watch_pid, pgid, dir.path());
        ChildProcess {
            name,
            child: Some(child),
            pgid,
            watchdog,
            ports,
            log,
            extra_logs: launch
                .extra_logs
                .iter()
                .map(|l| dir.path().join(l))
                .collect(),
            stop_signal: launch.stop_signal,
            grace: launch.grace,
            stopped: None,
            dir,
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The leader's pid, which is also the group id.
    pub fn pid(&self) -> u32 {
        self.pgid as u32
    }

    /// The first port of the launch.
    pub fn port(&self) -> u16 {
        self.ports[0]
    }

    pub fn ports(&self) -> &[u16] {
        &self.ports
    }

    /// The scratch directory (working directory, log, rendered files).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The live (non-zombie) processes of the child's group.
    pub fn group(&self) -> Vec<u32> {
        processes()
            .into_iter()
            .filter(|p| p.pgrp == self.pgid && !p.zombie)
            .map(|p| p.pid)
            .collect()
    }

    /// Whole main log so far (ANSI colour codes stripped).
    pub fn log_contents(&self) -> String {
        let bytes = fs::read(&self.log).unwrap_or_default();
        strip_ansi(&String::from_utf8_lossy(&bytes))
    }

    /// Last `n` lines of each log.
    pub fn log_tail(&self, n: usize) -> String {
        let mut out = tail(&self.log_contents(), n);
        for path in &self.extra_logs {
            let text = fs::read(path)
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_else(|e| format!("<unreadable: {e}>"));
            out.push_str(&format!("\n==> {} <==\n{}", path.display(), tail(&text, n)));
        }
        out
    }

    /// `Some(status)` once the leader has exited (it is reaped then).
    pub fn try_exit_status(&mut self) -> Option<ExitStatus> {
        self.child
            .as_mut()
            .and_then(|c| c.try_wait().ok().flatten())
    }

    fn exited(&mut self) -> bool {
        self.try_exit_status().is_some()
    }

    /// Panics with `msg`, the leader's exit status (if any) and the log.
    pub fn fail(&mut self, msg: &str) -> ! {
        let status = match self.try_exit_status() {
            Some(s) => format!("exited with {s}"),
            None => "still running".to_string(),
        };
        let pid = self.pid();
        self.stop();
        // Read after stopping, so the child's last words are in. Readiness
        // polls can flood the log, so the first lines are shown too.
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
        panic!(
            "{msg}\n{} (pid {pid}) {status}; scratch dir {}:\n{head}last {LOG_TAIL_LINES} lines:\n{}\n--- end of {} log ---",
            self.name,
            self.dir().display(),
            self.log_tail(LOG_TAIL_LINES),
            self.name,
        );
    }

    /// Polls until `ready` holds, the leader exits, or `timeout` passes.
    pub fn wait_ready(&mut self, ready: &Ready, timeout: Duration) -> Result<(), String> {
        let deadline = Instant::now() + timeout;
        let mut last = String::from("no attempt made");
        let mut n: u64 = 0;
        loop {
            if let Some(status) = self.try_exit_status() {
                return Err(format!(
                    "{} exited before it was ready ({status}); last probe: {last}",
                    self.name
                ));
            }
            match self.probe(ready, &mut n) {
                Ok(()) => return Ok(()),
                Err(e) => last = e,
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "{} not ready after {timeout:?}; last probe: {last}",
                    self.name
                ));
            }
            thread::sleep(Duration::from_millis(100));
        }
    }

    fn probe(&self, ready: &Ready, n: &mut u64) -> Result<(), String> {
        match ready {
            Ready::Started => Ok(()),
            Ready::Tcp => {
                for port in &self.ports {
                    std::net::TcpStream::connect(("127.0.0.1", *port))
                        .map_err(|e| format!("connect 127.0.0.1:{port}: {e}"))?;
                }
                Ok(())
            }
            Ready::Http {
                wire,
                path,
                ok,
                fresh_query,
            } => {
                let mut path = path.clone();
                if *fresh_query {
                    *n += 1;
                    let sep = if path.contains('?') { '&' } else { '?' };
                    path = format!("{path}{sep}rampart_ready={n}");
                }
                let port = self.port();
                match wire.get("127.0.0.1", port, &path, Duration::from_secs(2)) {
                    Ok(resp) if ok(resp.status) => Ok(()),
                    Ok(resp) => Err(format!(
                        "{}://127.0.0.1:{port}{path}: HTTP {} {}",
                        wire.scheme(),
                        resp.status,
                        truncate(&resp.body, 200)
                    )),
                    Err(e) => Err(format!("{}://127.0.0.1:{port}{path}: {e}", wire.scheme())),
                }
            }
        }
    }

    /// Stops the whole group gracefully and reaps the leader (idempotent):
    /// the stop signal to the group, up to the grace period for every
    /// process of it to exit, then SIGKILL to the group.
    pub fn stop(&mut self) -> Stopped {
        if let Some(done) = self.stopped {
            return done;
        }
        let Some(mut child) = self.child.take() else {
            return Stopped {
                graceful: true,
                group_gone: true,
            };
        };
        let done = stop_group(&mut child, self.pgid, self.stop_signal, self.grace);
        if let Some(mut watchdog) = self.watchdog.take() {
            let group = watchdog.id() as i32;
            stop_group(&mut watchdog, group, libc::SIGKILL, Duration::ZERO);
        }
        if !done.group_gone {
            eprintln!(
                "[support] {} (group {}) still has processes after SIGKILL: {:?}",
                self.name,
                self.pgid,
                self.group()
            );
        }
        self.stopped = Some(done);
        done
    }
}

impl Drop for ChildProcess {
    fn drop(&mut self) {
        if self.child.is_some() && thread::panicking() {
            eprintln!(
                "--- {} log tail (test panicked) ---\n{}",
                self.name,
                self.log_tail(20)
            );
        }
        self.stop();
    }
}

fn signal_group(pgid: i32, signal: i32) {
    // SAFETY: kill(2) has no memory effects; a negative pid names the group
    // this guard created (pgid is never 0 or 1 here: it is a child's pid).
    unsafe {
        libc::kill(-pgid, signal);
    }
}

fn group_alive(pgid: i32) -> bool {
    processes().iter().any(|p| p.pgrp == pgid && !p.zombie)
}

fn stop_group(leader: &mut Child, pgid: i32, signal: i32, grace: Duration) -> Stopped {
    signal_group(pgid, signal);
    let deadline = Instant::now() + grace;
    let mut graceful = true;
    loop {
        // Reap the leader as soon as it exits; the rest are reaped by init.
        let _ = leader.try_wait();
        if !group_alive(pgid) {
            break;
        }
        if Instant::now() >= deadline {
            graceful = false;
            signal_group(pgid, libc::SIGKILL);
            break;
        }
        thread::sleep(Duration::from_millis(20));
    }
    let _ = leader.wait();
    // SIGKILL is delivered at once but a process is listed until it is gone.
    let deadline = Instant::now() + Duration::from_secs(3);
    while group_alive(pgid) && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(20));
    }
    Stopped {
        graceful,
        group_gone: !group_alive(pgid),
    }
}

/// Stops the group `pgid` if `parent` dies without stopping it (Drop not
/// run), and removes `dir`; exits by itself once the group is gone. Runs in
/// its own group, so stopping it also stops its `sleep`.
fn spawn_watchdog(parent: u32, pgid: i32, dir: &Path) -> Option<Child> {
    const SCRIPT: &str = r#"p=$1; g=$2; d=$3
while kill -0 "$p" 2>/dev/null; do
  kill -0 "-$g" 2>/dev/null || exit 0
  sleep 1
done
kill -TERM "-$g" 2>/dev/null
n=0; while kill -0 "-$g" 2>/dev/null && [ $n -lt 25 ]; do sleep 0.2; n=$((n+1)); done
kill -KILL "-$g" 2>/dev/null
[ -n "$d" ] && rm -rf "$d"
exit 0"#;
    let dir_arg = if keep_logs() {
        String::new()
    } else {
        dir.display().to_string()
    };
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(SCRIPT)
        .arg("rampart-test-watchdog")
        .arg(parent.to_string())
        .arg(pgid.to_string())
        .arg(dir_arg);
    loopback_env(&mut cmd);
    cmd.current_dir(dir)
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()
}

// ---------------------------------------------------------------------------
// /proc: groups and survivors
// ---------------------------------------------------------------------------

struct Proc {
    pid: u32,
    ppid: u32,
    pgrp: i32,
    zombie: bool,
}

/// Every process of the machine, from /proc/<pid>/stat.
fn processes() -> Vec<Proc> {
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| {
            let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            // "pid (comm) state ppid pgrp ..."; comm may hold spaces and parens.
            let (_, rest) = stat.rsplit_once(") ")?;
            let mut fields = rest.split_whitespace();
            let state = fields.next()?;
            let ppid = fields.next()?.parse().ok()?;
            let pgrp = fields.next()?.parse().ok()?;
            Some(Proc {
                pid,
                ppid,
                pgrp,
                zombie: state == "Z" || state == "X",
            })
        })
        .collect()
}

/// A live process that a test binary started and did not stop.
#[derive(Debug, Clone)]
pub struct Survivor {
    pub pid: u32,
    pub ppid: u32,
    /// How it was recognised: the environment tag, or its working directory.
    pub by: &'static str,
    pub cmdline: String,
}

/// Every live process that children of *this* test binary left: tagged with
/// this run and this binary's pid, or working below this binary's part of
/// the scratch root (nginx rewrites its environment; the directory stays).
pub fn survivors() -> Vec<Survivor> {
    let me = std::process::id();
    let tag = format!("{CHILD_TAG_VAR}={}", run_id());
    let parent = format!("{PARENT_VAR}={me}");
    let dir_prefix = scratch_root().join(format!("{me}-"));
    let dir_prefix = dir_prefix.to_string_lossy().into_owned();
    processes()
        .into_iter()
        .filter(|p| !p.zombie && p.pid != me)
        .filter_map(|p| {
            let environ = fs::read(format!("/proc/{}/environ", p.pid)).unwrap_or_default();
            let vars: Vec<&[u8]> = environ.split(|b| *b == 0).collect();
            let by = if vars.contains(&tag.as_bytes()) && vars.contains(&parent.as_bytes()) {
                "environment"
            } else if fs::read_link(format!("/proc/{}/cwd", p.pid))
                .is_ok_and(|cwd| cwd.to_string_lossy().starts_with(&dir_prefix))
            {
                "working directory"
            } else {
                return None;
            };
            let cmdline = fs::read(format!("/proc/{}/cmdline", p.pid))
                .map(|b| String::from_utf8_lossy(&b).replace('\0', " "))
                .unwrap_or_default();
            Some(Survivor {
                pid: p.pid,
                ppid: p.ppid,
                by,
                cmdline: cmdline.trim_end().to_string(),
            })
        })
        .collect()
}

// ---------------------------------------------------------------------------
// Text helpers
// ---------------------------------------------------------------------------

fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

pub fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…[{} more bytes]", &s[..end], s.len() - end)
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
