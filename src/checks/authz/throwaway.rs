//! Accounts Rampart registers itself through the API's own sign-up, so that
//! probes which change an account (a password, an email, a role) never
//! touch the user's identities. Each account has a made-up name, a `.invalid`
//! email address and a random password; logging in gives Rampart its own
//! credential, sent the way the user's identities send theirs.

use std::sync::Arc;

use serde_json::{Map, Value};

use super::{is_password_field, login_fields, LoginForm};
use crate::checks::probe::{is_error_body, refuses_encoding, sample_body_with, send_body_with};
use crate::checks::{ProbeContext, Skip};
use crate::discover::Endpoint;
use crate::engine::{Caller, Exchange, Probe};
use crate::facts::identities::is_id_param;

/// Path words of a sign-up.
const SIGN_UP: &[&str] = &["signup", "sign-up", "register", "registration", "join"];

/// Whether `endpoint` registers accounts: a POST whose path says so, or a
/// POST on a `users`/`accounts` collection whose body takes a password.
pub(crate) fn is_sign_up(endpoint: &Endpoint) -> bool {
    let path = endpoint.path.to_ascii_lowercase();
    let last = path.trim_end_matches('/').rsplit('/').next().unwrap_or("");
    endpoint.method == "POST"
        && !endpoint.token_endpoint
        && (SIGN_UP.iter().any(|w| path.contains(w))
            || matches!(last, "users" | "accounts" | "members")
                && password_field(endpoint).is_some())
}

/// The body field that carries a password.
fn password_field(endpoint: &Endpoint) -> Option<String> {
    let names: Vec<String> = match &endpoint.body_sample {
        Some(Value::Object(sample)) => sample.keys().cloned().collect(),
        _ => endpoint
            .request_fields
            .iter()
            .map(|f| f.name.clone())
            .collect(),
    };
    names.into_iter().find(|n| is_password_field(n))
}

/// An account Rampart registered.
#[derive(Debug, Clone)]
pub(crate) struct Account {
    pub username: String,
    pub password: String,
    /// Its identifier where the sign-up answer gives one (`id`, `user_id`).
    pub id: Option<String>,
    /// The sign-up exchange (evidence).
    pub signed_up: Arc<Exchange>,
}

/// The sign-up and login endpoints of the API, when it has both.
pub(crate) fn flows<'a>(ctx: &'a ProbeContext<'_>) -> Option<(&'a Endpoint, &'a Endpoint)> {
    let endpoints = &ctx.facts.endpoints;
    let sign_up = endpoints.iter().find(|e| is_sign_up(e))?;
    let login = endpoints.iter().find(|e| login_fields(e).is_some())?;
    Some((sign_up, login))
}

