//! Token checks (`token.*`) against the REAL targets in
//! `tests/targets/token/`: a Flask app (PyJWT, Flask sessions,
//! itsdangerous links) whose `VARIANT` plants one weakness per twin, and a
//! FastAPI app with RS256 tokens and a published JWKS. One scan per twin,
//! `--checks 'token.*'`, numbers of up to four digits (six where the
//! secret is a six-digit number: debug builds guess slowly).
//!
//! * vulnerable twins: each planted weakness is found, with evidence, by
//!   the right check at the right severity and confidence; the forged
//!   request's reproduction line, replayed as printed, still gets the
//!   identity's data; recovered secrets never appear whole in stdout,
//!   stderr (`-v`), the JSON or the text report;
//! * fixed twins: no `token.*` finding at all.
//!
//! Needs the Python venv (`scripts/test` creates `.venv`).

mod support;

use rampart::finding::{Confidence, Finding, Severity};
use support::{Family, ScanRun, Target};

const FLASK: Family = Family {
    app: "token/app.py",
    dynamo: false,
    checks: Some("token.*"),
    args: &["--rate", "0"],
    ..Family::DEFAULT
};

/// alice's API key on the `links` variant (tests/targets/token/app.py).
const ALICE_KEY: &str = "ak_alice_tok_51c2";

const FASTAPI: Family = Family {
    app: "token/fastapi_app.py",
    ..FLASK
};

/// Both twins of a variant, started side by side.
fn twins(family: &Family, variant: &str) -> (Target, Target) {
    let env = [("VARIANT", variant)];
    std::thread::scope(|scope| {
        let fixed = scope.spawn(|| family.start_with_env("fixed", &env));
        let vulnerable = family.start_with_env("vulnerable", &env);
        (vulnerable, fixed.join().expect("the fixed twin starts"))
    })
}

/// Numbers tried as secrets: four digits where no secret is a number
/// (debug builds guess slowly), six for the six-digit secret.
const FEW_DIGITS: [&str; 2] = ["--crack-digits", "4"];
const SIX_DIGITS: [&str; 2] = ["--crack-digits", "6"];

/// A scan of `target` with alice and bob (alice's credential fetched with
/// `alice_query`) plus `extra` arguments (four-digit numbers unless they
/// say otherwise, or name a project file that does).
fn scan_as_users(target: &Target, alice_query: &str, extra: &[&str]) -> ScanRun {
    let alice = target.credential("alice", alice_query);
    let bob = target.credential("bob", "");
    let mut args = vec![
        "--identity",
        "alice",
        alice.as_str(),
        "--identity",
        "bob",
        bob.as_str(),
    ];
    if !extra.contains(&"--crack-digits") && !extra.contains(&"--config") {
        args.extend(FEW_DIGITS);
    }
    args.extend_from_slice(extra);
    target.scan(&args)
}

/// The one finding of `check` whose key words appear in its title, with
/// the severity and confidence expected, evidence and reproduction lines.
fn finding<'a>(
    run: &'a ScanRun,
    check: &str,
    title_has: &str,
    severity: Severity,
    confidence: Confidence,
) -> &'a Finding {
    let found = run
        .of_check(check)
        .into_iter()
        .find(|f| f.head.title.contains(title_has))
        .unwrap_or_else(|| panic!("no {check} finding with {title_has:?}:\n{}", run.summary()));
    assert_eq!(
        found.head.severity, severity,
        "{}: {}",
        found.check, found.head.title
    );
    assert_eq!(
        found.head.confidence, confidence,
        "{}: {}",
        found.check, found.head.title
    );
    assert!(
        !found.evidence.is_empty() && found.reproduce.len() == found.evidence.len(),
        "{found:?}"
    );
    found
}

/// The fixed twin: no `token.*` finding at all.
fn assert_silent(run: &ScanRun) {
    let unwanted = run.unwanted(|f| f.check.starts_with("token."));
    assert!(
        unwanted.is_empty(),
        "fixed twin reported:\n{}",
        unwanted.join("\n")
    );
}

/// The arguments of a `curl -s 'URL' -H 'Name: value' ...` line.
fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => quoted = !quoted,
            '\\' if !quoted => current.extend(chars.next()),
            ' ' if !quoted => {
                if !current.is_empty() {
                    words.push(std::mem::take(&mut current));
                }
            }
            c => current.push(c),
        }
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

/// Replays a reproduction line as printed (a GET with its headers) and
/// returns the answer. The forged credential must be in the line itself.
fn replay(target: &Target, line: &str) -> support::HttpResponse {
    replay_with(target, line, &[])
}

