//! Reach against real targets (tests/targets/reach): the endpoints a spec
//! forgot are found with the spec given and scanned by every check, the
//! configuration family judges the deployment, the fixed twins are silent,
//! discovery stays within its request bound (counted by the target), and
//! HAR files and Postman collections exported from the target import.

mod support;

use std::collections::BTreeMap;

use rampart::discover::EndpointSource;
use rampart::finding::Severity;
use serde_json::{json, Value};
use support::{rampart, Family, ScanRun, Target};

const ALICE_KEY: &str = "ak_alice_reach_41d2";

const REACH: Family = Family {
    app: "reach/app.py",
    dynamo: false,
    spec: true,
    checks: None,
    identities: &[
        ("alice", "X-API-Key: ak_alice_reach_41d2"),
        ("bob", "X-API-Key: ak_bob_reach_8c3e"),
    ],
    args: &[],
};

const REACH_FASTAPI: Family = Family {
    app: "reach/fastapi_app.py",
    dynamo: false,
    spec: true,
    checks: None,
    identities: &[
        ("alice", "X-API-Key: ak_alice_reachfa_5e1c"),
        ("bob", "X-API-Key: ak_bob_reachfa_0b7d"),
    ],
    args: &[],
};

/// The routes the vulnerable Flask twin serves and its spec does not list.
const FLASK_SHADOWS: &[&str] = &[
    "GET /debug",
    "GET /internal/deliveries",
    "GET /api/v1/orders/{order_id}",
];

fn labels_from(run: &ScanRun, source: EndpointSource) -> Vec<String> {
    let mut labels: Vec<String> = run
        .report
        .endpoints
        .iter()
        .filter(|e| e.source == source)
        .map(|e| format!("{} {}", e.method, e.path))
        .collect();
    labels.sort();
    labels
}

fn severity_of(run: &ScanRun, check: &str, label: &str) -> Option<Severity> {
    let (method, path) = label.split_once(' ').expect("METHOD /path");
    run.find(check, method, path).map(|f| f.head.severity)
}

/// Every endpoint check either probed `label` or skipped it for a reason
/// of its own (no identifier, not JSON, …): never because discovery kept
/// it out of the scan.
fn assert_probed_by_every_check(run: &ScanRun, label: &str) {
    let mut endpoint_checks = 0;
    for coverage in &run.report.coverage {
        let check = rampart::checks::find(&coverage.check).expect("a registered check");
        if check.runs_on != rampart::checks::RunsOn::Endpoints {
            continue;
        }
        endpoint_checks += 1;
        if let Some(skip) = coverage.skipped.iter().find(|s| s.endpoint == label) {
            assert!(
                !skip.reason.contains("excluded") && !skip.reason.contains("state-changing"),
                "{} never saw {label}: {}",
                coverage.check,
                skip.reason
            );
        }
    }
    assert!(endpoint_checks > 10, "coverage lists the endpoint checks");
}

