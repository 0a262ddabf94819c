//! The parts of a request a cache may key on, and fresh keys made from them.
//!
//! A probe may store attacker-chosen content only under a key no visitor
//! will ever ask for. Rampart's query buster is such a key when the cache
//! keys on the query string; where it does not, another part of the
//! primary key can be: a path parameter, a fresh set of percent-encoded
//! letters, a fresh last path segment, a query parameter the cache keeps,
//! or the Host header. A header named in `Vary` is deliberately not among
//! them: it only selects a variant under the visitors' primary key, and an
//! answer without that `Vary` (an error page, a redirect) is stored for
//! every visitor.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use serde::Serialize;
use url::{Host, Url};

use crate::engine::buster::BUSTER_PARAM;
use crate::engine::CacheBuster;

/// One part of the primary cache key a fresh value can be given to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind", content = "name")]
pub enum KeyComponent {
    /// The buster query parameter, `?rampart_cb=<token>`.
    Query,
    /// A path parameter on the last segment, `;rampart_cb=<token>`, which
    /// many servers (Java, Spring, PHP front controllers) drop.
    Matrix,
    /// A fresh choice of percent-encoded letters in the path
    /// (`/%61pi/item%73`), which origins decode and caches may not.
    PathEncoding,
    /// The last path segment replaced by a fresh token: a sibling page of
    /// the same view (`/hello/rampart1f2e` for `/hello/world`).
    PathSegment,
    /// A query parameter the cache keeps in its key, given a fresh value.
    Param(String),
    /// The Host header, given a fresh name.
    Host,
}

impl KeyComponent {
    /// How the key is made fresh, for reports and notes.
    pub fn describe(&self) -> String {
        match self {
            KeyComponent::Query => format!("the query string (`?{BUSTER_PARAM}=…`)"),
            KeyComponent::Matrix => format!("a path parameter (`;{BUSTER_PARAM}=…`)"),
            KeyComponent::PathEncoding => {
                "the path as sent (percent-encoded letters and all)".to_string()
            }
            KeyComponent::PathSegment => "the last path segment".to_string(),
            KeyComponent::Param(name) => format!("the `{name}` query parameter"),
            KeyComponent::Host => "the Host header".to_string(),
        }
    }

    /// Whether a key made from this component keeps the plain path, so
    /// probes may vary the path themselves.
    pub fn keeps_path(&self) -> bool {
        matches!(
            self,
            KeyComponent::Query | KeyComponent::Param(_) | KeyComponent::Host
        )
    }

    /// The components worth trying for `url`, most common first; `params`
    /// are query parameters known for the endpoint.
    pub fn candidates(url: &Url, params: &[String]) -> Vec<KeyComponent> {
        let mut out = vec![KeyComponent::Query];
        let last = last_segment(url);
        if !last.is_empty() {
            out.push(KeyComponent::Matrix);
        }
        if encodable_positions(url.path()).len() >= MIN_ENCODABLE {
            out.push(KeyComponent::PathEncoding);
        }
        if !last.is_empty() {
            out.push(KeyComponent::PathSegment);
        }
        let mut names: Vec<String> = url
            .query_pairs()
            .map(|(k, _)| k.into_owned())
            .chain(params.iter().cloned())
            .filter(|k| k != BUSTER_PARAM)
            .collect();
        names.dedup();
        names.sort();
        names.dedup();
        out.extend(names.into_iter().map(KeyComponent::Param));
        out.push(KeyComponent::Host);
        out
    }
}

/// One fresh cache key: the URL and the headers that make it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    pub url: Url,
    pub headers: Vec<(String, String)>,
}

/// Letters and digits the path-encoding component may encode; fewer than
/// this many give too few distinct keys for a scan's probes.
const MIN_ENCODABLE: usize = 6;
/// At most this many positions take part (2^20 keys is plenty).
const MAX_ENCODED_BITS: usize = 20;

