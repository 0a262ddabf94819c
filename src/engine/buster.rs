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
    }
}
