//! `cargo bench --bench fleet`: the inputs of the README's fleet arithmetic
//! ("Fleet scanning", scale on paper), measured on this machine. No
//! pass/fail thresholds.
//!
//! Copies of the built-in lab (the demo's vulnerable Flask + DynamoDB
//! imitation, every family's endpoints) run in this process on their own
//! ports; the `rampart` binary scans them as a fleet (`--targets`) at the
//! default settings — every check, 50 requests/s and 8 in flight per API —
//! and its JSON Lines events give the requests and wall time of each API
//! and the peak resident memory of the shard (`VmHWM`, read by the shard
//! itself). Runs:
//!
//! - one API alone: requests per API and the wall time of one scan;
//! - 8 and 32 APIs at once (`--parallel`): memory per concurrent scan;
//! - 16 APIs, 4 at a time: memory does not grow with the APIs scanned,
//!   only with those in flight.
//!
//! `cargo test --all-targets` runs this file without `--bench`: then it is
//! a seconds-long smoke run (two APIs, unpaced) that fails when the fleet
//! machinery does, instead of minutes of paced scans.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use rampart::lab;
use serde_json::Value;

struct Run {
    apis: usize,
    parallel: usize,
    wall_s: f64,
    requests: Vec<u64>,
    scan_s: Vec<f64>,
    findings: Vec<u64>,
    peak_kib: u64,
}

fn fleet_run(
    dir: &Path,
    labs: &[lab::LabServer],
    apis: usize,
    parallel: usize,
    extra: &[&str],
) -> Run {
    let mut text = String::new();
    for (i, server) in labs.iter().take(apis).enumerate() {
        text.push_str(&format!(
            "[[target]]\nname = \"lab-{i}\"\nurl = \"{}\"\nspec = \"{}\"\n\n",
            server.base_url(),
            server.spec_url()
        ));
    }
    let targets = dir.join(format!("fleet-{apis}-{parallel}.toml"));
    std::fs::write(&targets, text).expect("targets file");
    let out = dir.join(format!("out-{apis}-{parallel}"));
    let mut command = Command::new(env!("CARGO_BIN_EXE_rampart"));
    command
        .arg("scan")
        .arg("--targets")
        .arg(&targets)
        .arg("--out-dir")
        .arg(&out)
        .args(["--parallel", &parallel.to_string()])
        .args(extra);
    for identity in lab::demo_identities() {
        for (header, value) in &identity.headers {
            command.args(["--identity", &identity.name, &format!("{header}: {value}")]);
        }
    }
    let clock = Instant::now();
    let output = command.output().expect("rampart runs");
    let wall_s = clock.elapsed().as_secs_f64();
    assert!(
        output.status.success(),
        "rampart: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let events: Vec<Value> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("an event"))
        .collect();
    let finished: Vec<&Value> = events
        .iter()
        .filter(|e| e["event"] == "target-finished")
        .collect();
    assert_eq!(finished.len(), apis, "every API scanned: {events:#?}");
    let shard = events
        .iter()
        .find(|e| e["event"] == "shard-finished")
        .expect("shard-finished");
    Run {
        apis,
        parallel,
        wall_s,
        requests: finished
            .iter()
            .filter_map(|e| e["requests"].as_u64())
            .collect(),
        scan_s: finished
            .iter()
            .filter_map(|e| e["duration_ms"].as_u64())
            .map(|ms| ms as f64 / 1000.0)
            .collect(),
        findings: finished
            .iter()
            .filter_map(|e| e["findings"].as_u64())
            .collect(),
        peak_kib: shard["peak_rss_kib"].as_u64().unwrap_or(0),
    }
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted[sorted.len() / 2]
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test` does not.
    let full = std::env::args().any(|a| a == "--bench");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let labs: Vec<lab::LabServer> = runtime.block_on(async {
        let mut labs = Vec::new();
        for _ in 0..32 {
            labs.push(lab::start().await.expect("a lab"));
        }
        labs
    });
    let dir = tempfile::tempdir().expect("a temp dir");
    if !full {
        // Four-digit secret guesses, as the test scans ask: a debug build
        // would spend minutes on the default numbers for the lab's signed
        // links.
        let run = fleet_run(
            dir.path(),
            &labs,
            2,
            2,
            &["--rate", "0", "--crack-digits", "4"],
        );
        assert!(run.peak_kib > 0, "the shard reports its peak memory");
        assert!(run.requests.iter().all(|&r| r > 100));
        println!(
            "fleet smoke run: 2 APIs, {:?} requests, peak RSS {} KiB (cargo bench --bench fleet for the figures)",
            run.requests, run.peak_kib
        );
        return;
    }
    println!("fleet scans of the built-in lab at the default settings (every check, 50 req/s and 8 in flight per API)");
    println!(
        "{:>5} {:>9} {:>10} {:>13} {:>15} {:>9} {:>14}",
        "APIs", "parallel", "wall s", "requests/API", "scan s (median)", "findings", "peak RSS MiB"
    );
    let mut runs = Vec::new();
    for (apis, parallel) in [(1, 1), (8, 8), (32, 32), (16, 4)] {
        let run = fleet_run(dir.path(), &labs, apis, parallel, &[]);
        let requests = run.requests.iter().sum::<u64>() as f64 / run.apis as f64;
        println!(
            "{:>5} {:>9} {:>10.1} {:>13.0} {:>15.1} {:>9} {:>14.1}",
            run.apis,
            run.parallel,
            run.wall_s,
            requests,
            median(&run.scan_s),
            run.findings.first().copied().unwrap_or(0),
            run.peak_kib as f64 / 1024.0
        );
        runs.push(run);
    }
    let one = &runs[0];
    let many = &runs[2];
    let per_scan_mib = (many.peak_kib as f64 - one.peak_kib as f64)
        / 1024.0
        / (many.parallel - one.parallel) as f64;
    let scan_s = median(&one.scan_s);
    println!(
        "memory per concurrent scan: {per_scan_mib:.2} MiB (from 1 to {} at once); one scan: {scan_s:.1} s, {} requests",
        many.parallel, one.requests[0]
    );
    println!(
        "APIs per shard-hour at the default pacing: {:.0} with --parallel 4, {:.0} with --parallel 16",
        4.0 * 3600.0 / scan_s,
        16.0 * 3600.0 / scan_s
    );
    runtime.block_on(async {
        for server in labs {
            server.stop().await;
        }
    });
}
