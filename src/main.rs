//! The binary edge: parse the command line, run, map the outcome to the exit
//! status of the contract (0 ok, 1 findings at/above --fail-on, 2 error).

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::Parser;

use rampart::cli::{Cli, Command, DemoArgs, ExplainArgs, InjectionArgs, OutputArgs, ScanArgs};
use rampart::engine::{PaceMode, Redactor, StopReason, StopSignal};
use rampart::finding::Severity;
use rampart::identity::{identities_from_pairs, parse_header};
use rampart::progress::Display;
use rampart::report::triage::Suppression;
use rampart::report::{self, Format, Report};
use rampart::sanitize::for_display;
use rampart::scan::{self, ScanOptions};
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
    let base_url = config::choose(args.base_url.as_deref(), file.target.as_deref()).context(
        "no target: give the API's base URL, or `target` in rampart.toml (see --config)",
    )?;
    let target = parse_target(&base_url)?;
    // Everything that can be wrong with the outputs is found now, before
    // the first request.
    let prepared = Prepared::new(&args.output)?;
    let pairs: Vec<(&str, &str)> = args
        .identity
        .chunks(2)
        .filter_map(|pair| match pair {
            [name, header] => Some((name.as_str(), header.as_str())),
            _ => None,
        })
        .collect();
    let mut identities = identities_from_pairs(pairs)?;
    let mut logins = Vec::new();
    let mut signers = Vec::new();
    let cli_identity_file = args
        .identity_file
        .as_deref()
        .map(|p| p.to_string_lossy().into_owned());
    let file_identity_file = file
        .identity_file
        .as_deref()
        .map(|p| p.to_string_lossy().into_owned());
    let identity_file = config::choose(cli_identity_file.as_deref(), file_identity_file.as_deref());
    if let Some(path) = &identity_file {
        let env = |var: &str| std::env::var(var).ok();
        for entry in rampart::identity::file::load(std::path::Path::new(path), &env)? {
            match identities
                .iter_mut()
                .find(|i| i.name == entry.identity.name)
            {
                Some(existing) => existing.headers.extend(entry.identity.headers),
                None => identities.push(entry.identity.clone()),
            }
            if let Some(recipe) = entry.signing {
                signers.push((entry.identity.name.clone(), recipe));
            }
            if let Some(login) = entry.login {
                logins.push((entry.identity.name, login));
            }
        }
    }
    let mut headers = Vec::new();
    for raw in &args.headers {
        match parse_header(raw) {
            Some(header) => headers.push(header),
            None => bail!("--header must look like 'Name: value'"),
        }
    }
    let bounds = &args.bounds;
    if !(bounds.timeout.is_finite() && bounds.timeout > 0.0 && bounds.timeout <= 3600.0) {
        bail!("--timeout must be a number of seconds between 0 and 3600");
    }
    if bounds
        .rate
        .is_some_and(|rate| !(rate.is_finite() && rate >= 0.0))
    {
        bail!("--rate must be a non-negative number of requests per second");
    }
    let max_duration = match bounds.max_duration {
        Some(seconds) if seconds.is_finite() && seconds > 0.0 && seconds <= 31_536_000.0 => {
            Some(Duration::from_secs_f64(seconds))
        }
        Some(_) => bail!("--max-duration must be a positive number of seconds"),
        None => None,
    };
    if bounds.max_body_kib == 0 || bounds.max_body_kib > 1024 * 1024 {
        bail!("--max-body-kib must be between 1 and 1048576");
    }
    let mut options = ScanOptions::new(target);
    let engine = &mut options.engine;
    engine.identities = identities;
    engine.logins = logins;
    engine.signers = signers;
    engine.default_headers = headers;
    // `--rate N` is the ceiling of an adaptive pace; `--rate 0` is no pace.
    match bounds.rate {
        Some(0.0) => {
            engine.pacing = PaceMode::Steady;
            engine.rate_per_second = None;
        }
        rate => {
            engine.pacing = PaceMode::Adaptive;
            engine.rate_per_second = rate;
        }
    }
    engine.concurrency = usize::from(bounds.concurrency);
    engine.timeout = Duration::from_secs_f64(bounds.timeout);
    engine.max_requests = Some(bounds.max_requests);
    engine.body_cap = bounds.max_body_kib * 1024;
    engine.accept_invalid_certs = args.insecure;
    engine.plain_http_port = args.http_port;
    options.spec = config::choose(args.spec.as_deref(), file.spec.as_deref());
    options.include_checks = config::choose_list(&args.checks, &file.checks);
    options.skip_checks = config::choose_list(&args.skip_checks, &file.skip_checks);
    options.include_paths = config::choose_list(&args.include_path, &file.include_paths);
    options.exclude_paths = config::choose_list(&args.exclude_path, &file.exclude_paths);
    options.active = args.active;
    options.login_burst = args.login_burst;
    options.stack = args.stack.clone();
    options.injection = injection_settings(&args.injection)?;
    if let Some(path) = args.wordlist.as_ref().or(file.wordlist.as_ref()) {
        let text = std::fs::read(path)
            .with_context(|| format!("cannot read the wordlist {}", path.display()))?;
        options.crack.words = rampart::tokens::crack::read_wordlist(&text);
    }
    options.crack.digits = args.crack_digits.or(file.crack_digits);
    options.max_duration = max_duration;
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
            let url = url::Url::parse(raw).with_context(|| format!("invalid --oob-url '{raw}'"))?;
            if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
                bail!("--oob-url must be an http:// or https:// URL with a host, got '{raw}'");
            }
            Some(url)
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

fn parse_target(raw: &str) -> Result<url::Url> {
    let url = url::Url::parse(raw).with_context(|| format!("invalid base URL '{raw}'"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        bail!("base URL must be an http:// or https:// URL with a host, got '{raw}'");
    }
    Ok(url)
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
                let text = report::render(report, planned.format, false);
                std::fs::write(path, redactor.redact_supplied(&text).as_bytes())
                    .with_context(|| format!("cannot write report to {}", path.display()))?;
            }
            None => {
                let color = planned.format == Format::Text && color_wanted();
                let text = report::render(report, planned.format, color);
                let mut stdout = std::io::stdout().lock();
                // A closed pipe (e.g. `| head`) is not an error worth a panic.
                let _ = stdout.write_all(redactor.redact_supplied(&text).as_bytes());
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
        println!("{} — {} {}", args.id, finding.method, finding.path);
        println!("{}\n", finding.title);
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
