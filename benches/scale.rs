//! `scripts/bench` (or `cargo bench --bench scale`): Rampart at scale, one
//! table, no pass/fail (the targets are printed beside the figures).
//!
//! - the engine's request rate against a local nginx, next to `wrk`'s with
//!   the same connections and threads in the same run (taken in turn, the
//!   median of a few rounds), and next to hyper-util's general-purpose
//!   pooled client and reqwest (the clients the engine used before its own
//!   connections) and bare hyper connections (what the engine's connections
//!   are made of), which tell the engine's own cost from hyper's; and each
//!   client's heap allocations per request, counted in a run of its own (a
//!   figure the machine's load does not move);
//! - whole scans (the release binary, default settings, a budget large
//!   enough to finish) of generated APIs of 20, 1,000 and 10,000
//!   operations served in-process: wall time, requests, peak RSS of the
//!   scanner (GNU `time`), findings; the 20-operation one also at `--rate 0`;
//! - the real Flask targets (vulnerable twins, with their DynamoDB
//!   stand-in), at default settings and at `--rate 0`.
//!
//! Under `cargo test` (no `--bench` argument) it only says how to run it.

#[path = "../tests/support/mod.rs"]
mod support;

use std::alloc::{GlobalAlloc, Layout, System};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::Request;
use axum::http::Response;
use rampart::engine::{Engine, EngineConfig, PaceMode, Probe};
use serde_json::{json, Value};
use url::Url;

/// Connections both clients keep open to nginx.
const CONNECTIONS: usize = 32;
/// How long each client sends in one round.
const THROUGHPUT_SECONDS: u64 = 5;
/// GNU time (Debian's `time`), which measures a scan's peak RSS.
const TIME: &str = "/usr/bin/time";

/// The system allocator, counting allocations while `COUNTING` is on: a
/// client's allocations per request, unlike its rate, do not move with the
/// machine's load, so they show a change in its cost run after run.
struct CountingAllocator;

static COUNTING: AtomicBool = AtomicBool::new(false);
static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count_allocation();
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count_allocation();
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, block: *mut u8, layout: Layout, size: usize) -> *mut u8 {
        count_allocation();
        unsafe { System.realloc(block, layout, size) }
    }

    unsafe fn dealloc(&self, block: *mut u8, layout: Layout) {
        unsafe { System.dealloc(block, layout) }
    }
}

fn count_allocation() {
    if COUNTING.load(Ordering::Relaxed) {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
    }
}

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

struct Row {
    what: String,
    wall: Option<f64>,
    requests: Option<u64>,
    rate: Option<f64>,
    rss_mib: Option<f64>,
    findings: Option<usize>,
    note: String,
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("benches/scale.rs: run it with scripts/bench (or cargo bench --bench scale)");
        return;
    }
    // `scripts/bench throughput` (or `scans`, `flask`) runs only those parts;
    // `scripts/bench engine`, the throughput of wrk and the engine alone
    // (for a profile of the engine).
    let chosen: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let runs = |part: &str| chosen.is_empty() || chosen.iter().any(|c| c == part);
    let mut rows = Vec::new();
    if runs("throughput") {
        throughput(&mut rows, false);
    } else if chosen.iter().any(|c| c == "engine") {
        throughput(&mut rows, true);
    }
    if runs("scans") {
        generated_scans(&mut rows);
    }
    if runs("flask") {
        flask_targets(&mut rows);
    }
    print_table(&rows);
}

// --- Engine throughput against nginx, beside wrk -------------------------------

/// Rounds of the throughput comparison: wrk and each client in turn, so a
/// machine whose speed drifts (other jobs on it) slows them alike.
const ROUNDS: usize = 5;

