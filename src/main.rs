//! The binary edge: parse the command line, run, map the outcome to the exit
//! status of the contract (0 ok, 1 findings at/above --fail-on, 2 error).

use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use clap::Parser;

use rampart::cli::{
    Cli, Command, DemoArgs, ExplainArgs, InjectionArgs, MergeArgs, OutputArgs, ScanArgs,
};
use rampart::discover::import::{Import, ImportKind};
use rampart::engine::{PaceMode, Redactor, StopReason, StopSignal};
use rampart::finding::Severity;
use rampart::fleet::events::EventSink;
use rampart::fleet::merge::MergeInput;
use rampart::fleet::render;
use rampart::fleet::run::ShardPlan;
use rampart::fleet::store::OutDir;
use rampart::fleet::view::FleetView;
use rampart::fleet::{self, Fleet, Shard};
use rampart::progress::Display;
use rampart::report::output::RedactLines;
use rampart::report::triage::Suppression;
use rampart::report::{self, Format, Report};
use rampart::sanitize::for_display;
use rampart::scan::{self, ScanOptions};
use rampart::settings::{self, Overrides, ScanSettings};
use rampart::{checks, config, knowledge, lab};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(error) => {
            // One line: the error and its causes, already free of secrets.
            let chain: Vec<String> = error.chain().map(|c| c.to_string()).collect();
            let line = chain.join(": ").replace(['\n', '\r'], " ");
            eprintln!("rampart: error: {}", for_display(&line));
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Scan(args) => scan_command(*args),
        Command::Demo(args) => demo_command(args),
        Command::Checks => {
            print_checks();
            Ok(ExitCode::SUCCESS)
        }
        Command::Explain(args) => {
            explain(args)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Merge(args) => merge_command(args),
    }
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

fn scan_command(args: ScanArgs) -> Result<ExitCode> {
    let project = if args.no_config {
        None
    } else {
        let here = std::env::current_dir().context("cannot read the working directory")?;
        config::find(args.config.as_deref(), &here)?
    };
    let file = project.unwrap_or_default();
    if let Some(targets) = args.fleet.targets.clone() {
        return fleet_command(&args, &file, &targets);
    }
    let base_url = config::choose(args.base_url.as_deref(), file.target.as_deref()).context(
        "no target: give the API's base URL, or `target` in rampart.toml (see --config)",
    )?;
    let settings = settings_for(&args, &file, settings::parse_target(&base_url)?)?;
    // Everything that can be wrong with the outputs is found now, before
    // the first request.
    let prepared = Prepared::new(&args.output)?;
    let env = |var: &str| std::env::var(var).ok();
    let mut options = settings.options(&env)?;
    let redactor = options.engine.redactor();
    let display = Display::new(progress_wanted(&args.output));
    if args.output.verbose {
        let redactor = redactor.clone();
        let print = display.notes();
        options.notes = Some(Box::new(move |note| {
            print(&for_display(&redactor.redact_supplied(note)));
        }));
    }
    options.progress = display.sink();
    let stop = options.engine.stop.clone();
    let runtime = runtime()?;
    let interrupts = runtime.spawn(stop_on_interrupt(stop.clone()));
    let report = runtime
        .block_on(scan::run(options))
        .map_err(|e| anyhow::anyhow!(redactor.redact_supplied(&e.to_string()).into_owned()));
    interrupts.abort();
    display.finish();
    let mut report = report?;
    if args.output.verbose {
        eprint!(
            "{}",
            for_display(&redactor.redact_supplied(&report::text::coverage_table(&report)))
        );
    }
    triage(&mut report, &file.suppressions, &prepared);
    if !args.output.quiet {
        for warning in &report.warnings {
            eprintln!(
                "rampart: warning: {}",
                redactor.redact_supplied(&warning.message)
            );
        }
        for change in report.changes_left() {
            eprintln!(
                "rampart: NOT RESTORED: {}: {}",
                for_display(&redactor.redact_supplied(&change.request)),
                for_display(&redactor.redact_supplied(&change.what))
            );
        }
    }
    let code = emit(&report, &args.output, &prepared, &redactor)?;
    // The shell's convention for a run ended by Ctrl-C, once the report is out.
    Ok(match stop.reason() {
        Some(StopReason::Interrupted) => ExitCode::from(130),
        _ => code,
    })
}

/// The first Ctrl-C stops the scan, which then reports what it has; a
/// second one quits at once.
async fn stop_on_interrupt(stop: StopSignal) {
    if tokio::signal::ctrl_c().await.is_err() {
        return;
    }
    eprintln!(
        "rampart: interrupted: writing the report of what was scanned (Ctrl-C again to quit now)"
    );
    stop.stop(StopReason::Interrupted);
    if tokio::signal::ctrl_c().await.is_ok() {
        std::process::exit(130);
    }
}

/// The settings of a scan of `target`: the command line over the project
/// file.
fn settings_for(
    args: &ScanArgs,
    file: &config::ProjectFile,
    target: url::Url,
) -> Result<ScanSettings> {
    // A list given on the command line is a layer of its own (`--checks ''`
    // gives one empty value, which resets the file's list).
    let list = |values: &[String]| (!values.is_empty()).then(|| values.to_vec());
    let cli = Overrides {
        spec: args.spec.clone(),
        identity_file: args.identity_file.clone(),
        headers: args.headers.clone(),
        rate: args.bounds.rate,
        concurrency: args.bounds.concurrency,
        timeout: args.bounds.timeout,
        max_requests: args.bounds.max_requests,
        checks: list(&args.checks),
        skip_checks: list(&args.skip_checks),
        include_paths: list(&args.include_path),
        exclude_paths: list(&args.exclude_path),
        stack: args.stack.clone(),
        active: args.active.then_some(true),
        wordlist: args.wordlist.clone(),
        crack_digits: args.crack_digits,
    };
    let mut settings = ScanSettings::new(target);
    settings.chosen = file.chosen.clone();
    settings.chosen.over(&cli);
    settings.identities = args
        .identity
        .chunks(2)
        .filter_map(|pair| match pair {
            [name, header] => Some((name.clone(), header.clone())),
            _ => None,
        })
        .collect();
    settings.max_body_kib = args.bounds.max_body_kib;
    settings.max_duration = args.bounds.max_duration;
    settings.login_burst = args.login_burst;
    settings.insecure = args.insecure;
    settings.http_port = args.http_port;
    settings.imports = imports(args);
    settings.injection = injection_settings(&args.injection)?;
    Ok(settings)
}

/// `rampart scan --targets fleet.toml`: one shard of a fleet, its reports
/// into `--out-dir`, its progress as JSON Lines on standard output.
fn fleet_command(args: &ScanArgs, file: &config::ProjectFile, targets: &Path) -> Result<ExitCode> {
    let output = &args.output;
    if !output.output.is_empty() || output.baseline.is_some() || output.format != Format::Text {
        bail!(
            "with --targets, each API's JSON report goes to --out-dir and standard output carries              progress events; -o, --format and --baseline belong to `rampart merge`"
        );
    }
    let fleet_args = &args.fleet;
    let fleet = Fleet::load(targets)?;
    let shard: Shard = match &fleet_args.shard {
        Some(raw) => raw.parse()?,
        None => Shard::ALL,
    };
    if !(fleet_args.global_rate.is_finite() && fleet_args.global_rate >= 0.0) {
        bail!("--global-rate must be a non-negative number of requests per second");
    }
    let out_dir = fleet_args
        .out_dir
        .as_deref()
        .context("--targets needs --out-dir")?;
    let out = OutDir::open(out_dir)?;
    // Checked once here, so a mistake on the command line (or in an
    // identity file every target shares) is exit status 2 at once rather
    // than the same failure recorded for every API.
    let base = settings_for(args, file, fleet.targets[0].url.clone())?;
    base.options(&|var: &str| std::env::var(var).ok())?;
    let plan = ShardPlan {
        fleet,
        base,
        shard,
        parallel: usize::from(fleet_args.parallel),
        global_rate: fleet_args.global_rate,
        global_concurrency: usize::from(fleet_args.global_concurrency),
        resume: fleet_args.resume,
        out,
        suppressions: file.suppressions.clone(),
        env: Arc::new(|var: &str| std::env::var(var).ok()),
    };
    let events = EventSink::stdout(shard.to_string());
    let summary = runtime()?.block_on(fleet::run::run(plan, events));
    if !output.quiet && std::io::stderr().is_terminal() {
        eprintln!(
            "rampart: shard {shard}: {} scanned, {} failed, {} skipped of {} target(s)",
            summary.scanned, summary.failed, summary.skipped, summary.targets
        );
    }
    let failed = output
        .fail_on
        .is_some_and(|threshold| summary.worst.is_some_and(|worst| worst >= threshold));
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// `rampart merge DIR…`: the fleet view in every format asked for.
fn merge_command(args: MergeArgs) -> Result<ExitCode> {
    let outputs = merge_outputs(&args.output)?;
    let fleet = match &args.targets {
        Some(path) => Some(Fleet::load(path)?),
        None => None,
    };
    let baseline = match &args.baseline {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read the baseline {}", path.display()))?;
            let view = FleetView::parse(&text)
                .with_context(|| format!("{} is not a Rampart fleet view", path.display()))?;
            Some((path.display().to_string(), view))
        }
        None => None,
    };
    let html = outputs.iter().find(|(f, _)| *f == MergeFormat::Html);
    let pages = html.map(|(_, path)| api_pages_dir(path));
    let merged = fleet::merge::merge(&MergeInput {
        dirs: &args.dirs,
        fleet: fleet.as_ref(),
        baseline: baseline.as_ref().map(|(file, view)| (file.as_str(), view)),
        sarif: outputs.iter().any(|(f, _)| *f == MergeFormat::Sarif),
        pages: pages.as_deref(),
    })?;
    if !args.quiet {
        for warning in &merged.warnings {
            eprintln!("rampart: warning: {}", for_display(warning));
        }
    }
    let view = merged.view.as_ref().context("the merge produced no view")?;
    for (format, path) in &outputs {
        let text = match format {
            MergeFormat::Json => render::json(view),
            MergeFormat::Html => render::html(view, &merged, path),
            MergeFormat::Sarif => render::sarif(view, &merged),
            MergeFormat::Markdown => render::markdown(view),
            MergeFormat::Text => render::text(view),
        };
        fleet::store::write_atomically(path, text.as_bytes())?;
    }
    if outputs.is_empty() && !args.quiet {
        print!("{}", render::text(view));
    }
    let failed = args
        .fail_on
        .is_some_and(|threshold| view.worst_to_fail_on().is_some_and(|w| w >= threshold));
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MergeFormat {
    Json,
    Html,
    Sarif,
    Markdown,
    Text,
}

/// `-o fleet.json`, `-o html=fleet.page`: the format from the prefix or
/// the extension; every path checked before the merge reads anything.
fn merge_outputs(given: &[String]) -> Result<Vec<(MergeFormat, std::path::PathBuf)>> {
    let by_name = |name: &str| match name.to_ascii_lowercase().as_str() {
        "json" => Some(MergeFormat::Json),
        "html" | "htm" => Some(MergeFormat::Html),
        "sarif" => Some(MergeFormat::Sarif),
        "md" | "markdown" => Some(MergeFormat::Markdown),
        "txt" | "text" => Some(MergeFormat::Text),
        _ => None,
    };
    let mut outputs = Vec::new();
    for raw in given {
        let (format, path) = match raw.split_once('=') {
            Some((name, path)) if name.chars().all(|c| c.is_ascii_alphabetic()) => (
                by_name(name).with_context(|| {
                    format!(
                        "unknown format '{name}' in -o {raw} (json, html, sarif, markdown, text)"
                    )
                })?,
                path,
            ),
            _ => {
                let extension = Path::new(raw)
                    .extension()
                    .map(|e| e.to_string_lossy().into_owned())
                    .unwrap_or_default();
                (
                    by_name(&extension).with_context(|| {
                        format!(
                            "-o {raw}: the extension does not name a format                              (.json, .html, .sarif, .md, .txt; or FORMAT=FILE)"
                        )
                    })?,
                    raw.as_str(),
                )
            }
        };
        if path.is_empty() {
            bail!("-o {raw} names no file");
        }
        let path = std::path::PathBuf::from(path);
        if outputs.iter().any(|(_, p)| *p == path) {
            bail!("two outputs would be written to {}", path.display());
        }
        outputs.push((format, path));
    }
    let plan: Vec<report::output::Output> = outputs
        .iter()
        .map(|(_, path)| report::output::Output {
            format: Format::Json,
            path: Some(path.clone()),
        })
        .collect();
    report::output::check_writable(&plan)?;
    Ok(outputs)
}

/// Where the fleet page's per-API pages go: `fleet.html` → `fleet-apis/`.
fn api_pages_dir(page: &Path) -> std::path::PathBuf {
    let stem = page
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "fleet".into());
    page.with_file_name(format!("{stem}-apis"))
}

/// The outputs of a scan and its baseline, checked before the scan.
struct Prepared {
    outputs: Vec<report::output::Output>,
    baseline: Option<(String, Report)>,
}

impl Prepared {
    fn new(output: &OutputArgs) -> Result<Self> {
        let outputs = report::output::plan(output.format, &output.output)?;
        report::output::check_writable(&outputs)?;
        let baseline = match &output.baseline {
            Some(path) => {
                let text = std::fs::read_to_string(path).with_context(|| {
                    format!("cannot read the baseline report {}", path.display())
                })?;
                let previous = report::json::parse(&text)
                    .with_context(|| format!("{} is not a Rampart JSON report", path.display()))?;
                Some((path.display().to_string(), previous))
            }
            None => None,
        };
        Ok(Prepared { outputs, baseline })
    }
}

/// Suppressions first (a suppressed finding is neither new nor
/// unchanged), then the comparison with the baseline.
fn triage(report: &mut Report, suppressions: &[Suppression], prepared: &Prepared) {
    let today = chrono::Local::now().date_naive();
    report::triage::suppress(report, suppressions, today);
    if let Some((file, previous)) = &prepared.baseline {
        report::triage::compare(report, previous, file);
    }
}

/// The live display only on a terminal, and never with `-q`.
fn progress_wanted(output: &OutputArgs) -> bool {
    !output.quiet && std::io::stderr().is_terminal()
}

/// Colour on a terminal unless `NO_COLOR` is set to anything but empty
/// (no-color.org).
fn color_wanted() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

fn injection_settings(args: &InjectionArgs) -> Result<checks::injection::Settings> {
    let oob_url = match &args.oob_url {
        Some(raw) => {
            Some(url::Url::parse(raw).with_context(|| format!("invalid --oob-url '{raw}'"))?)
        }
        None => None,
    };
    Ok(checks::injection::Settings {
        oob_url,
        param_budget: args.injection_param_budget,
        scan_budget: args.injection_budget,
        writes: args.injection_writes,
    })
}

/// Writes the report(s) and decides the exit status. A scan whose coverage
/// was cut short says so on stderr whatever the output options: a report
/// read on its own could otherwise pass for a verdict on the whole API.
fn emit(
    report: &Report,
    output: &OutputArgs,
    prepared: &Prepared,
    redactor: &Redactor,
) -> Result<ExitCode> {
    for cut in &report.incomplete_reasons {
        eprintln!(
            "rampart: warning: incomplete scan: {}",
            for_display(&redactor.redact_supplied(&cut.detail))
        );
    }
    if !output.quiet {
        for notice in &report.suppression_notices {
            eprintln!("rampart: note: {}", for_display(&notice.line()));
        }
    }
    for planned in &prepared.outputs {
        match &planned.path {
            Some(path) => {
                let written = std::fs::File::create(path).and_then(|file| {
                    let mut out = RedactLines::new(std::io::BufWriter::new(file), redactor);
                    report::write(report, planned.format, false, &mut out)?;
                    out.finish().map(drop)
                });
                written.with_context(|| format!("cannot write report to {}", path.display()))?;
            }
            None => {
                let color = planned.format == Format::Text && color_wanted();
                let mut out = RedactLines::new(std::io::stdout().lock(), redactor);
                // A closed pipe (e.g. `| head`) is not an error worth a panic.
                let _ = report::write(report, planned.format, color, &mut out)
                    .and_then(|()| out.finish().map(drop));
            }
        }
    }
    if !report::output::writes_stdout(&prepared.outputs)
        && !output.quiet
        && (output.verbose || std::io::stderr().is_terminal())
    {
        eprintln!(
            "rampart: {} finding(s), score {}/100 ({})",
            report.findings.len(),
            report.score,
            report.grade
        );
    }
    let failed = output.fail_on.is_some_and(|threshold| {
        report
            .worst_to_fail_on()
            .is_some_and(|worst| worst >= threshold)
    });
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn demo_command(args: DemoArgs) -> Result<ExitCode> {
    let prepared = Prepared::new(&args.output)?;
    let runtime = runtime()?;
    runtime.block_on(async {
        let lab = lab::start().await.context("cannot start the lab API")?;
        if args.serve || args.output.verbose {
            eprintln!(
                "rampart: lab API listening on {} (127.0.0.1 only)",
                lab.base_url()
            );
        }
        let mut options = ScanOptions::new(lab.base_url());
        options.spec = Some(lab.spec_url().to_string());
        options.engine.identities = lab::demo_identities();
        // The lab is in this process: no pace to keep.
        options.engine.pacing = PaceMode::Steady;
        options.engine.rate_per_second = None;
        // The lab plants no weak token secret: a short numeric search keeps
        // the demo to seconds.
        options.crack.digits = Some(4);
        let display = Display::new(progress_wanted(&args.output));
        if args.output.verbose {
            let print = display.notes();
            options.notes = Some(Box::new(move |note| print(&for_display(note))));
        }
        options.progress = display.sink();
        let redactor = options.engine.redactor();
        let report = scan::run(options).await;
        display.finish();
        let mut report = report?;
        if args.output.verbose {
            eprint!("{}", report::text::coverage_table(&report));
        }
        // The reproduce lines read the keys from the variables the lab's
        // export lines set, so they run as printed.
        report.use_shell_variables(&lab::shell_variables());
        triage(&mut report, &[], &prepared);
        let code = emit(&report, &args.output, &prepared, &redactor)?;
        if args.serve {
            eprintln!(
                "rampart: the lab keeps running; to try the reproduce lines, set its keys in your shell:"
            );
            for line in lab::export_lines(&lab.base_url()) {
                eprintln!("{line}");
            }
            eprintln!("rampart: Ctrl-C stops the lab");
            tokio::signal::ctrl_c().await.ok();
        }
        lab.stop().await;
        Ok(code)
    })
}

fn print_checks() {
    println!(
        "{:<32} {:<10} {:<9} {:<15} SUMMARY",
        "ID", "FAMILY", "SEVERITY", "MODE"
    );
    for meta in checks::all() {
        println!(
            "{:<32} {:<10} {:<9} {:<15} {}",
            meta.id,
            meta.family(),
            meta.severity.as_str(),
            meta.mode.as_str(),
            meta.summary
        );
    }
}

fn explain(args: ExplainArgs) -> Result<()> {
    let (check_id, stack) = if args.id.starts_with("RMP-") {
        let path = args.report.as_ref().context(
            "a finding id needs --report <REPORT.json> (the JSON report that contains it)",
        )?;
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let report = report::json::parse(&text)
            .with_context(|| format!("{} is not a Rampart JSON report", path.display()))?;
        let finding = report
            .findings
            .into_iter()
            .find(|f| f.id == args.id)
            .with_context(|| format!("no finding {} in {}", args.id, path.display()))?;
        println!(
            "{} — {} {}",
            args.id, finding.head.method, finding.head.path
        );
        println!("{}\n", finding.head.title);
        let stack = args
            .stack
            .clone()
            .or_else(|| finding.remediation.map(|r| r.stack));
        (finding.check, stack)
    } else {
        (args.id.clone(), args.stack.clone())
    };
    let entry = knowledge::entry(&check_id)
        .with_context(|| format!("unknown check '{check_id}' (see `rampart checks`)"))?;
    let variant = match stack.as_deref() {
        Some(stack) => entry
            .variant(stack)
            .unwrap_or_else(|| entry.best_variant(&rampart::stack::Stack::forced(stack))),
        None => entry.best_variant(&rampart::stack::Stack::default()),
    };
    let severity = checks::find(&check_id)
        .map(|c| c.severity)
        .unwrap_or(Severity::Info);
    println!(
        "{} — {} (up to {})\n",
        entry.id,
        entry.title,
        severity.as_str()
    );
    println!("{}\n", entry.summary.trim());
    println!("## The attack\n{}\n", entry.attack.trim());
    println!("## Impact\n{}\n", entry.impact.trim());
    println!(
        "## Fix ({})\n{}\n\n{}\n",
        variant.stack,
        variant.summary.trim(),
        variant.remediation.trim()
    );
    println!("## Verify\n{}\n", variant.verify.trim());
    println!("## References\n{}", entry.references.join("\n"));
    let others: Vec<&str> = entry.variants.iter().map(|v| v.stack.as_str()).collect();
    println!(
        "\nVariants: {} (rampart explain {} --stack <variant>)",
        others.join(", "),
        entry.id
    );
    Ok(())
}

/// `--har`, `--postman` and `--endpoints`, in that order.
fn imports(args: &ScanArgs) -> Vec<Import> {
    let of = |kind: ImportKind, files: &[std::path::PathBuf]| {
        files
            .iter()
            .map(move |path| Import {
                kind,
                path: path.clone(),
            })
            .collect::<Vec<_>>()
    };
    let mut out = of(ImportKind::Har, &args.har);
    out.extend(of(ImportKind::Postman, &args.postman));
    out.extend(of(ImportKind::List, &args.endpoints));
    out
}
