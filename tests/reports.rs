//! The reports of real scans, read by the tools that consume them: SARIF
//! validated by Microsoft's SARIF Multitool, JUnit XML parsed by Python's
//! `junitparser`, the HTML page loaded in a real headless Chromium (no
//! console error, a screenshot kept), and the text report as a terminal
//! shows it. Also: the same scan twice gives the same ids, score and
//! fingerprints; a typo in an output fails before the first request;
//! baselines, suppressions and the project file; the progress display;
//! the demo's export lines make its reproduce lines runnable.

mod support;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rampart::report::{self, Report};
use serde_json::Value;
use support::{rampart, ChildProcess, Launch, Ready};

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The built-in lab, served from a background runtime for one test.
struct Lab {
    runtime: tokio::runtime::Runtime,
    server: Option<rampart::lab::LabServer>,
}

impl Lab {
    fn start() -> Lab {
        let runtime = tokio::runtime::Runtime::new().expect("a runtime");
        let server = runtime
            .block_on(rampart::lab::start())
            .expect("the lab starts");
        Lab {
            runtime,
            server: Some(server),
        }
    }

    fn url(&self) -> String {
        self.server
            .as_ref()
            .map(|s| s.base_url().to_string())
            .unwrap_or_default()
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            self.runtime.block_on(server.stop());
        }
    }
}

/// A server whose only endpoint crashes with a traceback that carries a
/// script, an image with an event handler and terminal escapes: whatever
/// a report shows of it must stay inert text.
struct Hostile {
    runtime: tokio::runtime::Runtime,
    addr: std::net::SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

const HOSTILE_BODY: &str = "<html><body><pre>\u{1b}[2J\u{1b}]0;pwned\u{7}\u{9b}31m\u{202e}dlrow \
    Traceback (most recent call last):\n  \
    File \"/srv/app.py\", line 42, in crash\n    raise KeyError(name)\n\
    KeyError: '<script>document.documentElement.setAttribute(\"data-pwned\",\"1\")</script>'\n\
    </pre><img src=x onerror=\"document.documentElement.setAttribute('data-pwned','2')\"></body></html>";

impl Hostile {
    fn start() -> Hostile {
        use axum::routing::get;
        let runtime = tokio::runtime::Runtime::new().expect("a runtime");
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("a port");
        let addr = listener.local_addr().expect("an address");
        let spec = serde_json::json!({
            "openapi": "3.0.3",
            "info": {"title": "hostile", "version": "1"},
            "paths": {"/api/crash": {"get": {"responses": {"500": {"description": "boom"}}}}}
        });
        let app = axum::Router::new()
            .route(
                "/openapi.json",
                get(move || {
                    let spec = spec.clone();
                    async move { axum::Json(spec) }
                }),
            )
            .route(
                "/api/crash",
                get(|| async {
                    (
                        axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                        [("content-type", "text/html")],
                        HOSTILE_BODY,
                    )
                }),
            );
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        runtime.spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
        });
        Hostile {
            runtime,
            addr,
            stop: Some(stop),
        }
    }

    fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }
}

impl Drop for Hostile {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        // Let the server task see the signal before the runtime goes.
        self.runtime
            .block_on(async { tokio::time::sleep(Duration::from_millis(10)).await });
    }
}

/// A listener that counts the connections made to it: proof of whether a
/// request was sent.
struct Counter {
    addr: std::net::SocketAddr,
    connections: Arc<AtomicUsize>,
}

