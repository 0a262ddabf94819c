//! What each identity's own baseline responses reveal about it: the values
//! that identify it (user id, username, email), the name it logs in with,
//! and the identifiers of objects it owns. A leak is proven when one
//! identity's request returns values that identify another.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde_json::Value;

use crate::discover::{Endpoint, ParamLocation};
use crate::engine::Exchange;
use crate::facts::visit_leaves;

/// Paths whose response describes the caller.
pub fn is_self_endpoint(path: &str) -> bool {
    let last = path.trim_end_matches('/').rsplit('/').next().unwrap_or("");
    matches!(
        last.to_ascii_lowercase().as_str(),
        "me" | "self" | "whoami" | "profile" | "account" | "current" | "userinfo"
    )
}

/// Keys whose value names the caller.
const SUBJECT_KEYS: &[&str] = &[
    "user_id",
    "userid",
    "uid",
    "id",
    "sub",
    "account_id",
    "username",
    "login",
];
/// Keys whose value identifies a person distinctively enough to prove a leak.
const MARKER_KEYS: &[&str] = &["username", "login", "email", "user_id", "account_id", "sub"];

/// Whether a parameter names a subject (a user) rather than an object.
pub fn is_subject_param(name: &str) -> bool {
    let n = name.to_ascii_lowercase().replace(['-', '_'], "");
    matches!(
        n.as_str(),
        "userid"
            | "uid"
            | "user"
            | "username"
            | "ownerid"
            | "owner"
            | "accountid"
            | "customerid"
            | "memberid"
            | "subject"
    )
}

/// Whether a parameter looks like an identifier.
pub fn is_id_param(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n == "id"
        || n.ends_with("_id")
        || n.ends_with("id") && name.chars().any(|c| c.is_ascii_uppercase())
        || is_subject_param(name)
}

/// What the baselines taught about each identity.
#[derive(Debug, Clone, Default)]
pub struct IdentityFacts {
    /// Distinctive values that identify the identity (username, email, id).
    pub markers: BTreeMap<String, BTreeSet<String>>,
    /// The identity's own subject identifier (user id), when seen.
    pub subject: BTreeMap<String, String>,
    /// The first endpoint that describes its caller (`/me`-like).
    pub self_endpoint: Option<String>,
    /// The name the identity logs in with (username, login or email).
    pub login_names: BTreeMap<String, String>,
    /// Identifiers of objects the identity owns, by parameter-like name.
    pub objects: BTreeMap<String, BTreeMap<String, Vec<String>>>,
}

fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn singular(key: &str) -> String {
    key.strip_suffix("ies")
        .map(|s| format!("{s}y"))
        .or_else(|| key.strip_suffix('s').map(String::from))
        .unwrap_or_else(|| key.to_string())
}

/// Collects `name → values` for identifiers in a response the identity owns.
fn collect_ids(
    value: &Value,
    container: Option<&str>,
    out: &mut BTreeMap<String, Vec<String>>,
    depth: usize,
) {
    if depth > 8 {
        return;
    }
    match value {
        Value::Object(map) => {
            for (key, item) in map {
                if let Some(text) = scalar(item) {
                    let name = match (key.as_str(), container) {
                        ("id", Some(parent)) => format!("{}_id", singular(parent)),
                        _ => key.clone(),
                    };
                    if is_id_param(&name) && name != "id" {
                        let values = out.entry(name).or_default();
                        if !values.contains(&text) && values.len() < 50 {
                            values.push(text);
                        }
                    }
                } else {
                    collect_ids(item, Some(key), out, depth + 1);
                }
            }
        }
        Value::Array(items) => {
            for item in items.iter().take(200) {
                collect_ids(item, container, out, depth + 1);
            }
        }
        _ => {}
    }
}

/// Learns [`IdentityFacts`] one baseline at a time, so each is read while
/// the whole exchange is in hand.
#[derive(Debug)]
pub struct IdentityLearner {
    /// Endpoints whose answer can only be the caller's own.
    own_data: BTreeSet<String>,
    facts: IdentityFacts,
}

impl IdentityLearner {
    /// Learns from baselines of endpoints whose answer can only be the
    /// caller's own: no path parameters and no required query (so no spec
    /// example chose whose data came back).
    pub fn new(endpoints: &[Endpoint]) -> Self {
        let own_data = endpoints
            .iter()
            .filter(|e| {
                e.is_read_only()
                    && !e.parameters.iter().any(|p| {
                        p.location == ParamLocation::Path
                            || p.location == ParamLocation::Query
                                && (p.required || is_id_param(&p.name))
                    })
            })
            .map(|e| e.path.clone())
            .collect();
        IdentityLearner {
            own_data,
            facts: IdentityFacts::default(),
        }
    }

