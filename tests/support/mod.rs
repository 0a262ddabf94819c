//! The test harness every integration test shares (`mod support;`).
//!
//! * `process`, the one process manager: [`Launch`] starts a child on free
//!   ports in its own process group, scratch directory and log, polls it
//!   until ready; the [`ChildProcess`] guard stops the whole group
//!   gracefully on Drop. [`free_port`], [`survivors`].
//! * `targets`: [`MotoServer`] (DynamoDB) and [`FlaskApp`] (one twin of a
//!   Python target in `tests/targets/<family>/app.py`, run from the test
//!   venv: `$RAMPART_TEST_VENV` or `<repo>/.venv`; a missing venv is a hard
//!   failure, never a silent skip).
//! * `proxy`: Varnish and nginx (cache templates or any config).
//! * `tls`: [`TestPki`] (throwaway CA, leaves with options, self-signed)
//!   and [`tls::SServer`] (`openssl s_server` in TLS profiles).
//! * `scan`: [`rampart`] / [`scan()`] run the binary under test and read
//!   its report as [`rampart::report::Report`]; [`Family`] / [`Target`]:
//!   how a family's tests start their target, scan it and reset it.
//! * `http`: a tiny loopback-only client ([`http_get`], [`http_request`]).
//! * `databases`: [`Postgres`] and [`MariaDb`], private servers on free
//!   loopback ports (run as `nobody` when the tests are root).
//!
//! Everything binds and talks to 127.0.0.1 only.

#![allow(dead_code, unused_imports)]

pub mod databases;
pub mod http;
pub mod process;
pub mod proxy;
pub mod scan;
pub mod targets;
pub mod tls;

use std::path::PathBuf;

pub use databases::{MariaDb, Postgres};
pub use http::{http_get, http_request, HttpResponse, Wire};
// The kitchen target's cluster (role `rampart`, databases made on demand); the
// injection targets use `databases::Postgres`. Two harnesses to fold into one.
pub use process::{free_port, survivors, ChildProcess, Launch, Ready, Slot};
pub use scan::{
    rampart, rampart_with_env, scan, scan_with_env, summarize_findings, Family, ScanRun, Target,
};
pub use targets::{FlaskApp, MotoServer};
pub use tls::{Leaf, TestPki};

/// The crate root (where Cargo.toml lives).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `<repo>/tests/targets`.
pub fn targets_dir() -> PathBuf {
    repo_root().join("tests").join("targets")
}
