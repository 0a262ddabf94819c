//! The engine and whole scans against servers that misbehave on purpose:
//! Rampart must return a clear error or a capped exchange, never hang,
//! panic or buffer without bound; keep its memory bounded however large the
//! API; send the user's headers to the target's origin only; show no
//! terminal escape a server sent; honour throttling; say when a scan's
//! coverage was cut short (errors, budget, throttling, deadline, Ctrl-C);
//! and report one finding per root cause, with ids stable across runs.

mod support;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use rampart::engine::{Caller, Engine, EngineConfig, EngineError, Probe};
use rampart::identity::Identity;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use url::Url;

/// Serves every connection with `behaviour` on an ephemeral loopback port.
async fn hostile_server<F, Fut>(behaviour: F) -> SocketAddr
where
    F: Fn(TcpStream) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(behaviour(stream));
        }
    });
    addr
}

async fn read_request_head(stream: &mut TcpStream) {
    let mut buf = vec![0u8; 8192];
    let mut seen = Vec::new();
    while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => seen.extend_from_slice(&buf[..n]),
        }
    }
}

fn engine_for(addr: SocketAddr, timeout: Duration, body_cap: usize) -> Engine {
    let mut config = EngineConfig::new(Url::parse(&format!("http://{addr}/")).unwrap());
    config.timeout = timeout;
    config.body_cap = body_cap;
    config.rate_per_second = None;
    Engine::new(config).unwrap()
}

fn probe(addr: SocketAddr, path: &str) -> Probe {
    Probe::get(Url::parse(&format!("http://{addr}{path}")).unwrap())
}

