//! Rampart: a fast black-box security scanner for HTTP/JSON APIs.
//!
//! The flow is one-way: discovery finds endpoints, the engine sends probes and
//! captures exchanges, the scan learns facts about the target once, checks
//! turn exchanges into finding drafts, `report::finalize` turns those into
//! findings (redaction, stable ids, remediation) and reporters render them.
//! `ARCHITECTURE.md` at the repository root maps the modules.

pub mod checks;
pub mod cli;
pub mod config;
pub mod detect;
pub mod discover;
pub mod engine;
pub mod facts;
pub mod files;
pub mod finding;
pub mod fleet;
#[doc(hidden)]
pub mod fuzzing;
pub mod identity;
pub mod knowledge;
pub mod lab;
pub mod progress;
pub mod report;
pub mod sanitize;
pub mod scan;
pub mod settings;
pub mod stack;
pub mod tls_probe;
pub mod tokens;