/// Registers a new account through `sign_up` with `extra` fields set (a
/// role, for a mass-assignment probe). `Ok(None)` when the API refuses.
pub(crate) async fn register(
    ctx: &ProbeContext<'_>,
    sign_up: &Endpoint,
    label: &str,
    extra: &Map<String, Value>,
) -> Result<Option<Account>, Skip> {
    let Some(url) = ctx.url(sign_up) else {
        return Err(Skip::NoSampleValue);
    };
    let token = ctx.engine.buster().next_token();
    let username = format!("rampart{label}{token}");
    let password = format!("Rp-{token}-{label}-9x!");
    let Value::Object(mut body) = sample_body_with(sign_up, []) else {
        return Ok(None);
    };
    for (name, value) in body.iter_mut() {
        let n = name.to_ascii_lowercase();
        if is_password_field(name) {
            *value = Value::String(password.clone());
        } else if n.contains("email") {
            *value = Value::String(format!("{username}@example.invalid"));
        } else if matches!(
            n.as_str(),
            "username" | "user" | "login" | "name" | "user_name"
        ) {
            *value = Value::String(username.clone());
        } else if value.is_string() && !is_id_param(name) {
            // Display names and the like: plainly Rampart's.
            if sign_up
                .request_fields
                .iter()
                .find(|f| &f.name == name)
                .is_none_or(|f| f.enum_values.is_empty() && f.format.is_none())
            {
                *value = Value::String(format!("Rampart {label}"));
            }
        }
    }
    body.extend(extra.clone());
    let answer = send_body_with(ctx, sign_up, "POST", &url, &[], &Value::Object(body)).await?;
    let accepted = (200..300).contains(&answer.response.status)
        && !answer.body_json().is_some_and(is_error_body)
        && !refuses_encoding(&answer);
    if !accepted {
        return Ok(None);
    }
    ctx.engine.journal().made(
        sign_up.label(),
        format!("registered the throwaway account {username} (no operation removes accounts: delete it)"),
    );
    let id = answer.body_json().and_then(|json| {
        let record = json.get("data").filter(|d| d.is_object()).unwrap_or(json);
        ["id", "user_id", "userId", "uid"]
            .iter()
            .find_map(|k| match record.get(*k)? {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
    });
    Ok(Some(Account {
        username,
        password,
        id,
        signed_up: answer,
    }))
}

/// A credential the login answer carries: a token under a usual name (at
/// the top or in `data`/`result`).
fn token_in(answer: &Exchange) -> Option<String> {
    let json = answer.body_json()?;
    for holder in [Some(json), json.get("data"), json.get("result")]
        .into_iter()
        .flatten()
    {
        for key in [
            "access_token",
            "token",
            "auth_token",
            "jwt",
            "id_token",
            "key",
            "api_key",
        ] {
            if let Some(Value::String(token)) = holder.get(key) {
                if !token.is_empty() {
                    return Some(token.clone());
                }
            }
        }
    }
    None
}

/// Logs `account` in (with `password`) and returns the headers that carry
/// its credential, shaped like the user's identities' (`Authorization:
/// Bearer …`, `Authorization: Token …`, an API key header). `None` when
/// the login is refused or its answer holds no token Rampart recognises.
pub(crate) async fn log_in(
    ctx: &ProbeContext<'_>,
    login: &Endpoint,
    username: &str,
    password: &str,
) -> Result<(Arc<Exchange>, Option<Vec<(String, String)>>), Skip> {
    let Some(form) = LoginForm::of(login) else {
        return Err(Skip::NotApplicable("not a login endpoint"));
    };
    let Some(url) = ctx.url(login) else {
        return Err(Skip::NoSampleValue);
    };
    let body = form.body(username, password);
    // A login changes nothing Rampart should report.
    let journal = ctx.engine.journal();
    journal.unchanged(journal.made(login.label(), "a login"));
    let answer = send_body_with(ctx, login, "POST", &url, &[], &body).await?;
    if answer.response.status >= 400 || answer.body_json().is_some_and(is_error_body) {
        return Ok((answer, None));
    }
    let Some(token) = token_in(&answer) else {
        return Ok((answer, None));
    };
    // How the user's identities carry theirs.
    let shape = ctx
        .engine
        .identities()
        .into_iter()
        .flat_map(|i| i.headers)
        .next();
    let header = match shape {
        Some((name, value)) => match value.split_once(' ') {
            Some((scheme, _)) => (name, format!("{scheme} {token}")),
            None => (name, token),
        },
        None => ("Authorization".to_string(), format!("Bearer {token}")),
    };
    Ok((answer, Some(vec![header])))
}

/// The value that addresses `account` in a parameter called `name`: its id
/// for id-like names, else its username.
pub(crate) fn address(account: &Account, name: &str) -> String {
    let n = name.to_ascii_lowercase();
    let wants_id = n == "id" || n.ends_with("id");
    match (&account.id, wants_id) {
        (Some(id), true) => id.clone(),
        _ => account.username.clone(),
    }
}

/// `username`'s own profile (the API's "me" endpoint), read with the
/// credential its login with `password` gives. `None` when the login gives
/// none or the API has no profile endpoint Rampart knows.
pub(crate) async fn own_profile(
    ctx: &ProbeContext<'_>,
    login: &Endpoint,
    username: &str,
    password: &str,
) -> Result<Option<Arc<Exchange>>, Skip> {
    let Some(path) = ctx.facts.identities.self_endpoint.clone() else {
        return Ok(None);
    };
    let (_, Some(credential)) = log_in(ctx, login, username, password).await? else {
        return Ok(None);
    };
    let Ok(url) = ctx.engine.url_for(&format!("{}{path}", ctx.base_path)) else {
        return Ok(None);
    };
    let mut read = Probe::get(ctx.fresh(&url)).as_caller(Caller::Anonymous);
    read.headers = credential;
    Ok(Some(ctx.engine.send(read).await?))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::checks::probe::fixtures::{endpoint, Answer};

    #[test]
    fn sign_ups_and_the_tokens_logins_answer_are_recognised() {
        let mut users = endpoint("POST /users");
        assert!(!is_sign_up(&users), "a users collection without a password");
        users.body_sample = Some(json!({"username": "u", "password": "p"}));
        assert!(is_sign_up(&users));
        assert!(is_sign_up(&endpoint("POST /api/auth/register")));
        assert!(!is_sign_up(&endpoint("GET /api/signup")));
        let mut token = endpoint("POST /token");
        token.token_endpoint = true;
        assert!(!is_sign_up(&token));
        for (body, expected) in [
            (
                r#"{"access_token": "t1", "token_type": "bearer"}"#,
                Some("t1"),
            ),
            (
                r#"{"status": "success", "data": {"token": "t2"}}"#,
                Some("t2"),
            ),
            (r#"{"status": "success", "data": {"user": "x"}}"#, None),
            ("not json", None),
        ] {
            let answer = Answer::new(200, body).exchange();
            assert_eq!(token_in(&answer).as_deref(), expected, "{body}");
        }
    }
}
