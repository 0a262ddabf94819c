//! Running the binary under test, reading its JSON report as
//! [`rampart::report::Report`], and the family helper: how one check
//! family's tests start their target and scan it.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use rampart::finding::Finding;
use rampart::report::{self, Report, ReportError};

use super::http::{http_request, HttpResponse};
use super::process::{loopback_env, truncate};
use super::targets::{FlaskApp, MotoServer};
use super::tls::TestPki;

/// Default wall-clock limit for one `rampart` invocation
/// (override with `RAMPART_TEST_RUN_TIMEOUT_SECS`).
pub const RAMPART_TIMEOUT: Duration = Duration::from_secs(300);

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

/// Runs `rampart <args>` and captures its output. Panics if it does not
/// finish within `RAMPART_TEST_RUN_TIMEOUT_SECS` (default 300 s).
pub fn rampart(args: &[&str]) -> Output {
    rampart_with_env(args, &[])
}

/// [`rampart`] with extra environment variables.
///
/// A `scan` searches token secrets among numbers of up to four digits
/// ([`TEST_CRACK_DIGITS`]) unless the test passes its own `--crack-digits`
/// or a `--config` file (which may set `crack_digits`): the default (every
/// number of up to eight digits) takes minutes in the unoptimised test
/// build, and no test target but the token family's plants a numeric
/// secret.
pub fn rampart_with_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(rampart_bin());
    cmd.args(args);
    if args.first() == Some(&"scan")
        && !args.contains(&"--crack-digits")
        && !args.contains(&"--config")
    {
        cmd.args(TEST_CRACK_DIGITS);
    }
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    loopback_env(&mut cmd);
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
    Output {
        status,
        stdout: t_out.join().unwrap_or_default(),
        stderr: t_err.join().unwrap_or_default(),
    }
}

/// The numeric secret search of every test scan that does not ask for its own.
pub const TEST_CRACK_DIGITS: [&str; 2] = ["--crack-digits", "4"];

/// Result of one `rampart scan ... --format json` run.
#[derive(Debug)]
pub struct ScanRun {
    pub report: Report,
    /// Raw stdout (the JSON report as printed).
    pub stdout: String,
    pub stderr: String,
    pub exit_code: i32,
}

impl ScanRun {
    pub fn findings(&self) -> &[Finding] {
        &self.report.findings
    }

    /// The identities named in the evidence of `check`'s finding on
    /// `method path` (which must exist).
    pub fn identities_in(&self, check: &str, method: &str, path: &str) -> Vec<String> {
        let finding = self
            .find(check, method, path)
            .unwrap_or_else(|| panic!("no {check} on {method} {path}:\n{}", self.summary()));
        finding
            .evidence
            .iter()
            .filter_map(|e| e.request.identity.clone())
            .collect()
    }

    /// The findings of one check.
    pub fn of_check(&self, check: &str) -> Vec<&Finding> {
        self.findings()
            .iter()
            .filter(|f| f.check == check)
            .collect()
    }

    /// The first finding of `check` on `method path`.
    pub fn find(&self, check: &str, method: &str, path: &str) -> Option<&Finding> {
        self.findings()
            .iter()
            .find(|f| f.check == check && f.head.method == method && f.head.path == path)
    }

    pub fn errors(&self) -> &[ReportError] {
        &self.report.errors
    }

    /// One line per finding: `check severity METHOD path — title`.
    pub fn summary(&self) -> String {
        summarize_findings(&self.report)
    }

    /// The stack was recognised as `framework` with each of `technologies`
    /// among its parts.
    pub fn assert_stack(&self, framework: &str, technologies: &[&str]) {
        let stack = &self.report.stack;
        assert_eq!(stack.framework.as_deref(), Some(framework), "{stack:?}");
        for technology in technologies {
            assert!(
                stack.technologies.iter().any(|t| t == technology),
                "{technology} not recognised: {stack:?}"
            );
        }
    }

    /// Every finding's fix is the knowledge variant `fits(check, variant)`
    /// accepts (a finding without a fix has the variant "").
    pub fn assert_fixes(&self, fits: impl Fn(&str, &str) -> bool) {
        for finding in self.findings() {
            let variant = finding
                .remediation
                .as_ref()
                .map_or("", |r| r.stack.as_str());
            assert!(
                fits(&finding.check, variant),
                "{} uses the {variant:?} variant",
                finding.check
            );
        }
    }

    /// The findings for which `unwanted` holds, each as its summary line
    /// and the start of its evidence: what a fixed twin's test shows when
    /// something was reported that should not have been.
    pub fn unwanted(&self, unwanted: impl Fn(&Finding) -> bool) -> Vec<String> {
        self.findings()
            .iter()
            .filter(|f| unwanted(f))
            .map(|f| {
                let evidence = serde_json::to_string(&f.evidence).unwrap_or_default();
                format!(
                    "  {} {} {} {} — {}\n    evidence: {}",
                    f.check,
                    f.head.severity,
                    f.head.method,
                    f.head.path,
                    f.head.title,
                    evidence.chars().take(800).collect::<String>()
                )
            })
            .collect()
    }
}