#[test]
fn undocumented_routes_are_found_with_the_spec_and_scanned_by_every_check() {
    let target = REACH.start("vulnerable");
    target.reset();
    let run = target.scan(&[]);
    target.assert_only_reads();

    assert_eq!(labels_from(&run, EndpointSource::Shadow), {
        let mut expected: Vec<String> = FLASK_SHADOWS.iter().map(|s| s.to_string()).collect();
        expected.sort();
        expected
    });
    let undocumented = "config.undocumented-endpoint";
    assert_eq!(
        severity_of(&run, undocumented, "GET /debug"),
        Some(Severity::Medium)
    );
    assert_eq!(
        severity_of(&run, undocumented, "GET /internal/deliveries"),
        Some(Severity::Medium)
    );
    assert_eq!(
        severity_of(&run, undocumented, "GET /api/v1/orders/{order_id}"),
        Some(Severity::Low)
    );
    for label in FLASK_SHADOWS {
        assert_probed_by_every_check(&run, label);
    }
    // What they serve is judged by the families that own it.
    assert!(
        severity_of(&run, "exposure.secrets", "GET /debug") >= Some(Severity::High),
        "the debug dump's AWS keys: {:#?}",
        run.of_check("exposure.secrets")
    );
    for label in ["GET /internal/deliveries", "GET /api/v1/orders/{order_id}"] {
        assert_eq!(
            severity_of(&run, "authz.missing-auth", label),
            Some(Severity::High),
            "{label}: {:#?}",
            run.of_check("authz.missing-auth")
        );
    }
    // The hidden parameter, found by guessing and then used by the
    // authorization checks: alice lists bob's orders.
    let hidden = run
        .of_check(undocumented)
        .into_iter()
        .filter(|f| f.head.parameter.is_some())
        .map(|f| (f.head.path.clone(), f.head.parameter.clone().unwrap()))
        .collect::<Vec<_>>();
    assert_eq!(
        hidden,
        vec![("/api/v2/orders".to_string(), "owner_id".to_string())]
    );
    assert!(
        run.find("authz.subject-from-url", "GET", "/api/v2/orders")
            .is_some_and(|f| f.head.severity >= Severity::High),
        "{:#?}",
        run.of_check("authz.subject-from-url")
    );
    // The documented report the server does not route.
    let zombie = run
        .find("config.zombie-endpoint", "GET", "/api/v2/reports/legacy")
        .expect("the zombie operation");
    assert_eq!(zombie.head.severity, Severity::Info);
    assert_eq!(run.of_check("config.zombie-endpoint").len(), 1);

    // The deployment: one finding per weakness.
    let keyed = |check: &str| -> Vec<(String, Severity)> {
        run.of_check(check)
            .iter()
            .map(|f| (f.head.title.clone(), f.head.severity))
            .collect()
    };
    let cors = keyed("config.cors");
    assert!(
        cors.contains(&("CORS trusts any origin".to_string(), Severity::High)),
        "{cors:?}"
    );
    assert_eq!(
        cors.len(),
        2,
        "any origin and the open pre-flight: {cors:?}"
    );
    assert_eq!(run.of_check("config.trace").len(), 1);
    assert_eq!(run.of_check("config.verbose-errors").len(), 1);
    assert_eq!(run.of_check("config.security-headers").len(), 1);
    let banners = keyed("config.banners");
    assert_eq!(banners.len(), 2, "Server and X-Powered-By: {banners:?}");
    assert!(banners
        .iter()
        .any(|(t, s)| t.contains("Werkzeug") && *s == Severity::Low));
    for finding in run
        .findings()
        .iter()
        .filter(|f| f.check.starts_with("config."))
    {
        assert_eq!(
            finding.category.as_str(),
            "configuration",
            "{}",
            finding.check
        );
    }
}

#[test]
fn the_fixed_twin_without_those_routes_is_silent() {
    let target = REACH.start("fixed");
    let run = target.scan(&[]);
    assert_eq!(
        labels_from(&run, EndpointSource::Shadow),
        Vec::<String>::new()
    );
    let config: Vec<_> = run
        .findings()
        .iter()
        .filter(|f| f.check.starts_with("config."))
        .map(|f| (&f.check, &f.head.method, &f.head.path, &f.head.title))
        .collect();
    assert!(config.is_empty(), "configuration findings: {config:#?}");
    let serious: Vec<_> = run
        .findings()
        .iter()
        .filter(|f| f.head.severity >= Severity::Medium)
        .map(|f| (&f.check, &f.head.path))
        .collect();
    assert!(serious.is_empty(), "{serious:?}");
    for label in FLASK_SHADOWS {
        let (_, path) = label.split_once(' ').unwrap();
        assert!(
            run.findings().iter().all(|f| f.head.path != path),
            "a finding on {path}, which the fixed twin does not serve"
        );
    }
}

/// The order ids the reach target holds.
fn order_ids(target: &Target) -> Vec<u64> {
    serde_json::from_str(&target.get("/__test__/orders").body).expect("order ids")
}

#[test]
fn an_undocumented_delete_is_proven_only_on_an_object_rampart_created() {
    let vulnerable = REACH.start("vulnerable");
    let fixed = REACH.start("fixed");
    for target in [&vulnerable, &fixed] {
        target.reset();
    }
    let seeded = order_ids(&vulnerable);
    let args = ["--active", "--checks", "config.undocumented-method"];
    let run = vulnerable.scan(&args);
    let found = run
        .find(
            "config.undocumented-method",
            "DELETE",
            "/api/v2/orders/{order_id}",
        )
        .unwrap_or_else(|| panic!("{:#?}\n{:#?}", run.findings(), run.report.coverage));
    assert_eq!(found.head.severity, Severity::Medium);
    // Rampart's own order came and went; the shop's orders are untouched.
    let counts = vulnerable.method_counts();
    assert_eq!(counts.get("DELETE"), Some(&1), "{counts:?}");
    assert_eq!(order_ids(&vulnerable), seeded);
    let change = run
        .report
        .changes
        .iter()
        .find(|c| c.request == "POST /api/v2/orders")
        .expect("the create is in the changes");
    assert!(change.restored, "{change:?}");

    // No DELETE on the fixed twin: nothing to prove, nothing deleted.
    let quiet = fixed.scan(&args);
    assert!(quiet.of_check("config.undocumented-method").is_empty());
    assert_eq!(fixed.method_counts().get("DELETE"), Some(&0));
}

