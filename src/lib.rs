//! Rampart: a fast black-box security scanner for HTTP/JSON APIs.
//!
//! The flow is one-way: discovery finds endpoints, the engine sends probes and
//! captures exchanges, checks turn exchanges into finding drafts, the scan
//! finalises them (redaction, stable ids, remediation) and reporters render them.

pub mod checks;
pub mod cli;
pub mod detect;
pub mod discover;
pub mod engine;
pub mod facts;
pub mod finding;
pub mod identity;
pub mod knowledge;
pub mod lab;
pub mod report;
pub mod scan;
pub mod stack;
pub mod transport;
