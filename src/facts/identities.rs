//! What each identity's own baseline responses reveal about it: the values
//! that identify it (user id, username, email), the name it logs in with,
//! and the identifiers of objects it owns. A leak is proven when one
//! identity's request returns values that identify another.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde_json::Value;

use crate::checks::probe::is_error_body;
use crate::discover::{Endpoint, ParamLocation, Parameter};
use crate::engine::Exchange;
use crate::facts::values::each_leaf;
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
    /// Every value each identity's own-data answers showed, with where
    /// (the endpoint, the key, the list or object it sat in): what fills a
    /// path, query or body parameter by value and by schema, whatever the
    /// parameter is called.
    pub seen: BTreeMap<String, Vec<Seen>>,
    /// Values only that identity's answers show — not another identity's,
    /// not an anonymous caller's — distinctive enough to say whose an
    /// answer is: what its own collections ("my orders", "my books") hold.
    pub owned: BTreeMap<String, BTreeSet<(String, String)>>,
    /// The role each identity's own profile names (`role: "Chef"`,
    /// `is_admin: true` → `admin`).
    pub roles: BTreeMap<String, String>,
    /// On how many endpoints each identity's baseline got data: without
    /// roles, what says who may do more.
    pub reach: BTreeMap<String, usize>,
    /// The endpoints each identity's baseline got data from, and those it
    /// was refused (401/403): one identity served where another is refused
    /// is privileged over it, whatever its role is called or whether its
    /// profile could be read at all.
    pub granted: BTreeMap<String, BTreeSet<String>>,
    pub refused: BTreeMap<String, BTreeSet<String>>,
    /// The OAuth2 scopes most of the spec's scoped operations need: what
    /// every caller has. An operation needing another scope is reserved.
    pub common_scopes: BTreeSet<String>,
}

/// The role a profile names: `role`, `user_role`, the first of `roles`,
/// or `admin` for a true `is_admin`/`is_staff`/`is_superuser`.
fn role_of(profile: &serde_json::Map<String, Value>) -> Option<String> {
    for key in ["role", "user_role", "userRole", "roles", "group"] {
        let value = match profile.get(key) {
            Some(Value::Array(items)) => items.first(),
            other => other,
        };
        if let Some(Value::String(role)) = value.filter(|v| v.is_string()) {
            return Some(role.clone());
        }
    }
    ["is_admin", "isAdmin", "is_staff", "is_superuser", "admin"]
        .iter()
        .any(|key| profile.get(*key) == Some(&Value::Bool(true)))
        .then(|| "admin".to_string())
}

/// One value an identity saw in an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    /// The endpoint template that answered.
    pub path: String,
    /// The key it sat under (`id`, `title`, `username`).
    pub key: String,
    /// The key of the list or object that held it (`books`, `owner`), if any.
    pub container: Option<String>,
    pub value: String,
}

/// Values kept per identity; the rest of a huge answer is not needed to
/// fill a parameter.
const MAX_SEEN: usize = 5_000;

/// Keys whose values describe a kind or a state shared by many objects
/// (`role: "Chef"`, `status: "shipped"`), never whose an object is, and keys
/// whose values change by themselves.
fn ownership_blind(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    const KINDS: &[&str] = &[
        "role",
        "roles",
        "status",
        "state",
        "type",
        "kind",
        "category",
        "currency",
        "country",
        "language",
        "locale",
        "lang",
        "gender",
        "plan",
        "tier",
        "level",
        "scope",
        "scopes",
        "permission",
        "permissions",
        "group",
        "groups",
        "genre",
    ];
    const CHANGING: &[&str] = &[
        "time",
        "date",
        "_at",
        "created",
        "updated",
        "modified",
        "request",
        "nonce",
        "token",
        "etag",
        "version",
        "expires",
        "timestamp",
        "trace",
        "csrf",
    ];
    KINDS.contains(&key.as_str()) || CHANGING.iter().any(|w| key.contains(w))
}

/// A value distinctive enough that finding it anywhere says whose it is:
/// text of four characters or more with a letter in it that is not a date.
fn distinctive(value: &str) -> bool {
    let looks_like_date = value.len() >= 10
        && value.as_bytes()[..4].iter().all(u8::is_ascii_digit)
        && value.as_bytes()[4] == b'-';
    value.chars().count() >= 4
        && value.chars().any(char::is_alphabetic)
        && !looks_like_date
        && !matches!(
            value.to_ascii_lowercase().as_str(),
            "true" | "false" | "null" | "none" | "test" | "string" | "example"
        )
}

