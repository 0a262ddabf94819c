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
        let kept: Vec<(String, String)> = url
            .query_pairs()
            .filter(|(name, _)| name != BUSTER_PARAM)
            .map(|(n, v)| (n.into_owned(), v.into_owned()))
            .collect();
        let mut clean = url.clone();
        clean.set_query(None);
        if !kept.is_empty() {
            clean.query_pairs_mut().extend_pairs(kept);
        }
        self.bust(&clean)
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
    }
}
