//! Authorization: who can read or change whose objects (BOLA/IDOR), who can
//! get in without credentials, and which properties a caller may see or set.
//!
//! The family works from what each identity's own baseline responses reveal
//! ([`crate::facts::IdentityFacts`]): the values that identify the identity
//! (its user id, username, email) and the identifiers of objects it owns. A
//! leak is proven when one identity's request returns values that identify
//! another.

pub mod account_writes;
pub(crate) mod admin_writes;
pub mod bola;
pub mod created_objects;
pub mod excessive_exposure;
pub mod function_level;
pub mod guessable_ids;
pub mod login_rate_limit;
pub mod mass_assignment;
pub(crate) mod mass_create;
pub mod missing_auth;
pub mod subject_from_url;
pub(crate) mod throwaway;
pub mod user_enumeration;

use std::sync::Arc;

use serde_json::Value;
use url::Url;

use crate::checks::probe::{sample_body_with, success_json};
use crate::checks::{Family, ProbeContext, Skip};
use crate::discover::{Endpoint, ParamLocation, Parameter};
use crate::engine::{Caller, EngineError, Exchange};
use crate::facts::identities::is_id_param;

/// The family's checks, in the order `rampart checks` lists them.
pub static FAMILY: Family = Family {
    module: module_path!(),
    checks: &[
        &bola::META,
        &created_objects::META,
        &account_writes::META,
        &subject_from_url::META,
        &missing_auth::META,
        &guessable_ids::META,
        &function_level::META,
        &excessive_exposure::META,
        &mass_assignment::META,
        &user_enumeration::META,
        &login_rate_limit::META,
    ],
};

/// Whether a parameter addresses an object: every path parameter
/// (`{title}`, `{username}`, `{slug}` as much as `{order_id}`) and query
/// parameters named like identifiers.
pub(crate) fn addresses_object(param: &Parameter) -> bool {
    param.location == ParamLocation::Path
        || param.location == ParamLocation::Query && is_id_param(&param.name)
}

/// The endpoint's URL with the parameters that address objects filled
/// with `who`'s own values — learned by value and by schema from what
/// `who`'s answers showed ([`IdentityFacts::candidates`]), only values no
/// one else sees when `owned` — others from the spec's samples. `None` when
/// a value of `who` is unknown and `spec_fallback` is off. Also returns
/// the names of the parameters filled.
pub(crate) fn url_as(
    ctx: &ProbeContext<'_>,
    endpoint: &Endpoint,
    who: &str,
    spec_fallback: bool,
) -> Option<(Url, Vec<String>)> {
    url_with(ctx, endpoint, who, spec_fallback, false)
}

/// [`url_as`] with only values that are `who`'s alone.
pub(crate) fn url_of_owned(
    ctx: &ProbeContext<'_>,
    endpoint: &Endpoint,
    who: &str,
) -> Option<(Url, Vec<String>)> {
    url_with(ctx, endpoint, who, true, true)
}