impl Counter {
    fn start() -> Counter {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a port");
        let addr = listener.local_addr().expect("an address");
        let connections = Arc::new(AtomicUsize::new(0));
        let seen = Arc::clone(&connections);
        // The thread lives until the test process ends; it only counts.
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                seen.fetch_add(1, Ordering::SeqCst);
                if let Ok(mut stream) = stream {
                    let mut buffer = [0u8; 1024];
                    let _ = stream.read(&mut buffer);
                    let _ = stream.write_all(
                        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}",
                    );
                }
            }
        });
        Counter { addr, connections }
    }

    fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn parse_report(path: &Path) -> Report {
    report::json::parse(&read(path)).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A file for this test run that outlives the test (screenshots, logs).
fn artefact(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join("rampart-test-artefacts");
    std::fs::create_dir_all(&dir).expect("an artefact directory");
    dir.join(name)
}

// ---------------------------------------------------------------- SARIF --

/// The SARIF Multitool that scripts/test installs (`RAMPART_SARIF_MULTITOOL`
/// or `.tools/`); without it the test fails rather than pass unseen.
fn multitool() -> PathBuf {
    let path = std::env::var_os("RAMPART_SARIF_MULTITOOL")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            support::repo_root()
                .join(".tools/node_modules/@microsoft/sarif-multitool-linux/Sarif.Multitool")
        });
    assert!(
        path.is_file(),
        "the SARIF Multitool is missing at {} (scripts/test installs it with npm)",
        path.display()
    );
    path
}

/// Problems the Multitool's `validate` verb finds (JSON schema and SARIF
/// rules) at level error, as "rule: message" lines.
fn sarif_errors(sarif: &Path) -> Vec<String> {
    let log = sarif.with_extension("validation.sarif");
    let _ = std::fs::remove_file(&log);
    let output = Command::new(multitool())
        .arg("validate")
        .arg(sarif)
        .arg("--output")
        .arg(&log)
        .env("DOTNET_CLI_TELEMETRY_OPTOUT", "1")
        .output()
        .expect("the SARIF Multitool runs");
    assert!(
        output.status.success() && log.is_file(),
        "validate failed to run: {}\n{}",
        stdout(&output),
        stderr(&output)
    );
    let validation: Value = serde_json::from_str(&read(&log)).expect("the validation log");
    let run = &validation["runs"][0];
    let mut errors: Vec<String> = run["results"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["level"] == "error")
        .map(|r| format!("{}: {}", r["ruleId"], stdout_line(&output, &r["ruleId"])))
        .collect();
    for invocation in run["invocations"].as_array().into_iter().flatten() {
        for key in [
            "toolExecutionNotifications",
            "toolConfigurationNotifications",
        ] {
            for note in invocation[key].as_array().into_iter().flatten() {
                if note["level"] == "error" {
                    errors.push(format!("tool: {}", note["message"]["text"]));
                }
            }
        }
        if invocation["executionSuccessful"] != true {
            errors.push("the validation did not complete".into());
        }
    }
    errors
}

/// The Multitool's console line about a rule (it carries the full text).
fn stdout_line(output: &Output, rule: &Value) -> String {
    let rule = rule.as_str().unwrap_or_default();
    stdout(output)
        .lines()
        .find(|l| l.contains(rule))
        .unwrap_or_default()
        .to_string()
}

#[test]
fn sarif_of_real_scans_validates_with_and_without_results() {
    let lab = Lab::start();
    let dir = tempfile::tempdir().expect("a temp dir");
    let full = dir.path().join("demo.sarif");
    let output = rampart(&["demo", "-q", "-o", &format!("sarif={}", full.display())]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let empty = dir.path().join("empty.sarif");
    // transport.hsts judges https targets only: a real scan with no result.
    let output = rampart(&[
        "scan",
        &lab.url(),
        "--rate",
        "0",
        "--checks",
        "transport.hsts",
        "-o",
        &format!("sarif={}", empty.display()),
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));

    for (sarif, results) in [(&full, true), (&empty, false)] {
        let errors = sarif_errors(sarif);
        assert!(
            errors.is_empty(),
            "{}:\n{}",
            sarif.display(),
            errors.join("\n")
        );
        let log: Value = serde_json::from_str(&read(sarif)).expect("JSON");
        let run = &log["runs"][0];
        let rules = run["tool"]["driver"]["rules"].as_array().expect("rules");
        assert_eq!(rules.len(), rampart::checks::all().count());
        let found = run["results"].as_array().expect("a results array");
        assert_eq!(!found.is_empty(), results, "{}", sarif.display());
        for result in found {
            let index = result["ruleIndex"].as_u64().expect("ruleIndex") as usize;
            assert_eq!(rules[index]["id"], result["ruleId"]);
            assert!(result["partialFingerprints"]["rampartFindingId/v1"].is_string());
            assert!(result["properties"]["security-severity"].is_string());
            assert!(result["locations"][0]["logicalLocations"][0]["name"].is_string());
        }
    }
}

#[test]
fn the_sarif_check_catches_an_invalid_log() {
    // The validation harness itself must be able to fail.
    let dir = tempfile::tempdir().expect("a temp dir");
    let bad = dir.path().join("bad.sarif");
    std::fs::write(
        &bad,
        r#"{"$schema":"https://json.schemastore.org/sarif-2.1.0.json","version":"2.1.0",
            "runs":[{"tool":{"driver":{"name":"x","rules":[{"id":"a"}]}},
            "results":[{"ruleId":"a","ruleIndex":3,"message":{"text":"m"},
            "locations":[{"physicalLocation":{"artifactLocation":{"uri":"a b{c}"}}}]}]}]}"#,
    )
    .expect("written");
    let errors = sarif_errors(&bad);
    assert!(errors.iter().any(|e| e.contains("SARIF1009")), "{errors:?}");
    assert!(errors.iter().any(|e| e.contains("SARIF1002")), "{errors:?}");
}

