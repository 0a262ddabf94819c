//! Shared plumbing of the checks that sign requests themselves with the
//! signing recipe an identity file gave (`signing.request-replay`,
//! `signing.partial-coverage`). Without a recipe those checks do nothing.
//!
//! Every finding of theirs rests on a control: a correctly signed request is
//! accepted and the same request with a corrupted signature is refused, so
//! the server is known to verify signatures on the endpoint. Where a
//! corrupted signature is accepted too, signatures are not verified at all —
//! `signing.signature-optional`'s business, not theirs.

use std::sync::Arc;

use bytes::Bytes;
use serde_json::Value;
use url::Url;

use crate::checks::probe::success_json;
use crate::checks::{ProbeContext, Skip};
use crate::discover::safety::credential_word;
use crate::discover::Endpoint;
use crate::engine::{Caller, Exchange, Probe, SignOptions, Signing};
use crate::facts::cache_profile::is_hit;
use crate::finding::FindingDraft;
use crate::identity::signing::SigningRecipe;

/// The request a check signs for one endpoint: its method, URL (without a
/// cache buster) and, for state-changing endpoints, its JSON body.
#[derive(Debug, Clone)]
pub(crate) struct Planned {
    pub method: String,
    pub url: Url,
    pub body: Option<Bytes>,
    pub content_type: Option<String>,
}

impl Planned {
    /// The endpoint's request, or `None` when its URL cannot be built.
    /// State-changing endpoints only reach a check under `--active`.
    pub fn for_endpoint(ctx: &ProbeContext<'_>, endpoint: &Endpoint) -> Option<Self> {
        let url = ctx.url(endpoint)?;
        let json_body = endpoint
            .body_content_type
            .as_deref()
            .is_none_or(|t| t.contains("json"));
        let body = match (&endpoint.body_sample, endpoint.is_read_only()) {
            (Some(sample), false) if json_body => Some(Bytes::from(sample.to_string())),
            _ => None,
        };
        Some(Planned {
            method: endpoint.method.clone(),
            url,
            content_type: body.as_ref().map(|_| "application/json".to_string()),
            body,
        })
    }

    /// A probe of this request to `url` (with `body` instead of the planned
    /// one when given), sent as `who` and signed as `signing` says.
    pub fn probe(
        &self,
        endpoint: &Endpoint,
        url: Url,
        body: Option<Bytes>,
        who: &str,
        signing: Signing,
    ) -> Probe {
        let mut probe = Probe::get(url)
            .as_caller(Caller::Identity(who.to_string()))
            .template(Some(endpoint.path.clone()))
            .signing(signing);
        probe.method = self.method.clone().into();
        probe.headers = endpoint.sample_headers();
        probe.body = body.or_else(|| self.body.clone());
        if let (Some(_), Some(content_type)) = (&probe.body, &self.content_type) {
            probe
                .headers
                .push(("Content-Type".into(), content_type.clone()));
        }
        probe
    }
}

/// The identities that have a signing recipe, with it, in scan order.
pub(crate) fn signers<'a>(ctx: &ProbeContext<'a>) -> Vec<(String, &'a SigningRecipe)> {
    ctx.engine
        .identities()
        .into_iter()
        .filter_map(|i| {
            let recipe = ctx.engine.signing_recipe(&i.name)?;
            Some((i.name, recipe))
        })
        .collect()
}

/// The server accepted the request: a 2xx with JSON data that no cache
/// served (a cache hit says nothing about what the server verifies).
pub(crate) fn accepted(exchange: &Arc<Exchange>) -> bool {
    success_json(exchange) && !is_hit(exchange)
}

/// The server refused the request (429 is a rate limit, not a verdict).
pub(crate) fn refused(exchange: &Exchange) -> bool {
    (400..500).contains(&exchange.response.status) && exchange.response.status != 429
}

/// The shape of a JSON answer: its keys, or the keys of its first item.
fn shape(value: &Value) -> Option<Vec<&str>> {
    match value {
        Value::Object(map) if !map.contains_key("error") => {
            let mut keys: Vec<&str> = map.keys().map(String::as_str).collect();
            keys.sort_unstable();
            Some(keys)
        }
        Value::Array(items) => items.first().and_then(shape),
        _ => None,
    }
}

/// Two answers that carry the same kind of data: the same status, and the
/// same body or JSON of the same shape (fields that change per request,
/// such as a request id or a server time, don't matter).
pub(crate) fn same_answer(a: &Exchange, b: &Exchange) -> bool {
    if a.response.status != b.response.status {
        return false;
    }
    if a.response.body == b.response.body && !a.response.truncated {
        return true;
    }
    match (a.body_json().and_then(shape), b.body_json().and_then(shape)) {
        (Some(x), Some(y)) => x == y,
        _ => false,
    }
}

