//! `--shard I/N`: which targets one of N workers scans.
//!
//! Rendezvous (highest random weight) hashing: each target goes to the
//! shard whose weight for the target's name is highest, the weight being
//! a SHA-256 of the name and the shard's number. Every target therefore
//! has exactly one shard (the union of all shards is the fleet, and no
//! target runs twice), the choice depends on nothing but the name and N
//! (the same on every machine and every night), adding or removing a
//! target moves no other target, and going from N to N+1 shards moves only
//! the targets the new shard wins (about 1/(N+1) of them). The split is as
//! even as independent random draws: with M targets a shard gets M/N give
//! or take a few √(M/N).
//!
//! `I` counts from 0, as Kubernetes' `JOB_COMPLETION_INDEX` does.

use std::fmt;
use std::str::FromStr;

use sha2::{Digest, Sha256};
use thiserror::Error;

/// The most shards a fleet may be split into.
pub const MAX_SHARDS: u32 = 100_000;

/// One of `count` shards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum ShardError {
    #[error("--shard must look like I/N (e.g. 0/4), got '{0}'")]
    Syntax(String),
    #[error("--shard {index}/{count}: the index counts from 0, so it must be below {count}")]
    OutOfRange { index: u32, count: u32 },
    #[error("--shard: the number of shards must be between 1 and {MAX_SHARDS}")]
    Count,
}

impl Shard {
    /// The whole fleet as one shard.
    pub const ALL: Shard = Shard { index: 0, count: 1 };

    /// Whether the target called `name` belongs to this shard.
    pub fn owns(&self, name: &str) -> bool {
        owner(name, self.count) == self.index
    }

    /// The items of this shard, in their order, by the name of each.
    pub fn select<'a, T>(&self, items: &'a [T], name: impl Fn(&T) -> &str) -> Vec<&'a T> {
        items.iter().filter(|item| self.owns(name(item))).collect()
    }
}

impl FromStr for Shard {
    type Err = ShardError;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        let syntax = || ShardError::Syntax(raw.to_string());
        let (index, count) = raw.trim().split_once('/').ok_or_else(syntax)?;
        let index: u32 = index.trim().parse().map_err(|_| syntax())?;
        let count: u32 = count.trim().parse().map_err(|_| syntax())?;
        if count == 0 || count > MAX_SHARDS {
            return Err(ShardError::Count);
        }
        if index >= count {
            return Err(ShardError::OutOfRange { index, count });
        }
        Ok(Shard { index, count })
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// The shard (of `count`) that owns the target called `name`.
pub fn owner(name: &str, count: u32) -> u32 {
    let mut best = (0u64, 0u32);
    for shard in 0..count.max(1) {
        let w = weight(name, shard);
        // Ties (a 2^-64 chance) go to the lower shard, so the choice stays
        // a function of the name alone.
        if shard == 0 || w > best.0 {
            best = (w, shard);
        }
    }
    best.1
}

fn weight(name: &str, shard: u32) -> u64 {
    let mut hasher = Sha256::new();
    hasher.update(b"rampart-shard/1\0");
    hasher.update(name.as_bytes());
    hasher.update([0]);
    hasher.update(shard.to_be_bytes());
    let digest = hasher.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(first)
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    /// Many names of the shapes teams use: services, versions, teams,
    /// hosts, with random parts.
    fn names(n: usize, seed: u64) -> Vec<String> {
        let mut rng = fastrand::Rng::with_seed(seed);
        let words = [
            "orders", "billing", "users", "auth", "search", "cart", "api",
        ];
        (0..n)
            .map(|i| {
                let word = words[rng.usize(..words.len())];
                match rng.u8(..4) {
                    0 => format!("{word}-{i}"),
                    1 => format!("team{}.{word}-v{}", rng.u16(..500), rng.u8(..9)),
                    2 => format!("{word}_{:x}", rng.u64(..)),
                    _ => format!("{i}"),
                }
            })
            .collect::<HashSet<_>>()
            .into_iter()
            .collect()
    }

    #[test]
    fn shards_parse_from_zero_and_refuse_what_would_lose_targets() {
        assert_eq!("0/4".parse(), Ok(Shard { index: 0, count: 4 }));
        assert_eq!(" 3 / 4 ".parse(), Ok(Shard { index: 3, count: 4 }));
        assert_eq!(
            "4/4".parse::<Shard>(),
            Err(ShardError::OutOfRange { index: 4, count: 4 })
        );
        assert_eq!("1/0".parse::<Shard>(), Err(ShardError::Count));
        for bad in ["", "1", "a/4", "-1/4", "1/4/2", "1.5/4"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad:?} accepted");
        }
        assert_eq!(Shard { index: 2, count: 8 }.to_string(), "2/8");
    }