fn throughput(rows: &mut Vec<Row>, engine_only: bool) {
    let nginx = support::proxy::Nginx::start_config(
        1,
        |prefix, ports| {
            format!(
                "worker_processes 1;\npid {prefix}/nginx.pid;\nerror_log {prefix}/error.log;\n\
                 events {{ worker_connections 1024; }}\n\
                 http {{\n  access_log off;\n  client_body_temp_path {prefix}/body;\n\
                 proxy_temp_path {prefix}/proxy;\n  fastcgi_temp_path {prefix}/fastcgi;\n\
                 uwsgi_temp_path {prefix}/uwsgi;\n  scgi_temp_path {prefix}/scgi;\n\
                 keepalive_requests 1000000;\n\
                 server {{\n    listen 127.0.0.1:{port};\n\
                 location / {{ default_type application/json; return 200 '{{\"ok\":true}}'; }}\n  }}\n}}\n",
                prefix = prefix.display(),
                port = ports[0]
            )
        },
        support::Ready::http_200("/"),
    );
    let url = format!("{}/", nginx.base_url());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(CLIENT_THREADS)
        .enable_all()
        .build()
        .expect("a runtime for the clients");
    let mut clients = vec![
        ("rampart engine", Client::Engine),
        ("hyper-util's pooled client alone", Client::Pooled),
        ("reqwest alone, redirects off", Client::Reqwest),
        (
            "hyper alone, one HTTP/1.1 connection per worker",
            Client::Hyper,
        ),
    ];
    if engine_only {
        clients.truncate(1);
    }
    // Every client (wrk too) has a one-second run before anything is
    // timed, so none is timed cold. Each timed run opens its connections
    // afresh, as wrk does.
    for (_, client) in &clients {
        runtime.block_on(client.run(&url, Duration::from_secs(1)));
    }
    let _ = run_wrk(&url, 1);
    let mut wrk = Vec::new();
    let mut rates: Vec<Vec<f64>> = vec![Vec::new(); clients.len()];
    for _ in 0..ROUNDS {
        wrk.extend(run_wrk(&url, THROUGHPUT_SECONDS));
        for (i, (_, client)) in clients.iter().enumerate() {
            let duration = Duration::from_secs(THROUGHPUT_SECONDS);
            rates[i].extend(runtime.block_on(client.run(&url, duration)));
        }
    }
    // Counted apart from the timed rounds, so that counting slows none of them.
    let allocations: Vec<Option<f64>> = clients
        .iter()
        .map(|(_, client)| runtime.block_on(client.allocations_per_request(&url)))
        .collect();
    let wrk = median(wrk);
    let seconds = THROUGHPUT_SECONDS as f64;
    let rounds = format!("median of {ROUNDS} rounds of {THROUGHPUT_SECONDS} s");
    rows.push(Row {
        what: format!("wrk → nginx, {CONNECTIONS} connections, {CLIENT_THREADS} threads"),
        wall: Some(seconds),
        requests: wrk.map(|r| (r * seconds) as u64),
        rate: wrk,
        rss_mib: None,
        findings: None,
        note: if wrk.is_some() {
            format!("baseline; {rounds}")
        } else {
            "wrk not installed (apt-get install wrk)".into()
        },
    });
    for (((what, client), rates), allocations) in clients.iter().zip(rates).zip(allocations) {
        let rate = median(rates);
        let mut note = match (rate, wrk) {
            (Some(e), Some(w)) if w > 0.0 => format!("{:.0}% of wrk", e / w * 100.0),
            _ => "no ratio".to_string(),
        };
        if matches!(client, Client::Engine) {
            note.push_str(" (target ≥ 80%)");
        }
        if let Some(allocations) = allocations {
            note.push_str(&format!("; {allocations:.1} allocations per request"));
        }
        rows.push(Row {
            what: format!("{what} → nginx, {CONNECTIONS} connections"),
            wall: Some(seconds),
            requests: rate.map(|r| (r * seconds) as u64),
            rate,
            rss_mib: None,
            findings: None,
            note,
        });
    }
}

/// Worker threads of every client, wrk's `-t` included.
const CLIENT_THREADS: usize = 2;

fn median(mut values: Vec<f64>) -> Option<f64> {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied()
}

/// `wrk`'s requests per second, when it is installed.
fn run_wrk(url: &str, seconds: u64) -> Option<f64> {
    let output = Command::new("wrk")
        .args([
            &format!("-t{CLIENT_THREADS}"),
            &format!("-c{CONNECTIONS}"),
            &format!("-d{seconds}s"),
            url,
        ])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&output.stdout);
    text.lines()
        .find_map(|line| line.trim().strip_prefix("Requests/sec:"))
        .and_then(|rate| rate.trim().parse().ok())
}

/// What sends the GETs: the engine as a scan uses it (scope, pacing,
/// budget, evidence capture, body cap), and — to tell the engine's own
/// cost from its HTTP client's — the same client without the engine,
/// hyper's bare connections without the client's pool, and reqwest.
enum Client {
    Engine,
    Pooled,
    Reqwest,
    Hyper,
}

impl Client {
    /// Heap allocations per request over a one-second run.
    async fn allocations_per_request(&self, url: &str) -> Option<f64> {
        ALLOCATIONS.store(0, Ordering::Relaxed);
        COUNTING.store(true, Ordering::Relaxed);
        let started = Instant::now();
        let rate = self.run(url, Duration::from_secs(1)).await;
        let seconds = started.elapsed().as_secs_f64();
        COUNTING.store(false, Ordering::Relaxed);
        let requests = rate? * seconds;
        (requests > 0.0).then(|| ALLOCATIONS.load(Ordering::Relaxed) as f64 / requests)
    }