/// Makes fresh keys from one component for one plain URL. Path encodings
/// are drawn without repetition from a random starting point, so no two
/// probes of a scan share a key.
#[derive(Debug, Clone)]
pub struct KeyMaker {
    component: KeyComponent,
    plain: Url,
    offset: u64,
    issued: Arc<AtomicU64>,
}

impl KeyMaker {
    pub fn new(component: KeyComponent, plain: Url) -> Self {
        KeyMaker {
            component,
            plain,
            offset: fastrand::u64(..),
            issued: Arc::default(),
        }
    }

    pub fn component(&self) -> &KeyComponent {
        &self.component
    }

    /// The plain URL visitors use.
    pub fn plain(&self) -> &Url {
        &self.plain
    }

    /// A key never issued before in this scan, or `None` when the component
    /// has run out of distinct keys (short paths) or cannot apply. Every
    /// key also carries the query buster.
    pub fn fresh(&self, buster: &CacheBuster) -> Option<Key> {
        let token = buster.next_token();
        let mut url = self.plain.clone();
        let mut headers = Vec::new();
        match &self.component {
            KeyComponent::Query => {}
            KeyComponent::Matrix => {
                let path = format!("{};{BUSTER_PARAM}={token}", url.path());
                url.set_path(&path);
            }
            KeyComponent::PathEncoding => {
                let positions = encodable_positions(self.plain.path());
                let bits = positions.len().min(MAX_ENCODED_BITS);
                let variants = (1u64 << bits) - 1;
                let n = self.issued.fetch_add(1, Ordering::Relaxed);
                if bits < MIN_ENCODABLE || n >= variants {
                    return None;
                }
                let mask = (self.offset.wrapping_add(n)) % variants + 1;
                url.set_path(&encode_positions(
                    self.plain.path(),
                    &positions[..bits],
                    mask,
                ));
            }
            KeyComponent::PathSegment => {
                let path = self.plain.path();
                let cut = path.trim_end_matches('/').rfind('/')?;
                let trailing = if path.ends_with('/') && path.len() > 1 {
                    "/"
                } else {
                    ""
                };
                url.set_path(&format!("{}/rampart{token}{trailing}", &path[..cut]));
            }
            KeyComponent::Param(name) => {
                let pairs: Vec<(String, String)> = url
                    .query_pairs()
                    .filter(|(k, _)| k != name)
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .collect();
                url.set_query(None);
                {
                    let mut query = url.query_pairs_mut();
                    for (k, v) in &pairs {
                        query.append_pair(k, v);
                    }
                    query.append_pair(name, &format!("rampart{token}"));
                }
            }
            KeyComponent::Host => headers.push(("Host".to_string(), fresh_host(&url, &token))),
        }
        let url = buster.bust(&url);
        Some(Key { url, headers })
    }
}

/// `rampart<token>.<host>` for a name (a sibling a wildcard virtual host
/// may serve), `rampart<token>.invalid` for an address; the port kept.
fn fresh_host(url: &Url, token: &str) -> String {
    let name = match url.host() {
        Some(Host::Domain(domain)) => format!("rampart{token}.{domain}"),
        _ => format!("rampart{token}.invalid"),
    };
    match url.port() {
        Some(port) => format!("{name}:{port}"),
        None => name,
    }
}

fn last_segment(url: &Url) -> &str {
    url.path_segments()
        .and_then(|mut segments| segments.next_back())
        .unwrap_or("")
}

/// Byte positions of letters and digits in `path` that are not already
/// part of a percent-encoded sequence.
fn encodable_positions(path: &str) -> Vec<usize> {
    let bytes = path.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            i += 3;
            continue;
        }
        if bytes[i].is_ascii_alphanumeric() {
            out.push(i);
        }
        i += 1;
    }
    out
}