#[tokio::test]
async fn a_server_that_never_answers_times_out() {
    let addr = hostile_server(|mut stream| async move {
        read_request_head(&mut stream).await;
        tokio::time::sleep(Duration::from_secs(3600)).await;
    })
    .await;
    let engine = engine_for(addr, Duration::from_millis(500), 1024);
    let started = Instant::now();
    let error = engine.send(probe(addr, "/")).await.unwrap_err();
    assert!(matches!(error, EngineError::Timeout(_)), "{error}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn a_never_ending_body_is_cut_at_the_cap() {
    let addr = hostile_server(|mut stream| async move {
        read_request_head(&mut stream).await;
        let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n";
        if stream.write_all(head.as_bytes()).await.is_err() {
            return;
        }
        let chunk = format!("{:x}\r\n{}\r\n", 16384, "A".repeat(16384));
        while stream.write_all(chunk.as_bytes()).await.is_ok() {}
    })
    .await;
    let engine = engine_for(addr, Duration::from_secs(10), 64 * 1024);
    let exchange = engine.send(probe(addr, "/")).await.unwrap();
    assert!(exchange.response.truncated);
    assert_eq!(exchange.response.body.len(), 64 * 1024);
}

#[tokio::test]
async fn a_huge_declared_body_is_cut_at_the_cap() {
    let addr = hostile_server(|mut stream| async move {
        read_request_head(&mut stream).await;
        let head = "HTTP/1.1 200 OK\r\ncontent-length: 10737418240\r\n\r\n";
        if stream.write_all(head.as_bytes()).await.is_err() {
            return;
        }
        let block = vec![b'x'; 65536];
        while stream.write_all(&block).await.is_ok() {}
    })
    .await;
    let engine = engine_for(addr, Duration::from_secs(10), 100_000);
    let exchange = engine.send(probe(addr, "/")).await.unwrap();
    assert!(exchange.response.truncated);
    assert_eq!(exchange.response.body.len(), 100_000);
}

#[tokio::test]
async fn a_dripping_body_does_not_outlive_the_timeout() {
    let addr = hostile_server(|mut stream| async move {
        read_request_head(&mut stream).await;
        let head = "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n";
        if stream.write_all(head.as_bytes()).await.is_err() {
            return;
        }
        loop {
            if stream.write_all(b"1\r\nx\r\n").await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    let engine = engine_for(addr, Duration::from_millis(700), 1024 * 1024);
    let started = Instant::now();
    let error = engine.send(probe(addr, "/")).await.unwrap_err();
    assert!(matches!(error, EngineError::Timeout(_)), "{error}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn a_decompression_bomb_is_bounded_by_the_cap() {
    use flate2::write::GzEncoder;
    use std::io::Write;
    let mut encoder = GzEncoder::new(Vec::new(), flate2::Compression::best());
    let zeros = vec![0u8; 1024 * 1024];
    for _ in 0..64 {
        encoder.write_all(&zeros).unwrap();
    }
    let bomb = std::sync::Arc::new(encoder.finish().unwrap());
    assert!(bomb.len() < 1024 * 1024, "64 MiB must compress well");
    let addr = hostile_server(move |mut stream| {
        let bomb = std::sync::Arc::clone(&bomb);
        async move {
            read_request_head(&mut stream).await;
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-encoding: gzip\r\ncontent-length: {}\r\n\r\n",
                bomb.len()
            );
            let _ = stream.write_all(head.as_bytes()).await;
            let _ = stream.write_all(&bomb).await;
        }
    })
    .await;
    let engine = engine_for(addr, Duration::from_secs(10), 256 * 1024);
    let exchange = engine.send(probe(addr, "/")).await.unwrap();
    assert!(exchange.response.truncated);
    assert_eq!(exchange.response.body.len(), 256 * 1024);
}

#[tokio::test]
async fn garbage_instead_of_http_is_an_error_not_a_panic() {
    let addr = hostile_server(|mut stream| async move {
        read_request_head(&mut stream).await;
        let _ = stream
            .write_all(b"\x00\x01garbage\xff\xfe not http\r\n\r\n")
            .await;
    })
    .await;
    let engine = engine_for(addr, Duration::from_secs(5), 1024);
    let error = engine.send(probe(addr, "/")).await.unwrap_err();
    assert!(!error.to_string().is_empty());
}

#[tokio::test]
async fn redirects_are_returned_not_followed() {
    let addr = hostile_server(|mut stream| async move {
        read_request_head(&mut stream).await;
        let _ = stream
            .write_all(b"HTTP/1.1 302 Found\r\nlocation: http://10.255.255.1/elsewhere\r\ncontent-length: 0\r\n\r\n")
            .await;
    })
    .await;
    let engine = engine_for(addr, Duration::from_secs(5), 1024);
    let exchange = engine.send(probe(addr, "/")).await.unwrap();
    assert_eq!(exchange.response.status, 302);
    assert_eq!(
        exchange.response_header("location"),
        Some("http://10.255.255.1/elsewhere")
    );
}

#[tokio::test]
async fn probes_outside_the_target_origin_are_refused_before_sending() {
    let engine = engine_for("127.0.0.1:9".parse().unwrap(), Duration::from_secs(1), 1024);
    let outside = Probe::get(Url::parse("http://127.0.0.2:9/").unwrap());
    assert!(matches!(
        engine.send(outside).await.unwrap_err(),
        EngineError::OutOfScope(_)
    ));
    assert_eq!(engine.requests_sent(), 0);
}

#[tokio::test]
async fn errors_never_carry_supplied_credentials() {
    let mut config = EngineConfig::new(Url::parse("http://127.0.0.1:9/").unwrap());
    config.identities = vec![Identity {
        name: "alice".into(),
        headers: vec![("X-API-Key".into(), "sk_live_supersecret_123".into())],
    }];
    let engine = Engine::new(config).unwrap();
    let url = Url::parse("http://127.0.0.1:9/?key=sk_live_supersecret_123").unwrap();
    let error = engine
        .send(Probe::get(url).as_caller(Caller::Identity("alice".into())))
        .await
        .unwrap_err();
    assert!(
        !error.to_string().contains("sk_live_supersecret_123"),
        "{error}"
    );
}

// ---------------------------------------------------------------------------
// Whole scans against in-process APIs that misbehave.
// ---------------------------------------------------------------------------

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderMap, Response, StatusCode};
use futures::future::BoxFuture;
use rampart::engine::PaceMode;
use rampart::report::{Format, Grade, IncompleteReason, Report};
use rampart::scan::{self, ScanOptions};
use serde_json::{json, Value};

/// One request an in-process API received.
#[derive(Debug, Clone)]
struct Hit {
    at: Instant,
    method: String,
    path: String,
    query: String,
    headers: HeaderMap,
}

impl Hit {
    /// A plain read of the path: a GET whose query is at most the cache
    /// buster and that carries no guessed header (not what hidden-parameter
    /// or method discovery sends).
    fn plain_read(&self) -> bool {
        self.method == "GET"
            && rampart::discover::params::HEADER_NAMES
                .iter()
                .all(|name| !self.headers.contains_key(*name))
            && self
                .query
                .split('&')
                .all(|pair| pair.is_empty() || pair.starts_with("rampart_cb="))
    }
}

type Answer = Response<Body>;
type Behaviour = Arc<dyn Fn(Hit) -> BoxFuture<'static, Answer> + Send + Sync>;

/// An API on a loopback port that answers every request with `behaviour`
/// and remembers what it was asked.
struct Api {
    addr: SocketAddr,
    hits: Arc<Mutex<Vec<Hit>>>,
}

impl Api {
    async fn start(behaviour: Behaviour) -> Api {
        let hits: Arc<Mutex<Vec<Hit>>> = Arc::default();
        let seen = Arc::clone(&hits);
        let app = axum::Router::new().fallback(move |request: Request| {
            let behaviour = Arc::clone(&behaviour);
            let seen = Arc::clone(&seen);
            async move {
                let hit = Hit {
                    at: Instant::now(),
                    method: request.method().to_string(),
                    path: request.uri().path().to_string(),
                    query: request.uri().query().unwrap_or_default().to_string(),
                    headers: request.headers().clone(),
                };
                seen.lock().unwrap().push(hit.clone());
                behaviour(hit).await
            }
        });
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Api { addr, hits }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn hits(&self) -> Vec<Hit> {
        self.hits.lock().unwrap().clone()
    }

    fn count(&self, path: &str) -> usize {
        self.hits()
            .iter()
            .filter(|h| h.path == path && h.plain_read())
            .count()
    }
}

/// A behaviour from a synchronous answer.
fn answering(f: impl Fn(&Hit) -> Answer + Send + Sync + 'static) -> Behaviour {
    Arc::new(move |hit| {
        let answer = f(&hit);
        Box::pin(async move { answer })
    })
}

fn answer(status: u16, headers: &[(&str, &str)], body: impl Into<String>) -> Answer {
    let mut response = Response::builder().status(StatusCode::from_u16(status).unwrap());
    for (name, value) in headers {
        response = response.header(*name, *value);
    }
    response.body(Body::from(body.into())).unwrap()
}

fn json_answer(body: Value) -> Answer {
    answer(
        200,
        &[("content-type", "application/json")],
        body.to_string(),
    )
}

/// An OpenAPI document with a GET operation per path; `{x_id}` path
/// parameters are integers without an example.
fn openapi(paths: &[String]) -> Value {
    let mut operations = serde_json::Map::new();
    for path in paths {
        let parameters: Vec<Value> = path
            .split('/')
            .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
            .map(|name| {
                json!({"name": name, "in": "path", "required": true,
                       "schema": {"type": "integer"}})
            })
            .collect();
        operations.insert(
            path.clone(),
            json!({"get": {"parameters": parameters, "responses": {"200": {"description": "ok"}}}}),
        );
    }
    json!({"openapi": "3.0.3", "info": {"title": "hostile", "version": "1"}, "paths": operations})
}

/// Scan options for `api` with only `checks`, the spec at `/openapi.json`
/// when `spec` is true, and the default pace unless told otherwise.
fn options(api: &Api, checks: &[&str], spec: bool) -> ScanOptions {
    let mut options = ScanOptions::new(Url::parse(&api.url("/")).unwrap());
    options.include_checks = checks.iter().map(|c| c.to_string()).collect();
    if spec {
        options.spec = Some(api.url("/openapi.json"));
    }
    options.engine.timeout = Duration::from_secs(5);
    options
}

fn of_check<'r>(report: &'r Report, check: &str) -> Vec<&'r rampart::finding::Finding> {
    report
        .findings
        .iter()
        .filter(|f| f.check == check)
        .collect()
}

fn reasons(report: &Report) -> Vec<IncompleteReason> {
    report.incomplete_reasons.iter().map(|r| r.reason).collect()
}

#[tokio::test]
async fn baselines_past_the_memory_budget_are_requested_again_and_still_judged() {
    // 60 object endpoints whose answers name the id they were asked for, 8 KB
    // each: a budget of 64 KiB keeps the first few whole, the rest compact.
    let paths: Vec<String> = (0..60)
        .map(|i| format!("/things{i}/{{thing_id}}"))
        .collect();
    let spec = openapi(&paths);
    let api = Api::start(answering(move |hit| {
        if hit.path == "/openapi.json" {
            return json_answer(spec.clone());
        }
        let id = hit.path.rsplit('/').next().unwrap_or("").to_string();
        json_answer(json!({"id": id.parse::<u64>().unwrap_or(0), "padding": "p".repeat(8000)}))
    }))
    .await;
    let mut options = options(&api, &["authz.guessable-ids"], true);
    options.baseline_memory = 64 * 1024;
    let report = scan::run(options).await.unwrap();
    // Every endpoint's check saw its baseline whole: the one finding for the
    // id scheme lists them all, and rests on ids seen in the answers.
    let found = of_check(&report, "authz.guessable-ids");
    assert_eq!(found.len(), 1, "{:#?}", report.findings);
    assert_eq!(found[0].seen_count, 60);
    assert_eq!(found[0].head.confidence.as_str(), "firm");
    // Every endpoint is requested twice (the baseline, then once more to
    // learn what varies), five of them once more at the end (watched for a
    // change of data), and only the compact ones once more for their checks.
    // Hidden-parameter discovery mines a few endpoints with reads of its
    // own; those are left out of the count.
    let hits = api.hits();
    let mined = |path: &str| {
        hits.iter()
            .any(|h| h.path == path && h.method == "GET" && !h.plain_read())
    };
    let counted: Vec<String> = (0..paths.len())
        .map(|i| format!("/things{i}/1"))
        .filter(|path| !mined(path))
        .collect();
    assert!(
        counted.len() >= 50,
        "{} endpoints mined",
        60 - counted.len()
    );
    let counts: Vec<usize> = counted.iter().map(|path| api.count(path)).collect();
    assert!(counts.iter().all(|n| (2..=4).contains(n)), "{counts:?}");
    let again = counts
        .iter()
        .sum::<usize>()
        .saturating_sub(2 * counted.len());
    assert!(
        (30..counted.len() + 5).contains(&again),
        "{again} re-requested: {counts:?}"
    );
    assert!(report.complete, "{:?}", report.incomplete_reasons);
}

/// The peak resident memory of the `rampart` binary scanning `api`.
fn peak_rss_kib(api: &Api, extra: &[&str]) -> (i64, String) {
    use std::os::unix::process::ExitStatusExt;
    let mut cmd = std::process::Command::new(support::scan::rampart_bin());
    support::process::loopback_env(&mut cmd);
    let spec = api.url("/openapi.json");
    cmd.args([
        "scan",
        &api.url("/"),
        "--spec",
        &spec,
        "--format",
        "json",
        "-q",
    ])
    .args(extra)
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::null());
    // Reaped by wait4 below, which also reads its resource usage.
    #[allow(clippy::zombie_processes)]
    let mut child = cmd.spawn().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = std::io::Read::read_to_string(&mut stdout, &mut text);
        text
    });
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: a zeroed rusage is a valid value for wait4 to fill in.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waits for our own child, with valid pointers.
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(waited, pid);
    let report = reader.join().unwrap();
    let exit = std::process::ExitStatus::from_raw(status);
    assert!(exit.code().is_some(), "rampart died: {exit:?}");
    (usage.ru_maxrss, report)
}

