//! Writes on someone else's account.
//!
//! A password, email or profile change addressed by the user it changes
//! (`PUT /users/{username}/password`, `{"user_id": …, "new_password": …}`)
//! must check that the caller is that user. When it does not, anyone takes
//! over any account by setting its password. Rampart (only with `--active`)
//! never tries this on the user's identities: it registers two throwaway
//! accounts through the API's own sign-up, logs in as one, sends the change
//! addressed to the other, and proves it by logging in as the other with
//! the new password (or reading its profile back).

use async_trait::async_trait;
use serde_json::Value;

use super::throwaway::{address, flows, is_sign_up, log_in, own_profile, register};
use super::{is_password_field, login_fields};
use crate::checks::probe::{is_error_body, sample_body_with, send_body_with, success_json};
use crate::checks::{Check, CheckMeta, Mode, Outcome, ProbeContext, RunsOn, Skip};
use crate::discover::{Endpoint, ParamLocation};
use crate::facts::identities::is_subject_param;
use crate::facts::Needs;
use crate::finding::{Category, Confidence, FindingDraft, Severity};

pub struct AccountWrites;

pub static META: CheckMeta = CheckMeta {
    check: &AccountWrites,
    id: "authz.account-writes",
    category: Category::Bola,
    severity: Severity::Critical,
    summary: "Password, email or profile changes addressed to another user's account are accepted (needs --active; on accounts Rampart registers)",
    mode: Mode::StateChanging,
    runs_on: RunsOn::Endpoints,
    min_identities: 0,
    needs: Needs::IDENTITIES,
};