fn url_with(
    ctx: &ProbeContext<'_>,
    endpoint: &Endpoint,
    who: &str,
    spec_fallback: bool,
    owned: bool,
) -> Option<(Url, Vec<String>)> {
    let facts = &ctx.facts.identities;
    let mut filled = endpoint.clone();
    let mut substituted = Vec::new();
    for param in filled.parameters.iter_mut() {
        if !addresses_object(param) {
            continue;
        }
        let learned = facts
            .candidates(who, endpoint, param, owned)
            .into_iter()
            .next()
            .or_else(|| {
                is_id_param(&param.name)
                    .then(|| facts.value_for(who, &param.name))
                    .flatten()
            });
        match learned {
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

/// How much a role may do, from its name alone: 3 for the words of
/// administration (`admin`, `superuser`, `root`, `owner`), 0 for the words of
/// ordinary users (`user`, `customer`, `reader`, `guest`), 2 for every other
/// word — a domain role such as `Chef`, `librarian` or `manager` is most
/// often the privileged one beside `Customer`.
pub(crate) fn privilege(role: &str) -> u8 {
    let role = role.to_ascii_lowercase().replace(['-', ' '], "_");
    const HIGH: &[&str] = &[
        "admin",
        "administrator",
        "superuser",
        "super_admin",
        "superadmin",
        "root",
        "owner",
        "sysadmin",
        "god",
    ];
    const LOW: &[&str] = &[
        "user",
        "users",
        "customer",
        "reader",
        "guest",
        "member",
        "viewer",
        "basic",
        "client",
        "anonymous",
        "free",
        "student",
        "patient",
        "buyer",
        "default",
        "standard",
        "regular",
        "public",
        "none",
        "normal",
    ];
    if HIGH.iter().any(|w| {
        role == *w || role.ends_with(&format!("_{w}")) || role.starts_with(&format!("{w}_"))
    }) {
        3
    } else if LOW.contains(&role.as_str()) {
        0
    } else {
        2
    }
}

/// The most privileged of a role enum's values (the later one of equals:
/// enums are most often written from least to most).
pub(crate) fn most_privileged(values: &[Value]) -> Option<&Value> {
    values
        .iter()
        .enumerate()
        .filter_map(|(at, v)| Some((privilege(v.as_str()?), at, v)))
        .max_by_key(|(rank, at, _)| (*rank, *at))
        .map(|(_, _, v)| v)
}

/// The role identity `name` has: the one the user gave, else the one its
/// profile names.
pub(crate) fn role_of(ctx: &ProbeContext<'_>, name: &str) -> Option<String> {
    ctx.engine
        .role(name)
        .map(String::from)
        .or_else(|| ctx.facts.identities.roles.get(name).cloned())
}

/// Whether identity `a` may see `b`'s objects by design: its role ranks
/// above `b`'s, or — where a role is not known, say because a profile could
/// not be read — the baselines served `a` an endpoint that refused `b`.
/// Reading across such a pair is no authorization flaw.
pub(crate) fn outranks(ctx: &ProbeContext<'_>, a: &str, b: &str) -> bool {
    let rank = |name: &str| role_of(ctx, name).map(|r| privilege(&r));
    match (rank(a), rank(b)) {
        (Some(a_rank), Some(b_rank)) => a_rank > b_rank,
        (Some(a_rank), None) => a_rank > 1 || ctx.facts.identities.served_where_refused(a, b),
        (None, _) => ctx.facts.identities.served_where_refused(a, b),
    }
}

/// The identities from least to most privileged: by role where one is
/// known (an unknown role counts as an ordinary one), then by on how many
/// endpoints each got data.
pub(crate) fn by_privilege(ctx: &ProbeContext<'_>) -> Vec<(String, Option<String>)> {
    let mut ranked: Vec<(u8, usize, String, Option<String>)> = identity_names(ctx)
        .into_iter()
        .map(|name| {
            let role = role_of(ctx, &name);
            let rank = role.as_deref().map_or(1, privilege);
            let reach = ctx.facts.identities.reach.get(&name).copied().unwrap_or(0);
            (rank, reach, name, role)
        })
        .collect();
    ranked.sort_by_key(|(rank, reach, _, _)| (*rank, *reach));
    ranked
        .into_iter()
        .map(|(_, _, name, role)| (name, role))
        .collect()
}

/// Identity names in scan order.
pub(crate) fn identity_names(ctx: &ProbeContext<'_>) -> Vec<String> {
    ctx.engine
        .identities()
        .iter()
        .map(|i| i.name.clone())
        .collect()
}

/// The login endpoint's field names: (user field, password field). A
/// login is a POST whose path says so, or the spec's OAuth2 password-flow
/// `tokenUrl` (whose form takes `username` and `password` even when the
/// spec does not describe its body).
pub(crate) fn login_fields(endpoint: &Endpoint) -> Option<(String, String)> {
    let path = endpoint.path.to_ascii_lowercase();
    let is_login = endpoint.token_endpoint
        || endpoint.method == "POST"
            && ["login", "signin", "sign-in", "token", "session", "auth"]
                .iter()
                .any(|w| path.contains(w));
    if !is_login {
        return None;
    }
    let Some(Value::Object(body)) = endpoint.body_sample.as_ref() else {
        return endpoint
            .token_endpoint
            .then(|| ("username".to_string(), "password".to_string()));
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

/// The login fields of `endpoint`, or why a login check skips it.
pub(crate) fn login_endpoint(endpoint: &Endpoint) -> Result<(String, String), Skip> {
    login_fields(endpoint).ok_or(Skip::NotApplicable("not a login endpoint"))
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
    let mut body = sample_body_with(
        endpoint,
        fields.map(|(field, value)| (field.clone(), Value::String(value.to_string()))),
    );
    // An OAuth2 password grant says which grant it is; the spec's sample
    // of that field is a placeholder.
    if let Value::Object(map) = &mut body {
        if endpoint.token_endpoint || map.contains_key("grant_type") {
            map.insert("grant_type".into(), Value::String("password".into()));
        }
    }
    body
}

pub(crate) fn caller(name: &str) -> Caller {
    Caller::Identity(name.to_string())
}

/// A cross-identity read, judged: `answer`, `reader`'s request for `url`,
/// shows `owner`'s data and none of `reader`'s own, while the same request
/// without a credential does not get it. `Some` with the anonymous control
/// and its evidence step when all of that holds.
pub(crate) async fn read_across(
    ctx: &ProbeContext<'_>,
    endpoint: &Endpoint,
    (url, answer): (&Url, &Exchange),
    reader: &str,
    owner: &str,
) -> Result<Option<(Arc<Exchange>, String)>, EngineError> {
    let owners = ctx.facts.identities.owners_of(answer);
    if !success_json(answer) || !owners.contains(owner) || owners.contains(reader) {
        return Ok(None);
    }
    // Public data is not about who may read it (missing-auth judges it).
    anonymous_control(ctx, endpoint, url, owner).await
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