/// Every scalar under `value` with its key and the key of what holds it.
fn harvest(value: &Value, path: &str, container: Option<&str>, out: &mut Vec<Seen>, depth: usize) {
    if depth > 8 || out.len() >= MAX_SEEN {
        return;
    }
    match value {
        Value::Object(map) => {
            for (key, item) in map {
                match scalar(item) {
                    Some(text) if text.chars().count() <= 200 => out.push(Seen {
                        path: path.to_string(),
                        key: key.clone(),
                        container: container.map(String::from),
                        value: text,
                    }),
                    Some(_) => {}
                    None => harvest(item, path, Some(key), out, depth + 1),
                }
            }
        }
        Value::Array(items) => {
            for item in items.iter().take(200) {
                harvest(item, path, container, out, depth + 1);
            }
        }
        _ => {}
    }
}

/// `orderId`, `order-id`, `Order_ID` → `orderid`.
fn norm(name: &str) -> String {
    name.to_ascii_lowercase().replace(['-', '_', '.'], "")
}

/// The static path segment just before `{param}` (`books` in
/// `/users/{user}/books/{title}`), singular and normalised.
fn stem_before(path: &str, param: &str) -> Option<String> {
    let placeholder = format!("{{{param}}}");
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let at = segments.iter().position(|s| *s == placeholder)?;
    let before = segments[..at].iter().rev().find(|s| !s.starts_with('{'))?;
    Some(norm(&singular(before)))
}

/// The last static segment of a path, singular and normalised: what a
/// collection endpoint lists (`/api/me/books` → `book`).
fn listed(path: &str) -> Option<String> {
    let last = path
        .split('/')
        .rev()
        .find(|s| !s.is_empty() && !s.starts_with('{'))?;
    Some(norm(&singular(last)))
}

fn is_uuid(value: &str) -> bool {
    value.len() == 36
        && value.char_indices().all(|(i, c)| {
            if matches!(i, 8 | 13 | 18 | 23) {
                c == '-'
            } else {
                c.is_ascii_hexdigit()
            }
        })
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
    each_leaf(
        value,
        container,
        depth,
        (8, 200),
        &mut |container, key, item, _| {
            let Some(text) = scalar(item) else {
                return;
            };
            let name = match (key, container) {
                ("id", Some(parent)) => format!("{}_id", singular(parent)),
                _ => key.to_string(),
            };
            if is_id_param(&name) && name != "id" {
                let values = out.entry(name).or_default();
                if !values.contains(&text) && values.len() < 50 {
                    values.push(text);
                }
            }
        },
    );
}

/// Learns [`IdentityFacts`] one baseline at a time, so each is read while
/// the whole exchange is in hand.
#[derive(Debug)]
pub struct IdentityLearner {
    /// Endpoints whose answer can only be the caller's own: no path
    /// parameters and no required query (so no spec example chose whose
    /// data came back).
    own_data: BTreeSet<String>,
    /// Values the spec lists as allowed ones (a role, a status): kinds,
    /// not objects.
    listed_values: BTreeSet<String>,
    /// Scopes per scoped operation, for the common ones.
    scopes: Vec<Vec<String>>,
    /// What an anonymous caller sees is nobody's.
    public: BTreeSet<String>,
    facts: IdentityFacts,
}

