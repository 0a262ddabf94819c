//! Command-line definitions only; `main.rs` turns them into a scan.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::finding::Severity;
use crate::report::Format;

#[derive(Debug, Parser)]
#[command(
    name = "rampart",
    version,
    about = "Fast black-box security scanner for HTTP/JSON APIs",
    long_about = "Rampart finds the API vulnerabilities attackers use — cache poisoning, broken object-level \
                  authorization, data exposure and more — proves each with evidence, and tells you how to fix it \
                  in your own stack. Read-only by default."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Scan a running API.
    Scan(Box<ScanArgs>),
    /// Start the built-in vulnerable lab API on 127.0.0.1 and scan it.
    Demo(DemoArgs),
    /// List every check: id, family, severity, mode, summary.
    Checks,
    /// Explain a check (or the check behind a finding id) and how to fix it.
    Explain(ExplainArgs),
    /// Merge the output directories of a fleet scan's shards into one fleet
    /// view: grade per API, findings by check, new and fixed against the
    /// previous night.
    Merge(MergeArgs),
}

#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Base URL of the API, e.g. http://127.0.0.1:8080 (or `target` in rampart.toml).
    #[arg(conflicts_with = "targets")]
    pub base_url: Option<String>,

    #[command(flatten)]
    pub fleet: FleetArgs,

    /// The project file (default: rampart.toml in the working directory, if any).
    /// Command-line options override it; an empty value ('') resets one of its values.
    #[arg(long, value_name = "FILE", conflicts_with = "no_config")]
    pub config: Option<PathBuf>,

    /// Ignore rampart.toml.
    #[arg(long)]
    pub no_config: bool,

    /// OpenAPI 3.x or Swagger 2.0 description (file or URL, JSON or YAML).
    #[arg(long, value_name = "FILE|URL")]
    pub spec: Option<String>,

    /// Requests recorded in a HAR file (a browser's or a proxy's export):
    /// merged with the spec and discovery. Repeatable.
    #[arg(long, value_name = "FILE")]
    pub har: Vec<PathBuf>,

    /// A Postman collection (v2.1 export): its requests are merged with the
    /// spec and discovery. Repeatable.
    #[arg(long, value_name = "FILE")]
    pub postman: Vec<PathBuf>,

    /// A list of endpoints, one `METHOD /path` per line (`{name}` marks a
    /// path parameter, `#` starts a comment). Repeatable.
    #[arg(long, value_name = "FILE")]
    pub endpoints: Vec<PathBuf>,

    /// An identity: NAME and a 'Header: value'. Repeat the NAME to add headers.
    #[arg(long, num_args = 2, value_names = ["NAME", "HEADER"], action = clap::ArgAction::Append)]
    pub identity: Vec<String>,

    /// Identities from a TOML file (values may be env:VAR; identities may log in).
    #[arg(long, value_name = "FILE")]
    pub identity_file: Option<PathBuf>,

    /// A header sent with every request, e.g. 'X-Tenant: acme'.
    #[arg(long = "header", short = 'H', value_name = "HEADER")]
    pub headers: Vec<String>,

    #[command(flatten)]
    pub output: OutputArgs,

    /// Allow state-changing probes (POST/PUT/PATCH/DELETE). Off by default.
    #[arg(long)]
    pub active: bool,

    /// With --active: allow a bounded burst of failed logins to test rate limiting.
    #[arg(long, requires = "active")]
    pub login_burst: bool,

    #[command(flatten)]
    pub bounds: BoundArgs,

    /// Only run checks matching these globs (comma-separated), e.g. 'exposure.*'.
    #[arg(long, value_delimiter = ',', value_name = "GLOB,...")]
    pub checks: Vec<String>,

    /// Skip checks matching these globs.
    #[arg(long, value_delimiter = ',', value_name = "GLOB,...")]
    pub skip_checks: Vec<String>,

    /// Only scan endpoints whose path matches these globs (`*` matches
    /// anything), e.g. '/api/v2/*'. A path named without `*` is requested
    /// even when its name looks like an action (see --exclude-path).
    #[arg(long, value_delimiter = ',', value_name = "GLOB,...")]
    pub include_path: Vec<String>,

    /// Never request endpoints whose path matches these globs. Reads whose
    /// path, operationId or summary names an action (reset, seed, logout,
    /// delete, …) are left out without being listed here.
    #[arg(long, value_delimiter = ',', value_name = "GLOB,...")]
    pub exclude_path: Vec<String>,

    /// Assume this stack for remediation instead of fingerprinting, e.g. flask+dynamodb.
    #[arg(long, value_name = "STACK")]
    pub stack: Option<String>,

    /// Accept invalid TLS certificates (self-signed test servers).
    #[arg(long)]
    pub insecure: bool,

    /// More candidate secrets for the offline recovery of token secrets
    /// (JWT, Flask session, itsdangerous), one per line.
    #[arg(long, value_name = "FILE")]
    pub wordlist: Option<PathBuf>,

    /// Token secrets: try every number of up to N digits (0-8; default 8).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(0..=8))]
    pub crack_digits: Option<u8>,

    /// Where to look for the plain-HTTP twin of an https target (transport.plain-http).
    #[arg(long, value_name = "PORT", default_value_t = 80, value_parser = clap::value_parser!(u16).range(1..))]
    pub http_port: u16,

    #[command(flatten)]
    pub injection: InjectionArgs,
}

