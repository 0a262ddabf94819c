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

static META: CheckMeta = CheckMeta {
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
    fn meta(&self) -> &'static CheckMeta {
        &META
    }

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
