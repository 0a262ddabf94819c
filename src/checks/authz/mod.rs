//! Authorization: who can read or change whose objects (BOLA/IDOR), who can
//! get in without credentials, and which properties a caller may see or set.
//!
//! The family works from what each identity's own baseline responses reveal
//! ([`crate::facts::IdentityFacts`]): the values that identify the identity
//! (its user id, username, email) and the identifiers of objects it owns. A
//! leak is proven when one identity's request returns values that identify
//! another.

pub mod bola;
pub mod excessive_exposure;
pub mod guessable_ids;
pub mod login_rate_limit;
pub mod mass_assignment;
pub mod missing_auth;
pub mod subject_from_url;
pub mod user_enumeration;

use std::sync::Arc;

use serde_json::Value;
use url::Url;

use crate::checks::probe::sample_body_with;
use crate::checks::{Family, ProbeContext};
use crate::discover::{Endpoint, ParamLocation};
use crate::engine::{Caller, EngineError, Exchange};
use crate::facts::identities::is_id_param;

/// The family's checks, in the order `rampart checks` lists them.
pub static FAMILY: Family = Family {
    module: module_path!(),
    checks: &[
        &bola::META,
        &subject_from_url::META,
        &missing_auth::META,
        &guessable_ids::META,
        &excessive_exposure::META,
        &mass_assignment::META,
        &user_enumeration::META,
        &login_rate_limit::META,
    ],
};

/// The endpoint's URL with identifier parameters filled with `who`'s own
/// values (others from the spec's samples). `None` when an identifier of
/// `who` is unknown and the spec gives no sample.
pub(crate) fn url_as(
    ctx: &ProbeContext<'_>,
    endpoint: &Endpoint,
    who: &str,
    spec_fallback: bool,
) -> Option<(Url, Vec<String>)> {
    let facts = &ctx.facts.identities;
    let mut filled = endpoint.clone();
    let mut substituted = Vec::new();
    for param in filled.parameters.iter_mut() {
        if !matches!(param.location, ParamLocation::Path | ParamLocation::Query)
            || !is_id_param(&param.name)
        {
            continue;
        }
        match facts.value_for(who, &param.name) {
            Some(value) => {
                param.sample = Some(value);
                substituted.push(param.name.clone());
            }
            None if spec_fallback => {}
            None => return None,
        }
    }
    let url = ctx.url(&filled)?;
    Some((ctx.fresh(&url), substituted))
}

/// Identity names in scan order.
pub(crate) fn identity_names(ctx: &ProbeContext<'_>) -> Vec<String> {
    ctx.engine
        .identities()
        .iter()
        .map(|i| i.name.clone())
        .collect()
}

/// The login endpoint's field names: (user field, password field).
pub(crate) fn login_fields(endpoint: &Endpoint) -> Option<(String, String)> {
    let path = endpoint.path.to_ascii_lowercase();
    let is_login = endpoint.method == "POST"
        && ["login", "signin", "sign-in", "token", "session", "auth"]
            .iter()
            .any(|w| path.contains(w));
    let Some(Value::Object(body)) = endpoint.body_sample.as_ref().filter(|_| is_login) else {
        return None;
    };
    let find = |words: &[&str]| {
        body.keys()
            .find(|k| words.iter().any(|w| k.to_ascii_lowercase() == *w))
            .cloned()
    };
    Some((
        find(&["username", "user", "email", "login", "user_name"])?,
        find(&["password", "passwd", "pass", "pwd"])?,
    ))
}

/// A login for `endpoint` (its sample body, the login fields set) as
/// `user` with `password`.
pub(crate) fn login_body(
    endpoint: &Endpoint,
    (user_field, password_field): &(String, String),
    user: &str,
    password: &str,
) -> Value {
    let fields = [(user_field, user), (password_field, password)];
    sample_body_with(
        endpoint,
        fields.map(|(field, value)| (field.clone(), Value::String(value.to_string()))),
    )
}

pub(crate) fn caller(name: &str) -> Caller {
    Caller::Identity(name.to_string())
}

/// The anonymous control of a cross-identity claim: the same URL (on a
/// fresh buster) without any credential. `Some` with the exchange and the
/// words for its evidence step when it does not get `owner`'s data; `None`
/// when it does — then the data is public, the claim is not about who may
/// read it, and `authz.missing-auth` judges the endpoint instead.
pub(crate) async fn anonymous_control(
    ctx: &ProbeContext<'_>,
    endpoint: &Endpoint,
    url: &Url,
    owner: &str,
) -> Result<Option<(Arc<Exchange>, String)>, EngineError> {
    let anonymous = ctx
        .get(endpoint, &ctx.fresh(url), &Caller::Anonymous, &[])
        .await?;
    if ctx.facts.identities.owners_of(&anonymous).contains(owner) {
        return Ok(None);
    }
    let status = anonymous.response.status;
    let step = if status >= 400 {
        format!("The same request without any credential is refused (HTTP {status})")
    } else {
        format!(
            "The same request without any credential gets none of {owner}'s data (HTTP {status})"
        )
    };
    Ok(Some((anonymous, step)))
}
