//! A fix must be about the flaw its finding shows. For every finding of a
//! real scan (the demo lab), the mechanism its title and evidence show —
//! an interactive debugger, a clear-text password, a signed link accepted
//! without its token, an old token still accepted — must be named by the
//! summary of the remediation chosen for it, and by the summary of every
//! other stack variant of that check, since another stack would get that
//! one for the same finding.

mod support;

use rampart::finding::{Finding, FindingHead};
use rampart::knowledge;

/// What a finding shows, and words one of which its fix must use.
fn mechanism(finding: &Finding) -> (&'static str, &'static [&'static str]) {
    let title = finding.head.title.to_lowercase();
    let evidence: String = finding
        .evidence
        .iter()
        .map(|e| format!("{} {}", e.step, e.request.url))
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase();
    match finding.check.as_str() {
        "exposure.debug-page" if title.contains("debugger") => (
            "an interactive debugger",
            &["debug", "devtools", "errorhandler", "production"],
        ),
        "exposure.debug-page" if title.contains("clienterror") || title.contains("botocore") => (
            "a data-store error",
            &[
                "clienterror",
                "exception",
                "str(exc)",
                "details",
                "err.message",
                "generic json",
            ],
        ),
        "exposure.debug-page" if title.contains("traceback") => (
            "a traceback",
            &[
                "traceback",
                "stacktrace",
                "exception",
                "error middleware",
                "debug",
            ],
        ),
        "exposure.debug-page" => ("error output", &["error", "debug", "exception"]),
        "exposure.password-hashes" if title.contains("clear") => {
            ("a clear-text password", &["password"])
        }
        "exposure.password-hashes" => ("a password hash", &["hash"]),
        "exposure.pii" if title.contains("social security") => {
            ("social security numbers", &["ssn", "social security"])
        }
        "exposure.pii" if title.contains("card") => ("card numbers", &["card", "pan"]),
        "exposure.pii" => ("email addresses in bulk", &["email"]),
        "exposure.secrets" => ("secrets", &["secret", "credential", "key", "token"]),
        "exposure.plaintext-fields" => ("fields stored readable", &["encrypt"]),
        "signing.signature-optional" if evidence.contains("removed") || title.contains("link") => (
            "a signed link accepted without its token",
            &["link", "token", "loads"],
        ),
        "signing.signature-optional" => ("an unsigned request", &["signature"]),
        "signing.replay" if title.contains("after it was issued") => (
            "an old token still accepted",
            &[
                "max_age",
                "max age",
                "older",
                "window",
                "expir",
                "exp ",
                "timestamp",
                "issue time",
            ],
        ),
        "signing.replay" => ("a replayed token", &["nonce", "once", "replay"]),
        "signing.unbound-caller" => (
            "a link not bound to its caller",
            &["caller", "sub", "bind", "bound", "owner", "subject"],
        ),
        "signing.unsigned-params" => (
            "unsigned data-selecting parameters",
            &["sign", "payload", "verified"],
        ),
        "cache.deception" => (
            "a private response stored for a static-looking URL",
            &["cache", "no-store", "private", "static"],
        ),
        "cache.cached-error" => (
            "an error stored by the cache",
            &["error", "4xx", "5xx", "401", "no-store"],
        ),
        "cache.identity-unkeyed" => (
            "a response cached without the caller",
            &["cache", "key", "private"],
        ),
        "cache.auth-after-lookup" => (
            "authentication after the cache lookup",
            &["before", "authenticat", "credential"],
        ),
        "cache.unkeyed-header" => ("an unkeyed header", &["header", "forward", "host"]),
        "cache.unkeyed-param" => ("an unkeyed parameter", &["param", "query"]),
        "cache.risky-headers" => ("caching headers", &["private", "no-store", "cache-control"]),
        "authz.bola" => (
            "another user's object",
            &["owner", "caller", "scope", "user"],
        ),
        "authz.missing-auth" => (
            "no authentication",
            &["authenticat", "credential", "token", "protect"],
        ),
        "authz.subject-from-url" => (
            "the subject taken from the URL",
            &[
                "url",
                "path",
                "parameter",
                "subject",
                "user id",
                "req.params",
                "query",
            ],
        ),
        "authz.guessable-ids" => ("sequential identifiers", &["uuid", "random"]),
        "authz.excessive-exposure" => (
            "internal fields",
            &["field", "attribute", "allow-list", "model", "schema", "dto"],
        ),
        "transport.credentials-in-url" => ("a credential in a redirect", &["redirect", "url"]),
        "transport.insecure-links" => ("plain-HTTP links", &["http://", "https", "tls"]),
        "transport.cookie-flags" => ("cookie flags", &["secure", "httponly", "samesite"]),
        "transport.plain-http" => ("plain HTTP", &["https", "tls"]),
        "config.undocumented-endpoint" => (
            "an undocumented endpoint or parameter",
            &["document", "route", "debug", "remove"],
        ),
        "config.zombie-endpoint" => ("a documented operation not routed", &["spec", "document"]),
        "config.undocumented-method" => {
            ("an undocumented method", &["method", "remove", "document"])
        }
        "config.cors" => ("a permissive CORS policy", &["origin", "cors"]),
        "config.banners" => (
            "a technology banner",
            &["server", "powered-by", "banner", "header"],
        ),
        "config.verbose-errors" => ("a verbose error page", &["error", "404"]),
        "config.trace" => ("TRACE", &["trace"]),
        "config.security-headers" => ("no nosniff", &["nosniff", "x-content-type-options"]),
        "injection.sql" => (
            "input pasted into SQL",
            &["bound", "bind", "placeholder", "param", "filters"],
        ),
        "injection.nosql" => (
            "input that rewrites a query or expression",
            &["expression", "query", "queries", "allow-list", "operator"],
        ),
        "injection.template" => ("input evaluated as a template", &["template"]),
        "injection.command" => (
            "input in a shell command",
            &["shell", "argument", "exec", "processbuilder"],
        ),
        "injection.path-traversal" => (
            "a file name that leaves its directory",
            &["directory", "base", "root", "path", "join"],
        ),
        "injection.ssrf" => ("a URL the server fetches", &["allow-list"]),
        "injection.redos" => (
            "a backtracking regular expression",
            &["pattern", "regex", "quantifier", "validator"],
        ),
        "injection.malformed-input" => ("an exception shown for bad input", &["validat", "type"]),
        other => panic!("no mechanism written down for {other}: add it here"),
    }
}

fn names(summary: &str, words: &[&str]) -> bool {
    let summary = summary.to_lowercase();
    words.iter().any(|w| summary.contains(w))
}

#[test]
fn every_fix_summary_names_the_mechanism_its_finding_shows() {
    let output = support::rampart(&["demo", "-q", "--format", "json"]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report =
        rampart::report::json::parse(&String::from_utf8_lossy(&output.stdout)).expect("a report");
    assert!(
        report.findings.len() > 20,
        "the demo finds its planted flaws"
    );
    let mut wrong = Vec::new();
    for finding in &report.findings {
        let (shows, words) = mechanism(finding);
        let chosen = finding.remediation.as_ref().expect("a remediation");
        if !names(&chosen.summary, words) {
            wrong.push(format!(
                "{} ({shows}): the chosen {} fix says \"{}\"",
                finding.check, chosen.stack, chosen.summary
            ));
        }
        let entry = knowledge::entry(&finding.check).expect("a knowledge entry");
        for variant in &entry.variants {
            if !names(&variant.summary, words) {
                wrong.push(format!(
                    "{} ({shows}): the {} fix says \"{}\"",
                    finding.check, variant.stack, variant.summary
                ));
            }
        }
    }
    wrong.sort();
    wrong.dedup();
    assert!(
        wrong.is_empty(),
        "fix summaries that do not name their finding's flaw:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn the_mechanism_check_rejects_a_fix_for_another_flaw() {
    // The summary this test was written against: a DynamoDB error fix
    // offered for the Werkzeug debugger.
    let old = "Catch `botocore.exceptions.ClientError`, log it, map the error code to a \
               generic status, and validate keys before calling DynamoDB.";
    let (_, debugger) = mechanism(&sample(
        "exposure.debug-page",
        "Werkzeug interactive debugger exposed",
    ));
    assert!(!names(old, debugger));
    let (_, clear) = mechanism(&sample(
        "exposure.password-hashes",
        "Clear-text password field returned in response",
    ));
    assert!(!names(
        "Keep the hash out of every `ProjectionExpression` except the login lookup.",
        clear
    ));
}

fn sample(check: &str, title: &str) -> Finding {
    Finding {
        id: "RMP-000000000000".into(),
        check: check.into(),
        category: rampart::finding::Category::DataExposure,
        head: FindingHead {
            severity: rampart::finding::Severity::High,
            confidence: rampart::finding::Confidence::Firm,
            title: title.into(),
            description: String::new(),
            method: "GET".into(),
            path: "/".into(),
            url: "http://127.0.0.1/".into(),
            parameter: None,
        },
        evidence: Vec::new(),
        reproduce: Vec::new(),
        remediation: None,
        references: Vec::new(),
        seen_at: Vec::new(),
        seen_count: 0,
    }
}
