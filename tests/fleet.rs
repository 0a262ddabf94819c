//! Fleet scanning end to end (`rampart scan --targets`, `rampart merge`)
//! against a fleet of real HTTP APIs: the fleet target
//! (tests/targets/fleet/app.py) serves one small Flask API per port, each
//! with its own request counters and its own mistakes (clean, secrets,
//! PII, a traceback, both), and the fleet adds targets that fail (closed
//! ports, a spec that does not exist).
//!
//! * four shards, run at the same time, merge to the same fleet view as
//!   one unsharded run, and each API is scanned by exactly one shard (the
//!   APIs' own request counters say so);
//! * a shard killed with SIGKILL in the middle leaves only complete
//!   reports, and `--resume` scans only what it had not finished;
//! * memory stays bounded with many targets scanned at once (a generous
//!   bound; `cargo bench --bench fleet` prints the figures).
//!
//! Scans are kept small (`--checks 'exposure.*'`, passive): what is tested
//! here is the fleet machinery, not the checks.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::process::loopback_env;
use support::{free_port, http_request, ChildProcess, Launch, Ready};

const KINDS: [&str; 5] = ["clean", "secrets", "pii", "debug", "mixed"];
const CHECKS: &str = "exposure.*";

/// One process serving `n` APIs on `n` ports (kinds in turn), each answer
/// delayed by `delay` seconds.
fn start_fleet_app(n: usize, delay: f64) -> ChildProcess {
    let python = support::targets::venv_bin("python");
    let script = support::targets_dir().join("fleet/app.py");
    let kinds: Vec<&str> = (0..n).map(|i| KINDS[i % KINDS.len()]).collect();
    let kinds = kinds.join(",");
    Launch::new("fleet-app", move |slot| {
        let ports: Vec<String> = slot.ports.iter().map(u16::to_string).collect();
        let mut cmd = Command::new(&python);
        cmd.arg(&script)
            .env("PORTS", ports.join(","))
            .env("KINDS", &kinds)
            .env("DELAY", delay.to_string());
        cmd
    })
    .ports(n)
    .ready(Ready::Tcp)
    .start()
}

/// A target of the fleet file.
#[derive(Debug, Clone)]
struct Api {
    name: String,
    /// The port of the live API it is on (None: a closed port).
    port: Option<u16>,
    url: String,
    spec: String,
}

/// The live APIs of `app` (each `per_port` times, under different names)
/// and, when `closed` > 0, targets that must fail: `closed` closed ports
/// and a live API named with a spec that does not exist.
fn fleet(app: &ChildProcess, per_port: usize, closed: usize) -> Vec<Api> {
    let mut apis = Vec::new();
    for (i, port) in app.ports().iter().enumerate() {
        for copy in 0..per_port {
            let url = format!("http://127.0.0.1:{port}/");
            apis.push(Api {
                name: format!("{}-{i:02}{}", KINDS[i % KINDS.len()], ".b".repeat(copy)),
                port: Some(*port),
                spec: format!("{url}openapi.json"),
                url,
            });
        }
    }
    for i in 0..closed {
        let url = format!("http://127.0.0.1:{}/", free_port());
        apis.push(Api {
            name: format!("closed-{i}"),
            port: None,
            spec: format!("{url}openapi.json"),
            url,
        });
    }
    if let (Some(port), true) = (app.ports().first(), closed > 0) {
        apis.push(Api {
            name: "no-spec".into(),
            port: Some(*port),
            url: format!("http://127.0.0.1:{port}/"),
            spec: "specs/missing.yaml".into(),
        });
    }
    apis
}

fn write_targets(dir: &Path, apis: &[Api]) -> PathBuf {
    let mut text = String::from("# Written by tests/fleet.rs\n");
    for api in apis {
        text.push_str(&format!(
            // The harness's readiness route is not counted by the app's
            // request counters, so the scans leave it out (shadow probing
            // would find it) and the counters account for every request.
            "\n[[target]]\nname = \"{}\"\nurl = \"{}\"\nspec = \"{}\"\nexclude_paths = [\"/api/health\"]\n",
            api.name, api.url, api.spec
        ));
    }
    let path = dir.join("fleet.toml");
    std::fs::write(&path, text).expect("targets file written");
    path
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("a UTF-8 path")
}

