//! Which endpoints a scan may request at all.
//!
//! A safe scanner is read-only, but "read-only" is only what the HTTP
//! method promises: plenty of APIs do their work behind a `GET` —
//! `/createdb`, `/reset-data`, `/seed`, `/logout`, `/unsubscribe`,
//! `/confirm/{token}`. An endpoint whose path, `operationId` or summary
//! names such an action is not requested (the coverage section says so),
//! and the user's `--include-path` / `--exclude-path` globs choose what is
//! in the scan at all.

use super::Endpoint;

/// Verbs of actions with side effects. Matched as whole words: a path
/// segment or its first word, the first word of an `operationId` or a
/// summary — so `/products` is not `prod` and `/settings` is not `set`.
const ACTIONS: &[&str] = &[
    "activate",
    "approve",
    "ban",
    "cancel",
    "clear",
    "confirm",
    "create",
    "deactivate",
    "delete",
    "destroy",
    "disable",
    "drop",
    "empty",
    "enable",
    "erase",
    "flush",
    "import",
    "init",
    "initialise",
    "initialize",
    "install",
    "invalidate",
    "kill",
    "logoff",
    "logout",
    "migrate",
    "populate",
    "purge",
    "reboot",
    "rebuild",
    "recreate",
    "refund",
    "regenerate",
    "reindex",
    "reinit",
    "remove",
    "reseed",
    "reset",
    "restart",
    "restore",
    "revoke",
    "rollback",
    "rotate",
    "seed",
    "setup",
    "shutdown",
    "signoff",
    "signout",
    "truncate",
    "uninstall",
    "unsubscribe",
    "upgrade",
    "wipe",
];

/// What an action is commonly done to, when a name glues the two into one
/// word (`resetpassword`, `createdb`, `initdb`, `dropall`).
const OBJECTS: &[&str] = &[
    "account",
    "accounts",
    "all",
    "cache",
    "caches",
    "data",
    "database",
    "db",
    "demo",
    "everything",
    "key",
    "keys",
    "pass",
    "passwd",
    "password",
    "pwd",
    "schema",
    "session",
    "sessions",
    "table",
    "tables",
    "token",
    "tokens",
    "user",
    "users",
];

/// The action word of a `word` (already lower case, letters and digits
/// only): the word itself, or an action glued to a common object.
fn action_in_word(word: &str) -> Option<&'static str> {
    ACTIONS.iter().copied().find(|action| {
        word == *action
            || word
                .strip_prefix(action)
                .is_some_and(|rest| OBJECTS.contains(&rest))
    })
}

/// The words of a name: split at anything not a letter or digit and at
/// lower-to-upper case changes (`resetDatabase`, `reset_db`, `reset-db`).
fn words(name: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut previous_lower = false;
    for c in name.chars() {
        if !c.is_ascii_alphanumeric() {
            if !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
            previous_lower = false;
            continue;
        }
        if c.is_ascii_uppercase() && previous_lower && !current.is_empty() {
            words.push(std::mem::take(&mut current));
        }
        previous_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        current.push(c.to_ascii_lowercase());
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

/// The first word of a summary as an action, allowing the third person
/// and gerund of summaries ("Creates and populates…", "Resetting the demo").
fn summary_action(summary: &str) -> Option<&'static str> {
    let first = words(summary).into_iter().next()?;
    action_in_word(&first).or_else(|| {
        ["es", "s", "ing"].iter().find_map(|ending| {
            let stem = first.strip_suffix(ending)?;
            action_in_word(stem).or_else(|| action_in_word(&format!("{stem}e")))
        })
    })
}

/// The past tense of an action, as an answer reports it ("Database
/// populated.", "user deleted").
fn done(action: &str) -> String {
    match action {
        "reset" | "setup" | "shutdown" | "logout" | "logoff" | "signout" | "signoff" => {
            action.to_string()
        }
        "rebuild" => "rebuilt".into(),
        "drop" | "ban" => format!("{action}{}ed", &action[action.len() - 1..]),
        "empty" => "emptied".into(),
        _ if action.ends_with('e') => format!("{action}d"),
        _ => format!("{action}ed"),
    }
}

/// Whether a short answer reports that something was done: "Database
/// populated.", `{"status": "reset"}`, "logged out" — the mark of a read
/// with a side effect, which the scan names when the data changed. In JSON
/// only the values speak (a `created_at` key is no report).
pub fn reads_like_an_action(text: &str) -> bool {
    if text.len() > 2048 {
        return false;
    }
    let said = match serde_json::from_str::<serde_json::Value>(text) {
        Ok(json) => {
            let mut values = Vec::new();
            crate::facts::visit_leaves(&json, 8, &mut |_, leaf| {
                if let Some(s) = leaf.as_str() {
                    values.push(s.to_string());
                }
                true
            });
            values.join(" ")
        }
        Err(_) => text.to_string(),
    };
    let lower = said.to_ascii_lowercase();
    if lower.contains("logged out") || lower.contains("signed out") {
        return true;
    }
    let said: Vec<String> = words(&lower);
    ACTIONS
        .iter()
        .filter(|a| !matches!(**a, "reset" | "setup" | "empty"))
        .any(|action| said.contains(&done(action)))
        || said.iter().any(|w| w == "reset" || w == "populated")
}

/// Why a read (`GET`, `HEAD`, `OPTIONS`) looks like it changes state: the
/// action word found in its path, its `operationId` or its summary.
pub fn state_changing_word(endpoint: &Endpoint) -> Option<&'static str> {
    if !endpoint.is_read_only() {
        return None;
    }
    let in_path = endpoint
        .path
        .split('/')
        .filter(|segment| !segment.starts_with('{'))
        .find_map(|segment| action_in_word(words(segment).first()?));
    let in_operation = || action_in_word(words(endpoint.operation_id.as_deref()?).first()?);
    let in_summary = || summary_action(endpoint.summary.as_deref()?);
    in_path.or_else(in_operation).or_else(in_summary)
}

