//! Values the API itself returned, by the key they sat under and the
//! collection they came from: what a probe can use as a parameter value
//! the API will recognise (an id that returned data, a title, a username)
//! when the spec's example matches nothing.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use serde_json::Value;

use crate::discover::Endpoint;
use crate::engine::Exchange;

/// Distinct values kept per key; a handful is enough to find one that works.
const PER_KEY: usize = 8;
/// Longer values are rarely identifiers and would bloat probes.
const MAX_VALUE_LEN: usize = 80;

/// What the baselines' successful JSON answers contained.
#[derive(Debug, Clone, Default)]
pub struct ResponseValues {
    /// Normalised key (lower case, no `_`/`-`) → values seen under it.
    by_key: BTreeMap<String, Vec<String>>,
    /// Endpoint template → normalised key → values of the objects it listed.
    by_collection: BTreeMap<String, BTreeMap<String, Vec<String>>>,
}

/// `user_id`, `userId` and `user-id` are one key.
pub(crate) fn normalise(key: &str) -> String {
    key.chars()
        .filter(|c| *c != '_' && *c != '-')
        .flat_map(char::to_lowercase)
        .collect()
}

fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.is_empty() && s.len() <= MAX_VALUE_LEN => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn remember(values: &mut Vec<String>, value: String) {
    if values.len() < PER_KEY && !values.contains(&value) {
        values.push(value);
    }
}

impl ResponseValues {
    /// Harvests every 2xx JSON answer among `exchanges`.
    pub fn learn<'a>(exchanges: impl Iterator<Item = &'a Arc<Exchange>>) -> Self {
        let mut values = ResponseValues::default();
        for exchange in exchanges {
            values.see(exchange);
        }
        values
    }

    /// Reads one successful answer's values: its JSON (a create's answer
    /// lands under the collection it was posted to) and the identifier a
    /// `Location` header names (`/books/Dune` gives `Dune` to `/books`).
    pub fn see(&mut self, exchange: &Exchange) {
        if !(200..300).contains(&exchange.response.status) {
            return;
        }
        if let Some((collection, id)) = exchange
            .response_header("location")
            .and_then(|l| located(&exchange.request.url, l))
        {
            let listed = self.by_collection.entry(collection).or_default();
            remember(listed.entry("id".into()).or_default(), id.clone());
            remember(self.by_key.entry("id".into()).or_default(), id);
        }
        let Some(json) = exchange.body_json() else {
            return;
        };
        let collection = self
            .by_collection
            .entry(exchange.endpoint_path().to_string())
            .or_default();
        collect(json, &mut self.by_key, collection, 0);
    }

    /// Lets go of the values of every collection no parameter is looked up
    /// under: only the path before a `{placeholder}` of an endpoint is ever
    /// asked for ([`ResponseValues::candidates`]), and an API of thousands
    /// of endpoints would otherwise keep the values of every answer.
    pub fn keep_collections_of(&mut self, endpoints: &[Endpoint]) {
        let wanted: HashSet<&str> = endpoints
            .iter()
            .flat_map(|e| {
                e.path
                    .match_indices('{')
                    .filter_map(|(at, _)| collection_before(&e.path, at))
            })
            .collect();
        self.by_collection
            .retain(|collection, _| wanted.contains(collection.as_str()));
    }

    /// Values worth trying for a parameter `name` of the endpoint `path`
    /// (a template), best first: values listed by the collection the path
    /// sits under (`/items` for `/items/{item_id}`) under the parameter's
    /// own key, then its `id`, then the same keys anywhere.
    pub fn candidates(&self, path: &str, name: &str) -> Vec<String> {
        let key = normalise(name);
        let mut keys = vec![key.clone()];
        if let Some(stem) = key.strip_suffix("id").filter(|s| !s.is_empty()) {
            keys.push(stem.to_string());
            keys.push("id".to_string());
        } else if key != "id" {
            keys.push("id".to_string());
        }
        let placeholder = format!("{{{name}}}");
        let collection = path
            .find(&placeholder)
            .and_then(|at| collection_before(path, at));
        let mut out: Vec<String> = Vec::new();
        let mut push = |values: Option<&Vec<String>>| {
            for value in values.into_iter().flatten() {
                if !out.contains(value) {
                    out.push(value.clone());
                }
            }
        };
        if let Some(listed) = collection.and_then(|c| self.by_collection.get(c)) {
            for key in &keys {
                push(listed.get(key));
            }
        }
        push(self.by_key.get(&key));
        out
    }
}

/// The collection a path's placeholder at `at` sits under: the path
/// before it (`/items` for `/items/{item_id}`), if any.
fn collection_before(path: &str, at: usize) -> Option<&str> {
    Some(path[..at].trim_end_matches('/')).filter(|c| !c.is_empty())
}