/// `check severity METHOD path — title`, one line per finding, for messages.
pub fn summarize_findings(report: &Report) -> String {
    if report.findings.is_empty() {
        return "  (no findings)".to_string();
    }
    report
        .findings
        .iter()
        .map(|f| {
            format!(
                "  {} {} {} {} — {}",
                f.check, f.head.severity, f.head.method, f.head.path, f.head.title
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Runs `rampart scan <base_url> --format json <extra_args>`; asserts exit
/// status 0 (nothing at or above `--fail-on`) or 1 (something is) and that
/// stdout is a report.
pub fn scan(base_url: &str, extra_args: &[&str]) -> ScanRun {
    scan_with_env(base_url, extra_args, &[])
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
    let report = report::json::parse(&stdout).unwrap_or_else(|e| {
        panic!(
            "rampart {args:?} stdout is not a report ({e})\n--- stderr ---\n{}\n--- stdout ---\n{}",
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
// The family helper
// ---------------------------------------------------------------------------

/// How one check family's tests run: which target app, what every scan of
/// it says. A test file declares its family once:
///
/// ```ignore
/// const FAMILY: Family = Family {
///     app: "authz/app.py",
///     checks: Some("authz.*"),
///     identities: &[("alice", ALICE), ("bob", BOB)],
///     ..Family::DEFAULT
/// };
/// let target = FAMILY.start("vulnerable");
/// let run = target.scan(&["--active"]);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Family {
    /// The target app, relative to `tests/targets`.
    pub app: &'static str,
    /// The app keeps its data in DynamoDB: start a moto_server for it.
    pub dynamo: bool,
    /// Scans get the target's own OpenAPI document (`--spec
    /// <base>/openapi.json`).
    pub spec: bool,
    /// `--checks`, when the family's scans run only its own checks.
    pub checks: Option<&'static str>,
    /// `--identity NAME 'Header: value'` for each pair.
    pub identities: &'static [(&'static str, &'static str)],
    /// Any other arguments every scan of the family gets.
    pub args: &'static [&'static str],
}

impl Family {
    pub const DEFAULT: Family = Family {
        app: "",
        dynamo: true,
        spec: true,
        checks: None,
        identities: &[],
        // The default settings (rate, concurrency): what users run is what
        // the suites test.
        args: &[],
    };

    /// Starts `twin` of the app (and its moto_server).
    pub fn start(&self, twin: &str) -> Target {
        self.start_with_env(twin, &[])
    }

    /// [`Family::start`] with extra environment for the app (which, for a
    /// family without DynamoDB, names the store it uses instead).
    pub fn start_with_env(&self, twin: &str, env: &[(&str, &str)]) -> Target {
        if !self.dynamo {
            return Target {
                app: FlaskApp::start_plain(self.app, twin, env),
                family: *self,
                _moto: None,
            };
        }
        let moto = MotoServer::start();
        let app = FlaskApp::start(self.app, twin, &moto, env);
        Target {
            app,
            family: *self,
            _moto: Some(moto),
        }
    }

    /// Starts `twin` of the app serving HTTPS itself with `pki`'s default
    /// leaf (and a moto_server when the family needs one).
    pub fn start_tls(&self, twin: &str, pki: &TestPki, env: &[(&str, &str)]) -> Target {
        let moto = self.dynamo.then(MotoServer::start);
        let app = FlaskApp::start_tls(self.app, twin, pki, moto.as_ref(), env);
        Target {
            app,
            family: *self,
            _moto: moto,
        }
    }

    /// The family's scan of `base_url` (which may be a proxy in front of
    /// the app) plus `extra` arguments.
    pub fn scan(&self, base_url: &str, extra: &[&str]) -> ScanRun {
        self.scan_with_env(base_url, extra, &[])
    }

    /// [`Family::scan`] with environment for the `rampart` process.
    pub fn scan_with_env(&self, base_url: &str, extra: &[&str], env: &[(&str, &str)]) -> ScanRun {
        let mut args: Vec<String> = Vec::new();
        if self.spec {
            args.extend([
                "--spec".into(),
                format!("{}/openapi.json", base_url.trim_end_matches('/')),
            ]);
        }
        for (name, header) in self.identities {
            args.extend(["--identity".into(), name.to_string(), header.to_string()]);
        }
        if let Some(checks) = self.checks {
            args.extend(["--checks".into(), checks.to_string()]);
        }
        args.extend(self.args.iter().map(|a| a.to_string()));
        args.extend(extra.iter().map(|a| a.to_string()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        scan_with_env(base_url, &args, env)
    }
}

/// A running twin of a family's app (and its moto_server, stopped after it).
pub struct Target {
    pub app: FlaskApp,
    family: Family,
    _moto: Option<MotoServer>,
}

impl Target {
    pub fn base_url(&self) -> String {
        self.app.base_url()
    }

    pub fn url(&self, path: &str) -> String {
        self.app.url(path)
    }

    pub fn twin(&self) -> &str {
        self.app.twin()
    }

    /// The family's scan of this twin plus `extra` arguments.
    pub fn scan(&self, extra: &[&str]) -> ScanRun {
        self.family.scan(&self.base_url(), extra)
    }

    /// [`Target::scan`] with environment for the `rampart` process.
    pub fn scan_with_env(&self, extra: &[&str], env: &[(&str, &str)]) -> ScanRun {
        self.family.scan_with_env(&self.base_url(), extra, env)
    }

    /// `user`'s credential as `Header: value`, from a target that hands
    /// its users' credentials out on `GET /__test__/credential/<user>`
    /// (`query` appended: e.g. `?expired=1`).
    pub fn credential(&self, user: &str, query: &str) -> String {
        let answer = self.get(&format!("/__test__/credential/{user}{query}"));
        assert_eq!(answer.status, 200, "{}", answer.body);
        let json = answer.json();
        format!(
            "{}: {}",
            json["header"].as_str().unwrap_or_default(),
            json["value"].as_str().unwrap_or_default()
        )
    }

    /// GET `path` (over HTTPS for a TLS twin).
    pub fn get(&self, path: &str) -> HttpResponse {
        self.app.get(path)
    }

    /// `method path` with extra headers (`Name: value`), plain HTTP.
    pub fn request(&self, method: &str, path: &str, headers: &[&str]) -> HttpResponse {
        http_request(&self.base_url(), method, path, headers)
    }

    /// The app's test-only reset (`POST /__test__/reset?counters=1`): seed
    /// data back, caches and nonces emptied, counters zeroed, so what the
    /// counters show afterwards is the scan's alone.
    pub fn reset(&self) {
        let resp = self.request("POST", "/__test__/reset?counters=1", &[]);
        assert_eq!(resp.status, 200, "reset: {}", resp.body);
    }

    /// Requests per HTTP method since the last reset (`GET /__test__/methods`).
    pub fn method_counts(&self) -> BTreeMap<String, u64> {
        let resp = self.get("/__test__/methods");
        serde_json::from_str(&resp.body)
            .unwrap_or_else(|e| panic!("method counts ({e}): {}", resp.body))
    }

    /// The target's own account of its data (`GET /__test__/state`).
    pub fn state(&self) -> serde_json::Value {
        let resp = self.get("/__test__/state");
        assert_eq!(resp.status, 200, "state: {}", resp.body);
        serde_json::from_str(&resp.body).expect("state JSON")
    }

    /// The seeded users of the state (`users`: profiles, token and
    /// password digests) are as they were `before` the scan `run`; the
    /// throwaway accounts Rampart registers (`rampart…`) are left out.
    pub fn assert_seeded_users_unchanged(&self, before: &serde_json::Value, run: &ScanRun) {
        let seeded = |state: &serde_json::Value| -> Vec<serde_json::Value> {
            state["users"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|u| {
                    !u["username"]
                        .as_str()
                        .is_some_and(|n| n.starts_with("rampart"))
                })
                .cloned()
                .collect()
        };
        assert_eq!(
            seeded(&self.state()),
            seeded(before),
            "the scan changed a user's profile or credentials\n{}",
            run.summary()
        );
    }

    /// Each `POST` to `paths` the target counted is one entry of the
    /// report's `changes`: nothing was created twice or unrecorded.
    pub fn assert_posts_recorded_once(&self, run: &ScanRun, paths: &[&str]) {
        let counts = self.path_counts();
        for path in paths {
            let sent = counts
                .get(&("POST".to_string(), path.to_string()))
                .copied()
                .unwrap_or(0);
            let recorded = run
                .report
                .changes
                .iter()
                .filter(|c| c.request == format!("POST {path}"))
                .count() as u64;
            assert!(sent > 0, "no POST {path}: {counts:?}");
            assert_eq!(sent, recorded, "POST {path}: {:#?}", run.report.changes);
        }
    }

    /// How many requests the target counted per method and path
    /// (`GET /__test__/paths`: `[{"method", "path", "count"}]`).
    pub fn path_counts(&self) -> BTreeMap<(String, String), u64> {
        let resp = self.get("/__test__/paths");
        let rows: Vec<serde_json::Value> = serde_json::from_str(&resp.body)
            .unwrap_or_else(|e| panic!("path counts ({e}): {}", resp.body));
        rows.iter()
            .filter_map(|r| {
                Some((
                    (
                        r["method"].as_str()?.to_string(),
                        r["path"].as_str()?.to_string(),
                    ),
                    r["count"].as_u64()?,
                ))
            })
            .collect()
    }

    /// The target saw safe methods only (GET, HEAD, and the OPTIONS and
    /// TRACE that discovery and the configuration checks send), and some
    /// GETs.
    pub fn assert_only_reads(&self) {
        let counts = self.method_counts();
        for (method, n) in &counts {
            if !matches!(method.as_str(), "GET" | "HEAD" | "OPTIONS" | "TRACE") {
                assert_eq!(*n, 0, "read-only scan sent {method}: {counts:?}");
            }
        }
        assert!(
            counts.get("GET").copied().unwrap_or(0) > 0,
            "the scan never reached the target: {counts:?}"
        );
    }
}
