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

use async_trait::async_trait;

use serde_json::Value;
use url::Url;

use crate::checks::probe::{sample_body_with, success_json};
use crate::checks::{Check, Family, Outcome, ProbeContext, Skip};
use crate::discover::{Endpoint, ParamLocation, Parameter};
use crate::engine::{Caller, EngineError, Exchange};
use crate::facts::identities::is_id_param;
use crate::finding::FindingDraft;

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

/// A body field that holds a password (`password`, `new_password`,
/// `passwd`, `pwd`).
pub(crate) fn is_password_field(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n.contains("password") || n == "passwd" || n == "pwd"
}

/// A login endpoint and the names of its (user, password) fields.
pub(crate) struct LoginForm<'a> {
    pub endpoint: &'a Endpoint,
    pub fields: (String, String),
}

impl<'a> LoginForm<'a> {
    /// `endpoint`'s form, when it is a login ([`login_fields`]).
    pub(crate) fn of(endpoint: &'a Endpoint) -> Option<Self> {
        Some(LoginForm {
            endpoint,
            fields: login_fields(endpoint)?,
        })
    }

    /// The name of the field that takes the user.
    pub(crate) fn user_field(&self) -> &str {
        &self.fields.0
    }

    /// A login (the endpoint's sample body, the login fields set) as
    /// `user` with `password`.
    pub(crate) fn body(&self, user: &str, password: &str) -> Value {
        let (user_field, password_field) = &self.fields;
        let fields = [(user_field, user), (password_field, password)];
        let mut body = sample_body_with(
            self.endpoint,
            fields.map(|(field, value)| (field.clone(), Value::String(value.to_string()))),
        );
        // An OAuth2 password grant says which grant it is; the spec's
        // sample of that field is a placeholder.
        if let Value::Object(map) = &mut body {
            if self.endpoint.token_endpoint || map.contains_key("grant_type") {
                map.insert("grant_type".into(), Value::String("password".into()));
            }
        }
        body
    }
}

/// An endpoint check that sends failed logins to a login endpoint; run as
/// [`OnLogins`].
#[async_trait]
pub(crate) trait FailedLogins: Send + Sync {
    /// Probes one login endpoint.
    async fn probe_login(&self, ctx: &ProbeContext<'_>, login: &LoginForm<'_>) -> Outcome;
}

/// A [`FailedLogins`] check as the runner holds it: it probes login
/// endpoints only, and, since its failed logins may get every login of
/// this client throttled, after every other probe of the scan.
pub(crate) struct OnLogins<C>(pub C);

#[async_trait]
impl<C: FailedLogins> Check for OnLogins<C> {
    fn spends_login_budget(&self) -> bool {
        true
    }

    async fn probe(&self, ctx: &ProbeContext<'_>, endpoint: &Endpoint) -> Outcome {
        let Some(login) = LoginForm::of(endpoint) else {
            return Err(Skip::NotApplicable("not a login endpoint"));
        };
        self.0.probe_login(ctx, &login).await
    }
}

pub(crate) fn caller(name: &str) -> Caller {
    Caller::Identity(name.to_string())
}

/// How a check that compares identities pair by pair went, while no pair
/// has shown a finding.
pub(crate) struct Pairs {
    judged: bool,
    /// Why no pair could be compared, if none could.
    unjudged: Skip,
}

impl Pairs {
    /// Before the first pair: `unjudged` when no pair can be tried at all.
    pub(crate) fn new(unjudged: Skip) -> Self {
        Pairs {
            judged: false,
            unjudged,
        }
    }

    /// A pair could not be compared, for this reason.
    pub(crate) fn unjudged(&mut self, why: Skip) {
        self.unjudged = why;
    }

    /// A pair was compared.
    pub(crate) fn judged(&mut self) {
        self.judged = true;
    }

    /// No pair showed a finding: nothing found when any pair was compared,
    /// else why none could be.
    pub(crate) fn outcome(self) -> Outcome {
        if self.judged {
            Ok(Vec::new())
        } else {
            Err(self.unjudged)
        }
    }
}

/// The anonymous control of a cross-identity claim that held: the same
/// request without any credential, which did not get the owner's data.
pub(crate) struct Control {
    exchange: Arc<Exchange>,
    /// The words of its evidence step.
    step: String,
}

impl Control {
    /// The claim's finding, with the control as its last evidence step.
    pub(crate) fn prove(self, draft: FindingDraft) -> Outcome {
        Ok(vec![draft.evidence(self.step, &self.exchange, None)])
    }
}

/// A cross-identity read, judged: `answer`, `reader`'s request for `url`,
/// shows `owner`'s data and none of `reader`'s own, while the same request
/// without a credential (on a fresh buster) does not get it. `Some` with
/// that anonymous control when all of that holds; `None` also when the
/// anonymous request gets `owner`'s data — then the data is public, the
/// claim is not about who may read it, and `authz.missing-auth` judges the
/// endpoint instead.
pub(crate) async fn read_across(
    ctx: &ProbeContext<'_>,
    endpoint: &Endpoint,
    (url, answer): (&Url, &Exchange),
    reader: &str,
    owner: &str,
) -> Result<Option<Control>, EngineError> {
    let owners = ctx.facts.identities.owners_of(answer);
    if !success_json(answer) || !owners.contains(owner) || owners.contains(reader) {
        return Ok(None);
    }
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
    Ok(Some(Control {
        exchange: anonymous,
        step,
    }))
}
