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

pub static META: CheckMeta = CheckMeta {
    check: &CredentialsInUrl,
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
    fn inspect(&self, exchange: &Arc<Exchange>) -> Outcome {
        Ok(credential_redirect(exchange).into_iter().collect())
    }
}

/// A redirect whose `Location` URL names a credential in its query.
fn credential_redirect(exchange: &Arc<Exchange>) -> Option<FindingDraft> {
    let location = exchange.response_header("location")?;
    let target = Url::parse(&exchange.request.url)
        .ok()?
        .join(location)
        .ok()?;
    let (name, _) = target.query_pairs().find(|(n, _)| is_credential_param(n))?;
    let draft = FindingDraft::at_exchange(exchange, Severity::Medium, Confidence::Confirmed)
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
        );
    Some(draft)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::probe::fixtures::{inspected, Answer};

    fn redirect(status: u16, location: &str) -> Vec<FindingDraft> {
        let answer = Answer::new(status, "").at("https://api.example.test/oauth/callback?code=1");
        inspected(
            &CredentialsInUrl,
            &answer.headers(&[("Location", location)]).exchange(),
        )
    }

    #[test]
    fn a_credential_in_a_redirects_query_is_reported_by_name() {
        for (location, name) in [
            (
                "https://app.example.test/done?access_token=eyJhbGciOi",
                "access_token",
            ),
            ("/welcome?lang=en&API_KEY=k-123", "API_KEY"),
            ("done?client_secret=s3cr3t", "client_secret"),
        ] {
            let drafts = redirect(302, location);
            assert_eq!(drafts.len(), 1, "{location}");
            assert_eq!(drafts[0].parameter.as_deref(), Some(name));
            assert_eq!(
                drafts[0].title,
                format!("Redirect carries a credential in `{name}`")
            );
        }
    }

    #[test]
    fn harmless_locations_fragments_and_broken_ones_are_no_finding() {
        for location in [
            "https://app.example.test/done?code=1&state=abc",
            "/welcome#access_token=in-the-fragment",
            "/token_help?topic=access",
            "http://[::1",
        ] {
            assert!(redirect(302, location).is_empty(), "{location}");
        }
        let plain = Answer::new(200, r#"{"next": "/x?access_token=t"}"#).exchange();
        assert!(
            inspected(&CredentialsInUrl, &plain).is_empty(),
            "only Location is read"
        );
    }
}
