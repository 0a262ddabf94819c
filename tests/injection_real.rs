//! Injection checks (`injection.*`) against REAL targets, vulnerable and
//! fixed twins:
//!
//! * `tests/targets/injection/app.py`: Flask with SQLite (SQLAlchemy
//!   `text()`), DynamoDB on moto_server, MongoDB queries (mongomock),
//!   Jinja2, a shell, files, an image fetcher and an e-mail validator;
//! * `tests/targets/injection/sql_app.py`: FastAPI on one PostgreSQL
//!   cluster (a database per twin) and on one MariaDB server.
//!
//! Every planted case must be found with its payload and a proof of
//! evaluation, its reproduce line must work, its fix must fit the stack;
//! the default scan must send no payload to a write operation and change
//! no data; the fixed twins must yield nothing, even with `--active`.

mod support;

use std::collections::BTreeMap;
use std::process::Command;
use std::thread;

use rampart::finding::Finding;
use support::{Family, MariaDb, Postgres, ScanRun, Target};

const ALICE_KEY: &str = "ak_alice_inj_4f1c";
const ALICE: &str = "X-API-Key: ak_alice_inj_4f1c";

const INJECTION: Family = Family {
    app: "injection/app.py",
    checks: Some("injection.*"),
    identities: &[("alice", ALICE)],
    ..Family::DEFAULT
};

const SQL: Family = Family {
    app: "injection/sql_app.py",
    dynamo: false,
    checks: Some("injection.*"),
    ..Family::DEFAULT
};

/// The target's digest of every store (`GET /__test__/data`).
fn data(target: &Target) -> String {
    let resp = target.get("/__test__/data");
    assert_eq!(resp.status, 200, "data digest: {}", resp.body);
    resp.body
}

/// The finding of `check` on `method path`, with its summary on failure.
fn expect<'r>(run: &'r ScanRun, check: &str, method: &str, path: &str) -> &'r Finding {
    run.find(check, method, path)
        .unwrap_or_else(|| panic!("no {check} on {method} {path}:\n{}", run.summary()))
}