#[test]
fn peak_memory_does_not_grow_with_the_size_of_the_answers() {
    // 200 operations answering 256 KiB each (50 MiB in all): holding them
    // with their text and JSON, as every baseline once was, takes about
    // 180 MiB.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let paths: Vec<String> = (0..200).map(|i| format!("/blob{i}")).collect();
    let spec = openapi(&paths);
    let body: Arc<str> = json!({"blob": "b".repeat(256 * 1024)}).to_string().into();
    let api = runtime.block_on(Api::start(answering(move |hit| {
        if hit.path == "/openapi.json" {
            json_answer(spec.clone())
        } else {
            answer(200, &[("content-type", "application/json")], &*body)
        }
    })));
    // One cheap check: this is about what the scan keeps, not what it judges.
    let (peak, report) = peak_rss_kib(&api, &["--checks", "authz.guessable-ids"]);
    let report = rampart::report::json::parse(&report).unwrap();
    assert_eq!(report.endpoints.len(), 200);
    assert!(api.count("/blob199") >= 1);
    // Within the baselines' budget (16 MiB of bodies and heads, never
    // their parsed JSON) plus the program and the requests in flight; a
    // debug build.
    assert!(peak < 100 * 1024, "peak RSS {} MiB", peak / 1024);
}

#[tokio::test]
async fn user_headers_go_only_to_the_targets_origin_even_for_the_spec() {
    let paths = vec!["/items".to_string()];
    let spec = openapi(&paths);
    let served = spec.clone();
    let elsewhere = Api::start(answering(move |_| json_answer(served.clone()))).await;
    let target = Api::start(answering(move |hit| match hit.path.as_str() {
        "/openapi.json" => json_answer(spec.clone()),
        _ => json_answer(json!({"items": []})),
    }))
    .await;
    for (spec_host, on_origin) in [(&elsewhere, false), (&target, true)] {
        let mut options = options(&target, &["exposure.secrets"], false);
        options.spec = Some(spec_host.url("/openapi.json"));
        options.engine.default_headers = vec![("X-Tenant".into(), "tenant-secret-77".into())];
        options.engine.identities = vec![Identity {
            name: "alice".into(),
            headers: vec![("X-API-Key".into(), "alice-key-secret-88".into())],
        }];
        scan::run(options).await.unwrap();
        let fetched: Vec<Hit> = spec_host
            .hits()
            .into_iter()
            .filter(|h| h.path == "/openapi.json")
            .collect();
        let fetch = fetched.last().expect("the spec was fetched");
        assert!(fetch.headers.get("x-api-key").is_none());
        assert_eq!(fetch.headers.get("x-tenant").is_some(), on_origin);
    }
    // The target itself got the header with every request.
    let items = target.hits().into_iter().filter(|h| h.path == "/items");
    assert!(items
        .into_iter()
        .all(|h| h.headers.get("x-tenant").is_some()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terminal_escapes_a_server_sends_never_reach_the_text_report() {
    let hostile = "\x1b]0;pwned\x07\x1b[2J\x1b[31m\u{9b}1m\r\u{202e}";
    let api = Api::start(answering(move |_| {
        // Raw text: a JSON string would carry the escapes encoded.
        let body = format!(
            "{hostile} key AKIAQ3EGRLABDEMO7XYZ\nTraceback (most recent call last):\n  File \"/srv/app.py\", line 3{hostile}"
        );
        let mut answer = answer(
            500,
            &[("content-type", "text/plain"), ("set-cookie", "sid=abc; Path=/")],
            body,
        );
        // HTTP forbids C0 controls in headers, but bytes above 0x7f pass,
        // and C2 9B is the C1 control CSI once read as UTF-8.
        let server = axum::http::HeaderValue::from_bytes(b"evil\xc2\x9b2Jserver").unwrap();
        answer.headers_mut().insert("server", server);
        answer
    }))
    .await;
    let mut options = options(&api, &["exposure.*", "transport.cookie-flags"], false);
    options.engine.timeout = Duration::from_secs(2);
    let report = scan::run(options).await.unwrap();
    assert!(!report.findings.is_empty());
    let text = rampart::report::render(&report, Format::Text, false);
    for control in ['\x1b', '\x07', '\u{9b}', '\r', '\u{202e}'] {
        assert!(!text.contains(control), "{control:?} in:\n{text}");
    }
    assert!(text.contains("\\x1b"), "escapes are shown, not dropped");
    // The binary's own notes and errors on stderr go through the same filter.
    let output = support::rampart(&[
        "scan",
        &api.url("/"),
        "-v",
        "--checks",
        "exposure.secrets,transport.cookie-flags",
        "--timeout",
        "2",
    ]);
    let all = [output.stdout, output.stderr].concat();
    let all = String::from_utf8_lossy(&all);
    for control in ['\x1b', '\x07', '\u{9b}', '\r', '\u{202e}'] {
        assert!(!all.contains(control), "{control:?} in:\n{all}");
    }
    assert!(all.contains("stack:"), "the notes were printed: {all}");
}

#[tokio::test]
async fn a_target_that_only_throttles_is_given_up_and_the_scan_says_so() {
    let api = Api::start(answering(|_| {
        answer(429, &[("retry-after", "1")], "slow down")
    }))
    .await;
    let started = Instant::now();
    let report = scan::run(options(&api, &["exposure.*", "authz.*"], false))
        .await
        .unwrap();
    // A handful of requests, each after the pause asked for, then nothing.
    let sent = api.hits().len();
    assert!(sent <= 8, "{sent} requests to a server that only throttles");
    assert!(started.elapsed() >= Duration::from_secs(3));
    assert!(started.elapsed() < Duration::from_secs(30));
    let hits = api.hits();
    for pair in hits.windows(2) {
        assert!(
            pair[1].at - pair[0].at >= Duration::from_millis(900),
            "no pause honoured"
        );
    }
    assert!(!report.complete);
    assert_eq!(report.grade, Grade::Incomplete);
    assert!(reasons(&report).contains(&IncompleteReason::Throttled));
    assert!(report.pacing.gave_up);
    assert!(report.pacing.throttled_responses >= 5);
    assert!(
        report
            .errors
            .iter()
            .any(|e| e.message.contains("kept throttling")),
        "{:?}",
        report.errors
    );
}

#[tokio::test]
async fn throttling_pauses_the_scan_which_then_resumes_and_completes() {
    let paths: Vec<String> = (0..6).map(|i| format!("/r{i}")).collect();
    let spec = openapi(&paths);
    let throttled = Arc::new(Mutex::new(0usize));
    let count = Arc::clone(&throttled);
    let api = Api::start(answering(move |hit| {
        if hit.path == "/openapi.json" {
            return json_answer(spec.clone());
        }
        let mut count = count.lock().unwrap();
        // The first two baselines are throttled once each.
        if hit.path.starts_with("/r") && *count < 2 {
            *count += 1;
            return answer(429, &[("retry-after", "1")], "later");
        }
        json_answer(json!({"ok": true}))
    }))
    .await;
    let mut options = options(&api, &["exposure.pii"], true);
    options.engine.concurrency = 1;
    let report = scan::run(options).await.unwrap();
    assert!(report.complete, "{:?}", report.incomplete_reasons);
    assert_eq!(report.pacing.throttled_responses, 2);
    assert!(report.pacing.paused_ms >= 2000, "{:?}", report.pacing);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    // Each throttled request was sent again after its pause, not before.
    let hits: Vec<Hit> = api.hits().into_iter().filter(Hit::plain_read).collect();
    for (i, hit) in hits.iter().enumerate().filter(|(_, h)| h.path == "/r0") {
        if let Some(next) = hits.get(i + 1) {
            assert!(next.at - hit.at >= Duration::from_millis(900) || next.path != "/r0");
        }
    }
    for path in &paths {
        assert!(api.count(path) >= 1, "{path} was never baselined");
    }
}

/// A raw server for discovery without a spec: `/` links to a path that
/// never answers and one whose connection is dropped.
async fn crawl_server() -> SocketAddr {
    hostile_server(|mut stream| async move {
        let mut buf = vec![0u8; 8192];
        let n = stream.read(&mut buf).await.unwrap_or(0);
        let head = String::from_utf8_lossy(&buf[..n]).to_string();
        let path = head.split_whitespace().nth(1).unwrap_or("/").to_string();
        let path = path.split('?').next().unwrap_or("/").to_string();
        match path.as_str() {
            "/" => {
                let body = r#"{"links": ["/api/slow", "/api/flaky", "/api/ok"]}"#;
                let response = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(response.as_bytes()).await;
            }
            "/api/slow" => tokio::time::sleep(Duration::from_secs(3600)).await,
            "/api/flaky" => drop(stream),
            "/api/ok" => {
                let _ = stream
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}")
                    .await;
            }
            _ => {
                let _ = stream
                    .write_all(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                    .await;
            }
        }
    })
    .await
}

#[tokio::test]
async fn crawl_failures_are_recorded_and_make_the_scan_incomplete() {
    let addr = crawl_server().await;
    let mut options = ScanOptions::new(Url::parse(&format!("http://{addr}/")).unwrap());
    options.include_checks = vec!["exposure.secrets".into()];
    options.engine.timeout = Duration::from_millis(800);
    let report = scan::run(options).await.unwrap();
    let errors: BTreeMap<&str, &str> = report
        .errors
        .iter()
        .map(|e| (e.endpoint.as_str(), e.message.as_str()))
        .collect();
    assert!(
        errors
            .get("GET /api/slow")
            .is_some_and(|m| m.contains("timeout")),
        "{errors:?}"
    );
    assert!(errors.contains_key("GET /api/flaky"), "{errors:?}");
    assert!(!report.complete);
    assert_eq!(report.grade, Grade::Incomplete);
    assert!(reasons(&report).contains(&IncompleteReason::Errors));
    assert!(report.endpoints.iter().any(|e| e.path == "/api/ok"));
}

// The binary runs on a blocking call: the API needs threads of its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spent_budget_is_said_on_stderr_and_in_the_report_once() {
    let paths: Vec<String> = (0..30).map(|i| format!("/r{i}")).collect();
    let spec = openapi(&paths);
    let api = Api::start(answering(move |hit| match hit.path.as_str() {
        "/openapi.json" => json_answer(spec.clone()),
        _ => json_answer(json!({"ok": true})),
    }))
    .await;
    let output = support::rampart(&[
        "scan",
        &api.url("/"),
        "--spec",
        &api.url("/openapi.json"),
        "--max-requests",
        "12",
        "--checks",
        "authz.*,exposure.*",
        "--format",
        "json",
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("incomplete scan") && stderr.contains("--max-requests 12"),
        "{stderr}"
    );
    let report = rampart::report::json::parse(&String::from_utf8_lossy(&output.stdout)).unwrap();
    assert_eq!(report.requests_sent, 12);
    assert_eq!(report.grade, Grade::Incomplete);
    assert!(reasons(&report).contains(&IncompleteReason::Budget));
    let not_sent: Vec<_> = report
        .errors
        .iter()
        .filter(|e| e.message.contains("budget"))
        .collect();
    assert_eq!(
        not_sent.len(),
        1,
        "one line for one cause: {:?}",
        report.errors
    );
    assert!(not_sent[0].message.contains("probe(s)"));
}

/// An API of `n` endpoints that each take `delay` to answer.
async fn slow_api(n: usize, delay: Duration) -> Api {
    let paths: Vec<String> = (0..n).map(|i| format!("/slow{i}")).collect();
    let spec = openapi(&paths);
    Api::start(Arc::new(move |hit: Hit| {
        let spec = spec.clone();
        Box::pin(async move {
            if hit.path == "/openapi.json" {
                return json_answer(spec);
            }
            tokio::time::sleep(delay).await;
            json_answer(json!({"ok": true}))
        }) as BoxFuture<'static, Answer>
    }))
    .await
}

#[tokio::test]
async fn max_duration_stops_sending_and_reports_what_was_scanned() {
    let api = slow_api(200, Duration::from_millis(300)).await;
    let mut options = options(&api, &["exposure.*", "authz.*"], true);
    options.max_duration = Some(Duration::from_millis(1500));
    let started = Instant::now();
    let report = scan::run(options).await.unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(report.grade, Grade::Incomplete);
    assert_eq!(reasons(&report), vec![IncompleteReason::Deadline]);
    assert_eq!(report.endpoints.len(), 200);
    let sent = api.hits().len();
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(api.hits().len(), sent, "requests after the deadline");
    assert!(report
        .errors
        .iter()
        .any(|e| e.message.contains("not sent: scan stopped")));
}

#[tokio::test]
async fn ctrl_c_writes_every_requested_report_of_what_was_scanned() {
    let api = slow_api(200, Duration::from_millis(200)).await;
    let dir = tempfile::tempdir().unwrap();
    let json_path = dir.path().join("report.json");
    let text_path = dir.path().join("report.txt");
    let mut cmd = std::process::Command::new(support::scan::rampart_bin());
    support::process::loopback_env(&mut cmd);
    cmd.args([
        "scan",
        &api.url("/"),
        "--spec",
        &api.url("/openapi.json"),
        "--checks",
        "exposure.*",
        "-o",
        &format!("json={}", json_path.display()),
        "-o",
        &format!("text={}", text_path.display()),
    ])
    .stdout(std::process::Stdio::null())
    .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while api.hits().len() < 10 {
        assert!(Instant::now() < deadline, "the scan never got going");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // SAFETY: signals our own child.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
    let output = tokio::task::spawn_blocking(move || {
        let mut stderr = String::new();
        let _ = std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut stderr);
        (child.wait().unwrap(), stderr)
    })
    .await
    .unwrap();
    let (status, stderr) = output;
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    let report =
        rampart::report::json::parse(&std::fs::read_to_string(&json_path).unwrap()).unwrap();
    assert_eq!(report.grade, Grade::Incomplete);
    assert!(reasons(&report).contains(&IncompleteReason::Interrupted));
    let text = std::fs::read_to_string(&text_path).unwrap();
    assert!(text.contains("INCOMPLETE SCAN"), "{text}");
}

#[tokio::test]
async fn a_site_wide_cookie_is_one_finding_that_lists_where_it_was_seen() {
    let paths: Vec<String> = (0..12).map(|i| format!("/page{i}")).collect();
    let spec = openapi(&paths);
    let api = Api::start(answering(move |hit| match hit.path.as_str() {
        "/openapi.json" => json_answer(spec.clone()),
        _ => answer(
            200,
            &[
                ("content-type", "application/json"),
                ("set-cookie", "sid=s3ss10n; Path=/"),
            ],
            "{}",
        ),
    }))
    .await;
    let report = scan::run(options(&api, &["transport.cookie-flags"], true))
        .await
        .unwrap();
    let cookies = of_check(&report, "transport.cookie-flags");
    assert_eq!(cookies.len(), 1, "{:#?}", report.findings);
    assert!(cookies[0].seen_count >= 12, "{:?}", cookies[0].seen_at);
    assert!(cookies[0].seen_at.contains(&"GET /page11".to_string()));
}

#[tokio::test]
async fn guessable_ids_resting_on_made_up_samples_are_not_firm() {
    let paths: Vec<String> = (0..20).map(|i| format!("/kind{i}/{{item_id}}")).collect();
    let spec = openapi(&paths);
    let api = Api::start(answering(move |hit| match hit.path.as_str() {
        "/openapi.json" => json_answer(spec.clone()),
        // The object does not name the id Rampart made up.
        _ => json_answer(json!({"name": "widget", "price": 3})),
    }))
    .await;
    let report = scan::run(options(&api, &["authz.guessable-ids"], true))
        .await
        .unwrap();
    let found = of_check(&report, "authz.guessable-ids");
    assert_eq!(
        found.len(),
        1,
        "one id scheme, one finding: {:#?}",
        report.findings
    );
    assert_eq!(found[0].head.confidence.as_str(), "tentative");
    assert_eq!(found[0].seen_count, 20);
}

#[tokio::test]
async fn finding_ids_are_the_same_in_every_run_even_on_paths_rampart_made_up() {
    // Every unknown path answers with a framework traceback.
    let api = Api::start(answering(|hit| match hit.path.as_str() {
        "/" => json_answer(json!({"links": ["/api/items"]})),
        "/api/items" => json_answer(json!({"items": [1, 2]})),
        _ => answer(
            404,
            &[("content-type", "text/html")],
            "<h1>Not Found</h1><pre>Traceback (most recent call last):\n  File \"/srv/app/views.py\", line 12, in lookup\nKeyError: 'x'</pre>",
        ),
    }))
    .await;
    let mut runs = Vec::new();
    for _ in 0..2 {
        let report = scan::run(options(&api, &["exposure.debug-page"], false))
            .await
            .unwrap();
        let ids: Vec<(String, String)> = report
            .findings
            .iter()
            .map(|f| (f.id.clone(), f.head.path.clone()))
            .collect();
        runs.push(ids);
    }
    assert!(
        runs[0].iter().any(|(_, path)| path.contains("{token}")),
        "{:?}",
        runs[0]
    );
    assert_eq!(runs[0], runs[1]);
}

#[tokio::test]
async fn the_scanners_own_token_echoed_back_is_not_a_leaked_secret() {
    // A debugging endpoint that echoes the request's headers.
    let api = Api::start(answering(|hit| {
        let headers: BTreeMap<String, String> = hit
            .headers
            .iter()
            .map(|(n, v)| {
                (
                    n.to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        json_answer(json!({"headers": headers}))
    }))
    .await;
    let token = "ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789";
    let mut options = options(&api, &["exposure.secrets"], false);
    options.engine.default_headers = vec![("Authorization".into(), format!("token {token}"))];
    let report = scan::run(options).await.unwrap();
    assert!(report.findings.is_empty(), "{:#?}", report.findings);
    assert!(api
        .hits()
        .iter()
        .all(|h| h.headers.get("authorization").is_some()));
}

/// The default pace is adaptive (how fast it gets is measured by
/// scripts/bench and the pacer's unit tests, never by a timed test).
#[tokio::test]
async fn a_default_scan_is_paced_adaptively_and_completes() {
    let paths: Vec<String> = (0..40).map(|i| format!("/r{i}")).collect();
    let spec = openapi(&paths);
    let api = Api::start(answering(move |hit| match hit.path.as_str() {
        "/openapi.json" => json_answer(spec.clone()),
        _ => json_answer(json!({"id": 1, "name": "x"})),
    }))
    .await;
    let report = scan::run(options(&api, &["authz.*", "exposure.*", "cache.*"], true))
        .await
        .unwrap();
    assert_eq!(report.pacing.mode, Some(PaceMode::Adaptive));
    assert!(report.requests_sent >= 40, "{}", report.requests_sent);
    assert!(report.complete);
}