/// The collection path and the identifier a `Location` header names,
/// resolved against the request's URL (same origin only: a redirect to
/// elsewhere names nothing of this API).
pub(crate) fn located(request: &str, location: &str) -> Option<(String, String)> {
    let base = url::Url::parse(request).ok()?;
    let target = base.join(location).ok()?;
    if target.origin() != base.origin() {
        return None;
    }
    let path = target.path().trim_end_matches('/');
    let (collection, last) = path.rsplit_once('/')?;
    // A path segment's `+` is a plus, not the form encoding's space.
    let escaped = format!("x={}", last.replace('+', "%2B"));
    let (_, id) = url::form_urlencoded::parse(escaped.as_bytes()).next()?;
    let id = id.into_owned();
    (!collection.is_empty() && !id.is_empty() && id.len() <= MAX_VALUE_LEN)
        .then(|| (collection.to_string(), id))
}

/// Every scalar under its key; the items of an array at the top (or under
/// a wrapper such as `data`/`items`/`results`) also go to the collection.
fn collect(
    value: &Value,
    by_key: &mut BTreeMap<String, Vec<String>>,
    collection: &mut BTreeMap<String, Vec<String>>,
    depth: usize,
) {
    each_leaf(value, None, depth, (6, 100), &mut |_, key, item, depth| {
        let Some(text) = scalar(item) else {
            return;
        };
        let key = normalise(key);
        if depth <= 2 {
            remember(collection.entry(key.clone()).or_default(), text.clone());
        }
        remember(by_key.entry(key).or_default(), text);
    });
}

/// Calls `visit(container, key, leaf, depth)` for every string or number
/// member of the objects in `value` (`container`: the key the object sat
/// under), down to `max_depth`, the first `max_items` of each array.
pub(crate) fn each_leaf<'v>(
    value: &'v Value,
    container: Option<&'v str>,
    depth: usize,
    limits @ (max_depth, max_items): (usize, usize),
    visit: &mut dyn FnMut(Option<&'v str>, &'v str, &'v Value, usize),
) {
    if depth > max_depth {
        return;
    }
    match value {
        Value::Object(map) => {
            for (key, item) in map {
                match item {
                    Value::String(_) | Value::Number(_) => visit(container, key, item, depth),
                    _ => each_leaf(item, Some(key), depth + 1, limits, visit),
                }
            }
        }
        Value::Array(items) => {
            for item in items.iter().take(max_items) {
                each_leaf(item, container, depth + 1, limits, visit);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::probe::fixtures::{endpoint, exchange};

    fn listed(path: &str, body: &str) -> Arc<Exchange> {
        let mut exchange = Arc::into_inner(exchange(
            &format!("http://h{path}?rampart_cb=1"),
            None,
            200,
            &[],
            body,
        ))
        .expect("a fresh fixture");
        exchange.endpoint_template = Some(path.to_string());
        Arc::new(exchange)
    }

    #[test]
    fn candidates_come_from_the_collection_first_then_anywhere() {
        let values = ResponseValues::learn(
            [
                listed(
                    "/api/posts",
                    r#"{"data": [{"id": 7, "title": "Hello world", "author": "ada"}, {"id": 9, "title": "Second"}]}"#,
                ),
                listed("/api/users", r#"[{"id": 1, "username": "ada"}]"#),
                exchange("http://h/api/x", None, 404, &[], r#"{"id": 404}"#),
            ]
            .iter(),
        );
        assert_eq!(
            values.candidates("/api/posts/{title}", "title"),
            ["Hello world", "Second", "7", "9"]
        );
        assert_eq!(
            values.candidates("/api/posts/{post_id}", "post_id"),
            ["7", "9"]
        );
        assert_eq!(values.candidates("/api/by/{username}", "username"), ["ada"]);
        assert!(values.candidates("/api/x/{nothing}", "nothing").is_empty());
    }

    #[test]
    fn only_collections_a_placeholder_sits_under_are_kept() {
        let mut values = ResponseValues::learn(
            [
                listed("/api/posts", r#"[{"id": 7, "title": "Hello world"}]"#),
                listed("/api/tags", r#"[{"id": 3, "tag": "news"}]"#),
                listed("/api/tags/search", r#"[{"id": 4, "tag": "misc"}]"#),
            ]
            .iter(),
        );
        let endpoints = [
            endpoint("GET /api/posts"),
            endpoint("GET /api/posts/{title}"),
            endpoint("GET /api/tags"),
            endpoint("GET /api/tags/search"),
        ];
        let before = values.candidates("/api/posts/{title}", "title");
        values.keep_collections_of(&endpoints);
        assert_eq!(
            values.by_collection.keys().collect::<Vec<_>>(),
            ["/api/posts"]
        );
        assert_eq!(values.candidates("/api/posts/{title}", "title"), before);
        assert_eq!(before, ["Hello world", "7"]);
        // Values seen anywhere stay, by their key.
        assert_eq!(
            values.candidates("/api/labels/{tag}", "tag"),
            ["news", "misc"]
        );
    }

    #[test]
    fn a_location_header_names_an_identifier_of_its_collection() {
        let created = |location: &str| {
            exchange(
                "http://h/api/books?rampart_cb=1",
                None,
                201,
                &[("Location", location)],
                r#"{"status": "success"}"#,
            )
        };
        let values = ResponseValues::learn(
            [
                created("/api/books/The%20Hobbit"),
                created("http://elsewhere.example/api/books/Other"),
            ]
            .iter(),
        );
        assert_eq!(
            values.candidates("/api/books/{title}", "title"),
            ["The Hobbit"]
        );
    }
}