#[async_trait]
impl Check for AccountWrites {
    async fn probe(&self, ctx: &ProbeContext<'_>, endpoint: &Endpoint) -> Outcome {
        if !matches!(endpoint.method.as_str(), "PUT" | "PATCH" | "POST") {
            return Err(Skip::NotApplicable("not a write"));
        }
        if is_sign_up(endpoint) || login_fields(endpoint).is_some() {
            return Err(Skip::NotApplicable("a login or a sign-up"));
        }
        let path_subject = endpoint
            .parameters
            .iter()
            .find(|p| p.location == ParamLocation::Path && is_subject_param(&p.name))
            .map(|p| p.name.clone());
        let sample = match sample_body_with(endpoint, []) {
            Value::Object(map) => map,
            _ => serde_json::Map::new(),
        };
        let body_subject = sample.keys().find(|k| is_subject_param(k)).cloned();
        if path_subject.is_none() && body_subject.is_none() {
            return Err(Skip::NotApplicable("not addressed to a user"));
        }
        let Some((sign_up, login)) = flows(ctx) else {
            return Err(Skip::Missing(
                "no sign-up and login to register throwaway accounts",
            ));
        };
        let none = serde_json::Map::new();
        let (Some(victim), Some(attacker)) = (
            register(ctx, sign_up, "victim", &none).await?,
            register(ctx, sign_up, "attacker", &none).await?,
        ) else {
            return Err(Skip::Missing(
                "the sign-up refused Rampart's throwaway accounts",
            ));
        };
        let (_, Some(headers)) = log_in(ctx, login, &attacker.username, &attacker.password).await?
        else {
            return Err(Skip::Missing(
                "a throwaway account's login gives no credential Rampart can use",
            ));
        };
        // The change, addressed to the victim.
        let marker = ctx.canary();
        let new_password = format!("Rp-{marker}-taken!");
        let mut body = sample;
        let mut changes_password = false;
        for (name, value) in body.iter_mut() {
            let n = name.to_ascii_lowercase();
            if Some(name) == body_subject.as_ref() {
                *value = Value::String(address(&victim, name));
            } else if is_password_field(name) && !n.contains("old") && !n.contains("current") {
                *value = Value::String(new_password.clone());
                changes_password = true;
            } else if n.contains("email") {
                *value = Value::String(format!("{marker}@example.invalid"));
            } else if value.is_string() {
                *value = Value::String(marker.clone());
            }
        }
        let mut aimed = endpoint.clone();
        for param in aimed.parameters.iter_mut() {
            if Some(&param.name) == path_subject.as_ref() {
                param.sample = Some(address(&victim, &param.name));
            }
        }
        let Some(url) = ctx.url(&aimed) else {
            return Err(Skip::NoSampleValue);
        };
        let journal = ctx.engine.journal();
        let change = journal.made(
            endpoint.label(),
            format!(
                "{} sent a change of throwaway account {}",
                attacker.username, victim.username
            ),
        );
        let write = send_body_with(
            ctx,
            endpoint,
            &endpoint.method,
            &url,
            &headers,
            &Value::Object(body),
        )
        .await?;
        let accepted = (200..300).contains(&write.response.status)
            && !write.body_json().is_some_and(is_error_body);
        if !accepted {
            journal.unchanged(change);
            return Ok(Vec::new());
        }
        // Proof: the victim's account as the change left it.
        let (proof, what) = if changes_password {
            let (answer, credential) = log_in(ctx, login, &victim.username, &new_password).await?;
            (credential.map(|_| answer), "password")
        } else {
            let profile = own_profile(ctx, login, &victim.username, &victim.password)
                .await?
                .filter(|answer| success_json(answer) && answer.body_text().contains(&marker));
            (profile, "profile")
        };
        let Some(proof) = proof else {
            journal.describe(
                change,
                format!(
                    "{} sent a change of throwaway account {}; it did not take",
                    attacker.username, victim.username
                ),
            );
            return Ok(Vec::new());
        };
        journal.describe(
            change,
            format!(
                "{} changed the {what} of throwaway account {} (both accounts Rampart's own)",
                attacker.username, victim.username
            ),
        );
        let (a, v) = (&attacker.username, &victim.username);
        let (title, proven) = if changes_password {
            (
                format!(
                    "Any user can set another user's password through {}",
                    endpoint.label()
                ),
                format!("{v} logs in with the password {a} chose"),
            )
        } else {
            (
                format!(
                    "Any user can change another user's profile through {}",
                    endpoint.label()
                ),
                format!("{v}'s profile shows what {a} wrote"),
            )
        };
        // Replaying the change would register two more accounts; the login
        // or profile read as the victim is the proof.
        Ok(vec![FindingDraft::at_exchange(&write, Severity::Critical, Confidence::Confirmed)
            .repeated()
            .title(title)
            .description(format!(
                "Rampart registered two throwaway accounts, {a} and {v}. Logged in as {a}, it sent {} addressed to {v} \
                 and the API accepted it: {proven}. The API does not check that the caller is the user it changes, so \
                 anyone can take over any account. The user's own identities were never touched.",
                endpoint.label()
            ))
            .parameter(path_subject.or(body_subject).unwrap_or_default())
            .key(what)
            .evidence(format!("Throwaway account {v} signs up"), &victim.signed_up, None)
            .evidence(format!("Throwaway account {a} signs up"), &attacker.signed_up, None)
            .evidence(format!("{a} changes {v}'s {what}"), &write, None)
            .evidence(proven, &proof, None)])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::authz::throwaway::Account;
    use crate::checks::probe::fixtures::Answer;

    #[test]
    fn accounts_are_addressed_by_id_or_username_as_the_parameter_says() {
        let account = Account {
            username: "rampartvictim1".into(),
            password: "p".into(),
            id: Some("42".into()),
            signed_up: Answer::new(201, "{}").exchange(),
        };
        assert_eq!(address(&account, "user_id"), "42");
        assert_eq!(address(&account, "userId"), "42");
        assert_eq!(address(&account, "username"), "rampartvictim1");
        let no_id = Account {
            id: None,
            ..account
        };
        assert_eq!(address(&no_id, "user_id"), "rampartvictim1");
        assert!(
            is_password_field("new_password")
                && is_password_field("pwd")
                && !is_password_field("email")
        );
    }
}