/// The JSON Lines events a fleet run printed; every line must be one.
fn events(stdout: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(stdout)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

/// The `api` of every event named `kind`.
fn apis_of(events: &[Value], kind: &str) -> Vec<String> {
    events
        .iter()
        .filter(|e| e["event"] == kind)
        .map(|e| e["api"].as_str().expect("api").to_string())
        .collect()
}

fn only(events: &[Value], kind: &str) -> Value {
    let found: Vec<&Value> = events.iter().filter(|e| e["event"] == kind).collect();
    assert_eq!(found.len(), 1, "one {kind} event in {events:#?}");
    found[0].clone()
}

/// `rampart scan --targets` to its end; its events.
fn fleet_scan(targets: &Path, out: &Path, extra: &[&str]) -> Vec<Value> {
    let mut args = vec![
        "scan",
        "--targets",
        path_str(targets),
        "--out-dir",
        path_str(out),
        "--checks",
        CHECKS,
    ];
    args.extend_from_slice(extra);
    let output = support::rampart(&args);
    assert_eq!(
        output.status.code(),
        Some(0),
        "rampart {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    events(&output.stdout)
}

/// `rampart merge DIR… -o fleet.json` (and the other formats); the view.
fn merge(dirs: &[&Path], targets: &Path, into: &Path) -> Value {
    std::fs::create_dir_all(into).expect("merge dir");
    let json = into.join("fleet.json");
    let mut args: Vec<&str> = vec!["merge"];
    args.extend(dirs.iter().map(|d| path_str(d)));
    let (html, sarif) = (into.join("fleet.html"), into.join("fleet.sarif"));
    args.extend([
        "--targets",
        path_str(targets),
        "-o",
        path_str(&json),
        "-o",
        path_str(&html),
        "-o",
        path_str(&sarif),
    ]);
    let output = support::rampart(&args);
    assert_eq!(
        output.status.code(),
        Some(0),
        "rampart {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(html.is_file() && sarif.is_file());
    serde_json::from_str(&std::fs::read_to_string(json).expect("fleet.json")).expect("JSON")
}

/// The view without what differs between two runs of the same fleet:
/// times, durations, where the reports were, requests (counted on the
/// servers instead), and the cache buster in a connection error's URL.
fn comparable(view: &Value) -> Value {
    let buster = regex::Regex::new(r"rampart_cb=[0-9a-f]+").expect("regex");
    let mut view = view.clone();
    let object = view.as_object_mut().expect("an object");
    object.remove("generated_at");
    object["totals"]
        .as_object_mut()
        .expect("totals")
        .remove("requests_sent");
    for api in object["apis"].as_array_mut().expect("apis") {
        let api = api.as_object_mut().expect("an API");
        for volatile in ["duration_ms", "started_at", "report", "requests_sent"] {
            api.remove(volatile);
        }
        if let Some(Value::String(error)) = api.get_mut("error") {
            *error = buster.replace_all(error, "rampart_cb=…").into_owned();
        }
    }
    view
}

/// Requests each live API counted since the last reset (by port), and the
/// counters zeroed.
fn take_counts(app: &ChildProcess) -> BTreeMap<u16, u64> {
    app.ports()
        .iter()
        .map(|&port| {
            let base = format!("http://127.0.0.1:{port}");
            let counts = http_request(&base, "GET", "/__test__/methods", &[]);
            let counts: Value = serde_json::from_str(&counts.body).expect("counts JSON");
            let total = counts
                .as_object()
                .expect("counts")
                .values()
                .filter_map(Value::as_u64)
                .sum();
            let reset = http_request(&base, "POST", "/__test__/reset?counters=1", &[]);
            assert_eq!(reset.status, 200);
            (port, total)
        })
        .collect()
}

/// What each live API must have counted for a run whose reports (and
/// failure records) are in `view`: the requests of each scan of it, plus
/// one spec download for each scan that got that far.
fn expected_counts(view: &Value, apis: &[Api]) -> BTreeMap<u16, u64> {
    let mut expected = BTreeMap::new();
    for api in apis {
        let Some(port) = api.port else { continue };
        let entry = view["apis"]
            .as_array()
            .expect("apis")
            .iter()
            .find(|a| a["api"] == api.name.as_str())
            .unwrap_or_else(|| panic!("{} not in the view", api.name));
        let requests = entry["requests_sent"].as_u64().expect("requests");
        let spec = u64::from(entry["status"] == "scanned");
        *expected.entry(port).or_insert(0) += requests + spec;
    }
    expected
}

#[test]
fn four_shards_merge_to_the_unsharded_scan_and_no_api_is_scanned_twice() {
    let app = start_fleet_app(20, 0.0);
    let apis = fleet(&app, 1, 3);
    assert!(apis.len() >= 24);
    let names: BTreeSet<String> = apis.iter().map(|a| a.name.clone()).collect();
    let dir = tempfile::tempdir().expect("a temp dir");
    let targets = write_targets(dir.path(), &apis);

    // One machine, the whole fleet.
    let whole = dir.path().join("whole");
    let events = fleet_scan(&targets, &whole, &["--parallel", "8"]);
    let started: BTreeSet<String> = apis_of(&events, "target-started").into_iter().collect();
    assert_eq!(started, names);
    let finished = only(&events, "shard-finished");
    assert_eq!(finished["scanned"], 20, "{finished:#}");
    assert_eq!(finished["failed"], 4, "{finished:#}");
    let unsharded = merge(&[&whole], &targets, &dir.path().join("whole-view"));
    assert_eq!(take_counts(&app), expected_counts(&unsharded, &apis));

    // Four shards at once: two share an output directory (a volume, as in
    // Kubernetes), two keep their own (CI artifacts).
    let shared = dir.path().join("shared");
    let outs = [
        shared.clone(),
        shared.clone(),
        dir.path().join("shard-2"),
        dir.path().join("shard-3"),
    ];
    let shard_events: Vec<Vec<Value>> = std::thread::scope(|scope| {
        let runs: Vec<_> = outs
            .iter()
            .enumerate()
            .map(|(index, out)| {
                let targets = &targets;
                scope.spawn(move || {
                    let shard = format!("{index}/4");
                    fleet_scan(targets, out, &["--shard", &shard, "--parallel", "4"])
                })
            })
            .collect();
        runs.into_iter()
            .map(|run| run.join().expect("a shard"))
            .collect()
    });
    let mut seen = BTreeSet::new();
    let mut total = 0;
    for (index, events) in shard_events.iter().enumerate() {
        let shard_started = only(events, "shard-started");
        assert_eq!(shard_started["shard"], format!("{index}/4"));
        assert_eq!(shard_started["fleet"], apis.len());
        let started = apis_of(events, "target-started");
        assert_eq!(shard_started["targets"], started.len());
        total += started.len();
        for api in started {
            assert!(seen.insert(api.clone()), "{api} scanned by two shards");
        }
    }
    assert_eq!(total, apis.len());
    assert_eq!(seen, names, "the union of the shards is the fleet");
    let sharded = merge(
        &[&shared, &outs[2], &outs[3]],
        &targets,
        &dir.path().join("sharded-view"),
    );
    // Each live API served exactly the scans the sharded view reports: one.
    assert_eq!(take_counts(&app), expected_counts(&sharded, &apis));
    assert_eq!(comparable(&sharded), comparable(&unsharded));

    // The view is the fleet's: grades per API, failures with their reason,
    // findings grouped by check.
    let totals = &unsharded["totals"];
    assert_eq!(totals["apis"], apis.len());
    assert_eq!(totals["missing"], 0);
    let grade = |name: &str| {
        let entry = unsharded["apis"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["api"] == name)
            .unwrap_or_else(|| panic!("{name}"));
        entry["grade"].as_str().unwrap_or("-").to_string()
    };
    assert_eq!(grade("clean-00"), "A");
    assert_eq!(grade("mixed-04"), "F");
    let closed = unsharded["apis"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["api"] == "closed-0")
        .expect("closed-0");
    assert_eq!(closed["status"], "failed");
    assert!(closed["error"]
        .as_str()
        .is_some_and(|e| e.contains("cannot reach")));
    let checks: BTreeMap<&str, &Value> = unsharded["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["check"].as_str().unwrap(), c))
        .collect();
    // secrets-01, -06, -11, -16 and mixed-04, -09, -14, -19.
    assert_eq!(
        checks["exposure.secrets"]["apis"].as_array().unwrap().len(),
        8
    );
    assert_eq!(
        checks["exposure.debug-page"]["apis"]
            .as_array()
            .unwrap()
            .len(),
        4
    );
}

/// Reads a fleet run's stdout as it comes, line by line, and hands the
/// events to `until`; kills the run (SIGKILL) when `until` says so.
/// Returns the events seen.
fn run_until_killed(args: &[&str], until: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let mut cmd = Command::new(support::scan::rampart_bin());
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    loopback_env(&mut cmd);
    let mut child = cmd.spawn().expect("rampart runs");
    let stdout = child.stdout.take().expect("stdout");
    let mut seen = Vec::new();
    let started = Instant::now();
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("a line");
        seen.push(serde_json::from_str(&line).expect("an event"));
        if until(&seen) {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the shard never got there: {seen:#?}"
        );
    }
    // SAFETY: a plain kill(2) of our own child.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGKILL);
    }
    let status = child.wait().expect("reaped");
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(libc::SIGKILL),
        "the shard ended before it was killed: {seen:#?}"
    );
    seen
}

#[test]
fn a_killed_shard_resumes_without_repeating_finished_apis() {
    // Slow answers, so the kill lands while scans are still running.
    let app = start_fleet_app(12, 0.03);
    let apis = fleet(&app, 1, 1);
    let dir = tempfile::tempdir().expect("a temp dir");
    let targets = write_targets(dir.path(), &apis);
    let out = dir.path().join("out");
    let args = [
        "scan",
        "--targets",
        path_str(&targets),
        "--out-dir",
        path_str(&out),
        "--checks",
        CHECKS,
        "--parallel",
        "3",
    ];
    let before = run_until_killed(&args, |events| {
        apis_of(events, "target-finished").len() >= 4
    });
    assert!(
        apis_of(&before, "target-started").len() > apis_of(&before, "target-finished").len(),
        "the kill must land with scans running: {before:#?}"
    );

    // What the killed shard left: whole reports (and failure records) and
    // perhaps hidden temporary files, never a half report.
    let mut complete = BTreeSet::new();
    for entry in std::fs::read_dir(&out).expect("out dir") {
        let name = entry
            .expect("entry")
            .file_name()
            .to_string_lossy()
            .into_owned();
        if name.starts_with('.') || name.ends_with(".failed.json") {
            continue;
        }
        let api = name.strip_suffix(".json").expect("a report").to_string();
        let text = std::fs::read_to_string(out.join(&name)).expect("readable");
        rampart::report::json::parse(&text)
            .unwrap_or_else(|e| panic!("{name} is not a whole report: {e}"));
        complete.insert(api);
    }
    let finished: BTreeSet<String> = apis_of(&before, "target-finished").into_iter().collect();
    assert!(finished.is_subset(&complete), "{finished:?} ⊄ {complete:?}");
    assert!(
        complete.len() < apis.len() - 1,
        "all finished before the kill"
    );
    let _ = take_counts(&app);

    let resumed_args: Vec<&str> = args.iter().copied().chain(["--resume"]).collect();
    let after = support::rampart(&resumed_args);
    assert_eq!(after.status.code(), Some(0));
    let after = events(&after.stdout);
    let skipped: BTreeSet<String> = apis_of(&after, "target-skipped").into_iter().collect();
    let started: BTreeSet<String> = apis_of(&after, "target-started").into_iter().collect();
    assert_eq!(skipped, complete, "the complete reports are skipped");
    assert!(skipped.is_disjoint(&started));
    let all: BTreeSet<String> = apis.iter().map(|a| a.name.clone()).collect();
    assert_eq!(
        skipped.union(&started).cloned().collect::<BTreeSet<_>>(),
        all
    );
    let summary = only(&after, "shard-finished");
    assert_eq!(summary["skipped"], complete.len());

    // The APIs themselves saw no request for what was finished, and one
    // scan for the rest.
    let view = merge(&[&out], &targets, &dir.path().join("view"));
    assert_eq!(view["totals"]["scanned"], 12);
    assert_eq!(view["totals"]["failed"], 2);
    let rescanned: Vec<Api> = apis
        .iter()
        .filter(|a| !complete.contains(&a.name))
        .cloned()
        .collect();
    let mut expected = expected_counts(&view, &rescanned);
    for api in &apis {
        if let (Some(port), true) = (api.port, complete.contains(&api.name)) {
            expected.entry(port).or_insert(0);
        }
    }
    assert_eq!(take_counts(&app), expected);
    let leftovers: Vec<String> = std::fs::read_dir(&out)
        .expect("out dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn memory_stays_bounded_with_many_apis_scanned_at_once() {
    let app = start_fleet_app(20, 0.0);
    // Sixty targets on twenty APIs, all sixty scanned at the same time.
    let apis = fleet(&app, 3, 0);
    assert_eq!(apis.len(), 60);
    let dir = tempfile::tempdir().expect("a temp dir");
    let targets = write_targets(dir.path(), &apis);
    let events = fleet_scan(
        &targets,
        &dir.path().join("out"),
        &["--parallel", "60", "--global-concurrency", "256"],
    );
    let finished = only(&events, "shard-finished");
    assert_eq!(finished["scanned"], 60, "{finished:#}");
    // They did run at once: every scan began before the first ended.
    let first_end = events
        .iter()
        .position(|e| e["event"] == "target-finished")
        .expect("a finished target");
    assert_eq!(apis_of(&events[..first_end], "target-started").len(), 60);
    let peak_kib = finished["peak_rss_kib"]
        .as_u64()
        .expect("peak RSS on Linux");
    eprintln!("peak RSS with 60 scans at once: {peak_kib} KiB");
    // Generous (about four times what it takes): a few MiB per scan in
    // flight on top of the process. The figures are in
    // `cargo bench --bench fleet`.
    assert!(
        peak_kib < 200 * 1024,
        "peak RSS {peak_kib} KiB with 60 scans at once"
    );
    let _ = take_counts(&app);
}