/// Words that name a credential: what a probe must never change on the
/// user's identities.
const CREDENTIALS: &[&str] = &[
    "password",
    "passwd",
    "pwd",
    "passphrase",
    "email",
    "mfa",
    "otp",
    "totp",
    "2fa",
    "apikey",
    "key",
    "keys",
    "secret",
    "credential",
    "credentials",
    "token",
    "tokens",
];

/// The credential named in a field name (`new_password`, `email`), if any.
pub fn is_credential_field(name: &str) -> bool {
    words(name)
        .iter()
        .any(|w| CREDENTIALS.contains(&w.as_str()))
}

/// The credential an endpoint's path names (`/me/password`), if any: an
/// endpoint that exists to change it.
pub fn credential_in_path(endpoint: &Endpoint) -> Option<&'static str> {
    endpoint
        .path
        .split('/')
        .filter(|segment| !segment.starts_with('{'))
        .find_map(|segment| {
            words(segment)
                .iter()
                .find_map(|w| CREDENTIALS.iter().copied().find(|c| c == w))
        })
}

/// The credential a write to `endpoint` would change, if any: a word of
/// its path or of a field of its body sample (`/me/password`,
/// `{"email": …}`, `{"new_password": …}`).
pub fn credential_word(endpoint: &Endpoint) -> Option<&'static str> {
    let in_name = |name: &str| {
        words(name)
            .iter()
            .find_map(|w| CREDENTIALS.iter().copied().find(|c| c == w))
    };
    let in_path = endpoint
        .path
        .split('/')
        .filter(|segment| !segment.starts_with('{'))
        .find_map(in_name);
    let in_body = || match &endpoint.body_sample {
        Some(serde_json::Value::Object(fields)) => fields.keys().find_map(|k| in_name(k)),
        _ => None,
    };
    in_path.or_else(in_body)
}

/// `*` matches any run of characters (slashes included); everything else
/// matches itself.
fn glob_matches(pattern: &str, text: &str) -> bool {
    crate::checks::glob_match(pattern, text)
}

/// The user's choice of paths: `--include-path` and `--exclude-path`
/// globs, matched against the endpoint's path template (`/users/{id}`)
/// and, without its base path, as given in the spec.
#[derive(Debug, Clone, Default)]
pub struct PathFilter {
    include: Vec<String>,
    exclude: Vec<String>,
}

impl PathFilter {
    pub fn new(include: Vec<String>, exclude: Vec<String>) -> Self {
        PathFilter { include, exclude }
    }

    /// Whether `path` is in the scan: it matches an include glob (when any
    /// is given) and no exclude glob.
    pub fn admits(&self, path: &str) -> bool {
        (self.include.is_empty() || self.include.iter().any(|g| glob_matches(g, path)))
            && !self.exclude.iter().any(|g| glob_matches(g, path))
    }

    /// Whether `endpoint` (its template, with or without the API's base
    /// path) is in the scan.
    pub fn admits_endpoint(&self, endpoint: &Endpoint, base_path: &str) -> bool {
        let forms = Self::forms(endpoint, base_path);
        let matches = |globs: &[String]| {
            globs
                .iter()
                .any(|g| forms.iter().any(|path| glob_matches(g, path)))
        };
        (self.include.is_empty() || matches(&self.include)) && !matches(&self.exclude)
    }

    /// Whether the user named `endpoint` itself with an include.
    pub fn names_endpoint(&self, endpoint: &Endpoint, base_path: &str) -> bool {
        Self::forms(endpoint, base_path)
            .iter()
            .any(|path| self.names(path))
    }

    fn forms(endpoint: &Endpoint, base_path: &str) -> [String; 2] {
        [
            endpoint.path.clone(),
            format!("{}{}", base_path.trim_end_matches('/'), endpoint.path),
        ]
    }

