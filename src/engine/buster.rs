//! Cache busters: a unique, harmless query parameter per probe, so a probe can
//! only ever create or read a cache entry that no real user will request.

use std::sync::atomic::{AtomicU64, Ordering};

use url::Url;

/// The query parameter name Rampart uses; harmless to any sane API.
pub const BUSTER_PARAM: &str = "rampart_cb";

#[derive(Debug)]
pub struct CacheBuster {
    /// This run's part of every token: 12 random hex digits.
    prefix: String,
    counter: AtomicU64,
}

impl Default for CacheBuster {
    fn default() -> Self {
        CacheBuster {
            prefix: format!("{:012x}", fastrand::u64(..) & 0xffff_ffff_ffff),
            counter: AtomicU64::new(0),
        }
    }
}

impl CacheBuster {
    /// A token never returned before by this scan (and unguessable across
    /// scans): this run's 12 hex digits, then a counter in hex.
    pub fn next_token(&self) -> String {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        format!("{}{n:x}", self.prefix)
    }

    /// `path` with each of this run's tokens in it replaced by `{token}`,
    /// when it holds any: the template of a path Rampart made up (a page
    /// that cannot exist, a deception file name), so what is found there
    /// gets the same id in every run.
    pub fn generalise(&self, path: &str) -> Option<String> {
        let prefix = self.prefix.as_str();
        if !path.contains(prefix) {
            return None;
        }
        let mut out = String::with_capacity(path.len());
        let mut rest = path;
        while let Some(at) = rest.find(prefix) {
            out.push_str(&rest[..at]);
            out.push_str("{token}");
            let after = &rest[at + prefix.len()..];
            let counter = after
                .find(|c: char| !c.is_ascii_hexdigit())
                .unwrap_or(after.len());
            rest = &after[counter..];
        }
        out.push_str(rest);
        Some(out)
    }

    /// `url` with its buster (if any) replaced by a fresh one: the same
    /// request again, on a cache key no one has used.
    pub fn rebust(&self, url: &Url) -> Url {
        self.bust(&without_buster(url))
    }

    /// `url` with a fresh buster parameter appended.
    pub fn bust(&self, url: &Url) -> Url {
        let mut busted = url.clone();
        busted
            .query_pairs_mut()
            .append_pair(BUSTER_PARAM, &self.next_token());
        busted
    }
}

/// `url` without the query parameter `name` (every occurrence), the rest of
/// the query kept in order.
pub fn without_param(url: &Url, name: &str) -> Url {
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| k != name)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    with_query(url, pairs)
}

/// `url` with exactly `pairs` as its query, in order (none when empty).
pub fn with_query(url: &Url, pairs: Vec<(String, String)>) -> Url {
    let mut out = url.clone();
    out.set_query(None);
    if !pairs.is_empty() {
        out.query_pairs_mut().extend_pairs(pairs);
    }
    out
}

/// `url` as the user would have written it: without Rampart's buster.
pub fn without_buster(url: &Url) -> Url {
    without_param(url, BUSTER_PARAM)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bust_is_unique_and_keeps_existing_query() {
        let buster = CacheBuster::default();
        let url = Url::parse("http://h/a?x=1").unwrap();
        let one = buster.bust(&url);
        let two = buster.bust(&url);
        assert_ne!(one, two);
        assert!(one.as_str().starts_with("http://h/a?x=1&rampart_cb="));
        let again = buster.rebust(&one);
        assert!(again.as_str().starts_with("http://h/a?x=1&rampart_cb="));
        assert_eq!(again.as_str().matches(BUSTER_PARAM).count(), 1);
        assert_ne!(again, one);
        assert_eq!(without_buster(&one), url);
        let only = buster.bust(&Url::parse("http://h/a").unwrap());
        assert_eq!(without_buster(&only).as_str(), "http://h/a");
        let twice = Url::parse("http://h/a?q=1&b=2&q=3").unwrap();
        assert_eq!(without_param(&twice, "q").as_str(), "http://h/a?b=2");
    }

    #[test]
    fn paths_made_of_tokens_generalise_to_one_template() {
        let buster = CacheBuster::default();
        let a = format!("/rampart-{}-not-found", buster.next_token());
        let b = format!(
            "/account/x{}.css/{}",
            buster.next_token(),
            buster.next_token()
        );
        assert_eq!(
            buster.generalise(&a).as_deref(),
            Some("/rampart-{token}-not-found")
        );
        assert_eq!(
            buster.generalise(&b).as_deref(),
            Some("/account/x{token}.css/{token}")
        );
        assert_eq!(buster.generalise("/api/items/1"), None);
        // Another run's tokens are not this run's.
        let other = CacheBuster::default();
        assert_eq!(other.generalise(&a), None);
    }
}