    #[test]
    fn every_target_is_in_exactly_one_shard() {
        for (seed, count) in [(1, 1), (2, 2), (3, 4), (4, 7), (5, 16), (6, 64)] {
            let names = names(3_000, seed);
            for name in &names {
                let owners: Vec<u32> = (0..count)
                    .filter(|&index| Shard { index, count }.owns(name))
                    .collect();
                assert_eq!(owners.len(), 1, "{name} in shards {owners:?} of {count}");
                assert_eq!(owners[0], owner(name, count));
            }
        }
    }

    #[test]
    fn shards_are_balanced() {
        for (seed, count) in [(11, 2), (12, 4), (13, 10), (14, 32)] {
            let names = names(20_000, seed);
            let mut sizes = vec![0usize; count as usize];
            for name in &names {
                sizes[owner(name, count) as usize] += 1;
            }
            let mean = names.len() as f64 / f64::from(count);
            // Six standard deviations of a binomial draw: a failure here is
            // a skew in the hash, not bad luck.
            let sd = (mean * (1.0 - 1.0 / f64::from(count))).sqrt();
            for size in &sizes {
                assert!(
                    (*size as f64 - mean).abs() <= 6.0 * sd,
                    "{count} shards of {} names: {sizes:?}",
                    names.len()
                );
            }
        }
    }

    #[test]
    fn adding_targets_moves_no_other_and_a_new_shard_takes_only_its_share() {
        let names = names(10_000, 21);
        let (old, added) = names.split_at(9_000);
        let grown: Vec<String> = old.iter().chain(added).cloned().collect();
        for index in 0..8 {
            let shard = Shard { index, count: 8 };
            let before: HashSet<&String> = shard.select(old, |n| n).into_iter().collect();
            let after: HashSet<&String> = shard.select(&grown, |n| n).into_iter().collect();
            // The fleet grew: the old targets stay where they were, and
            // the shard gained only new ones.
            assert!(before.is_subset(&after));
            assert!(after.difference(&before).all(|n| added.contains(n)));
        }
        let before: Vec<u32> = old.iter().map(|n| owner(n, 8)).collect();
        // One more shard: a target either stays or moves to the new shard.
        let mut moved = 0;
        for (name, was) in old.iter().zip(&before) {
            let now = owner(name, 9);
            if now != *was {
                assert_eq!(
                    now, 8,
                    "{name} moved from {was} to {now}, not to the new shard"
                );
                moved += 1;
            }
        }
        let share = old.len() as f64 / 9.0;
        assert!(
            (moved as f64 - share).abs() < 0.15 * share,
            "{moved} of {} moved, expected about {share:.0}",
            old.len()
        );
    }

    #[test]
    fn the_owner_is_fixed_by_the_name_alone() {
        // Pinned: a change here would move every fleet's targets between
        // shards from one release to the next.
        let pinned: Vec<u32> = ["orders", "billing", "users", "auth", "search"]
            .iter()
            .map(|n| owner(n, 4))
            .collect();
        assert_eq!(pinned, PINNED);
        assert_eq!(owner("anything", 1), 0);
    }

    /// Computed outside Rampart (Python's hashlib, the same construction).
    const PINNED: [u32; 5] = [2, 2, 2, 0, 0];
}
