//! Debug pages, stack traces and data-store error text.
//!
//! A framework's debug mode left on in production shows source code, file
//! paths, configuration and sometimes an interactive console (the Werkzeug
//! debugger executes Python). Raw tracebacks and data-store errors such as
//! botocore's `ClientError` reveal table names, queries and library versions
//! that make every other attack easier.

use std::sync::Arc;

use super::{drafts_by_kind, Worded};
use crate::checks::{Check, CheckMeta, Mode, Outcome, RunsOn};
use crate::detect::{self, DebugKind};
use crate::engine::Exchange;
use crate::facts::Needs;
use crate::finding::{Category, Severity};

pub struct DebugPages;

pub static META: CheckMeta = CheckMeta {
    check: &DebugPages,
    id: "exposure.debug-page",
    category: Category::DataExposure,
    severity: Severity::Critical,
    summary: "Framework debuggers, stack traces and data-store error messages in responses",
    mode: Mode::Passive,
    runs_on: RunsOn::Exchanges,
    min_identities: 0,
    needs: Needs::NOTHING,
};

fn describe(kind: DebugKind) -> (Severity, &'static str, &'static str) {
    match kind {
        DebugKind::WerkzeugDebugger => (
            Severity::Critical,
            "werkzeug-debugger",
            "Werkzeug interactive debugger exposed",
        ),
        DebugKind::DjangoDebugPage => (
            Severity::High,
            "django-debug",
            "Django debug page (DEBUG = True) exposed",
        ),
        DebugKind::PythonTraceback => (
            Severity::Medium,
            "python-traceback",
            "Python traceback in response",
        ),
        DebugKind::BotocoreClientError => (
            Severity::Medium,
            "botocore-clienterror",
            "AWS botocore ClientError text in response",
        ),
        DebugKind::JavaStackTrace => (
            Severity::Medium,
            "java-stack-trace",
            "Java stack trace in response",
        ),
        DebugKind::NodeStackTrace => (
            Severity::Medium,
            "node-stack-trace",
            "Node.js stack trace in response",
        ),
        DebugKind::RailsError => (
            Severity::Medium,
            "rails-error",
            "Rails error page in response",
        ),
        DebugKind::AspNetYsod => (
            Severity::Medium,
            "aspnet-error",
            "ASP.NET error page in response",
        ),
        DebugKind::PhpError => (
            Severity::Medium,
            "php-error",
            "PHP error with stack trace in response",
        ),
        DebugKind::SqlError => (
            Severity::Medium,
            "sql-error",
            "SQL error message in response",
        ),
    }
}

impl Check for DebugPages {
    fn inspect(&self, exchange: &Arc<Exchange>) -> Outcome {
        let description = format!(
            "The response (HTTP {}) contains debugging output that reveals the application's internals.",
            exchange.response.status
        );
        Ok(drafts_by_kind(
            exchange,
            detect::find_debug_output(exchange.body_text(), exchange.content_type()),
            |kind, _| {
                let (severity, key, title) = describe(kind);
                Some(Worded {
                    severity,
                    key,
                    title: title.to_string(),
                    description: description.clone(),
                })
            },
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::probe::fixtures::{graded, inspected, Answer};

    const TRACEBACK: &str = "Traceback (most recent call last):\n  File \"/app/api/orders.py\", line 42, in get_order\n    item = table.get_item(Key=key)\nKeyError: 'order_id'";
    const WERKZEUG: &str = "<!doctype html><title>KeyError: 'order_id' // Werkzeug Debugger</title>\n<div class=\"debugger\">";
    const BOTOCORE: &str = "An error occurred (ResourceNotFoundException) when calling the GetItem operation: Requested resource not found";

    /// The (key, severity) of each finding on an answer.
    fn judged(answer: Answer) -> Vec<(String, Severity)> {
        graded(&inspected(&DebugPages, &answer.exchange()))
    }

    #[test]
    fn each_kind_of_debugging_output_is_one_finding_at_its_severity() {
        let both = format!(
            r#"{{"error": "{}", "detail": "{}"}}"#,
            BOTOCORE,
            TRACEBACK.replace('\n', "\\n").replace('"', "\\\"")
        );
        for (answer, expected) in [
            (
                Answer::new(500, &format!("{WERKZEUG}\n{TRACEBACK}"))
                    .headers(&[("Content-Type", "text/html")]),
                vec![("werkzeug-debugger", Severity::Critical)],
            ),
            (
                Answer::new(500, &both).headers(&[("Content-Type", "application/json")]),
                vec![
                    ("python-traceback", Severity::Medium),
                    ("botocore-clienterror", Severity::Medium),
                ],
            ),
            // Debugging output is a finding whatever the status.
            (
                Answer::new(200, TRACEBACK),
                vec![("python-traceback", Severity::Medium)],
            ),
        ] {
            let expected: Vec<(String, Severity)> = expected
                .into_iter()
                .map(|(k, s)| (k.to_string(), s))
                .collect();
            assert_eq!(judged(answer), expected);
        }
        let drafts = inspected(&DebugPages, &Answer::new(502, TRACEBACK).exchange());
        assert!(
            drafts[0].description.contains("(HTTP 502)"),
            "{}",
            drafts[0].description
        );
    }

    #[test]
    fn plain_errors_static_files_and_half_a_trace_are_no_finding() {
        for answer in [
            Answer::new(500, r#"{"error": "internal error", "request_id": "r-1"}"#),
            Answer::new(500, ""),
            Answer::new(200, TRACEBACK).headers(&[("Content-Type", "application/javascript")]),
            Answer::new(500, "Traceback (most recent call last):").truncated(),
            Answer::new(200, "<p>How to read a Traceback in Python</p>"),
        ] {
            assert!(judged(answer).is_empty());
        }
    }
}
