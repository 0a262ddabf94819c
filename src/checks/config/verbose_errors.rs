//! Verbose error pages on unknown routes.
//!
//! What a server answers to a path it does not have is the first thing a
//! scanner sees. Debug-mode framework pages list every route the
//! application has (Django's "Using the URLconf defined in…", Rails'
//! routing error); hand-written handlers "helpfully" list the available
//! endpoints; default pages print the server and its version. Each one
//! maps the attack surface for the attacker. (Stack traces on such pages
//! are `exposure.debug-page`.)

use std::sync::{Arc, LazyLock};

use async_trait::async_trait;
use regex::Regex;

use crate::checks::probe::TargetContext;
use crate::checks::{Check, CheckMeta, Mode, Outcome, RunsOn};
use crate::engine::{Exchange, Probe};
use crate::facts::Needs;
use crate::finding::{Category, Confidence, FindingDraft, Severity};

pub struct VerboseErrors;

pub static META: CheckMeta = CheckMeta {
    check: &VerboseErrors,
    id: "config.verbose-errors",
    category: Category::Configuration,
    severity: Severity::Medium,
    summary: "Error pages on unknown routes that list the application's routes or name the server's version",
    mode: Mode::Active,
    runs_on: RunsOn::Target,
    min_identities: 0,
    needs: Needs::NOTHING,
};

/// What an error page gave away: `(key, severity, what)`.
fn disclosures(exchange: &Exchange) -> Vec<(&'static str, Severity, String)> {
    static SERVER_VERSION: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?i)\b(apache|nginx|werkzeug|jetty|tomcat|express|uvicorn|gunicorn|iis|openresty|php|python)/\d+(\.\d+)+")
            .expect("server version regex")
    });
    let body = exchange.body_text();
    let mut out = Vec::new();
    if body.contains("Using the URLconf defined in") {
        out.push((
            "django-routes",
            Severity::Medium,
            "Django's debug page, with every URL pattern of the application".to_string(),
        ));
    } else if body.contains("Routing Error") && body.contains("Routes") {
        out.push((
            "rails-routes",
            Severity::Medium,
            "Rails' routing error page, with the application's routes".to_string(),
        ));
    } else if let Some(routes) = listed_routes(exchange) {
        out.push((
            "route-list",
            Severity::Low,
            format!(
                "a list of {} of the application's routes ({}…)",
                routes.len(),
                routes
                    .iter()
                    .take(3)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    }
    if body.contains("Whitelabel Error Page") {
        out.push((
            "spring-whitelabel",
            Severity::Info,
            "Spring Boot's default error page".to_string(),
        ));
    }
    if let Some(found) = SERVER_VERSION.find(body) {
        out.push((
            "server-version",
            Severity::Low,
            format!("the server's name and version (`{}`)", found.as_str()),
        ));
    }
    out
}

/// Paths an error answer lists (three or more strings that look like
/// routes, in JSON).
fn listed_routes(exchange: &Exchange) -> Option<Vec<String>> {
    let json = exchange.body_json()?;
    let mut routes = Vec::new();
    crate::facts::visit_leaves(json, 8, &mut |_, value| {
        if let serde_json::Value::String(s) = value {
            let looks_like_route = s.starts_with('/')
                && s.len() > 1
                && s.len() < 200
                && !s.contains(char::is_whitespace);
            let requested = crate::engine::exchange::url_path(&exchange.request.url);
            if looks_like_route && s != requested && !routes.contains(s) {
                routes.push(s.clone());
            }
        }
        routes.len() < 50
    });
    (routes.len() >= 3).then_some(routes)
}

#[async_trait]
impl Check for VerboseErrors {
    async fn probe_target(&self, ctx: &TargetContext<'_>) -> Outcome {
        let mut misses: Vec<Arc<Exchange>> = ctx.facts.reach.route_misses.clone();
        if misses.is_empty() {
            let path = format!("/rampart-{}-missing", ctx.engine.buster().next_token());
            misses.push(
                ctx.engine
                    .send(Probe::get(ctx.engine.url_for(&path)?))
                    .await?,
            );
        }
        let mut drafts = Vec::new();
        for miss in &misses {
            for (key, severity, what) in disclosures(miss) {
                if drafts.iter().any(|d: &FindingDraft| d.key == key) {
                    continue;
                }
                let mut draft = FindingDraft::at_exchange(miss, severity, Confidence::Confirmed)
                    .title(format!("Error page on unknown routes shows {what}"))
                    .description(format!(
                        "Asked for a path that cannot exist, the server answered HTTP {} with {what}. \
                         Answer unknown routes with a short, generic error.",
                        miss.response.status
                    ))
                    .key(key)
                    .evidence("The answer to a path that cannot exist", miss, None);
                draft.head.method = "GET".into();
                draft.head.path = "/".into();
                drafts.push(draft);
            }
        }
        Ok(drafts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::probe::fixtures::Answer;

    fn keys(status: u16, content_type: &str, body: &str) -> Vec<(&'static str, Severity)> {
        let exchange = Answer::new(status, body)
            .at("http://h/rampart-1-missing")
            .headers(&[("Content-Type", content_type)])
            .exchange();
        disclosures(&exchange)
            .into_iter()
            .map(|(k, s, _)| (k, s))
            .collect()
    }

    #[test]
    fn route_lists_debug_pages_and_versions_are_disclosures() {
        let listing = r#"{"error": "not found", "path": "/rampart-1-missing",
            "available_routes": ["/api/v2/orders", "/api/v2/users/{id}", "/internal/sync"]}"#;
        assert_eq!(
            keys(404, "application/json", listing),
            vec![("route-list", Severity::Low)]
        );
        assert_eq!(
            keys(
                404,
                "text/html",
                "<h1>Page not found</h1>Using the URLconf defined in shop.urls"
            ),
            vec![("django-routes", Severity::Medium)]
        );
        assert_eq!(
            keys(
                404,
                "text/html",
                "<hr><address>Apache/2.4.41 (Ubuntu) Server at h</address>"
            ),
            vec![("server-version", Severity::Low)]
        );
    }

    #[test]
    fn short_generic_errors_disclose_nothing() {
        assert!(keys(
            404,
            "application/json",
            r#"{"error": "not found", "status": 404}"#
        )
        .is_empty());
        assert!(keys(404, "application/json", r#"{"detail": "Not Found"}"#).is_empty());
        assert!(keys(404, "text/html", "<h1>Not Found</h1>").is_empty());
        assert!(keys(404, "application/json", "{not json").is_empty());
    }
}