/// Runs the finding's reproduce line `step` with the placeholder for
/// alice's key filled in, and returns what it printed.
fn reproduce(finding: &Finding, step: usize) -> String {
    let line = finding.reproduce[step].replace("<alice X-API-Key>", ALICE_KEY);
    assert!(line.starts_with("curl -s "), "{line}");
    let output = Command::new("sh")
        .arg("-c")
        .arg(&line)
        .env("NO_PROXY", "127.0.0.1")
        .output()
        .expect("curl runs");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// What the reproduce line of `finding`'s first evidence step whose
/// description starts with `step` prints when run.
fn reproduce_step(finding: &Finding, step: &str) -> String {
    let index = finding
        .evidence
        .iter()
        .position(|e| e.step.starts_with(step))
        .unwrap_or_else(|| panic!("no step '{step}' in {:?}", finding.evidence));
    reproduce(finding, index)
}

/// Requests per HTTP method that are not reads.
fn writes(counts: &BTreeMap<String, u64>) -> u64 {
    counts
        .iter()
        // OPTIONS (method discovery) and TRACE read, as the safety promise says.
        .filter(|(m, _)| !matches!(m.as_str(), "GET" | "HEAD" | "OPTIONS" | "TRACE"))
        .map(|(_, n)| n)
        .sum()
}

#[test]
fn vulnerable_twin_default_scan_proves_every_read_case_and_changes_nothing() {
    let target = INJECTION.start("vulnerable");
    target.reset();
    let before = data(&target);
    let run = target.scan(&[]);
    // Read-only by default: no payload reached a write operation, no data changed.
    target.assert_only_reads();
    assert_eq!(writes(&target.method_counts()), 0);
    assert_eq!(
        data(&target),
        before,
        "the default scan changed the target's data"
    );
    assert!(run.report.changes.is_empty(), "{:?}", run.report.changes);

    let cases = [
        (
            "injection.sql",
            "/api/posts/{title}",
            "title",
            "error-based, SQLite",
        ),
        ("injection.sql", "/api/posts", "author", "boolean-based"),
        (
            "injection.nosql",
            "/api/orders",
            "field",
            "condition widened",
        ),
        ("injection.nosql", "/api/notes", "tag", "operator injection"),
        (
            "injection.template",
            "/api/greeting",
            "name",
            "template injection",
        ),
        (
            "injection.command",
            "/api/admin/backups/size",
            "name",
            "OS command injection",
        ),
        ("injection.command", "/api/admin/dns", "host", "time-based"),
        (
            "injection.path-traversal",
            "/api/docs",
            "name",
            "Path traversal",
        ),
        (
            "injection.ssrf",
            "/api/images/preview",
            "url",
            "request forgery",
        ),
        (
            "injection.malformed-input",
            "/api/items/{item_id}",
            "item_id",
            "traceback",
        ),
    ];
    for (check, path, parameter, title) in cases {
        let finding = expect(&run, check, "GET", path);
        assert_eq!(
            finding.head.parameter.as_deref(),
            Some(parameter),
            "{check} {path}"
        );
        assert!(
            finding.head.title.contains(title),
            "{check} {path}: {}",
            finding.head.title
        );
        assert_eq!(
            finding.head.confidence.as_str(),
            "confirmed",
            "{check} {path}"
        );
        assert!(!finding.reproduce.is_empty() && !finding.evidence.is_empty());
    }
    assert_eq!(
        expect(&run, "injection.ssrf", "GET", "/api/images/preview")
            .category
            .as_str(),
        "ssrf"
    );
    assert_eq!(
        expect(&run, "injection.sql", "GET", "/api/posts")
            .category
            .as_str(),
        "input-validation"
    );

    // Proof, not reflection: what only evaluation produces is in the evidence.
    let sql = expect(&run, "injection.sql", "GET", "/api/posts/{title}");
    assert!(sql.evidence[1]
        .response
        .body_excerpt
        .contains("sqlite3.OperationalError"));
    assert!(
        sql.evidence[1].request.url.contains("Hello%20world'")
            || sql.evidence[1].request.url.contains("Hello%20world%27")
    );
    assert!(
        reproduce(sql, 1).contains("unrecognized token"),
        "the curl line reproduces the error"
    );
    let widened = expect(&run, "injection.nosql", "GET", "/api/orders");
    assert!(
        widened.head.description.contains("owned by `bob`"),
        "{}",
        widened.head.description
    );
    let template = expect(&run, "injection.template", "GET", "/api/greeting");
    let product = template.evidence.last().expect("a step").step.clone();
    let product = product
        .rsplit(": ")
        .next()
        .unwrap_or_default()
        .trim_end_matches(" came back")
        .to_string();
    assert!(
        product.len() >= 9 && product.chars().all(|c| c.is_ascii_digit()),
        "{product}"
    );
    let replayed = reproduce(template, template.reproduce.len() - 1);
    assert!(
        replayed.contains(&product),
        "the curl line shows the evaluated canary: {replayed}"
    );
    let command = expect(&run, "injection.command", "GET", "/api/admin/backups/size");
    assert!(command.evidence[0].request.url.contains("echo"));
    let traversal = expect(&run, "injection.path-traversal", "GET", "/api/docs");
    assert!(traversal.evidence[1]
        .response
        .body_excerpt
        .contains("root:"));
    let ssrf = expect(&run, "injection.ssrf", "GET", "/api/images/preview");
    assert!(
        ssrf.evidence[0].step.contains("called back"),
        "{}",
        ssrf.evidence[0].step
    );
    assert_eq!(
        ssrf.head.severity.as_str(),
        "critical",
        "the fetched body came back"
    );

    // Every proof that does not depend on timing or on Rampart's own
    // listener replays from its curl line.
    let boolean = expect(&run, "injection.sql", "GET", "/api/posts");
    let ordinary = reproduce_step(boolean, "Ordinary value");
    assert!(ordinary.contains("ada"), "{ordinary}");
    assert_eq!(reproduce_step(boolean, "True condition"), ordinary);
    assert_ne!(reproduce_step(boolean, "False condition"), ordinary);
    assert!(reproduce_step(widened, "Widened condition").contains("bob"));
    let operator = expect(&run, "injection.nosql", "GET", "/api/notes");
    assert_ne!(
        reproduce_step(operator, "Operator"),
        reproduce_step(operator, "Control")
    );
    let marker = command.evidence[1].step.clone();
    let marker = marker
        .rsplit(": ")
        .next()
        .unwrap_or_default()
        .trim_end_matches(" printed");
    assert!(marker.starts_with("rmp"), "{marker}");
    assert!(reproduce_step(command, "Fresh marker").contains(marker));
    assert!(reproduce_step(traversal, "Traversal").contains("root:"));
    let malformed = expect(
        &run,
        "injection.malformed-input",
        "GET",
        "/api/items/{item_id}",
    );
    assert!(reproduce(malformed, 1).contains("Traceback"));

    // The fix fits the stack, refined by what each proof revealed.
    run.assert_stack("flask", &[]);
    let variant = |f: &Finding| {
        f.remediation
            .as_ref()
            .map(|r| r.stack.clone())
            .unwrap_or_default()
    };
    assert_eq!(variant(sql), "flask+sqlalchemy");
    assert_eq!(variant(widened), "flask+dynamodb");
    assert_eq!(
        variant(expect(&run, "injection.nosql", "GET", "/api/notes")),
        "flask+mongodb"
    );
    run.assert_fixes(|check, variant| {
        check.starts_with("injection.") && variant.starts_with("flask")
    });
    // The API key is never printed.
    assert!(!run.stdout.contains(ALICE_KEY));
    assert!(run.errors().is_empty(), "{:?}", run.errors());
}

#[test]
fn vulnerable_twin_active_scan_also_probes_bodies_of_write_operations() {
    let target = INJECTION.start("vulnerable");
    let run = target.scan(&["--active", "--injection-writes"]);
    for (check, method, path, parameter) in [
        ("injection.sql", "POST", "/api/login", "username"),
        ("injection.nosql", "POST", "/api/session", "password"),
        (
            "injection.ssrf",
            "POST",
            "/api/users/me/avatar",
            "image_url",
        ),
        ("injection.redos", "PATCH", "/api/users/me", "email"),
    ] {
        let finding = expect(&run, check, method, path);
        assert_eq!(
            finding.head.parameter.as_deref(),
            Some(parameter),
            "{check}"
        );
        assert_eq!(finding.head.confidence.as_str(), "confirmed", "{check}");
    }
    let bypass = expect(&run, "injection.nosql", "POST", "/api/session");
    assert_eq!(bypass.head.severity.as_str(), "critical");
    assert!(bypass.evidence[2].request.url.contains("/api/session"));
    let redos = expect(&run, "injection.redos", "PATCH", "/api/users/me");
    assert!(
        redos.head.description.contains("super-linearly"),
        "{}",
        redos.head.description
    );
    // Write operations got probes: the report says what was not undone.
    let changed: Vec<&str> = run
        .report
        .changes
        .iter()
        .map(|c| c.request.as_str())
        .collect();
    for write in [
        "POST /api/login",
        "PATCH /api/users/me",
        "POST /api/users/me/avatar",
    ] {
        assert!(changed.contains(&write), "{write} not in {changed:?}");
    }
    assert!(run.report.changes.iter().all(|c| !c.restored));
}

#[test]
fn fixed_twin_yields_nothing_even_with_active_probes() {
    let target = INJECTION.start("fixed");
    let run = target.scan(&["--active", "--injection-writes"]);
    let unwanted = run.unwanted(|f| f.check.starts_with("injection."));
    assert!(
        unwanted.is_empty(),
        "fixed twin reported:\n{}",
        unwanted.join("\n")
    );
    assert!(run.errors().is_empty(), "{:?}", run.errors());
}

/// Starts the vulnerable and the fixed twin of the SQL app on one server.
fn sql_twins(db: &str, port: u16) -> (Target, Target) {
    let port = port.to_string();
    let env = |twin: &'static str| {
        let (db, port) = (db.to_string(), port.clone());
        thread::spawn(move || {
            let name = format!("injection_{twin}");
            SQL.start_with_env(twin, &[("DB", &db), ("DB_PORT", &port), ("DB_NAME", &name)])
        })
    };
    let (vulnerable, fixed) = (env("vulnerable"), env("fixed"));
    (
        vulnerable.join().expect("the vulnerable twin starts"),
        fixed.join().expect("the fixed twin starts"),
    )
}

