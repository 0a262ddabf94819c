//! Cache busters: a unique, harmless query parameter per probe, so a probe can
//! only ever create or read a cache entry that no real user will request.

use std::sync::atomic::{AtomicU64, Ordering};

use url::Url;

/// The query parameter name Rampart uses; harmless to any sane API.
pub const BUSTER_PARAM: &str = "rampart_cb";

#[derive(Debug)]
pub struct CacheBuster {
    run: u64,
    counter: AtomicU64,
}

impl Default for CacheBuster {
    fn default() -> Self {
        CacheBuster {
            run: fastrand::u64(..),
            counter: AtomicU64::new(0),
        }
    }
}

impl CacheBuster {
    /// A token never returned before by this scan (and unguessable across scans).
    pub fn next_token(&self) -> String {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        format!("{:x}{:x}", self.run & 0xffff_ffff_ffff, n)
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
    let mut out = url.clone();
    out.set_query(None);
    if !pairs.is_empty() {
        let mut query = out.query_pairs_mut();
        for (k, v) in &pairs {
            query.append_pair(k, v);
        }
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
}