/// A correctly signed request that was accepted, and the same request with
/// a corrupted signature that was refused.
pub(crate) struct Control<'a> {
    /// The identity whose recipe signed both.
    pub who: String,
    /// That identity's signing recipe.
    pub recipe: &'a SigningRecipe,
    /// The endpoint's request, as the control planned it.
    pub planned: Planned,
    /// The accepted request, ready to be sent again unchanged (same URL,
    /// same timestamp and nonce, hence the same signature).
    pub genuine_probe: Probe,
    pub genuine: Arc<Exchange>,
    pub corrupted: Arc<Exchange>,
}

impl Control<'_> {
    /// `draft` with the control's two requests as its first evidence.
    pub fn evidence(&self, draft: FindingDraft) -> FindingDraft {
        draft
            .evidence(
                format!("{}'s correctly signed request is accepted", self.who),
                &self.genuine,
                None,
            )
            .evidence(
                "The same request with a corrupted signature is refused: signatures are verified",
                &self.corrupted,
                None,
            )
    }
}

/// Plans the endpoint's request and finds its control: the first signing
/// identity whose correctly signed request (signed with `options`, on a
/// fresh URL) is accepted; why there is none when the request cannot be
/// planned, when no signed request is accepted, or when the server also
/// accepts a corrupted signature (it does not verify signatures here).
pub(crate) async fn control<'a>(
    ctx: &ProbeContext<'a>,
    endpoint: &Endpoint,
    options: &SignOptions,
) -> Result<Control<'a>, Skip> {
    let signers = signers(ctx);
    if signers.is_empty() {
        return Err(Skip::Missing("no identity has a signing recipe"));
    }
    // Writes are replayed and tampered with: never on a credential, never
    // a deletion of the identity's data.
    if !endpoint.is_read_only() {
        if let Some(word) = credential_word(endpoint) {
            return Err(Skip::ChangesCredentials(word.to_string()));
        }
        if endpoint.method == "DELETE" {
            return Err(Skip::NotApplicable(
                "replaying a DELETE would remove the identity's data",
            ));
        }
    }
    let Some(planned) = Planned::for_endpoint(ctx, endpoint) else {
        return Err(Skip::NoSampleValue);
    };
    for (who, recipe) in signers {
        let url = ctx.fresh(&planned.url);
        let genuine_probe =
            planned.probe(endpoint, url, None, &who, Signing::With(options.clone()));
        let genuine = ctx.engine.send(genuine_probe.clone()).await?;
        if !accepted(&genuine) {
            continue;
        }
        let corrupted_options = SignOptions {
            corrupt: true,
            ..SignOptions::default()
        };
        let url = ctx.fresh(&planned.url);
        let corrupted = ctx
            .engine
            .send(planned.probe(endpoint, url, None, &who, Signing::With(corrupted_options)))
            .await?;
        if !refused(&corrupted) {
            return Err(Skip::Missing("signatures are not verified here"));
        }
        return Ok(Control {
            who,
            recipe,
            planned,
            genuine_probe,
            genuine,
            corrupted,
        });
    }
    Err(Skip::Missing("no correctly signed request is accepted"))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::checks::probe::fixtures::exchange;

    pub(crate) fn answer(status: u16, body: &str, headers: &[(&str, &str)]) -> Arc<Exchange> {
        let url = "http://h/api/orders?limit=5&rampart_cb=1";
        exchange(url, Some("alice"), status, headers, body)
    }

    #[test]
    fn acceptance_needs_fresh_json_data() {
        assert!(accepted(&answer(200, r#"{"orders":[1]}"#, &[])));
        assert!(!accepted(&answer(200, "{}", &[])));
        assert!(!accepted(&answer(401, r#"{"error":"bad signature"}"#, &[])));
        assert!(!accepted(&answer(
            200,
            r#"{"orders":[1]}"#,
            &[("X-Cache", "HIT")]
        )));
        assert!(refused(&answer(401, "", &[])));
        assert!(refused(&answer(403, "", &[])));
        assert!(!refused(&answer(429, "", &[])));
        assert!(!refused(&answer(500, "", &[])));
    }

    #[test]
    fn same_answer_ignores_per_request_values_but_not_errors() {
        let a = answer(200, r#"{"orders":[1],"request_id":"a"}"#, &[]);
        let b = answer(200, r#"{"request_id":"b","orders":[2]}"#, &[]);
        assert!(same_answer(&a, &b));
        assert!(!same_answer(&a, &answer(401, r#"{"orders":[1]}"#, &[])));
        assert!(!same_answer(
            &a,
            &answer(200, r#"{"error":"replayed","request_id":"c"}"#, &[])
        ));
        assert!(same_answer(
            &answer(200, r#"[{"id":1}]"#, &[]),
            &answer(200, r#"[{"id":2}]"#, &[])
        ));
    }
}
