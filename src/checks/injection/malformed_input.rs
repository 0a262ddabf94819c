//! Unhandled malformed input.
//!
//! Input of the wrong type, at the edge of a type's range, in unusual
//! Unicode or (for bodies) not JSON at all should get a short `400`. An API
//! that instead lets the exception escape answers with a traceback, a
//! data-store error or a file path: the map an attacker needs (code paths,
//! queries, table and key names, library versions), and often a sign that
//! the same input goes unchecked into something worse. Rampart sends such
//! input (broken JSON only to write operations, so only under `--active`),
//! reports the leak in the style of `exposure.debug-page` with the probe
//! that provoked it, and replays the probe to show it is repeatable.

use std::ops::Range;
use std::sync::LazyLock;

use async_trait::async_trait;
use regex::Regex;
use serde_json::{json, Value};

use super::fingerprints::store_errors;
use super::{shown, Halt, Input, InputCheck, Payload, Place, Point};
use crate::checks::{CheckMeta, Mode, RunsOn};
use crate::detect::{self, DebugKind};
use crate::discover::Endpoint;
use crate::engine::Exchange;
use crate::facts::Needs;
use crate::finding::{Category, Confidence, FindingDraft, Severity};

pub struct MalformedInput;

pub static META: CheckMeta = CheckMeta {
    check: &MalformedInput,
    id: "injection.malformed-input",
    category: Category::InputValidation,
    severity: Severity::Critical,
    summary: "Malformed input answered with tracebacks, data-store errors or file paths",
    mode: Mode::Active,
    runs_on: RunsOn::Endpoints,
    min_identities: 0,
    needs: Needs::RESPONSE_VALUES,
};

/// Source files on a server's disk, as tracebacks and error pages name them.
static SOURCE_PATH: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"(?:/(?:app|srv|opt|home|usr|var|www|code|src|workspace|tmp)/[\w.@+-]+(?:/[\w.@+-]+)*",
        r"|[A-Z]:\\\\?(?:[\w .-]+\\\\?)+[\w.-]+)",
        r"\.(?:py|js|mjs|cjs|ts|rb|php|java|go|cs|kt|scala)\b",
    ))
    .expect("valid regex")
});

/// What leaked in an error answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leak {
    pub what: String,
    pub severity: Severity,
    pub span: Range<usize>,
}

fn debug_leak(kind: DebugKind) -> (Severity, &'static str) {
    match kind {
        DebugKind::WerkzeugDebugger => (Severity::Critical, "the Werkzeug interactive debugger"),
        DebugKind::DjangoDebugPage => (Severity::High, "Django's debug page"),
        DebugKind::PythonTraceback => (Severity::Medium, "a Python traceback"),
        DebugKind::BotocoreClientError => (Severity::Medium, "an AWS SDK (botocore) error"),
        DebugKind::JavaStackTrace => (Severity::Medium, "a Java stack trace"),
        DebugKind::NodeStackTrace => (Severity::Medium, "a Node.js stack trace"),
        DebugKind::RailsError => (Severity::Medium, "a Rails error page"),
        DebugKind::AspNetYsod => (Severity::Medium, "an ASP.NET error page"),
        DebugKind::PhpError => (Severity::Medium, "a PHP error"),
        DebugKind::SqlError => (Severity::Medium, "a SQL error"),
    }
}

/// The worst leak in an error answer, if any.
pub fn leak(exchange: &Exchange) -> Option<Leak> {
    if exchange.response.status < 400 {
        return None;
    }
    let body = exchange.body_text();
    let mut found: Vec<Leak> = detect::find_debug_output(body, exchange.content_type())
        .into_iter()
        .map(|d| {
            let (severity, what) = debug_leak(d.kind);
            Leak {
                what: what.to_string(),
                severity,
                span: d.start..d.end,
            }
        })
        .collect();
    found.extend(store_errors(body).into_iter().map(|e| Leak {
        what: format!("a {} error", e.store.name()),
        severity: Severity::Medium,
        span: e.span,
    }));
    if let Some(m) = SOURCE_PATH.find(body) {
        found.push(Leak {
            what: format!("the server-side file path `{}`", m.as_str()),
            severity: Severity::Low,
            span: m.start()..m.end(),
        });
    }
    found
        .into_iter()
        .max_by_key(|l| (l.severity, std::cmp::Reverse(l.span.start)))
}

