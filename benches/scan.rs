//! `cargo bench`: prints throughput figures (no pass/fail thresholds).
//!
//! - passive detectors over a 1 MiB JSON body (the default body cap);
//! - a whole scan of the built-in lab (discovery, baselines, every check).

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
            options.identities = lab::demo_identities();
            options.rate_per_second = None;
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
}
