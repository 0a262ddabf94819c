//! Credentials placed in URLs by the API.
//!
//! A redirect to `…?access_token=…` or a link carrying `api_key=` writes
//! the credential into browser history, server and proxy logs and the
//! `Referer` header sent to the next site.

use std::sync::Arc;

use url::Url;

use crate::checks::{Check, CheckMeta, Mode, Outcome, RunsOn};
use crate::engine::Exchange;
use crate::facts::Needs;
use crate::finding::{Category, Confidence, FindingDraft, Severity};

pub struct CredentialsInUrl;

static META: CheckMeta = CheckMeta {
    id: "transport.credentials-in-url",
    category: Category::Cryptography,
    severity: Severity::Medium,
    summary: "Tokens, keys or passwords placed by the API in redirect URLs",
    mode: Mode::Passive,
    runs_on: RunsOn::Exchanges,
    min_identities: 0,
    needs: Needs::NOTHING,
};

fn is_credential_param(name: &str) -> bool {
    matches!(
        name.to_ascii_lowercase().as_str(),
        "access_token"
            | "id_token"
            | "refresh_token"
            | "api_key"
            | "apikey"
            | "password"
            | "passwd"
            | "secret"
            | "client_secret"
    )
}

impl Check for CredentialsInUrl {
    fn meta(&self) -> &'static CheckMeta {
        &META
    }

    fn inspect(&self, exchange: &Arc<Exchange>) -> Outcome {
        let Some(location) = exchange.response_header("location") else {
            return Ok(Vec::new());
        };
        let base = Url::parse(&exchange.request.url).ok();
        let Some(target) = base.and_then(|b| b.join(location).ok()) else {
            return Ok(Vec::new());
        };
        let Some((name, _)) = target.query_pairs().find(|(n, _)| is_credential_param(n)) else {
            return Ok(Vec::new());
        };
        Ok(vec![FindingDraft::at_exchange(
            exchange,
            Severity::Medium,
            Confidence::Confirmed,
        )
        .title(format!("Redirect carries a credential in `{name}`"))
        .description(format!(
            "The API redirects (HTTP {}) to a URL with `{name}` in its query string.",
            exchange.response.status
        ))
        .parameter(name.into_owned())
        .key("location")
        .evidence(
            "Redirect with a credential in the Location URL",
            exchange,
            None,
        )])
    }
}