/// [`replay`] with the user's own credentials put back for their
/// placeholders (`<alice X-API-Key>` → the key): what a reader does.
fn replay_with(target: &Target, line: &str, credentials: &[(&str, &str)]) -> support::HttpResponse {
    let mut line = line.to_string();
    for (placeholder, value) in credentials {
        line = line.replace(placeholder, value);
    }
    let words = shell_words(&line);
    assert_eq!(words.first().map(String::as_str), Some("curl"), "{line}");
    assert!(!words.iter().any(|w| w == "-X"), "a read: {line}");
    let url = words
        .iter()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no URL in {line}"));
    let path = url
        .splitn(4, '/')
        .nth(3)
        .map(|p| format!("/{p}"))
        .unwrap_or_else(|| "/".into());
    let headers: Vec<&str> = words
        .windows(2)
        .filter(|w| w[0] == "-H")
        .map(|w| w[1].as_str())
        .filter(|h| !h.to_ascii_lowercase().starts_with("user-agent"))
        .collect();
    for header in &headers {
        assert!(
            !header.contains('<'),
            "the forged step carries no placeholder: {header}"
        );
    }
    target.request("GET", &path, &headers)
}

/// The reproduction line of the evidence step whose name has `step_has`.
fn line_of<'a>(found: &'a Finding, step_has: &str) -> &'a str {
    let at = found
        .evidence
        .iter()
        .position(|e| e.step.contains(step_has))
        .unwrap_or_else(|| {
            panic!(
                "no step with {step_has:?} in {:?}",
                found.evidence.iter().map(|e| &e.step).collect::<Vec<_>>()
            )
        });
    &found.reproduce[at]
}

/// The forged request, replayed from its printed curl line, gets `user`'s data.
fn assert_replays(target: &Target, found: &Finding, step_has: &str, user: &str) {
    let answer = replay(target, line_of(found, step_has));
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.json()["username"], user, "{}", answer.body);
}

/// No output of the scan holds `secret` whole.
fn assert_never_printed(run: &ScanRun, secret: &str, also: &[&str]) {
    assert!(
        !run.stdout.contains(secret),
        "the JSON report prints the secret"
    );
    assert!(
        !run.stderr.contains(secret),
        "stderr prints the secret:\n{}",
        run.stderr
    );
    for text in also {
        assert!(!text.contains(secret), "a report prints the secret");
    }
}

