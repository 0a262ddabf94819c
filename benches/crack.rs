//! `cargo bench --bench crack`: offline secret recovery, side by side.
//!
//! Prints one table: guesses per second and wall time to recover the same
//! secret from the same wordlist, Rampart against `flask-unsign` for a
//! Flask session cookie and against a Python PyJWT loop for an HS256 JWT,
//! per core; then how long Rampart's default budget (the bundled list and
//! every number of up to eight digits) takes to exhaust on this machine.
//!
//! The Python side runs from `$RAMPART_TEST_VENV` (else `.venv`), which
//! needs Flask, PyJWT and flask-unsign (tests/targets/requirements.txt).
//! No pass/fail thresholds: figures only.
//!
//! `cargo test --all-targets` runs this binary too, without `--bench`: then
//! it is a smoke run (a 2,000-word list, numbers of up to four digits) that
//! fails if a tool misses the secret, and its figures mean nothing.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use rampart::tokens::crack::{self, Budget, Target};
use rampart::tokens::{itsdangerous, jwt};

/// Words in the shared wordlist; the secret is the last one.
const WORDS: usize = 300_000;
/// The same, in a smoke run.
const SMOKE_WORDS: usize = 2_000;
const SECRET: &str = "zebra-quartz-1987";

fn venv() -> PathBuf {
    std::env::var_os("RAMPART_TEST_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv"))
}

/// Deterministic filler words (lower-case, 8 to 14 letters), then the secret.
fn wordlist(count: usize) -> Vec<String> {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut words: Vec<String> = (0..count - 1)
        .map(|_| {
            let len = 8 + (next() % 7) as usize;
            (0..len)
                .map(|_| (b'a' + (next() % 26) as u8) as char)
                .collect()
        })
        .collect();
    words.push(SECRET.to_string());
    words
}

/// CPU seconds (user + system) used by finished children so far.
fn children_cpu() -> f64 {
    cpu(libc::RUSAGE_CHILDREN)
}

/// CPU seconds (user + system) this process's threads used so far.
fn own_cpu() -> f64 {
    cpu(libc::RUSAGE_SELF)
}