/// Requests per `METHOD path` the reach target counted since its reset.
fn paths_counted(target: &Target) -> BTreeMap<String, u64> {
    let resp = target.get("/__test__/requests");
    assert_eq!(resp.status, 200, "{}", resp.body);
    serde_json::from_str(&resp.body).expect("path counts")
}

/// The requests discovery sent: `OPTIONS` anywhere, anything to a path
/// the spec does not document (on the fixed twin none of them answers, so
/// no check ever requests them again), and the hidden-parameter guesses
/// (a name from Rampart's guess lists, or a made-up control name).
fn discovery_requests(target: &Target) -> u64 {
    use rampart::discover::params::{HEADER_NAMES, QUERY_NAMES};
    let spec: Value = serde_json::from_str(&target.get("/openapi.json").body).unwrap();
    let documented: Vec<String> = spec["paths"].as_object().unwrap().keys().cloned().collect();
    let is_documented = |path: &str| {
        documented
            .iter()
            .any(|t| rampart::discover::template_matches(t, path))
    };
    let guessed = |query: &str, headers: &str| {
        query
            .split(',')
            .any(|q| QUERY_NAMES.contains(&q) || q.starts_with("rampart"))
            || headers.split(',').any(|h| {
                h.starts_with("rampart") || HEADER_NAMES.iter().any(|n| n.eq_ignore_ascii_case(h))
            })
    };
    paths_counted(target)
        .into_iter()
        .filter(|(label, _)| {
            // "METHOD path ?query names !header names"
            let mut parts = label.splitn(4, ' ');
            let (method, path) = (parts.next().unwrap(), parts.next().unwrap());
            let query = parts.next().unwrap_or("?").trim_start_matches('?');
            let headers = parts.next().unwrap_or("!").trim_start_matches('!');
            method == "OPTIONS" || !is_documented(path) || guessed(query, headers)
        })
        .map(|(_, n)| n)
        .sum()
}

#[test]
fn discovery_on_a_twenty_endpoint_api_stays_within_two_hundred_requests() {
    let target = REACH.start("fixed");
    let spec: Value = serde_json::from_str(&target.get("/openapi.json").body).unwrap();
    let operations: usize = spec["paths"]
        .as_object()
        .unwrap()
        .values()
        .map(|ops| ops.as_object().unwrap().len())
        .sum();
    assert_eq!(operations, 20, "the fixed twin documents 20 operations");

    let reset = target.request("POST", "/__test__/reset-paths", &[]);
    assert_eq!(reset.status, 200);
    // A check that sends nothing: what reaches the target is the scan's own
    // phases, discovery among them.
    let run = target.scan(&["--checks", "config.zombie-endpoint", "-v"]);
    let sent = discovery_requests(&target);
    eprintln!("discovery on 20 operations: {sent} requests (target's count)");
    assert!(
        (100..=200).contains(&sent),
        "discovery sent {sent} requests\n{}",
        run.stderr
    );

    // --max-requests bounds it too: a fifth of the budget at most, plus the
    // two answers to paths that cannot exist and the fingerprint's one.
    target.request("POST", "/__test__/reset-paths", &[]);
    target.scan(&[
        "--checks",
        "config.zombie-endpoint",
        "--max-requests",
        "100",
    ]);
    // (The root and the fingerprint's missing page count as undocumented
    // paths too.)
    let bounded = discovery_requests(&target);
    assert!(bounded <= 25, "with --max-requests 100: {bounded}");
}