impl IdentityLearner {
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
        let listed_values = endpoints
            .iter()
            .flat_map(|e| e.request_fields.iter().chain(&e.response_fields))
            .flat_map(|f| f.enum_values.iter().filter_map(scalar))
            .collect();
        let scopes = endpoints
            .iter()
            .filter(|e| !e.scopes.is_empty())
            .map(|e| e.scopes.clone())
            .collect();
        IdentityLearner {
            own_data,
            listed_values,
            scopes,
            public: BTreeSet::new(),
            facts: IdentityFacts::default(),
        }
    }

    /// Reads one baseline.
    pub fn see(&mut self, exchange: &Exchange) {
        let facts = &mut self.facts;
        // Only an endpoint that addresses no object tells privilege: one
        // caller refused another's order only shows the API checks owners.
        let addresses_object = exchange.endpoint_path().contains('{');
        if let (Some(identity), 401 | 403, false) = (
            exchange.request.identity.as_ref(),
            exchange.response.status,
            addresses_object,
        ) {
            facts
                .refused
                .entry(identity.clone())
                .or_default()
                .insert(exchange.endpoint_path().to_string());
        }
        let Some(json) = exchange.body_json() else {
            return;
        };
        if !(200..300).contains(&exchange.response.status) || is_error_body(json) {
            return;
        }
        let Some(identity) = exchange.request.identity.as_ref() else {
            let mut seen = Vec::new();
            harvest(json, exchange.endpoint_path(), None, &mut seen, 0);
            self.public.extend(seen.into_iter().map(|s| s.value));
            return;
        };
        if crate::checks::probe::success_json(exchange) {
            *facts.reach.entry(identity.clone()).or_default() += 1;
            if !addresses_object {
                facts
                    .granted
                    .entry(identity.clone())
                    .or_default()
                    .insert(exchange.endpoint_path().to_string());
            }
        }
        if !self.own_data.contains(exchange.endpoint_path()) {
            return;
        }
        let seen = facts.seen.entry(identity.clone()).or_default();
        harvest(json, exchange.endpoint_path(), None, seen, 0);
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
                if let Some(role) = role_of(map) {
                    facts.roles.entry(identity.clone()).or_insert(role);
                }
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
        let IdentityLearner {
            listed_values,
            scopes,
            public,
            mut facts,
            ..
        } = self;
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
        // Whose a value is: on an endpoint that answers each caller with
        // their own data ("my orders"), a value one identity gets and another
        // identity, also answered, does not get is the first one's. A list
        // everyone gets alike ("all orders", an admin's queue) says nothing
        // either way. With one identity there is nothing to compare: what it
        // alone sees (and an anonymous caller does not) is its own.
        let mut per_endpoint: BTreeMap<&str, BTreeMap<&str, BTreeSet<&str>>> = BTreeMap::new();
        for (identity, seen) in &facts.seen {
            for item in seen {
                per_endpoint
                    .entry(&item.path)
                    .or_default()
                    .entry(identity)
                    .or_default()
                    .insert(&item.value);
            }
        }
        let mut claims: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        for callers in per_endpoint.values() {
            for (identity, values) in callers {
                for value in values {
                    let someone_lacks = callers.len() == 1 && facts.seen.len() == 1
                        || callers
                            .iter()
                            .any(|(other, theirs)| other != identity && !theirs.contains(value));
                    if someone_lacks {
                        claims.entry(value).or_default().insert(identity);
                    }
                }
            }
        }
        for (identity, seen) in &facts.seen {
            let owned: BTreeSet<(String, String)> = seen
                .iter()
                .filter(|item| {
                    claims
                        .get(item.value.as_str())
                        .is_some_and(|c| c.len() == 1 && c.contains(identity.as_str()))
                        && !public.contains(&item.value)
                        && !listed_values.contains(&item.value)
                        && !ownership_blind(&item.key)
                        && distinctive(&item.value)
                })
                .map(|item| (item.key.clone(), item.value.clone()))
                .collect();
            if !owned.is_empty() {
                facts.owned.insert(identity.clone(), owned);
            }
        }
        // The scopes most operations need are every caller's; an operation
        // that needs another one is reserved to some.
        let mut uses: BTreeMap<&str, usize> = BTreeMap::new();
        for needed in &scopes {
            for scope in needed {
                *uses.entry(scope).or_default() += 1;
            }
        }
        facts.common_scopes = uses
            .into_iter()
            .filter(|(_, n)| *n * 2 > scopes.len())
            .map(|(scope, _)| scope.to_string())
            .collect();
        facts
    }
}

impl IdentityFacts {
    /// Whether the baselines served `a` an endpoint that refused `b`.
    pub fn served_where_refused(&self, a: &str, b: &str) -> bool {
        match (self.granted.get(a), self.refused.get(b)) {
            (Some(granted), Some(refused)) => granted.intersection(refused).next().is_some(),
            _ => false,
        }
    }

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

