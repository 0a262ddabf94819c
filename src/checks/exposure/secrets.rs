//! Secrets returned in API responses.
//!
//! APIs sometimes serialise whole configuration or credential records: cloud
//! access keys, private keys, tokens minted for other services. Anyone who can
//! call the endpoint then holds those secrets and can act as the API itself.

use std::sync::Arc;

use super::{drafts_by_kind, is_token_endpoint, Worded};
use crate::checks::{Check, CheckMeta, Mode};
use crate::detect::{self, SecretKind};
use crate::engine::Exchange;
use crate::facts::Needs;
use crate::finding::{Category, FindingDraft, Severity};

pub struct Secrets;

static META: CheckMeta = CheckMeta {
    id: "exposure.secrets",
    category: Category::DataExposure,
    severity: Severity::Critical,
    summary: "Cloud keys, private keys and tokens returned in response bodies",
    mode: Mode::Passive,
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
    fn meta(&self) -> &'static CheckMeta {
        &META
    }

    fn inspect(&self, exchange: &Arc<Exchange>) -> Vec<FindingDraft> {
        let body = exchange.body_text();
        let detections = detect::find_secrets(body, exchange.body_json());
        let token_endpoint = is_token_endpoint(exchange.endpoint_path());
        drafts_by_kind(exchange, detections, |kind, found| {
            if kind == SecretKind::Jwt {
                // Handing out tokens is a login endpoint's job, and echoing
                // the caller's own token leaks nothing new.
                found.retain(|d| {
                    !exchange
                        .request
                        .headers
                        .iter()
                        .any(|(_, v)| v.contains(d.matched.as_str()))
                });
                if token_endpoint || found.is_empty() {
                    return None;
                }
            }
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
        })
    }
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}
