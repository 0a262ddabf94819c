//! Secrets returned in API responses.
//!
//! APIs sometimes serialise whole configuration or credential records: cloud
//! access keys, private keys, tokens minted for other services. Anyone who can
//! call the endpoint then holds those secrets and can act as the API itself.

use std::sync::Arc;

use super::{drafts_by_kind, is_token_endpoint, Worded};
use crate::checks::{Check, CheckMeta, Mode, Outcome, RunsOn};
use crate::detect::{self, SecretKind};
use crate::engine::Exchange;
use crate::facts::Needs;
use crate::finding::{Category, Severity};

pub struct Secrets;

pub static META: CheckMeta = CheckMeta {
    check: &Secrets,
    id: "exposure.secrets",
    category: Category::DataExposure,
    severity: Severity::Critical,
    summary: "Cloud keys, private keys and tokens returned in response bodies",
    mode: Mode::Passive,
    runs_on: RunsOn::Exchanges,
    min_identities: 0,
    needs: Needs::NOTHING,
};

fn describe(kind: SecretKind) -> (Severity, &'static str, &'static str) {
    match kind {
        SecretKind::AwsAccessKeyId => (Severity::High, "aws-access-key-id", "AWS access key id"),
        SecretKind::AwsSecretAccessKey => (
            Severity::Critical,
            "aws-secret-access-key",
            "AWS secret access key",
        ),
        SecretKind::PrivateKey => (Severity::Critical, "private-key", "private key"),
        SecretKind::Jwt => (Severity::Medium, "jwt", "JWT bearer token"),
        SecretKind::GenericApiToken => (Severity::High, "api-token", "third-party API token"),
    }
}

impl Check for Secrets {
    fn inspect(&self, exchange: &Arc<Exchange>) -> Outcome {
        let mut detections = detect::find_secrets(exchange.body_text(), exchange.body_json());
        // Handing out tokens is a login endpoint's job. And a credential this
        // very request carried (the scanner's own `-H` header, an identity's
        // key or token) that comes back is the caller's own, whatever its
        // kind: it leaks nothing the caller did not have.
        let token_endpoint = is_token_endpoint(exchange.endpoint_path());
        let sent = |secret: &str| {
            exchange.request.headers.iter().any(|(_, value)| {
                value.contains(secret) || (value.len() >= 8 && secret.contains(value.as_str()))
            })
        };
        let handed_out = |kind| kind == SecretKind::Jwt && token_endpoint;
        detections.retain(|d| !(sent(&d.matched) || handed_out(d.kind)));
        Ok(drafts_by_kind(exchange, detections, |kind, found| {
            let (severity, key, label) = describe(kind);
            Some(Worded {
                    severity,
                    key,
                    title: format!("{} returned in clear", capitalise(label)),
                    description: format!(
                        "The response contains {} {label} value(s); whoever can call this endpoint obtains them.",
                        found.len()
                    ),
                })
        }))
    }
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::probe::fixtures::{exchange, sent_with};
    use crate::finding::FindingDraft;

    const JWT: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkphbmUifQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";

    fn keys(drafts: &[FindingDraft]) -> Vec<&str> {
        drafts.iter().map(|d| d.key.as_str()).collect()
    }

    #[test]
    fn a_token_is_reported_unless_it_is_the_callers_own_or_a_login_answer() {
        let body = format!(r#"{{"service_token": "{JWT}"}}"#);
        let leaked = exchange("http://h/api/config?rampart_cb=1", None, 200, &[], &body);
        assert_eq!(keys(&Secrets.inspect(&leaked).unwrap()), vec!["jwt"]);
        let own = exchange(
            "http://h/api/me?rampart_cb=1",
            Some("alice"),
            200,
            &[],
            &body,
        );
        let own = sent_with(own, &[("Authorization", &format!("Bearer {JWT}"))]);
        assert!(Secrets.inspect(&own).unwrap().is_empty());
        let login = exchange("http://h/api/login?rampart_cb=1", None, 200, &[], &body);
        assert!(Secrets.inspect(&login).unwrap().is_empty());
    }

    #[test]
    fn the_callers_own_credential_echoed_back_is_no_leak_whatever_its_kind() {
        let key = "AKIAQ3EGRLABDEMO7XYZ";
        let body = format!(r#"{{"headers": {{"X-Aws-Key": "{key}"}}}}"#);
        let url = "http://h/api/debug/echo?rampart_cb=1";
        let echoed = sent_with(exchange(url, None, 200, &[], &body), &[("X-Aws-Key", key)]);
        assert!(Secrets.inspect(&echoed).unwrap().is_empty());
        // The same key in an answer to a request that did not carry it leaks.
        let leaked = exchange(url, None, 200, &[], &body);
        assert_eq!(
            keys(&Secrets.inspect(&leaked).unwrap()),
            vec!["aws-access-key-id"]
        );
    }
}