    /// Requests per second over `duration`, `CONNECTIONS` workers each
    /// sending one GET after another.
    async fn run(&self, url: &str, duration: Duration) -> Option<f64> {
        let target = Url::parse(url).ok()?;
        let done = Arc::new(AtomicU64::new(0));
        let deadline = Instant::now() + duration;
        let started = Instant::now();
        let workers: Vec<_> = match self {
            Client::Engine => {
                let mut config = EngineConfig::new(target.clone());
                config.pacing = PaceMode::Steady;
                config.rate_per_second = None;
                config.concurrency = CONNECTIONS;
                config.max_requests = None;
                let engine = Arc::new(Engine::new(config).ok()?);
                (0..CONNECTIONS)
                    .map(|_| {
                        let (engine, done, target) =
                            (Arc::clone(&engine), Arc::clone(&done), target.clone());
                        tokio::spawn(async move {
                            while Instant::now() < deadline {
                                if engine.send(Probe::get(target.clone())).await.is_ok() {
                                    done.fetch_add(1, Ordering::Relaxed);
                                }
                            }
                        })
                    })
                    .collect()
            }
            Client::Pooled => {
                let mut connector = hyper_util::client::legacy::connect::HttpConnector::new();
                connector.set_nodelay(true);
                let client = hyper_util::client::legacy::Client::builder(
                    hyper_util::rt::TokioExecutor::new(),
                )
                .pool_timer(hyper_util::rt::TokioTimer::new())
                .pool_max_idle_per_host(CONNECTIONS)
                .build::<_, http_body_util::Full<bytes::Bytes>>(connector);
                let uri: axum::http::Uri = url.parse().ok()?;
                (0..CONNECTIONS)
                    .map(|_| {
                        let (client, done, uri) = (client.clone(), Arc::clone(&done), uri.clone());
                        tokio::spawn(async move {
                            use http_body_util::BodyExt;
                            while Instant::now() < deadline {
                                let request = axum::http::Request::get(uri.clone())
                                    .body(http_body_util::Full::default());
                                let Ok(request) = request else { break };
                                if let Ok(response) = client.request(request).await {
                                    if response.into_body().collect().await.is_ok() {
                                        done.fetch_add(1, Ordering::Relaxed);
                                    }
                                }
                            }
                        })
                    })
                    .collect()
            }
            Client::Reqwest => {
                let client = reqwest::Client::builder()
                    .redirect(reqwest::redirect::Policy::none())
                    .pool_max_idle_per_host(CONNECTIONS)
                    .build()
                    .ok()?;
                (0..CONNECTIONS)
                    .map(|_| {
                        let (client, done, target) =
                            (client.clone(), Arc::clone(&done), target.clone());
                        tokio::spawn(async move {
                            while Instant::now() < deadline {
                                if let Ok(response) = client.get(target.clone()).send().await {
                                    if response.bytes().await.is_ok() {
                                        done.fetch_add(1, Ordering::Relaxed);
                                    }
                                }
                            }
                        })
                    })
                    .collect()
            }
            Client::Hyper => {
                let address = format!("{}:{}", target.host_str()?, target.port()?);
                (0..CONNECTIONS)
                    .map(|_| {
                        let (done, address) = (Arc::clone(&done), address.clone());
                        tokio::spawn(async move {
                            let _ = hyper_worker(&address, deadline, &done).await;
                        })
                    })
                    .collect()
            }
        };
        for worker in workers {
            let _ = worker.await;
        }
        Some(done.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64())
    }
}

/// One kept-alive HTTP/1.1 connection sending GET / until `deadline`.
async fn hyper_worker(
    address: &str,
    deadline: Instant,
    done: &AtomicU64,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    use http_body_util::{BodyExt, Empty};
    let stream = tokio::net::TcpStream::connect(address).await?;
    stream.set_nodelay(true)?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    while Instant::now() < deadline {
        let request = axum::http::Request::get("/")
            .header("host", address)
            .body(Empty::<bytes::Bytes>::new())?;
        let response = sender.send_request(request).await?;
        response.into_body().collect().await?;
        done.fetch_add(1, Ordering::Relaxed);
    }
    Ok(())
}

// --- Scans of generated APIs ---------------------------------------------------