    /// Whether the user named `path` itself (an include without `*`): then
    /// it is requested even when its name looks like an action.
    pub fn names(&self, path: &str) -> bool {
        self.include.iter().any(|g| !g.contains('*') && g == path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::discover::EndpointSource;

    fn get(path: &str) -> Endpoint {
        Endpoint::discovered(path, EndpointSource::Spec)
    }

    #[test]
    fn actions_are_found_in_whole_words_of_the_path() {
        for (path, word) in [
            ("/createdb", "create"),
            ("/api/reset-data", "reset"),
            ("/api/seed", "seed"),
            ("/init-db", "init"),
            ("/resetpassword", "reset"),
            ("/api/v1/users/{id}/delete", "delete"),
            ("/logout", "logout"),
            ("/newsletter/unsubscribe", "unsubscribe"),
            ("/confirm/{token}", "confirm"),
            ("/admin/flush_cache", "flush"),
            ("/api/DropAll", "drop"),
        ] {
            assert_eq!(state_changing_word(&get(path)), Some(word), "{path}");
        }
        for path in [
            "/products",
            "/settings",
            "/api/dropdown-options",
            "/users/deleted",
            "/orders/{id}/confirmation",
            "/api/seeds",
            "/api/initials",
            "/api/created-items",
            "/api/users/{reset}",
            "/api/status",
        ] {
            assert_eq!(state_changing_word(&get(path)), None, "{path}");
        }
    }

    #[test]
    fn the_operation_and_the_summary_count_by_their_first_word() {
        let mut endpoint = get("/api/v1/db");
        endpoint.operation_id = Some("resetDatabase".into());
        assert_eq!(state_changing_word(&endpoint), Some("reset"));
        endpoint.operation_id = Some("getResetStatus".into());
        assert_eq!(state_changing_word(&endpoint), None);
        endpoint.summary = Some("Creates and populates the database with dummy data".into());
        assert_eq!(state_changing_word(&endpoint), Some("create"));
        endpoint.summary = Some("Returns the reset status".into());
        assert_eq!(state_changing_word(&endpoint), None);
        endpoint.summary = Some("Deletes the session".into());
        assert_eq!(state_changing_word(&endpoint), Some("delete"));
        endpoint.summary = Some("Seeding the demo data".into());
        assert_eq!(state_changing_word(&endpoint), Some("seed"));
        // Only reads are judged: a DELETE is state-changing by its method.
        let mut delete = get("/api/reset");
        delete.method = "DELETE".into();
        assert_eq!(state_changing_word(&delete), None);
    }

    #[test]
    fn answers_that_report_an_action_are_recognised() {
        assert!(reads_like_an_action(
            r#"{"message": "Database populated."}"#
        ));
        assert!(reads_like_an_action(r#"{"status": "reset"}"#));
        assert!(reads_like_an_action("You are logged out"));
        assert!(reads_like_an_action(r#"{"detail": "3 sessions revoked"}"#));
        assert!(reads_like_an_action(r#"{"result": "cache flushed"}"#));
        assert!(!reads_like_an_action(r#"{"users": [{"name": "ana"}]}"#));
        assert!(!reads_like_an_action(
            r#"{"status": "ok", "created_at": "2026-01-01"}"#
        ));
        assert!(!reads_like_an_action(&format!(
            "{{\"deleted\": true, \"pad\": \"{}\"}}",
            "x".repeat(3000)
        )));
    }

    #[test]
    fn writes_that_would_change_a_credential_are_recognised() {
        let mut put = get("/api/me/password");
        put.method = "PUT".into();
        assert_eq!(credential_word(&put), Some("password"));
        let mut patch = get("/api/users/{user_id}");
        patch.method = "PATCH".into();
        assert_eq!(credential_word(&patch), None);
        patch.body_sample = Some(serde_json::json!({"display_name": "A", "newPassword": "x"}));
        assert_eq!(credential_word(&patch), Some("password"));
        patch.body_sample = Some(serde_json::json!({"email": "a@x.test"}));
        assert_eq!(credential_word(&patch), Some("email"));
        assert_eq!(
            credential_word(&get("/api/keys/{key_id}/rotate")),
            Some("keys")
        );
        assert_eq!(credential_word(&get("/api/monkeys")), None);
    }

    #[test]
    fn paths_are_included_and_excluded_by_glob() {
        let all = PathFilter::default();
        assert!(all.admits("/anything"));
        let filter = PathFilter::new(
            vec!["/api/*".into(), "/reset-status".into()],
            vec!["/api/admin/*".into()],
        );
        assert!(filter.admits("/api/users/{id}"));
        assert!(!filter.admits("/api/admin/users"));
        assert!(!filter.admits("/health"));
        assert!(filter.names("/reset-status"));
        assert!(!filter.names("/api/users"));
        // With the spec's base path or without it.
        let users = get("/users/{id}");
        assert!(filter.admits_endpoint(&users, "/api"));
        assert!(!filter.admits_endpoint(&users, ""));
        let reset = get("/reset-status");
        assert!(filter.names_endpoint(&reset, "/v1"));
    }
}