    /// Values identity `who` has seen that may fill `param` of `endpoint`,
    /// best first: by the key's name (`title` for `{title}`, a list's `id`
    /// for `{book_id}` under `/books/`), by what the collection it came
    /// from lists (`/me/books` for `/books/{…}`), and by what the
    /// parameter's schema allows (integers, UUIDs, emails). With `owned`,
    /// only values no one else's answers show.
    pub fn candidates(
        &self,
        who: &str,
        endpoint: &Endpoint,
        param: &Parameter,
        owned: bool,
    ) -> Vec<String> {
        let Some(seen) = self.seen.get(who) else {
            return Vec::new();
        };
        let name = norm(&param.name);
        let stem = stem_before(&endpoint.path, &param.name);
        let numeric = matches!(
            param.schema.schema_type.as_deref(),
            Some("integer" | "number")
        );
        let format = param.schema.format.as_deref().unwrap_or("");
        let mine = self.owned.get(who);
        let mut scored: Vec<(i32, &str)> = Vec::new();
        for item in seen {
            if numeric && item.value.parse::<f64>().is_err()
                || format == "uuid" && !is_uuid(&item.value)
                || format == "email" && !item.value.contains('@')
            {
                continue;
            }
            let is_owned =
                mine.is_some_and(|m| m.contains(&(item.key.clone(), item.value.clone())));
            if owned && !is_owned {
                continue;
            }
            let key = norm(&item.key);
            let holder = item.container.as_deref().map(|c| norm(&singular(c)));
            let lists = listed(&item.path);
            let from_collection = stem.is_some() && (lists == stem || holder == stem);
            let mut score = 0;
            if key == name {
                score = 100;
            } else if key == "id"
                && (holder.as_ref().is_some_and(|h| format!("{h}id") == name)
                    || stem.as_ref().is_some_and(|s| format!("{s}id") == name)
                    || name == "id" && from_collection)
            {
                score = 90;
            } else if from_collection && (name.contains(&key) || key.contains(&name)) {
                score = 70;
            } else if format == "uuid" && key.ends_with("id") && from_collection
                || format == "email" && key.contains("email")
            {
                score = 60;
            }
            if score == 0 {
                continue;
            }
            if from_collection {
                score += 10;
            }
            if is_owned {
                score += 5;
            }
            scored.push((score, &item.value));
        }
        scored.sort_by_key(|(score, _)| std::cmp::Reverse(*score));
        let mut out: Vec<String> = Vec::new();
        for (_, value) in scored {
            if !out.iter().any(|v| v == value) {
                out.push(value.to_string());
            }
        }
        out
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
        let mut keyed = BTreeSet::new();
        visit_leaves(json, 16, &mut |key, leaf| {
            if let Some(text) = scalar(leaf) {
                if key.is_some_and(|k| is_subject_param(k) || k.eq_ignore_ascii_case("user_id")) {
                    values.insert((Some(true), text.clone()));
                }
                if let Some(key) = key {
                    keyed.insert((key.to_string(), text.clone()));
                }
                values.insert((None, text));
            }
            values.len() <= 10_000
        });
        self.markers
            .keys()
            .chain(self.subject.keys())
            .chain(self.owned.keys())
            .filter(|who| {
                let distinctive = self.markers.get(*who).is_some_and(|markers| {
                    markers.iter().any(|m| values.contains(&(None, m.clone())))
                });
                let owned = self
                    .subject
                    .get(*who)
                    .is_some_and(|id| values.contains(&(Some(true), id.clone())));
                // An object from the identity's own collections, under
                // the key it was listed with.
                let holds = self
                    .owned
                    .get(*who)
                    .is_some_and(|set| set.iter().any(|pair| keyed.contains(pair)));
                distinctive || owned || holds
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
    fn only_endpoints_that_address_no_object_tell_who_is_privileged() {
        use crate::checks::probe::fixtures::exchange;
        let answer = |path: &str, template: Option<&str>, who: &str, status: u16| {
            let mut sent = Arc::into_inner(exchange(
                &format!("http://h{path}"),
                Some(who),
                status,
                &[],
                r#"{"total": 12}"#,
            ))
            .expect("a fixture nobody else holds");
            sent.endpoint_template = template.map(String::from);
            sent
        };
        let mut learner = IdentityLearner::new(&[]);
        // bob reads his own order, which refuses alice: owners are checked.
        learner.see(&answer(
            "/api/orders/7",
            Some("/api/orders/{id}"),
            "bob",
            200,
        ));
        learner.see(&answer(
            "/api/orders/7",
            Some("/api/orders/{id}"),
            "alice",
            403,
        ));
        assert!(!learner.facts.served_where_refused("bob", "alice"));
        // The staff report serves bob and refuses alice: bob is staff.
        learner.see(&answer("/api/reports", None, "bob", 200));
        learner.see(&answer("/api/reports", None, "alice", 403));
        let facts = learner.finish();
        assert!(facts.served_where_refused("bob", "alice"));
        assert!(!facts.served_where_refused("alice", "bob"));
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