    /// Reads one baseline.
    pub fn see(&mut self, exchange: &Exchange) {
        let own_data = &self.own_data;
        let facts = &mut self.facts;
        let (Some(identity), Some(json)) =
            (exchange.request.identity.as_ref(), exchange.body_json())
        else {
            return;
        };
        if !(200..300).contains(&exchange.response.status)
            || !own_data.contains(exchange.endpoint_path())
        {
            return;
        }
        if is_self_endpoint(exchange.endpoint_path()) {
            facts
                .self_endpoint
                .get_or_insert_with(|| exchange.endpoint_path().to_string());
            let object = match json {
                Value::Object(map) => map
                    .get("user")
                    .or_else(|| map.get("data"))
                    .filter(|v| v.is_object())
                    .unwrap_or(json),
                _ => json,
            };
            if let Value::Object(map) = object {
                for (key, value) in map {
                    let key = key.to_ascii_lowercase();
                    let Some(text) = scalar(value) else { continue };
                    if MARKER_KEYS.contains(&key.as_str()) && text.len() >= 3 {
                        facts
                            .markers
                            .entry(identity.clone())
                            .or_default()
                            .insert(text.clone());
                    }
                    if matches!(key.as_str(), "username" | "login")
                        || key == "email" && !facts.login_names.contains_key(identity)
                    {
                        facts.login_names.insert(identity.clone(), text.clone());
                    }
                    if SUBJECT_KEYS.contains(&key.as_str()) && !facts.subject.contains_key(identity)
                    {
                        facts.subject.insert(identity.clone(), text);
                    }
                }
            }
        }
        let objects = facts.objects.entry(identity.clone()).or_default();
        collect_ids(json, None, objects, 0);
    }

    /// What the baselines taught.
    pub fn finish(self) -> IdentityFacts {
        let mut facts = self.facts;
        // An identifier seen for two identities is shared (a tenant id, a
        // public catalogue id): it proves nothing about ownership.
        let mut counts: BTreeMap<(String, String), usize> = BTreeMap::new();
        for objects in facts.objects.values() {
            for (name, values) in objects {
                for value in values {
                    *counts.entry((name.clone(), value.clone())).or_default() += 1;
                }
            }
        }
        for objects in facts.objects.values_mut() {
            for (name, values) in objects.iter_mut() {
                values
                    .retain(|v| counts.get(&(name.clone(), v.clone())).copied().unwrap_or(0) == 1);
            }
            objects.retain(|_, values| !values.is_empty());
        }
        facts
    }
}

impl IdentityFacts {
    /// Learns from baselines of endpoints whose answer can only be the
    /// caller's own (see [`IdentityLearner`]).
    pub fn learn<'a>(
        endpoints: &[Endpoint],
        baselines: impl Iterator<Item = &'a Arc<Exchange>>,
    ) -> Self {
        let mut learner = IdentityLearner::new(endpoints);
        for exchange in baselines {
            learner.see(exchange);
        }
        learner.finish()
    }

    /// The value identity `who` would use for parameter `name`: its own
    /// object or subject id, if known.
    pub fn value_for(&self, who: &str, name: &str) -> Option<String> {
        if let Some(values) = self.objects.get(who).and_then(|o| o.get(name)) {
            return values.first().cloned();
        }
        if is_subject_param(name) {
            return self.subject.get(who).cloned();
        }
        None
    }

    /// Whether the response carries an email address of one of `who`.
    pub fn shows_email_of(&self, exchange: &Exchange, who: &BTreeSet<String>) -> bool {
        let text = exchange.body_text();
        who.iter()
            .filter_map(|name| self.markers.get(name))
            .flatten()
            .any(|marker| marker.contains('@') && text.contains(marker.as_str()))
    }

    /// Which identities a response identifies: one of their distinctive
    /// values anywhere, or their subject id under a subject-like key
    /// (`owner_id: 7`), since short ids alone would match by chance.
    pub fn owners_of(&self, exchange: &Exchange) -> BTreeSet<String> {
        let Some(json) = exchange.body_json() else {
            return BTreeSet::new();
        };
        let mut values = BTreeSet::new();
        visit_leaves(json, 16, &mut |key, leaf| {
            if let Some(text) = scalar(leaf) {
                if key.is_some_and(|k| is_subject_param(k) || k.eq_ignore_ascii_case("user_id")) {
                    values.insert((Some(true), text.clone()));
                }
                values.insert((None, text));
            }
            values.len() <= 10_000
        });
        self.markers
            .keys()
            .chain(self.subject.keys())
            .filter(|who| {
                let distinctive = self.markers.get(*who).is_some_and(|markers| {
                    markers.iter().any(|m| values.contains(&(None, m.clone())))
                });
                let owned = self
                    .subject
                    .get(*who)
                    .is_some_and(|id| values.contains(&(Some(true), id.clone())));
                distinctive || owned
            })
            .cloned()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_in_lists_are_named_after_their_container() {
        let json = serde_json::json!({"orders": [{"id": 1001, "owner_id": 1}, {"id": 1002}], "user_id": 1});
        let mut out = BTreeMap::new();
        collect_ids(&json, None, &mut out, 0);
        assert_eq!(out["order_id"], vec!["1001", "1002"]);
        assert_eq!(out["owner_id"], vec!["1"]);
        assert_eq!(out["user_id"], vec!["1"]);
    }

    #[test]
    fn subject_and_id_parameters_are_recognised() {
        assert!(
            is_subject_param("user_id")
                && is_subject_param("ownerId")
                && is_subject_param("owner_id")
        );
        assert!(!is_subject_param("order_id"));
        assert!(is_id_param("order_id") && is_id_param("orderId") && is_id_param("id"));
        assert!(!is_id_param("paid") && !is_id_param("q"));
    }
}