/// An API of `operations` GET operations, served in-process: collections,
/// objects by integer id (their answers name the id), searches with a
/// query parameter; answers of a few hundred bytes of JSON.
fn generated_api(operations: usize) -> (tokio::runtime::Runtime, String) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a runtime for the generated API");
    let spec: Arc<str> = spec_of(operations).to_string().into();
    let base = runtime.block_on(async move {
        let app = axum::Router::new().fallback(move |request: Request| {
            let spec = Arc::clone(&spec);
            async move {
                let path = request.uri().path().to_string();
                let body = if path == "/openapi.json" {
                    spec.to_string()
                } else {
                    answer_for(&path).to_string()
                };
                Response::builder()
                    .header("content-type", "application/json")
                    .body(Body::from(body))
                    .unwrap_or_default()
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port");
        let addr = listener.local_addr().expect("its address");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        format!("http://{addr}")
    });
    (runtime, base)
}

fn spec_of(operations: usize) -> Value {
    let mut paths = serde_json::Map::new();
    for i in 0..operations {
        let (path, parameters) = match i % 3 {
            0 => (format!("/res{i}"), json!([])),
            1 => (
                format!("/res{i}/{{item_id}}"),
                json!([{"name": "item_id", "in": "path", "required": true,
                        "schema": {"type": "integer", "example": 1}}]),
            ),
            _ => (
                format!("/res{i}/search"),
                json!([{"name": "q", "in": "query", "required": true,
                        "schema": {"type": "string", "example": "lamp"}}]),
            ),
        };
        paths.insert(
            path,
            json!({"get": {"operationId": format!("op{i}"), "parameters": parameters,
                           "responses": {"200": {"description": "ok"}}}}),
        );
    }
    json!({"openapi": "3.0.3", "info": {"title": "generated", "version": "1"}, "paths": paths})
}

fn answer_for(path: &str) -> Value {
    let item = |id: u64| {
        json!({"id": id, "name": format!("item {id}"), "price": 12.5, "stock": id % 7,
               "updated_at": "2026-01-01T00:00:00Z"})
    };
    let last = path.rsplit('/').next().unwrap_or("");
    match last.parse::<u64>() {
        Ok(id) => item(id),
        Err(_) => json!({"items": (1..=5).map(item).collect::<Vec<_>>(), "next": null}),
    }
}

struct Scan {
    wall: f64,
    requests: u64,
    rss_mib: f64,
    findings: usize,
    complete: bool,
}

/// Runs the release binary on `base` with `args`; its figures, with the
/// peak RSS as `/usr/bin/time` reads it. (The resource usage `wait4` gives
/// for a child started from this process is no good: Linux counts in it
/// the memory of this process at the fork — the in-process APIs served
/// here — so it reads the larger of the two.)
fn scan(base: &str, args: &[&str]) -> Option<Scan> {
    let measured = tempfile::NamedTempFile::new().ok()?;
    let mut cmd = Command::new(TIME);
    support::process::loopback_env(&mut cmd);
    cmd.arg("-f")
        .arg("%M")
        .arg("-o")
        .arg(measured.path())
        .arg(support::scan::rampart_bin())
        .args(["scan", base, "--format", "json", "-q"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let started = Instant::now();
    let output = cmd.output().ok()?;
    let wall = started.elapsed().as_secs_f64();
    let report = rampart::report::json::parse(&String::from_utf8_lossy(&output.stdout)).ok()?;
    let kib: f64 = std::fs::read_to_string(measured.path())
        .ok()?
        .lines()
        .last()?
        .trim()
        .parse()
        .ok()?;
    Some(Scan {
        wall,
        requests: report.requests_sent,
        rss_mib: kib / 1024.0,
        findings: report.findings.len(),
        complete: report.complete,
    })
}

fn scan_row(what: String, scan: Option<Scan>, note: String) -> Row {
    match scan {
        Some(s) => Row {
            what,
            wall: Some(s.wall),
            requests: Some(s.requests),
            rate: Some(s.requests as f64 / s.wall),
            rss_mib: Some(s.rss_mib),
            findings: Some(s.findings),
            note: if s.complete {
                note
            } else {
                format!("INCOMPLETE; {note}")
            },
        },
        None => Row {
            what,
            wall: None,
            requests: None,
            rate: None,
            rss_mib: None,
            findings: None,
            note: "scan failed".into(),
        },
    }
}

/// The median run of `runs` scans, by wall time.
fn median_scan(base: &str, args: &[&str], runs: usize) -> Option<Scan> {
    let mut scans: Vec<Scan> = (0..runs).filter_map(|_| scan(base, args)).collect();
    scans.sort_by(|a, b| a.wall.total_cmp(&b.wall));
    let middle = scans.len() / 2;
    (!scans.is_empty()).then(|| scans.swap_remove(middle))
}

fn generated_scans(rows: &mut Vec<Row>) {
    // A budget no generated API exhausts: these are full scans.
    const BUDGET: &[&str] = &["--max-requests", "100000000"];
    for operations in [20, 1_000, 10_000] {
        let (runtime, base) = generated_api(operations);
        let spec = format!("{base}/openapi.json");
        let mut args = vec!["--spec", spec.as_str()];
        args.extend(BUDGET);
        let runs = if operations <= 20 { 5 } else { 1 };
        let default = median_scan(&base, &args, runs);
        let target = match operations {
            1_000 => "target: < 60 MiB".to_string(),
            10_000 => "target: < 150 MiB".to_string(),
            _ => String::new(),
        };
        if operations == 20 {
            let mut unlimited_args = args.clone();
            unlimited_args.extend(["--rate", "0"]);
            let unlimited = median_scan(&base, &unlimited_args, runs);
            let note = match (&default, &unlimited) {
                (Some(d), Some(u)) => format!(
                    "{:.1}× the --rate 0 scan (target ≤ 2×); median of {runs}",
                    d.wall / u.wall
                ),
                _ => String::new(),
            };
            rows.push(scan_row(
                format!("scan, {operations} ops, default"),
                default,
                note,
            ));
            rows.push(scan_row(
                format!("scan, {operations} ops, --rate 0"),
                unlimited,
                format!("median of {runs}"),
            ));
        } else {
            rows.push(scan_row(
                format!("scan, {operations} ops, default"),
                default,
                target,
            ));
        }
        drop(runtime);
    }
}

// --- The real Flask targets ----------------------------------------------------

fn flask_targets(rows: &mut Vec<Row>) {
    if !support::targets::venv_bin("python").exists() {
        rows.push(Row {
            what: "Flask targets".into(),
            wall: None,
            requests: None,
            rate: None,
            rss_mib: None,
            findings: None,
            note: "no test venv (RAMPART_TEST_VENV): skipped".into(),
        });
        return;
    }
    let targets: [(&str, &[(&str, &str)]); 3] = [
        (
            "authz/app.py",
            &[
                ("alice", "X-API-Key: ak_alice_authz_51c0"),
                ("bob", "X-API-Key: ak_bob_authz_9e7d"),
            ],
        ),
        ("exposure/app.py", &[]),
        (
            "signing/app.py",
            &[
                ("alice", "X-API-Key: ak_alice_sign_7a1e"),
                ("bob", "X-API-Key: ak_bob_sign_c3d9"),
            ],
        ),
    ];
    for (app, identities) in targets {
        let moto = support::MotoServer::start();
        let flask = support::FlaskApp::start(app, "vulnerable", &moto, &[]);
        let base = flask.base_url();
        let spec = format!("{base}/openapi.json");
        let mut args: Vec<&str> = vec!["--spec", &spec];
        for (name, header) in identities {
            args.extend(["--identity", name, header]);
        }
        let default = scan(&base, &args);
        let mut unlimited_args = args.clone();
        unlimited_args.extend(["--rate", "0"]);
        let unlimited = scan(&base, &unlimited_args);
        let note = match &unlimited {
            Some(u) => format!(
                "--rate 0: {:.2} s, {} requests, {} findings",
                u.wall, u.requests, u.findings
            ),
            None => String::new(),
        };
        let name = app.trim_end_matches("/app.py");
        rows.push(scan_row(
            format!("Flask {name} (vulnerable), default"),
            default,
            note,
        ));
    }
}

// --- The table -------------------------------------------------------------------

fn print_table(rows: &[Row]) {
    let width = rows
        .iter()
        .map(|r| r.what.chars().count())
        .max()
        .unwrap_or(10);
    println!(
        "{:<width$}  {:>8}  {:>9}  {:>9}  {:>9}  {:>8}  note",
        "what", "wall s", "requests", "req/s", "peak MiB", "findings"
    );
    let cell = |value: Option<String>| value.unwrap_or_else(|| "-".into());
    for row in rows {
        println!(
            "{:<width$}  {:>8}  {:>9}  {:>9}  {:>9}  {:>8}  {}",
            row.what,
            cell(row.wall.map(|w| format!("{w:.2}"))),
            cell(row.requests.map(|r| r.to_string())),
            cell(row.rate.map(|r| format!("{r:.0}"))),
            cell(row.rss_mib.map(|m| format!("{m:.1}"))),
            cell(row.findings.map(|f| f.to_string())),
            row.note
        );
    }
}