#[derive(Debug, Args)]
pub struct InjectionArgs {
    /// A collaborator URL you control for SSRF probes (injection.ssrf); the
    /// server is asked to fetch <URL>/<token>, reported as tentative.
    #[arg(long, value_name = "URL")]
    pub oob_url: Option<String>,

    /// Requests the injection checks may send in one scan, all together.
    #[arg(long, default_value_t = crate::checks::injection::session::DEFAULT_SCAN_BUDGET, value_name = "N")]
    pub injection_budget: u64,

    /// Requests one injection check may send for one input.
    #[arg(long, default_value_t = crate::checks::injection::session::DEFAULT_PARAM_BUDGET, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..))]
    pub injection_param_budget: u32,

    /// With --active, also send injection probes to write operations
    /// (POST/PUT/PATCH/DELETE bodies and parameters). What they create or
    /// change is not undone; the report's `changes` lists those endpoints.
    #[arg(long, requires = "active")]
    pub injection_writes: bool,
}

/// Scanning a fleet of APIs (`--targets`).
#[derive(Debug, Args)]
pub struct FleetArgs {
    /// Scan every API of a targets file (TOML, one [[target]] per API)
    /// instead of one base URL: one JSON report per API into --out-dir,
    /// progress events as JSON Lines on standard output.
    #[arg(long, value_name = "FLEET.toml", requires = "out_dir")]
    pub targets: Option<PathBuf>,

    /// With --targets: where each API's report goes (created if needed;
    /// every shard may share it).
    #[arg(long, value_name = "DIR", requires = "targets")]
    pub out_dir: Option<PathBuf>,

    /// With --targets: scan only shard I of N (I counts from 0, as
    /// Kubernetes' JOB_COMPLETION_INDEX does); every API is in exactly one
    /// shard, chosen by a hash of its name.
    #[arg(long, value_name = "I/N", requires = "targets")]
    pub shard: Option<String>,

    /// With --targets: APIs scanned at the same time.
    #[arg(long, default_value_t = 4, value_name = "N", requires = "targets",
          value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub parallel: u16,

    /// With --targets: skip APIs whose report in --out-dir is complete (a
    /// shard run again after it was stopped).
    #[arg(long, requires = "targets")]
    pub resume: bool,