/// One recorded exchange, as a HAR 1.2 entry.
fn har_entry(target: &Target, method: &str, path: &str, headers: &[&str]) -> Value {
    let resp = target.request(method, path, headers);
    let header_list: Vec<Value> = headers
        .iter()
        .filter_map(|h| h.split_once(':'))
        .map(|(k, v)| json!({"name": k.trim(), "value": v.trim()}))
        .collect();
    let response_headers: Vec<Value> = resp
        .headers
        .lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| json!({"name": k.trim(), "value": v.trim()}))
        .collect();
    let url = target.url(path);
    let query: Vec<Value> = url::Url::parse(&url)
        .unwrap()
        .query_pairs()
        .map(|(k, v)| json!({"name": k, "value": v}))
        .collect();
    json!({
        "startedDateTime": "2026-12-05T02:30:00.000Z",
        "time": 3,
        "request": {
            "method": method, "url": url, "httpVersion": "HTTP/1.1",
            "cookies": [], "headers": header_list, "queryString": query,
            "headersSize": -1, "bodySize": 0
        },
        "response": {
            "status": resp.status, "statusText": "", "httpVersion": "HTTP/1.1",
            "cookies": [], "headers": response_headers,
            "content": {"size": resp.body.len(), "mimeType": "application/json", "text": resp.body},
            "redirectURL": "", "headersSize": -1, "bodySize": resp.body.len()
        },
        "cache": {},
        "timings": {"send": 0, "wait": 3, "receive": 0}
    })
}

#[test]
fn a_har_and_a_postman_collection_exported_from_the_target_are_imported() {
    let target = REACH.start("vulnerable");
    let dir = tempfile::tempdir().unwrap();
    let key = format!("X-API-Key: {ALICE_KEY}");
    // What a browser session against the target recorded.
    let entries = vec![
        har_entry(
            &target,
            "GET",
            "/api/v2/me",
            &[&key, "Accept: application/json"],
        ),
        har_entry(&target, "GET", "/api/v2/orders/1", &[&key]),
        har_entry(&target, "GET", "/internal/deliveries?courier=north", &[]),
        har_entry(&target, "POST", "/api/v2/orders", &[&key]),
    ];
    let har = json!({"log": {
        "version": "1.2",
        "creator": {"name": "rampart-test-recorder", "version": "1"},
        "pages": [],
        "entries": entries
    }});
    let har_path = dir.path().join("session.har");
    std::fs::write(&har_path, serde_json::to_string_pretty(&har).unwrap()).unwrap();

    // As Postman exports a collection (v2.1) that uses variables.
    let postman = json!({
        "info": {
            "_postman_id": "6b1f7d8e-3c3a-4f0e-9a51-2f1c0e6d9b11",
            "name": "Reach delivery shop",
            "schema": "https://schema.getpostman.com/json/collection/v2.1.0/collection.json",
            "_exporter_id": "1234567"
        },
        "item": [
            {"name": "orders", "item": [
                {"name": "Get order", "request": {
                    "method": "GET",
                    "header": [{"key": "X-API-Key", "value": "{{apiKey}}", "type": "text"}],
                    "url": {
                        "raw": "{{baseUrl}}/api/v2/orders/:order_id",
                        "host": ["{{baseUrl}}"],
                        "path": ["api", "v2", "orders", ":order_id"],
                        "variable": [{"key": "order_id", "value": "2"}]
                    }
                }, "response": []},
                // The team's collection still has the old version.
                {"name": "Get order (v1)", "request": {
                    "method": "GET",
                    "header": [],
                    "url": {
                        "raw": "{{baseUrl}}/api/v1/orders/:order_id",
                        "host": ["{{baseUrl}}"],
                        "path": ["api", "v1", "orders", ":order_id"],
                        "variable": [{"key": "order_id", "value": "3"}]
                    }
                }, "response": []}
            ]},
            {"name": "Help page 3", "request": {
                "method": "GET", "header": [],
                "url": {"raw": "{{baseUrl}}/api/v2/help/page-3?lang=en",
                        "host": ["{{baseUrl}}"], "path": ["api", "v2", "help", "page-3"],
                        "query": [{"key": "lang", "value": "en"}]}
            }, "response": []}
        ],
        "variable": [
            {"key": "baseUrl", "value": target.base_url(), "type": "string"},
            {"key": "apiKey", "value": ALICE_KEY, "type": "string"}
        ]
    });
    let postman_path = dir.path().join("reach.postman_collection.json");
    std::fs::write(
        &postman_path,
        serde_json::to_string_pretty(&postman).unwrap(),
    )
    .unwrap();
    let list_path = dir.path().join("endpoints.txt");
    std::fs::write(
        &list_path,
        "# from the team wiki\nGET /api/v2/help/page-7\nGET /debug\nDELETE /api/v2/orders/{order_id}\n",
    )
    .unwrap();

    // No --spec: Rampart finds the target's own at /openapi.json, and each
    // imported request the spec already describes only lends it samples.
    let family = Family {
        spec: false,
        ..REACH
    };
    let run = family.scan(
        &target.base_url(),
        &[
            "--har",
            har_path.to_str().unwrap(),
            "--postman",
            postman_path.to_str().unwrap(),
            "--endpoints",
            list_path.to_str().unwrap(),
        ],
    );
    assert_eq!(
        labels_from(&run, EndpointSource::Har),
        vec!["GET /internal/deliveries"]
    );
    assert_eq!(
        labels_from(&run, EndpointSource::Postman),
        vec!["GET /api/v1/orders/{order_id}"]
    );
    assert_eq!(
        labels_from(&run, EndpointSource::List),
        vec!["DELETE /api/v2/orders/{order_id}", "GET /debug"]
    );
    assert!(labels_from(&run, EndpointSource::Spec)
        .contains(&"GET /api/v2/orders/{order_id}".to_string()));
    // Imported endpoints are scanned like any other.
    for label in ["GET /internal/deliveries", "GET /api/v1/orders/{order_id}"] {
        assert_eq!(
            severity_of(&run, "authz.missing-auth", label),
            Some(Severity::High),
            "{label}"
        );
    }
    assert!(severity_of(&run, "exposure.secrets", "GET /debug") >= Some(Severity::High));
    assert!(
        run.report.coverage.iter().any(|c| c
            .skipped
            .iter()
            .any(|s| s.endpoint == "DELETE /api/v2/orders/{order_id}"
                && s.reason == "needs --active")),
        "the listed DELETE waits for --active"
    );
    // A credential in a recording is never replayed or printed.
    assert!(!run.stdout.contains(ALICE_KEY));
}