fn cpu(who: libc::c_int) -> f64 {
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage writes into the struct we own.
    unsafe { libc::getrusage(who, &mut usage) };
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

struct Row {
    target: &'static str,
    tool: String,
    guesses: u64,
    wall: Duration,
    /// CPU seconds used (user + system), whatever the number of threads.
    cpu: f64,
    found: bool,
}

impl Row {
    fn per_core(&self) -> f64 {
        self.guesses as f64 / self.cpu.max(1e-9)
    }
}

fn python(venv: &Path, script: &str, args: &[&str]) -> Option<(String, Duration, f64)> {
    let before = children_cpu();
    let started = Instant::now();
    let output = Command::new(venv.join("bin/python"))
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .ok()?;
    let wall = started.elapsed();
    let cpu = children_cpu() - before;
    if !output.status.success() {
        eprintln!(
            "python failed: {}",
            String::from_utf8_lossy(&output.stderr)
                .lines()
                .last()
                .unwrap_or("")
        );
        return None;
    }
    Some((
        String::from_utf8_lossy(&output.stdout).trim().to_string(),
        wall,
        cpu,
    ))
}

const MAKE_TOKENS: &str = r#"
import sys, warnings
warnings.simplefilter("ignore")
import jwt
from flask import Flask
app = Flask("bench"); app.secret_key = sys.argv[1]
print(app.session_interface.get_signing_serializer(app).dumps({"user_id": 1, "username": "alice"}))
print(jwt.encode({"sub": "1", "name": "alice", "iat": 1764886549}, sys.argv[1], algorithm="HS256"))
"#;

/// The loop someone would write with PyJWT: decode with each word.
const PYJWT_LOOP: &str = r#"
import sys, warnings
warnings.simplefilter("ignore")
import jwt
token, path = sys.argv[1], sys.argv[2]
tried = 0
with open(path, encoding="utf-8") as f:
    for line in f:
        word = line.rstrip("\n")
        tried += 1
        try:
            jwt.decode(token, word, algorithms=["HS256"], options={"verify_exp": False})
        except jwt.InvalidSignatureError:
            continue
        except jwt.InvalidKeyError:
            continue
        print(tried, word)
        break
"#;

fn rampart_row(
    target_name: &'static str,
    tool: &str,
    targets: &[Target],
    words: &[Vec<u8>],
    threads: usize,
) -> Row {
    let budget = Budget {
        bundled: false,
        words: words.to_vec(),
        digits: 0,
        threads,
    };
    let before = own_cpu();
    let outcome = crack::recover(targets, &budget, &|_| {});
    Row {
        target: target_name,
        tool: tool.to_string(),
        guesses: outcome.tried,
        wall: outcome.elapsed,
        cpu: own_cpu() - before,
        found: outcome
            .secrets
            .iter()
            .any(|s| s.as_deref() == Some(SECRET.as_bytes())),
    }
}

/// The straightforward way with the `hmac` crate: a new MAC per guess.
fn hmac_crate_row(token: &jwt::Jwt, words: &[Vec<u8>]) -> Row {
    use hmac::{Hmac, Mac};
    let message = token.signing_input();
    let before = own_cpu();
    let started = Instant::now();
    let mut found = false;
    let mut guesses = 0;
    for word in words {
        guesses += 1;
        let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(word).expect("any length");
        mac.update(message.as_bytes());
        if mac.verify_slice(&token.signature).is_ok() {
            found = true;
            break;
        }
    }
    let wall = started.elapsed();
    Row {
        target: "HS256 JWT",
        tool: "hmac crate, new MAC per guess (1 thread)".into(),
        guesses,
        wall,
        cpu: own_cpu() - before,
        found,
    }
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test` does not.
    let full = std::env::args().any(|a| a == "--bench");
    let (count, digits) = if full {
        (WORDS, crack::DEFAULT_DIGITS)
    } else {
        (SMOKE_WORDS, 4)
    };
    let venv = venv();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let words = wordlist(count);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let list_path = dir.path().join("wordlist.txt");
    {
        let mut file = std::fs::File::create(&list_path).expect("wordlist file");
        for word in &words {
            writeln!(file, "{word}").expect("write wordlist");
        }
    }
    let list = list_path.to_string_lossy().into_owned();
    let bytes: Vec<Vec<u8>> = words.iter().map(|w| w.as_bytes().to_vec()).collect();

    let Some((made, _, _)) = python(&venv, MAKE_TOKENS, &[SECRET]) else {
        eprintln!(
            "cannot make the tokens: is {} a venv with Flask and PyJWT?",
            venv.display()
        );
        return;
    };
    let mut lines = made.lines();
    let (cookie, token) = (
        lines.next().unwrap_or_default().to_string(),
        lines.next().unwrap_or_default().to_string(),
    );
    let session = itsdangerous::Signed::parse(&cookie).expect("a Flask session cookie");
    let session_targets = session.crack_targets(Some("session"));
    let jwt = jwt::Jwt::parse(&token).expect("a JWT");
    let jwt_targets = vec![jwt.crack_target().expect("HS256")];

    let mut rows = Vec::new();
    rows.push(rampart_row(
        "Flask session",
        "rampart (1 thread)",
        &session_targets,
        &bytes,
        1,
    ));
    rows.push(rampart_row(
        "Flask session",
        &format!("rampart ({threads} threads)"),
        &session_targets,
        &bytes,
        threads,
    ));
    let unsign = venv.join("bin/flask-unsign");
    if unsign.exists() {
        let before = children_cpu();
        let started = Instant::now();
        let output = Command::new(&unsign)
            .args([
                "--unsign",
                "--no-literal-eval",
                "--quiet",
                "--cookie",
                &cookie,
                "--wordlist",
                &list,
            ])
            .output();
        let wall = started.elapsed();
        let cpu = children_cpu() - before;
        let found = output.is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains(SECRET));
        rows.push(Row {
            target: "Flask session",
            tool: "flask-unsign (its default 8 threads)".into(),
            guesses: count as u64,
            wall,
            cpu,
            found,
        });
    } else {
        eprintln!(
            "flask-unsign is not in {}: pip install flask-unsign",
            venv.display()
        );
    }
    rows.push(rampart_row(
        "HS256 JWT",
        "rampart (1 thread)",
        &jwt_targets,
        &bytes,
        1,
    ));
    rows.push(rampart_row(
        "HS256 JWT",
        &format!("rampart ({threads} threads)"),
        &jwt_targets,
        &bytes,
        threads,
    ));
    rows.push(hmac_crate_row(&jwt, &bytes));
    if let Some((out, wall, cpu)) = python(&venv, PYJWT_LOOP, &[&token, &list]) {
        rows.push(Row {
            target: "HS256 JWT",
            tool: "PyJWT loop (1 thread)".into(),
            guesses: out
                .split_whitespace()
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap_or(0),
            wall,
            cpu,
            found: out.contains(SECRET),
        });
    }

    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let load = load.split_whitespace().next().unwrap_or("?");
    if !full {
        println!("\nSmoke run (cargo test): the figures below mean nothing; `cargo bench --bench crack` measures.");
    }
    println!(
        "\nSame secret, same {count}-word wordlist (the secret is the last word); {threads} cores, \
         load average {load} at the start. Per core = guesses per CPU second (user + system).\n"
    );
    println!(
        "| target | tool | found | guesses | wall time | guesses/s | guesses/s per core | per core vs the Python tool |"
    );
    println!("|---|---|---|---:|---:|---:|---:|---:|");
    for target in ["Flask session", "HS256 JWT"] {
        let python_rate = rows
            .iter()
            .find(|r| {
                r.target == target
                    && (r.tool.starts_with("flask-unsign") || r.tool.starts_with("PyJWT"))
            })
            .map(Row::per_core);
        for row in rows.iter().filter(|r| r.target == target) {
            let ratio = python_rate
                .map(|base| format!("{:.0}×", row.per_core() / base))
                .unwrap_or_else(|| "—".into());
            println!(
                "| {} | {} | {} | {} | {:.3} s | {:.0} | {:.0} | {} |",
                row.target,
                row.tool,
                if row.found { "yes" } else { "no" },
                row.guesses,
                row.wall.as_secs_f64(),
                row.guesses as f64 / row.wall.as_secs_f64().max(1e-9),
                row.per_core(),
                ratio
            );
        }
    }

    let missed: Vec<&str> = rows
        .iter()
        .filter(|r| !r.found)
        .map(|r| r.tool.as_str())
        .collect();
    assert!(
        full || missed.is_empty(),
        "the secret was not recovered by {missed:?}"
    );

    // The default budget, exhausted: a secret no list holds.
    println!("\nRampart's default budget (bundled list + every number of up to {digits} digits), exhausted on {threads} threads:\n");
    println!("| target | candidates | wall time | guesses/s | guesses/s per core |");
    println!("|---|---:|---:|---:|---:|");
    let strong = "3x4mpl3-n0t-1n-4ny-l1st-Qz9";
    let Some((made, _, _)) = python(&venv, MAKE_TOKENS, &[strong]) else {
        return;
    };
    let mut lines = made.lines();
    let cookie = lines.next().unwrap_or_default();
    let token = lines.next().unwrap_or_default();
    let cases = [
        (
            "HS256 JWT",
            jwt::Jwt::parse(token)
                .and_then(|j| j.crack_target())
                .into_iter()
                .collect::<Vec<_>>(),
        ),
        (
            "Flask session",
            itsdangerous::Signed::parse(cookie)
                .map(|s| s.crack_targets(Some("session")))
                .unwrap_or_default(),
        ),
        (
            "itsdangerous link (2 salt hypotheses)",
            itsdangerous::Signed::parse(cookie)
                .map(|s| s.crack_targets(None))
                .unwrap_or_default(),
        ),
    ];
    for (name, targets) in cases {
        let before = own_cpu();
        let budget = Budget {
            digits,
            ..Budget::default()
        };
        let outcome = crack::recover(&targets, &budget, &|_| {});
        let cpu = own_cpu() - before;
        println!(
            "| {name} | {} | {:.1} s | {:.0} | {:.0} |",
            outcome.tried,
            outcome.elapsed.as_secs_f64(),
            outcome.rate(),
            outcome.tried as f64 / cpu.max(1e-9)
        );
    }
}