// ---------------------------------------------------------------- JUnit --

fn venv_python() -> PathBuf {
    let venv = std::env::var_os("RAMPART_TEST_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| support::repo_root().join(".venv"));
    let python = venv.join("bin/python");
    assert!(
        python.is_file(),
        "the test venv is missing at {} (scripts/test creates it)",
        venv.display()
    );
    python
}

/// What `junitparser` reads from a file: per suite, its cases with their
/// outcome ("passed", "failure", "skipped") and message.
fn junit_as_parsed(xml: &Path) -> Value {
    let script = r#"
import json, sys
from junitparser import JUnitXml, Failure, Skipped, Error
xml = JUnitXml.fromfile(sys.argv[1])
suites = []
for suite in xml:
    cases = []
    for case in suite:
        outcome, message = "passed", None
        for result in case.result:
            if isinstance(result, Failure): outcome, message = "failure", result.message
            elif isinstance(result, Skipped): outcome, message = "skipped", result.message
            elif isinstance(result, Error): outcome, message = "error", result.message
        cases.append({"name": case.name, "classname": case.classname, "outcome": outcome, "message": message})
    suites.append({"name": suite.name, "tests": suite.tests, "failures": suite.failures,
                   "skipped": suite.skipped, "cases": cases})
print(json.dumps(suites))
"#;
    let output = Command::new(venv_python())
        .arg("-c")
        .arg(script)
        .arg(xml)
        .output()
        .expect("python runs");
    assert!(
        output.status.success(),
        "junitparser could not read {}: {}",
        xml.display(),
        stderr(&output)
    );
    serde_json::from_str(&stdout(&output)).expect("the parser's JSON")
}

#[test]
fn junit_of_a_real_scan_parses_with_a_case_per_check_and_endpoint() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let xml = dir.path().join("demo.xml");
    let json = dir.path().join("demo.json");
    let output = rampart(&[
        "demo",
        "-q",
        "-o",
        &format!("junit={}", xml.display()),
        "-o",
        &format!("json={}", json.display()),
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let report = parse_report(&json);
    let suites = junit_as_parsed(&xml);
    let suites = suites.as_array().expect("suites");
    assert_eq!(suites.len(), report.coverage.len());
    let case = |check: &str, place: &str| -> Value {
        suites
            .iter()
            .find(|s| s["name"] == check)
            .and_then(|s| s["cases"].as_array())
            .and_then(|cases| cases.iter().find(|c| c["name"] == place).cloned())
            .unwrap_or_else(|| panic!("no case {check} × {place}"))
    };
    // Every finding fails its check × endpoint case, with its title.
    for finding in &report.findings {
        // A target-wide check has one case, `target`.
        let target_wide = rampart::checks::find(&finding.check)
            .is_some_and(|c| c.runs_on == rampart::checks::RunsOn::Target);
        let place = if target_wide {
            "target".to_string()
        } else {
            format!("{} {}", finding.head.method, finding.head.path)
        };
        let found = case(&finding.check, &place);
        assert_eq!(found["outcome"], "failure", "{found}");
        assert!(
            found["message"]
                .as_str()
                .is_some_and(|m| m.contains(&finding.head.title)),
            "{found}"
        );
    }
    // A check switched off is one skipped case with the coverage reason.
    let off = case("authz.mass-assignment", "all endpoints");
    assert_eq!(off["outcome"], "skipped");
    assert_eq!(off["message"], "needs --active");
    // Endpoint checks have a case per endpoint of the scan.
    let bola = suites
        .iter()
        .find(|s| s["name"] == "authz.bola")
        .expect("authz.bola");
    assert!(bola["cases"].as_array().expect("cases").len() >= report.endpoints.len());
    let passed = suites
        .iter()
        .flat_map(|s| s["cases"].as_array().into_iter().flatten())
        .filter(|c| c["outcome"] == "passed")
        .count();
    assert!(passed > 0, "nothing passed");
}

// ----------------------------------------------------------------- HTML --

/// Loads a page in headless Chromium: the DOM after the scripts ran, and
/// everything the browser logged (console messages included).
fn chromium(page: &Path, extra: &[&str]) -> String {
    let profile = tempfile::tempdir().expect("a profile directory");
    let url = format!("file://{}", page.display());
    let args: Vec<String> = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--no-default-browser-check",
        "--enable-logging=stderr",
        "--v=0",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain([format!("--user-data-dir={}", profile.path().display())])
    .chain(extra.iter().map(|s| s.to_string()))
    .chain([url])
    .collect();
    let mut browser: ChildProcess = Launch::new("chromium", |_| {
        let mut command = Command::new("chromium");
        command.args(&args);
        command
    })
    .ready(Ready::Started)
    .start();
    let deadline = Instant::now() + Duration::from_secs(120);
    while browser.try_exit_status().is_none() {
        if Instant::now() > deadline {
            browser.fail("chromium did not finish within 120 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    browser.log_contents()
}

/// Console errors and uncaught exceptions in Chromium's log.
fn console_errors(log: &str) -> Vec<&str> {
    log.lines()
        .filter(|l| {
            (l.contains(":CONSOLE") && (l.contains("ERROR") || l.contains("Uncaught")))
                || l.contains("Uncaught")
                || l.contains("Refused to")
        })
        .collect()
}

#[test]
fn html_of_a_real_scan_renders_in_chromium_without_console_errors() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let html = dir.path().join("demo.html");
    let output = rampart(&["demo", "-q", "-o", &format!("html={}", html.display())]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));

    let dom = chromium(&html, &["--dump-dom"]);
    assert!(
        console_errors(&dom).is_empty(),
        "{:?}",
        console_errors(&dom)
    );
    assert!(
        dom.contains("data-ready=\"1\""),
        "the page's script did not run:\n{dom}"
    );
    assert!(dom.contains("<svg id=\"chart\""));

    // The filter, driven through the URL's fragment: only critical
    // findings stay visible, and the count says how many.
    let page = read(&html);
    let critical = page.matches("data-severity=\"critical\"").count();
    assert!(critical > 0);
    let fragment_dom = chromium_with_fragment(&html, "severity=critical");
    let visible = fragment_dom
        .split("<article ")
        .skip(1)
        .filter(|a| !a.split('>').next().unwrap_or_default().contains("hidden"))
        .count();
    assert_eq!(visible, critical, "the severity filter");
    assert!(fragment_dom.contains(&format!("<span id=\"shown\">{critical}</span>")));

    let shot = artefact("demo-report.png");
    let _ = std::fs::remove_file(&shot);
    let log = chromium(
        &html,
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=1280,2200",
            "--hide-scrollbars",
        ],
    );
    assert!(
        console_errors(&log).is_empty(),
        "{:?}",
        console_errors(&log)
    );
    let png = std::fs::read(&shot).expect("a screenshot");
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 20_000,
        "{} bytes",
        png.len()
    );
}

/// The DOM of `page` opened with `#fragment`.
fn chromium_with_fragment(page: &Path, fragment: &str) -> String {
    let profile = tempfile::tempdir().expect("a profile directory");
    let output = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("file://{}#{fragment}", page.display()))
        .output()
        .expect("chromium runs");
    stdout(&output)
}