/// The SQL app's planted cases on one database, and its fixed twin's silence.
fn sql_on(db: &str, port: u16, store: &str, variant: &str) {
    let (vulnerable, fixed) = sql_twins(db, port);
    vulnerable.reset();
    let before = data(&vulnerable);
    let run = vulnerable.scan(&[]);
    vulnerable.assert_only_reads();
    assert_eq!(
        data(&vulnerable),
        before,
        "the default scan changed {db} data"
    );
    for (path, parameter, technique) in [
        ("/api/products/{product_id}", "product_id", "boolean-based"),
        ("/api/products", "category", "error-based"),
        ("/api/stores", "x-region", "boolean-based"),
        ("/api/audit", "user", "time-based"),
    ] {
        let finding = expect(&run, "injection.sql", "GET", path);
        assert_eq!(finding.head.parameter.as_deref(), Some(parameter), "{path}");
        assert!(
            finding.head.title.contains(technique),
            "{path}: {}",
            finding.head.title
        );
        assert_eq!(finding.head.confidence.as_str(), "confirmed", "{path}");
    }
    let error = expect(&run, "injection.sql", "GET", "/api/products");
    assert!(error.head.title.contains(store), "{}", error.head.title);
    assert_eq!(
        error.remediation.as_ref().map(|r| r.stack.as_str()),
        Some(variant)
    );
    let timed = expect(&run, "injection.sql", "GET", "/api/audit");
    assert!(timed.head.title.contains(store), "{}", timed.head.title);
    run.assert_stack("fastapi", &[]);

    let active = vulnerable.scan(&["--active", "--injection-writes"]);
    let search = expect(&active, "injection.sql", "POST", "/api/products/search");
    assert_eq!(search.head.parameter.as_deref(), Some("name"));
    // Even with --active the payloads only read: the database is intact.
    assert_eq!(
        data(&vulnerable),
        before,
        "the active scan changed {db} data"
    );

    fixed.reset();
    let untouched = data(&fixed);
    let quiet = fixed.scan(&["--active", "--injection-writes"]);
    assert_eq!(
        data(&fixed),
        untouched,
        "the fixed twin's {db} data changed"
    );
    let unwanted = quiet.unwanted(|f| f.check.starts_with("injection."));
    assert!(
        unwanted.is_empty(),
        "fixed twin on {db} reported:\n{}",
        unwanted.join("\n")
    );
}

#[test]
fn sql_injection_on_postgresql_is_proven_three_ways_and_the_bound_twin_is_silent() {
    let server = Postgres::start();
    sql_on(
        "postgresql",
        server.port(),
        "PostgreSQL",
        "fastapi+postgresql",
    );
}

#[test]
fn sql_injection_on_mariadb_is_proven_three_ways_and_the_bound_twin_is_silent() {
    let server = MariaDb::start();
    sql_on("mariadb", server.port(), "MySQL/MariaDB", "fastapi+mysql");
}