#[test]
fn jwt_with_a_dictionary_secret_is_forged_for_the_second_identity_and_survives_logout() {
    let (vulnerable, fixed) = twins(&FLASK, "jwt-weak");
    let dir = tempfile::tempdir().unwrap();
    let ids = dir.path().join("ids.toml");
    std::fs::write(
        &ids,
        r#"
[[identity]]
name = "alice"
[identity.login]
path = "/api/login"
json = { username = "alice", password = "env:ALICE_PASSWORD" }
token_pointer = "/token"

[[identity]]
name = "bob"
[identity.login]
path = "/api/login"
json = { username = "bob", password = "env:BOB_PASSWORD" }
token_pointer = "/token"
"#,
    )
    .unwrap();
    let text = dir.path().join("report.txt");
    let env = [
        ("ALICE_PASSWORD", "alice-pw-1"),
        ("BOB_PASSWORD", "bob-pw-2"),
    ];
    // Every other report format too, each to its own file: none may carry
    // the recovered secret.
    let others: Vec<String> = ["sarif", "html", "markdown", "junit"]
        .iter()
        .map(|format| {
            let path = dir.path().join(format!("report.{format}"));
            format!("{format}={}", path.display())
        })
        .collect();
    let text_out = format!("text={}", text.display());
    let ids = ids.to_str().unwrap();
    let mut args = vec![
        "--identity-file",
        ids,
        "--active",
        "-v",
        "-o",
        &text_out,
        FEW_DIGITS[0],
        FEW_DIGITS[1],
    ];
    for other in &others {
        args.extend(["-o", other.as_str()]);
    }
    let run = vulnerable.scan_with_env(&args, &env);

    let weak = finding(
        &run,
        "token.weak-secret",
        "HS256 JWT signed with a guessable secret (s…t)",
        Severity::Critical,
        Confidence::Confirmed,
    );
    assert!(
        weak.head
            .description
            .contains("`s…t`, 11 characters, from Rampart's list"),
        "{}",
        weak.head.description
    );
    assert!(
        weak.head
            .description
            .contains("naming bob returned bob's data"),
        "{}",
        weak.head.description
    );
    assert!(weak.evidence.iter().any(|e| e.step.contains("naming bob")
        && e.response.body_excerpt.contains(r#""username":"bob""#)));
    assert_replays(
        &vulnerable,
        weak,
        "re-signed with the recovered secret",
        "alice",
    );
    assert_replays(&vulnerable, weak, "naming bob", "bob");
    finding(
        &run,
        "token.expiry",
        "valid for 30.0 days",
        Severity::Low,
        Confidence::Firm,
    );
    assert!(
        run.of_check("token.expiry")
            .iter()
            .all(|f| !f.head.title.contains("Expired")),
        "exp is checked on this twin:\n{}",
        run.summary()
    );
    let logout = finding(
        &run,
        "token.logout-not-revoking",
        "after logout",
        Severity::Medium,
        Confidence::Confirmed,
    );
    assert!(
        logout.reproduce.iter().all(|l| !l.contains("eyJ")),
        "the throwaway token is a live credential: {:?}",
        logout.reproduce
    );
    assert!(
        run.report
            .changes
            .iter()
            .any(|c| c.what.contains("throwaway session")),
        "{:?}",
        run.report.changes
    );
    let text_report = std::fs::read_to_string(&text).unwrap();
    assert!(text_report.contains("s…t"));
    assert!(
        run.stderr.contains("token secrets:"),
        "progress notes with -v:\n{}",
        run.stderr
    );
    let mut reports = vec![text_report];
    for other in &others {
        let path = other.split_once('=').map_or("", |(_, path)| path);
        let written = std::fs::read_to_string(path).unwrap();
        assert!(written.contains("s…t"), "{other} names the finding");
        reports.push(written);
    }
    let reports: Vec<&str> = reports.iter().map(String::as_str).collect();
    assert_never_printed(&run, "supersecret", &reports);

    let quiet = fixed.scan_with_env(
        &[
            "--identity-file",
            ids,
            "--active",
            FEW_DIGITS[0],
            FEW_DIGITS[1],
        ],
        &env,
    );
    assert_silent(&quiet);
}

#[test]
fn jwt_with_a_six_digit_secret_is_recovered_and_expired_forgeries_are_accepted() {
    let (vulnerable, fixed) = twins(&FLASK, "jwt-numeric");
    let run = scan_as_users(&vulnerable, "", &["-v", SIX_DIGITS[0], SIX_DIGITS[1]]);
    let weak = finding(
        &run,
        "token.weak-secret",
        "(4…7)",
        Severity::Critical,
        Confidence::Confirmed,
    );
    assert!(
        weak.head.description.contains("a 6-digit number"),
        "{}",
        weak.head.description
    );
    assert_replays(
        &vulnerable,
        weak,
        "re-signed with the recovered secret",
        "alice",
    );
    finding(
        &run,
        "token.expiry",
        "without an expiry",
        Severity::Medium,
        Confidence::Firm,
    );
    let expired = finding(
        &run,
        "token.expiry",
        "Expired JWTs accepted",
        Severity::High,
        Confidence::Confirmed,
    );
    assert_replays(&vulnerable, expired, "expired an hour ago", "alice");
    assert_never_printed(&run, "493817", &[]);

    // The same search kept in a project file: no numbers, the user's list.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("numbers.txt"), "111111\n493817\n").unwrap();
    let config = dir.path().join("rampart.toml");
    std::fs::write(&config, "crack_digits = 0\nwordlist = \"numbers.txt\"\n").unwrap();
    let from_file = scan_as_users(&vulnerable, "", &["--config", config.to_str().unwrap()]);
    finding(
        &from_file,
        "token.weak-secret",
        "(4…7)",
        Severity::Critical,
        Confidence::Confirmed,
    );
    vulnerable.assert_only_reads();

    assert_silent(&scan_as_users(&fixed, "", &SIX_DIGITS));
}

#[test]
fn alg_none_is_accepted_where_the_header_chooses_the_algorithm() {
    let (vulnerable, fixed) = twins(&FLASK, "jwt-alg");
    let run = scan_as_users(&vulnerable, "", &[]);
    let none = finding(
        &run,
        "token.jwt-alg-none",
        "\"alg\": \"none\"",
        Severity::Critical,
        Confidence::Confirmed,
    );
    assert!(
        none.evidence.iter().any(|e| e.step.contains("naming bob")),
        "{:?}",
        none.evidence
    );
    assert_replays(&vulnerable, none, "no signature get", "alice");
    assert!(
        run.of_check("token.jwt-signature-unverified").is_empty(),
        "signatures are verified here:\n{}",
        run.summary()
    );
    vulnerable.assert_only_reads();

    assert_silent(&scan_as_users(&fixed, "", &[]));
}

#[test]
fn unverified_signatures_and_an_expired_token_still_accepted() {
    let (vulnerable, fixed) = twins(&FLASK, "jwt-unverified");
    let run = scan_as_users(&vulnerable, "?expired=1", &[]);
    let unverified = finding(
        &run,
        "token.jwt-signature-unverified",
        "changed claims under the old signature",
        Severity::Critical,
        Confidence::Confirmed,
    );
    assert_replays(&vulnerable, unverified, "is accepted", "alice");
    assert!(
        unverified
            .evidence
            .iter()
            .any(|e| e.step.contains("naming bob")),
        "{:?}",
        unverified.evidence
    );
    finding(
        &run,
        "token.expiry",
        "Expired JWT accepted",
        Severity::High,
        Confidence::Confirmed,
    );
    assert!(
        run.of_check("token.jwt-alg-none").is_empty(),
        "alg none adds nothing where no signature is checked:\n{}",
        run.summary()
    );
    vulnerable.assert_only_reads();

    assert_silent(&scan_as_users(&fixed, "?expired=1", &[]));
}

#[test]
fn kid_path_traversal_to_an_empty_key_is_accepted() {
    let (vulnerable, fixed) = twins(&FLASK, "jwt-kid");
    let run = scan_as_users(&vulnerable, "", &[]);
    let kid = finding(
        &run,
        "token.jwt-kid",
        "kid path traversal",
        Severity::Critical,
        Confidence::Confirmed,
    );
    assert_replays(&vulnerable, kid, "empty key gets", "alice");
    vulnerable.assert_only_reads();

    assert_silent(&scan_as_users(&fixed, "", &[]));
}

#[test]
fn flask_session_with_a_default_secret_key_is_forged_and_its_age_is_checked() {
    let (vulnerable, fixed) = twins(&FLASK, "session");
    let run = scan_as_users(&vulnerable, "", &[]);
    let weak = finding(
        &run,
        "token.weak-secret",
        "Flask session cookie signed with a guessable secret (c…e)",
        Severity::Critical,
        Confidence::Confirmed,
    );
    assert!(
        weak.head.description.contains("Flask's SECRET_KEY"),
        "{}",
        weak.head.description
    );
    assert!(weak.evidence.iter().any(|e| e.step.contains("naming bob")
        && e.response.body_excerpt.contains(r#""username":"bob""#)));
    assert_replays(
        &vulnerable,
        weak,
        "re-signed with the recovered secret",
        "alice",
    );
    assert!(
        run.of_check("token.expiry").is_empty(),
        "Flask refuses sessions older than its 31-day lifetime:\n{}",
        run.summary()
    );
    assert_never_printed(&run, "changeme", &[]);
    vulnerable.assert_only_reads();

    assert_silent(&scan_as_users(&fixed, "", &[]));
}

#[test]
fn itsdangerous_links_with_a_guessable_secret_and_no_max_age() {
    let (vulnerable, fixed) = twins(&FLASK, "links");
    let run = scan_as_users(&vulnerable, "", &[]);
    let weak = finding(
        &run,
        "token.weak-secret",
        "(d…t)",
        Severity::High,
        Confidence::Confirmed,
    );
    assert!(
        weak.evidence.iter().any(|e| e.step.contains("bob's object")
            && e.response.body_excerpt.contains("bob's quarterly")),
        "{:?}",
        weak.evidence
    );
    let key = [("<alice X-API-Key>", ALICE_KEY)];
    let forged = replay_with(
        &vulnerable,
        line_of(weak, "re-signed with the recovered secret"),
        &key,
    );
    assert_eq!(forged.status, 200);
    assert_eq!(forged.json()["report_id"], "r-alice-1");
    let old = finding(
        &run,
        "token.expiry",
        "no max_age",
        Severity::High,
        Confidence::Confirmed,
    );
    assert_eq!(
        replay_with(&vulnerable, line_of(old, "45 days ago"), &key).status,
        200
    );
    assert_never_printed(&run, "development", &[]);
    vulnerable.assert_only_reads();

    assert_silent(&scan_as_users(&fixed, "", &[]));
}

#[test]
fn fastapi_rs256_accepts_hs256_signed_with_its_published_public_key() {
    let (vulnerable, fixed) = twins(&FASTAPI, "rs256");
    let run = scan_as_users(&vulnerable, "", &[]);
    let confusion = finding(
        &run,
        "token.jwt-alg-confusion",
        "/.well-known/jwks.json",
        Severity::Critical,
        Confidence::Confirmed,
    );
    assert!(
        confusion
            .evidence
            .iter()
            .any(|e| e.step.contains("naming bob")),
        "{:?}",
        confusion.evidence
    );
    assert_replays(&vulnerable, confusion, "PEM text", "alice");
    run.assert_stack("fastapi", &["jwt"]);

    assert_silent(&scan_as_users(&fixed, "", &[]));
}