/// `path` with the positions whose bit is set in `mask` percent-encoded.
fn encode_positions(path: &str, positions: &[usize], mask: u64) -> String {
    let mut out = String::with_capacity(path.len() + 3 * positions.len());
    for (i, c) in path.char_indices() {
        let bit = positions.iter().position(|p| *p == i);
        match bit {
            Some(bit) if mask & (1 << bit) != 0 => out.push_str(&format!("%{:02X}", c as u32)),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn candidates_follow_what_the_url_offers() {
        let all = KeyComponent::candidates(&url("http://h/articles/intro?page=2"), &["q".into()]);
        assert_eq!(
            all,
            vec![
                KeyComponent::Query,
                KeyComponent::Matrix,
                KeyComponent::PathEncoding,
                KeyComponent::PathSegment,
                KeyComponent::Param("page".into()),
                KeyComponent::Param("q".into()),
                KeyComponent::Host,
            ]
        );
        let root = KeyComponent::candidates(&url("http://h/"), &[]);
        assert_eq!(root, vec![KeyComponent::Query, KeyComponent::Host]);
    }

    #[test]
    fn every_key_is_fresh_and_carries_the_buster() {
        let buster = CacheBuster::default();
        let plain = url("http://127.0.0.1:8080/articles/intro?page=2");
        for component in KeyComponent::candidates(&plain, &[]) {
            let maker = KeyMaker::new(component.clone(), plain.clone());
            let keys: Vec<Key> = (0..50).filter_map(|_| maker.fresh(&buster)).collect();
            assert_eq!(keys.len(), 50, "{component:?}");
            let unique: HashSet<String> = keys
                .iter()
                .map(|k| format!("{} {:?}", k.url, k.headers))
                .collect();
            assert_eq!(unique.len(), 50, "{component:?}");
            for key in &keys {
                assert!(key.url.as_str().contains("rampart_cb="), "{}", key.url);
                assert_ne!(key.url, plain);
            }
        }
    }

    #[test]
    fn each_component_changes_only_its_part() {
        let buster = CacheBuster::default();
        let plain = url("http://127.0.0.1:8080/articles/intro?page=2");
        let key = |c: KeyComponent| KeyMaker::new(c, plain.clone()).fresh(&buster).unwrap();

        let matrix = key(KeyComponent::Matrix);
        assert!(matrix.url.path().starts_with("/articles/intro;rampart_cb="));

        let encoded = key(KeyComponent::PathEncoding);
        assert!(encoded.url.path().contains('%'), "{}", encoded.url);
        let decoded: String = url::form_urlencoded::parse(encoded.url.path().as_bytes())
            .map(|(k, _)| k.into_owned())
            .collect();
        assert_eq!(decoded, "/articles/intro");

        let segment = key(KeyComponent::PathSegment);
        assert!(segment.url.path().starts_with("/articles/rampart"));

        let param = key(KeyComponent::Param("page".into()));
        let pairs: Vec<(String, String)> = param
            .url
            .query_pairs()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        assert!(pairs
            .iter()
            .any(|(k, v)| k == "page" && v.starts_with("rampart")));
        assert!(!pairs.iter().any(|(k, v)| k == "page" && v == "2"));

        let host = key(KeyComponent::Host);
        assert_eq!(host.url.path(), "/articles/intro");
        let (name, value) = &host.headers[0];
        assert_eq!(name, "Host");
        assert!(
            value.starts_with("rampart") && value.ends_with(".invalid:8080"),
            "{value}"
        );
        let named = KeyMaker::new(KeyComponent::Host, url("https://api.example.com/x"))
            .fresh(&buster)
            .unwrap();
        assert!(named.headers[0].1.ends_with(".api.example.com"));
    }

    #[test]
    fn short_paths_run_out_of_encodings_instead_of_repeating() {
        let buster = CacheBuster::default();
        let maker = KeyMaker::new(KeyComponent::PathEncoding, url("http://h/abcdef"));
        let keys: Vec<Key> = std::iter::from_fn(|| maker.fresh(&buster))
            .take(100)
            .collect();
        assert_eq!(keys.len(), 63);
        let paths: HashSet<&str> = keys.iter().map(|k| k.url.path()).collect();
        assert_eq!(paths.len(), 63);
        assert!(!paths.contains("/abcdef"));
    }
}