#[test]
fn the_console_check_sees_a_script_error() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let page = dir.path().join("broken.html");
    std::fs::write(
        &page,
        "<!DOCTYPE html><html><body><script>undefinedFunction();</script></body></html>",
    )
    .expect("written");
    let log = chromium(&page, &["--dump-dom"]);
    assert!(!console_errors(&log).is_empty(), "no error seen in:\n{log}");
}

#[test]
fn a_hostile_response_stays_inert_in_every_report() {
    let hostile = Hostile::start();
    let dir = tempfile::tempdir().expect("a temp dir");
    let html = dir.path().join("hostile.html");
    let md = dir.path().join("hostile.md");
    let xml = dir.path().join("hostile.xml");
    let sarif = dir.path().join("hostile.sarif");
    let output = rampart(&[
        "scan",
        &hostile.url(),
        "--rate",
        "0",
        "--checks",
        "exposure.debug-page",
        "-o",
        &format!("html={}", html.display()),
        "-o",
        &format!("markdown={}", md.display()),
        "-o",
        &format!("junit={}", xml.display()),
        "-o",
        &format!("sarif={}", sarif.display()),
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(
        text.contains("exposure.debug-page"),
        "the traceback is reported:\n{text}"
    );
    // The terminal never receives what the server sent as control characters.
    for control in ['\u{1b}', '\u{7}', '\u{9b}', '\u{202e}'] {
        assert!(!text.contains(control), "{control:?} reached the terminal");
    }
    assert!(
        text.contains("\\x1b[2J"),
        "the escape is shown, visibly:\n{text}"
    );

    let page = read(&html);
    assert!(
        page.contains("&lt;script&gt;document.documentElement"),
        "escaped in the page"
    );
    assert_eq!(
        page.matches("<script").count(),
        1,
        "only the page's own script"
    );
    let dom = chromium(&html, &["--dump-dom"]);
    assert!(
        console_errors(&dom).is_empty(),
        "{:?}",
        console_errors(&dom)
    );
    assert!(dom.contains("data-ready=\"1\""));
    // The server's script and handler would have marked the root element.
    let root = dom
        .split("<html")
        .nth(1)
        .and_then(|rest| rest.split('>').next())
        .expect("the root element");
    assert!(root.contains("data-ready=\"1\""), "{root}");
    assert!(
        !root.contains("data-pwned"),
        "the server's script ran: {root}"
    );

    let markdown = read(&md);
    assert!(!markdown.contains("<script") && !markdown.contains("<img"));
    // The JUnit and SARIF readers accept what the server sent, escaped.
    let suites = junit_as_parsed(&xml);
    assert!(suites.to_string().contains("exposure.debug-page"));
    let errors = sarif_errors(&sarif);
    assert!(errors.is_empty(), "{}", errors.join("\n"));
}

// ------------------------------------------------------ determinism, fail --

#[test]
fn the_same_scan_twice_gives_the_same_ids_score_and_fingerprints() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let mut runs = Vec::new();
    for n in 0..2 {
        let json = dir.path().join(format!("run{n}.json"));
        let sarif = dir.path().join(format!("run{n}.sarif"));
        let output = rampart(&[
            "demo",
            "-q",
            "-o",
            &format!("json={}", json.display()),
            "-o",
            &format!("sarif={}", sarif.display()),
        ]);
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
        let log: Value = serde_json::from_str(&read(&sarif)).expect("SARIF");
        let mut fingerprints: Vec<String> = log["runs"][0]["results"]
            .as_array()
            .expect("results")
            .iter()
            .map(|r| r["partialFingerprints"]["rampartFindingId/v1"].to_string())
            .collect();
        fingerprints.sort();
        let report = parse_report(&json);
        let mut ids: Vec<String> = report.findings.iter().map(|f| f.id.clone()).collect();
        ids.sort();
        runs.push((ids, report.score, fingerprints));
    }
    assert!(!runs[0].0.is_empty());
    assert_eq!(runs[0], runs[1]);
    assert_eq!(runs[0].0.len(), runs[0].2.len());
}

#[test]
fn a_typo_in_an_output_or_an_unwritable_path_exits_2_before_any_request() {
    let counter = Counter::start();
    let dir = tempfile::tempdir().expect("a temp dir");
    let missing_dir = dir.path().join("no/such/dir/r.json");
    let cases: Vec<Vec<String>> = vec![
        vec!["-o".into(), "sarrif=x.sarif".into()],
        vec!["-o".into(), format!("json={}", missing_dir.display())],
        vec!["-o".into(), format!("html={}", dir.path().display())],
        vec![
            "--baseline".into(),
            dir.path().join("nothing.json").display().to_string(),
        ],
    ];
    for extra in cases {
        let mut args = vec!["scan".to_string(), counter.url()];
        args.extend(extra.iter().cloned());
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let output = rampart(&args);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{extra:?}: {}",
            stderr(&output)
        );
        assert_eq!(
            stderr(&output).trim_end().lines().count(),
            1,
            "{}",
            stderr(&output)
        );
    }
    assert!(stderr(&rampart(&["scan", &counter.url(), "-o", "sarrif=x"])).contains("sarrif"));
    assert_eq!(
        counter.connections.load(Ordering::SeqCst),
        0,
        "a request was sent"
    );
    // And the same options, spelled right, do reach the server.
    let good = dir.path().join("r.sarif");
    let output = rampart(&[
        "scan",
        &counter.url(),
        "--rate",
        "0",
        "--checks",
        "transport.hsts",
        "-o",
        &format!("sarif={}", good.display()),
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(counter.connections.load(Ordering::SeqCst) > 0);
}

// --------------------------------------------- baselines, project file --

#[test]
fn a_baseline_marks_findings_and_fail_on_judges_only_new_ones() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let first = dir.path().join("first.json");
    let output = rampart(&["demo", "-q", "-o", &format!("json={}", first.display())]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let previous = parse_report(&first);

    // Nothing new: --fail-on high passes although high findings exist.
    let second = dir.path().join("second.json");
    let output = rampart(&[
        "demo",
        "-q",
        "--fail-on",
        "high",
        "--baseline",
        &first.display().to_string(),
        "-o",
        &format!("json={}", second.display()),
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let compared = parse_report(&second);
    let baseline = compared.baseline.as_ref().expect("compared");
    assert!(baseline.new.is_empty());
    assert_eq!(baseline.unchanged.len(), previous.findings.len());

    // A baseline without one high finding, and with one the scan no longer
    // finds: the first is new (status 1), the second fixed.
    let mut edited: Value = serde_json::from_str(&read(&first)).expect("JSON");
    let findings = edited["findings"].as_array_mut().expect("findings");
    let at = findings
        .iter()
        .position(|f| f["severity"] == "high")
        .expect("a high finding");
    let dropped = findings.remove(at);
    let mut gone = findings[0].clone();
    gone["id"] = Value::from("RMP-0000f1xed000");
    findings.push(gone);
    let edited_path = dir.path().join("edited.json");
    std::fs::write(&edited_path, edited.to_string()).expect("written");
    let output = rampart(&[
        "demo",
        "--fail-on",
        "high",
        "--baseline",
        &edited_path.display().to_string(),
        "--format",
        "json",
    ]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let report = report::json::parse(&stdout(&output)).expect("a report");
    let baseline = report.baseline.as_ref().expect("compared");
    assert_eq!(
        baseline.new,
        vec![dropped["id"].as_str().expect("an id").to_string()]
    );
    assert_eq!(baseline.fixed.len(), 1);
    assert_eq!(baseline.fixed[0].id, "RMP-0000f1xed000");
    // The text report says it too.
    let output = rampart(&["demo", "--baseline", &edited_path.display().to_string()]);
    let text = stdout(&output);
    assert!(text.contains("1 new ·"), "{text}");
    assert!(text.contains("FIXED SINCE THE BASELINE (1)"), "{text}");
    assert!(text.contains("[new]"), "{text}");
}

#[test]
fn the_project_file_sets_the_scan_and_the_command_line_overrides_it() {
    let lab = Lab::start();
    let dir = tempfile::tempdir().expect("a temp dir");
    std::fs::write(
        dir.path().join("rampart.toml"),
        format!(
            r#"
target = "{}"
checks = ["exposure.*"]
exclude_paths = ["/api/payments/*"]

[[suppress]]
check = "exposure.pii"
path = "/api/users*"
reason = "synthetic customers"
until = 2999-12-31

[[suppress]]
check = "exposure.secrets"
reason = "rotated last year"
until = 2001-01-01
"#,
            lab.url()
        ),
    )
    .expect("written");
    let scan = |extra: &[&str]| -> (Report, String) {
        let mut args = vec!["scan", "--rate", "0", "--format", "json"];
        args.extend_from_slice(extra);
        let output = Command::new(support::scan::rampart_bin())
            .args(&args)
            .current_dir(dir.path())
            .output()
            .expect("rampart runs");
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
        (
            report::json::parse(&stdout(&output)).expect("a report"),
            stderr(&output),
        )
    };
    let (report, err) = scan(&["--identity", "alice", "X-API-Key: lab-key-alice-7f3a9c"]);
    assert!(!report.findings.is_empty());
    assert!(report
        .findings
        .iter()
        .all(|f| f.check.starts_with("exposure.")));
    assert!(report
        .endpoints
        .iter()
        .all(|e| !e.path.starts_with("/api/payments/")));
    // The unexpired suppression holds its findings back, with the reason.
    assert!(report
        .findings
        .iter()
        .all(|f| !(f.check == "exposure.pii" && f.head.path.starts_with("/api/users"))));
    assert!(!report.suppressed.is_empty());
    assert!(report
        .suppressed
        .iter()
        .all(|s| s.reason == "synthetic customers"));
    // The expired one suppresses nothing and says so.
    assert!(report
        .findings
        .iter()
        .any(|f| f.check == "exposure.secrets"));
    assert_eq!(report.suppression_notices.len(), 1);
    assert!(
        err.contains("suppression of exposure.secrets expired on 2001-01-01"),
        "{err}"
    );

    // Suppressed results and baseline states are valid SARIF too.
    let first = dir.path().join("first.json");
    let sarif = dir.path().join("suppressed.sarif");
    let (_, _) = scan(&["-o", &format!("json={}", first.display())]);
    let (_, _) = scan(&[
        "--baseline",
        &first.display().to_string(),
        "-o",
        &format!("sarif={}", sarif.display()),
    ]);
    let errors = sarif_errors(&sarif);
    assert!(errors.is_empty(), "{}", errors.join("\n"));
    let log: Value = serde_json::from_str(&read(&sarif)).expect("SARIF");
    let results = log["runs"][0]["results"].as_array().expect("results");
    assert!(results
        .iter()
        .any(|r| r["suppressions"][0]["justification"] == "synthetic customers"));
    for result in results {
        let expected = if result["suppressions"].is_array() {
            Value::Null
        } else {
            Value::from("unchanged")
        };
        assert_eq!(result["baselineState"], expected, "{result}");
    }

    // The command line wins, and an empty value resets the file's.
    let (report, _) = scan(&["--checks", "transport.*"]);
    assert!(report
        .findings
        .iter()
        .all(|f| f.check.starts_with("transport.")));
    let (report, _) = scan(&["--checks", "", "--exclude-path", ""]);
    assert!(report
        .findings
        .iter()
        .any(|f| f.check.starts_with("transport.")));
    assert!(report
        .endpoints
        .iter()
        .any(|e| e.path.starts_with("/api/payments/")));
    // --no-config ignores it: no target then.
    let output = Command::new(support::scan::rampart_bin())
        .args(["scan", "--no-config"])
        .current_dir(dir.path())
        .output()
        .expect("rampart runs");
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("no target"), "{}", stderr(&output));
}

// ------------------------------------------------- the terminal, demo --

/// Runs `rampart args` under a pseudo-terminal (util-linux `script`), so
/// that stdout and stderr are terminals; returns what the terminal showed.
fn on_a_terminal(args: &[&str], env: &[(&str, &str)]) -> String {
    let command = std::iter::once(support::scan::rampart_bin().display().to_string())
        .chain(args.iter().map(|a| format!("'{a}'")))
        .collect::<Vec<_>>()
        .join(" ");
    let mut script = Command::new("script");
    script.args(["-qefc", &command, "/dev/null"]);
    script.env_remove("NO_COLOR");
    for (k, v) in env {
        script.env(k, v);
    }
    let output = script.output().expect("script runs");
    assert!(output.status.success(), "{}", stderr(&output));
    stdout(&output)
}

#[test]
fn a_terminal_gets_progress_and_colour_and_a_pipe_gets_neither() {
    let shown = on_a_terminal(&["demo"], &[]);
    assert!(shown.contains("requests"), "no progress line:\n{shown}");
    assert!(shown.contains("finding(s) so far"), "no progress line");
    assert!(shown.contains("\u{1b}[1;35m"), "no colour on a terminal");
    let plain = on_a_terminal(&["demo"], &[("NO_COLOR", "1")]);
    assert!(!plain.contains("\u{1b}[1;35m"), "colour despite NO_COLOR");
    assert!(plain.contains("TOP FINDINGS"));

    // Piped: the report alone on stdout, nothing at all on stderr.
    let output = rampart(&["demo"]);
    assert_eq!(stderr(&output), "");
    assert!(!stdout(&output).contains('\u{1b}'));
    // With -v, what each phase decided.
    let output = rampart(&["demo", "-v"]);
    let notes = stderr(&output);
    for phase in ["endpoints", "baseline:", "stack:", "checks:"] {
        assert!(notes.contains(phase), "no {phase} note:\n{notes}");
    }
}

#[test]
fn the_text_report_puts_the_summary_first_and_each_weakness_once() {
    let output = rampart(&["demo"]);
    let text = stdout(&output);
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[2].starts_with("score "), "{}", lines[2]);
    assert!(lines[2].contains("critical") && lines[2].contains("info"));
    assert_eq!(lines[4], "TOP FINDINGS");
    let top = text.find("TOP FINDINGS").expect("top");
    let by_check = text.find("FINDINGS BY CHECK").expect("by check");
    assert!(top < by_check);
    // The same weakness on several endpoints is one entry listing them.
    let risky = text
        .matches("Caller-specific response without Cache-Control: private or no-store")
        .count();
    assert_eq!(risky, 1, "{text}");
    assert!(text.len() < 60_000);
}

#[test]
fn demo_serve_exports_the_keys_and_its_reproduce_lines_run_as_printed() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let json = dir.path().join("demo.json");
    let json_arg = format!("json={}", json.display());
    let mut demo = Launch::new("demo-serve", |_| {
        let mut command = Command::new(support::scan::rampart_bin());
        command.args(["demo", "--serve", "-q", "-o", &json_arg]);
        command
    })
    .ready(Ready::Started)
    .stop_signal(libc::SIGINT)
    .start();
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut log = demo.log_contents();
    while !log.contains("Ctrl-C stops the lab") {
        if Instant::now() > deadline || demo.try_exit_status().is_some() {
            demo.fail("demo --serve did not print its export lines");
        }
        std::thread::sleep(Duration::from_millis(50));
        log = demo.log_contents();
    }
    let exports: Vec<&str> = log.lines().filter(|l| l.starts_with("export ")).collect();
    for name in ["RAMPART_LAB", "ALICE_KEY", "BOB_KEY"] {
        assert!(
            exports
                .iter()
                .any(|l| l.starts_with(&format!("export {name}="))),
            "{name} not exported:\n{log}"
        );
    }
    let report = parse_report(&json);
    let bola = report
        .findings
        .iter()
        .find(|f| f.check == "authz.bola" && f.reproduce.len() >= 2)
        .expect("a BOLA finding");
    // bob's request for alice's object, as printed.
    let line = &bola.reproduce[1];
    assert!(line.contains("-H \"X-API-Key: $BOB_KEY\""), "{line}");
    let script = format!("{}\n{line}", exports.join("\n"));
    let output = Command::new("bash")
        .args(["-c", &script])
        .output()
        .expect("bash runs");
    assert!(output.status.success(), "{}", stderr(&output));
    let answer = stdout(&output);
    let alice_data = bola.evidence[1].response.body_excerpt.clone();
    assert_eq!(
        answer.trim(),
        alice_data.trim(),
        "the line did not reproduce"
    );
    demo.stop();
}
