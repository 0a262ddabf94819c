//! Fleet scanning: many APIs a night, on the batch engines teams already
//! run (Kubernetes Indexed Jobs, CI matrices) rather than a scheduler of
//! Rampart's own. Rampart's part is to make a fleet scan shardable,
//! resumable and mergeable:
//!
//! * [`targets`] — the targets file (`--targets fleet.toml`): each API's
//!   name, base URL, spec, identity file and overrides, layered over the
//!   command line and `rampart.toml`;
//! * [`shard`] — `--shard I/N`: rendezvous hashing of the target's name, so
//!   every target belongs to exactly one shard and adding a target moves
//!   no other;
//! * [`store`] — the output directory: one JSON report per target, written
//!   atomically (a killed shard never leaves a half report under a
//!   report's name), a failure record for a target that could not be
//!   scanned, and what `--resume` may skip;
//! * [`events`] — JSON Lines progress events on stdout for log collectors;
//! * [`run`] — several targets at once (`--parallel`), each paced on its
//!   own, all within a global rate and concurrency;
//! * [`merge`], [`view`] and [`render`] — `rampart merge`: the reports of
//!   every shard as one fleet view (grade per API, findings by check,
//!   new and fixed against the previous night), in JSON, HTML, SARIF,
//!   Markdown and text.

pub mod events;
pub mod merge;
pub mod render;
pub mod run;
pub mod shard;
pub mod store;
pub mod targets;
pub mod view;

pub use shard::Shard;
pub use targets::{Fleet, FleetTarget};

/// The peak resident memory of this process so far, in KiB (`VmHWM` of
/// `/proc/self/status`); `None` where the system does not say.
pub fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
}

#[cfg(test)]
mod tests {
    #[test]
    fn peak_memory_is_read_on_linux() {
        if cfg!(target_os = "linux") {
            let kib = super::peak_rss_kib().expect("VmHWM on Linux");
            assert!(kib > 0);
        }
    }
}
