//! Technology banners and version disclosure.
//!
//! `Server: Werkzeug/3.1.3 Python/3.12.3`, `X-Powered-By: Express`,
//! `X-AspNet-Version: 4.0.30319`: headers that tell every visitor which
//! software answers, and often which version, so an attacker can go
//! straight to the known vulnerabilities of that version instead of
//! probing. Each banner is one finding for the whole deployment, however
//! many answers carry it.

use std::sync::{Arc, LazyLock};

use regex::Regex;

use super::deployment_draft;
use crate::checks::{Check, CheckMeta, Mode, Outcome, RunsOn};
use crate::engine::Exchange;
use crate::facts::Needs;
use crate::finding::{Category, Severity};

pub struct Banners;

pub static META: CheckMeta = CheckMeta {
    check: &Banners,
    id: "config.banners",
    category: Category::Configuration,
    severity: Severity::Low,
    summary: "Server, X-Powered-By and framework headers that name the software and its version",
    mode: Mode::Passive,
    runs_on: RunsOn::Exchanges,
    min_identities: 0,
    needs: Needs::NOTHING,
};

/// Headers whose only purpose is to name the software.
const FRAMEWORK_HEADERS: &[&str] = &[
    "x-powered-by",
    "x-aspnet-version",
    "x-aspnetmvc-version",
    "x-generator",
    "x-drupal-cache",
    "x-runtime-version",
    "x-framework",
];

/// Server products worth naming even without a version: application
/// servers and frameworks (a bare `nginx` says little).
const TELLING_SERVERS: &[&str] = &[
    "werkzeug",
    "uvicorn",
    "gunicorn",
    "hypercorn",
    "daphne",
    "waitress",
    "tornado",
    "kestrel",
    "jetty",
    "tomcat",
    "express",
    "php",
    "python",
    "openresty",
    "wsgiserver",
    "cheroot",
];

/// `name/1.2` or `name 1.2`: a version number.
fn has_version(value: &str) -> bool {
    static VERSION: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"[A-Za-z][\w.-]*[/ ]v?\d+(\.\d+)+").expect("version regex"));
    VERSION.is_match(value)
        || value
            .trim()
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_digit())
}

impl Check for Banners {
    fn inspect(&self, exchange: &Arc<Exchange>) -> Outcome {
        let mut drafts = Vec::new();
        for (name, value) in &exchange.response.headers {
            let name = name.to_ascii_lowercase();
            let value = value.trim();
            if value.is_empty() {
                continue;
            }
            let versioned = has_version(value);
            let telling = name == "server"
                && TELLING_SERVERS
                    .iter()
                    .any(|s| value.to_ascii_lowercase().contains(s));
            let banner = FRAMEWORK_HEADERS.contains(&name.as_str())
                || (name == "server" && (versioned || telling));
            if !banner {
                continue;
            }
            let (severity, what) = if versioned {
                (Severity::Low, "the software and its version")
            } else {
                (Severity::Info, "the software")
            };
            drafts.push(deployment_draft(
                exchange,
                severity,
                format!("{name}: {value}"),
                format!("`{name}: {value}` names {what}"),
                format!(
                    "Answers carry `{name}: {value}`, which tells anyone {what} behind the API. \
                     It gives an attacker a head start (the known flaws of that version) and \
                     helps no client."
                ),
            ));
        }
        Ok(drafts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::probe::fixtures::{inspected, Answer};

    fn banners(headers: &[(&str, &str)]) -> Vec<(String, Severity, String)> {
        let exchange = Answer::new(200, "{}")
            .at("http://h/api/orders?rampart_cb=1")
            .headers(headers)
            .exchange();
        inspected(&Banners, &exchange)
            .into_iter()
            .map(|d| (d.key, d.head.severity, d.head.path))
            .collect()
    }

    #[test]
    fn versions_are_low_product_names_info_and_every_banner_is_filed_at_the_root() {
        assert_eq!(
            banners(&[
                ("Server", "Werkzeug/3.1.3 Python/3.12.3"),
                ("X-Powered-By", "Express"),
                ("Content-Type", "application/json"),
            ]),
            vec![
                (
                    "server: Werkzeug/3.1.3 Python/3.12.3".to_string(),
                    Severity::Low,
                    "/".to_string()
                ),
                (
                    "x-powered-by: Express".to_string(),
                    Severity::Info,
                    "/".to_string()
                ),
            ]
        );
        assert_eq!(
            banners(&[("server", "uvicorn")]),
            vec![(
                "server: uvicorn".to_string(),
                Severity::Info,
                "/".to_string()
            )]
        );
    }

    #[test]
    fn plain_or_empty_servers_are_no_banner() {
        assert!(banners(&[("Server", "nginx"), ("Server", "")]).is_empty());
        assert!(banners(&[("Server", "cloudflare")]).is_empty());
        assert!(banners(&[]).is_empty());
    }
}