/// Malformed values for an input, each with what it tests.
fn probes(input: &Input, first_body_field: bool) -> Vec<(Payload, &'static str)> {
    let mut out: Vec<(Payload, &'static str)> = Vec::new();
    if first_body_field && matches!(input.place, Place::Json(_)) {
        out.push((
            Payload::RawBody("{\"".to_string()),
            "a body that is not valid JSON",
        ));
    }
    if let Place::Json(_) = input.place {
        out.push((
            Payload::Json(json!([])),
            "an array where a single value belongs",
        ));
        out.push((
            Payload::Json(json!({"": ""})),
            "an object where a single value belongs",
        ));
        out.push((Payload::Json(Value::Null), "null"));
    }
    if let Some(allowed) = input.param.enum_values.first() {
        out.push((
            Payload::text(format!("{allowed}-rampart")),
            "a value outside the allowed list",
        ));
    }
    if input.is_numeric() {
        out.push((Payload::text("rampart"), "text where a number belongs"));
        out.push((Payload::text("1".repeat(40)), "a number far beyond 64 bits"));
        out.push((Payload::text("-1"), "a negative number"));
        out.push((
            Payload::text("1e309"),
            "a number that overflows to infinity",
        ));
    } else {
        out.push((Payload::text("%"), "a lone percent sign"));
        out.push((Payload::text("\u{0}"), "a NUL character"));
        out.push((
            Payload::text("\u{202e}\u{1d54f}\u{fffd}"),
            "unusual Unicode",
        ));
        // Long, but no letters or digits: long word-character input is a
        // ReDoS attack on the usual nested-quantifier patterns, which is not
        // this check's business (and could hold a worker for good).
        out.push((Payload::text("~".repeat(1024)), "a very long value"));
    }
    out
}

#[async_trait]
impl InputCheck for MalformedInput {
    const META: &'static CheckMeta = &META;
    /// A true/false input too: the wrong type is malformed input.
    fn wants(&self, _endpoint: &Endpoint, _input: &Input) -> bool {
        true
    }

    async fn probe_input(&self, point: &Point<'_, '_>) -> Result<Option<FindingDraft>, Halt> {
        let profile = point.profile().await?;
        if leak(&profile.base).is_some() || leak(&profile.impossible).is_some() {
            // The ordinary answers already leak: exposure.debug-page tells.
            return Ok(None);
        }
        let first_body_field = matches!(&point.input.place, Place::Json(_))
            && super::inputs::inputs(point.endpoint)
                .iter()
                .find(|i| matches!(i.place, Place::Json(_)))
                .is_some_and(|first| first.key() == point.input.key());
        for (payload, what) in probes(point.input, first_body_field) {
            if !point.input.carries(&payload.shown()) {
                continue;
            }
            let Some(answer) = point.send(&payload).await? else {
                continue;
            };
            let Some(found) = leak(&answer) else {
                continue;
            };
            let Some(again) = point.send(&payload).await? else {
                continue;
            };
            let Some(repeated) = leak(&again) else {
                continue;
            };
            let label = point.input.label();
            return Ok(Some(
                point
                    .draft(&answer, found.severity, Confidence::Confirmed)
.repeated()
                    .title(format!("Malformed {label} answered with {}", found.what))
                    .description(format!(
                        "Sending {what} in the {label} ({}) makes the API answer HTTP {} with {}, \
                         which the ordinary request does not show; the same probe again did it again. \
                         The exception escapes the handler instead of becoming a short 400.",
                        shown(&payload.shown()),
                        answer.response.status,
                        found.what,
                    ))
                    .evidence(format!("Ordinary value {}", shown(&profile.base_value)), &profile.base, None)
                    .evidence(format!("{what}: {}", found.what), &answer, Some(found.span))
                    .evidence("The same probe again", &again, Some(repeated.span)),
            ));
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::injection::testing::{self, Seen};
    use crate::checks::injection::Settings;
    use crate::checks::probe::fixtures::{assert_contains, exchange};

    const URL: &str = "http://h/api/items?rampart_cb=1";

    #[test]
    fn leaks_are_read_from_error_answers_only() {
        let traceback = "Traceback (most recent call last):\n  File \"/app/app.py\", line 12, in get\n    int(x)\nValueError: invalid literal";
        let found = leak(&exchange(URL, None, 500, &[], traceback)).expect("a leak");
        assert_eq!(found.severity, Severity::Medium);
        assert_eq!(found.what, "a Python traceback");
        assert!(leak(&exchange(URL, None, 200, &[], traceback)).is_none());
        let path = leak(&exchange(
            URL,
            None,
            500,
            &[],
            r#"{"error": "failed in /srv/api/handlers/items.js"}"#,
        ))
        .expect("a path");
        assert_eq!(path.severity, Severity::Low);
        assert!(leak(&exchange(
            URL,
            None,
            400,
            &[],
            r#"{"error": "invalid id", "docs": "/docs/errors.html"}"#
        ))
        .is_none());
        let sql = leak(&exchange(
            URL,
            None,
            500,
            &[],
            "psycopg.errors.InvalidTextRepresentation: invalid input syntax for type integer",
        ))
        .expect("sql");
        assert!(sql.what.contains("PostgreSQL"), "{}", sql.what);
    }

    fn items(vulnerable: bool) -> impl Fn(&Seen) -> (u16, String) + Clone + Send + Sync + 'static {
        move |seen: &Seen| {
            let id = seen.arg("id").unwrap_or_default();
            match id.parse::<i64>() {
                Ok(7) => (200, r#"{"id": 7, "name": "kettle"}"#.into()),
                Ok(_) => (404, r#"{"error": "not found"}"#.into()),
                Err(_) if vulnerable => (
                    500,
                    format!("Traceback (most recent call last):\n  File \"/app/app.py\", line 40, in item\n    item_id = int({id:?})\nValueError: invalid literal for int()"),
                ),
                Err(_) => (400, r#"{"error": "id must be an integer"}"#.into()),
            }
        }
    }

    #[tokio::test]
    async fn an_escaping_exception_is_found_and_a_clean_400_is_not() {
        let endpoint = "GET /api/items?id=7";
        let integer = |e: &mut crate::discover::Endpoint| {
            e.parameters[0].schema_type = Some("integer".into());
        };
        let api = testing::serve(items(true)).await;
        let (found, _) =
            testing::run_with(&META, &api, endpoint, Settings::default(), integer).await;
        let found = found.expect("probed");
        assert_eq!(found.len(), 1);
        assert_contains(&found[0].title, "Python traceback");
        assert_eq!(found[0].evidence.len(), 3);
        let api = testing::serve(items(false)).await;
        let (found, sent) =
            testing::run_with(&META, &api, endpoint, Settings::default(), integer).await;
        assert!(found.expect("probed").is_empty());
        // The impossible value (the baseline is the ordinary one), four probes.
        assert_eq!(sent, 1 + 4);
    }
}