#[test]
fn imports_that_cannot_be_read_are_one_line_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_string()
    };
    let cases = [
        (
            "--har",
            write("broken.har", "{\"log\": {\"entries\": [{]}}"),
            "invalid HAR file",
        ),
        (
            "--har",
            dir.path().join("missing.har").to_str().unwrap().to_string(),
            "cannot read HAR file",
        ),
        (
            "--postman",
            write(
                "v1.json",
                r#"{"info": {"schema": "https://schema.getpostman.com/json/collection/v1.0.0/collection.json"}, "item": []}"#,
            ),
            "not a Postman collection v2.1",
        ),
        (
            "--endpoints",
            write("list.txt", "GET /ok\nFETCH /nope\n"),
            "line 2: unknown method",
        ),
    ];
    // Nothing listens there: the files are read before any request.
    for (flag, path, expected) in cases {
        let out = rampart(&["scan", "http://127.0.0.1:9", flag, &path, "-q"]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{flag} {path}: {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
        assert!(stderr.contains(expected), "{flag}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

#[test]
fn fastapi_routes_left_out_of_the_schema_are_found_and_the_fixed_twin_is_silent() {
    let vulnerable = REACH_FASTAPI.start("vulnerable");
    let fixed = REACH_FASTAPI.start("fixed");
    let run = vulnerable.scan(&[]);
    let shadows = labels_from(&run, EndpointSource::Shadow);
    for label in ["GET /debug/vars", "GET /api/v1/items/{item_id}"] {
        assert!(shadows.iter().any(|s| s == label), "{label}: {shadows:?}");
        assert_probed_by_every_check(&run, label);
    }
    assert_eq!(
        severity_of(&run, "config.undocumented-endpoint", "GET /debug/vars"),
        Some(Severity::Medium)
    );
    assert!(severity_of(&run, "exposure.secrets", "GET /debug/vars") >= Some(Severity::High));
    assert_eq!(
        severity_of(&run, "authz.missing-auth", "GET /api/v1/items/{item_id}"),
        Some(Severity::High)
    );
    // The allow-list's regular expression lets a look-alike through.
    let cors: Vec<_> = run.of_check("config.cors");
    assert!(
        cors.iter()
            .any(|f| f.head.title.contains("trusted name followed by")
                && f.head.severity == Severity::High),
        "{cors:#?}"
    );
    assert!(run
        .of_check("config.banners")
        .iter()
        .any(|f| f.head.title.contains("uvicorn")));

    let quiet = fixed.scan(&[]);
    assert!(labels_from(&quiet, EndpointSource::Shadow).is_empty());
    let config: Vec<_> = quiet
        .findings()
        .iter()
        .filter(|f| f.check.starts_with("config."))
        .map(|f| (&f.check, &f.head.title))
        .collect();
    assert!(config.is_empty(), "{config:#?}");
    assert!(quiet
        .findings()
        .iter()
        .all(|f| f.head.severity < Severity::Medium));
}
