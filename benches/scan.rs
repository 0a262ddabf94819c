//! `cargo bench`: prints throughput figures (no pass/fail thresholds).
//!
//! - passive detectors over a 1 MiB JSON body (the default body cap);
//! - a whole scan of the built-in lab (discovery, baselines, every check);
//! - the TLS handshake probe against a local `openssl s_server` (modern and
//!   legacy settings), when the `openssl` CLI is installed.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rampart::{detect, lab, scan};

fn body_of(size: usize) -> String {
    let record = r#"{"id":"7c9e6679-7425-40de-944b-e07fc1f90ae7","email":"user@example.test","order":"4000123412341235","updated_at":"2024-05-01T12:30:00Z","note":"lorem ipsum dolor sit amet"},"#;
    let mut body = String::from("[");
    while body.len() + record.len() < size {
        body.push_str(record);
    }
    body.push_str("{}]");
    body
}

fn time<F: FnMut()>(label: &str, bytes: usize, mut f: F) {
    let runs = 10;
    let mut samples: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .collect();
    samples.sort();
    let median = samples[runs / 2];
    let mib_s = bytes as f64 / (1024.0 * 1024.0) / median.as_secs_f64();
    println!(
        "{label:<40} median {:>8.2} ms  {mib_s:>8.1} MiB/s",
        median.as_secs_f64() * 1000.0
    );
}

fn main() {
    let body = body_of(1024 * 1024);
    let json: serde_json::Value = serde_json::from_str(&body).expect("bench body is JSON");
    time("detect::find_secrets (1 MiB)", body.len(), || {
        std::hint::black_box(detect::find_secrets(&body, Some(&json)));
    });
    time("detect::find_pii (1 MiB)", body.len(), || {
        std::hint::black_box(detect::find_pii(&body, Some(&json)));
    });
    time("detect::find_password_hashes (1 MiB)", body.len(), || {
        std::hint::black_box(detect::find_password_hashes(&body, Some(&json)));
    });
    time("detect::find_debug_output (1 MiB)", body.len(), || {
        std::hint::black_box(detect::find_debug_output(&body, Some("application/json")));
    });

    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let mut durations = Vec::new();
        let mut requests = 0;
        let mut findings = 0;
        for _ in 0..5 {
            let server = lab::start().await.expect("lab");
            let mut options = scan::ScanOptions::new(server.base_url());
            options.spec = Some(server.spec_url().to_string());
            options.engine.identities = lab::demo_identities();
            options.engine.rate_per_second = None;
            // As `rampart demo`: the offline secret search has its own bench.
            options.crack.digits = Some(4);
            options.engine.pacing = rampart::engine::PaceMode::Steady;
            let start = Instant::now();
            let report = scan::run(options).await.expect("lab scan");
            durations.push(start.elapsed());
            requests = report.requests_sent;
            findings = report.findings.len();
            server.stop().await;
        }
        durations.sort();
        let median = durations[durations.len() / 2];
        println!(
            "full lab scan (no rate limit)            median {:>8.2} ms  {requests} requests, {findings} findings, {:.0} req/s",
            median.as_secs_f64() * 1000.0,
            requests as f64 / median.as_secs_f64()
        );
    });

    runtime.block_on(tls_probe_figures());
}

/// An `openssl s_server` on 127.0.0.1, killed on drop.
struct TlsServer {
    child: Child,
    port: u16,
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_s_server(dir: &Path, legacy: bool) -> Option<TlsServer> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .ok()?
        .local_addr()
        .ok()?
        .port();
    let mut command = Command::new("openssl");
    command
        .args([
            "s_server", "-quiet", "-www", "-cert", "cert.pem", "-key", "key.pem",
        ])
        .args(["-accept", &format!("127.0.0.1:{port}")])
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if legacy {
        std::fs::write(
            dir.join("legacy.cnf"),
            "openssl_conf = init\n[init]\nssl_conf = ssl\n[ssl]\nsystem_default = sys\n\
             [sys]\nMinProtocol = None\nCipherString = ALL:@SECLEVEL=0\n",
        )
        .ok()?;
        command.env("OPENSSL_CONF", dir.join("legacy.cnf")).args([
            "-min_protocol",
            "TLSv1",
            "-cipher",
            "ALL:COMPLEMENTOFALL:@SECLEVEL=0",
        ]);
    }
    let child = command.spawn().ok()?;
    let server = TlsServer { child, port };
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(10) {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Some(server);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

async fn tls_probe_figures() {
    let dir = std::env::temp_dir().join(format!("rampart-bench-tls-{}", std::process::id()));
    let made = std::fs::create_dir_all(&dir).is_ok()
        && Command::new("openssl")
            .args([
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256", "-days", "2",
            ])
            .args([
                "-keyout",
                "key.pem",
                "-out",
                "cert.pem",
                "-subj",
                "/CN=localhost",
            ])
            .current_dir(&dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
    if !made {
        println!("TLS probe: skipped (the openssl CLI is not installed)");
        return;
    }
    for (label, legacy) in [("modern", false), ("legacy", true)] {
        let Some(server) = start_s_server(&dir, legacy) else {
            println!("TLS probe ({label}): skipped (openssl s_server did not start)");
            continue;
        };
        let mut durations = Vec::new();
        let mut summary = String::new();
        for _ in 0..5 {
            let start = Instant::now();
            let report = rampart::tls_probe::probe(
                "127.0.0.1",
                server.port,
                "localhost",
                Duration::from_secs(5),
            )
            .await;
            durations.push(start.elapsed());
            summary = match report {
                Ok(report) => format!(
                    "{} versions, {} weak suites",
                    report.accepted_versions.len(),
                    report.weak_ciphers.len()
                ),
                Err(error) => format!("failed: {error}"),
            };
        }
        durations.sort();
        println!(
            "TLS probe, {label} s_server (loopback)      median {:>8.2} ms  {summary}",
            durations[durations.len() / 2].as_secs_f64() * 1000.0
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