    /// With --targets: requests per second for all APIs together (0 = only
    /// each API's own --rate).
    #[arg(
        long,
        default_value_t = 0.0,
        value_name = "REQ_PER_S",
        requires = "targets"
    )]
    pub global_rate: f64,

    /// With --targets: requests in flight for all APIs together.
    #[arg(long, default_value_t = 64, value_name = "N", requires = "targets",
          value_parser = clap::value_parser!(u16).range(1..))]
    pub global_concurrency: u16,
}

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// Output directories of a fleet scan (each shard's, or one they shared).
    #[arg(required = true, value_name = "DIR")]
    pub dirs: Vec<PathBuf>,

    /// Write the fleet view to FILE, in the format its extension names
    /// (.json, .html, .sarif, .md, .txt) or FORMAT=FILE (repeatable). The
    /// HTML page links each API's own page, written beside it in
    /// <name>-apis/. Without -o, a summary goes to standard output.
    #[arg(short, long, value_name = "FILE|FORMAT=FILE")]
    pub output: Vec<String>,

    /// The previous night's fleet view (a merge's JSON output): each
    /// finding is marked new or unchanged per API, fixed ones are listed,
    /// and --fail-on judges only new findings.
    #[arg(long, value_name = "FLEET.json")]
    pub baseline: Option<PathBuf>,

    /// The targets file: its APIs that no shard reported on are listed as
    /// missing.
    #[arg(long, value_name = "FLEET.toml")]
    pub targets: Option<PathBuf>,

    /// Exit with status 1 when a finding at or above this severity exists
    /// in the fleet (with --baseline: a new one).
    #[arg(long, value_enum, value_name = "SEVERITY")]
    pub fail_on: Option<Severity>,

    /// Print nothing but errors.
    #[arg(short, long)]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct OutputArgs {
    /// Report format on standard output (or in the file of a plain -o FILE).
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,

    /// Write the report to FILE; FORMAT=FILE writes that format (repeatable:
    /// -o sarif=r.sarif -o junit=r.xml -o html=r.html -o markdown=pr.md).
    /// Formats and paths are checked before the first request.
    #[arg(short, long, value_name = "FILE|FORMAT=FILE")]
    pub output: Vec<String>,

    /// Exit with status 1 when a finding at or above this severity exists
    /// (with --baseline: a new one).
    #[arg(long, value_enum, value_name = "SEVERITY")]
    pub fail_on: Option<Severity>,

    /// A previous JSON report: each finding is marked new or unchanged, the
    /// fixed ones are listed, and --fail-on judges only new findings.
    #[arg(long, value_name = "REPORT.json")]
    pub baseline: Option<PathBuf>,

    /// Print only the report (no progress display, no notes).
    #[arg(short, long, conflicts_with = "verbose")]
    pub quiet: bool,

    /// Print what each phase decided, and a coverage table at the end, on stderr.
    #[arg(short, long)]
    pub verbose: bool,
}

#[derive(Debug, Args)]
pub struct BoundArgs {
    /// Ceiling on requests per second. Below it the pace adapts: a polite
    /// start, faster while the target answers quickly and cleanly, slower
    /// (with pauses) when it throttles, slows down or fails. Without it there
    /// is no ceiling; 0 = unlimited and not adaptive (throttling is still
    /// honoured).
    #[arg(long, value_name = "REQ_PER_S")]
    pub rate: Option<f64>,

    // No clap defaults below: a value not given leaves the project file's
    // (or a fleet target's) in place; the defaults live in `settings`.
    /// Maximum requests in flight [default: 8].
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub concurrency: Option<u16>,

    /// Per-request timeout in seconds (connect, headers and body) [default: 10].
    #[arg(long, value_name = "SECONDS")]
    pub timeout: Option<f64>,

    /// Stop sending after this many requests [default: 5000].
    #[arg(long, value_name = "N")]
    pub max_requests: Option<u64>,

    /// Largest response body read, in KiB (the rest is discarded unread).
    #[arg(long, default_value_t = 1024, value_name = "KIB")]
    pub max_body_kib: usize,

    /// Stop sending after this many seconds and report what was found (the
    /// report says the scan is incomplete). Ctrl-C does the same.
    #[arg(long, value_name = "SECONDS")]
    pub max_duration: Option<f64>,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    #[command(flatten)]
    pub output: OutputArgs,

    /// Keep the lab running after the scan (Ctrl-C to stop) so you can try the curl lines.
    #[arg(long)]
    pub serve: bool,
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// A check id (e.g. exposure.pii) or a finding id from a JSON report.
    pub id: String,

    /// Show the remediation variant for this stack, e.g. flask+dynamodb.
    #[arg(long, value_name = "STACK")]
    pub stack: Option<String>,

    /// With a finding id: the JSON report that contains it.
    #[arg(long, value_name = "REPORT.json")]
    pub report: Option<PathBuf>,
}
