//! The binary edge: parse the command line, run, map the outcome to the exit
//! status of the contract (0 ok, 1 findings at/above --fail-on, 2 error).

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::Parser;

use rampart::cli::{Cli, Command, DemoArgs, ExplainArgs, InjectionArgs, OutputArgs, ScanArgs};
use rampart::engine::Redactor;
use rampart::finding::Severity;
use rampart::identity::{identities_from_pairs, parse_header};
use rampart::report::{self, Format, Report};
use rampart::scan::{self, ScanOptions};
use rampart::{checks, knowledge, lab};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(error) => {
            // One line: the error and its causes, already free of secrets.
            let chain: Vec<String> = error.chain().map(|c| c.to_string()).collect();
            let mut line = chain.join(": ");
            line = line.replace(['\n', '\r'], " ");
            eprintln!("rampart: error: {line}");
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
    let target = parse_target(&args.base_url)?;
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
    if let Some(path) = &args.identity_file {
        let env = |var: &str| std::env::var(var).ok();
        for entry in rampart::identity::file::load(path, &env)? {
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
    if !(bounds.rate.is_finite() && bounds.rate >= 0.0) {
        bail!("--rate must be a non-negative number of requests per second");
    }
    if bounds.max_body_kib == 0 || bounds.max_body_kib > 1024 * 1024 {
        bail!("--max-body-kib must be between 1 and 1048576");
    }
    let mut options = ScanOptions::new(target);
    let engine = &mut options.engine;
    engine.identities = identities;
    engine.logins = logins;
    engine.signers = signers;
    engine.default_headers = headers;
    engine.rate_per_second = (bounds.rate > 0.0).then_some(bounds.rate);
    engine.concurrency = usize::from(bounds.concurrency);
    engine.timeout = Duration::from_secs_f64(bounds.timeout);
    engine.max_requests = Some(bounds.max_requests);
    engine.body_cap = bounds.max_body_kib * 1024;
    engine.accept_invalid_certs = args.insecure;
    engine.plain_http_port = args.http_port;
    options.spec = args.spec.clone();
    options.include_checks = args.checks.clone();
    options.skip_checks = args.skip_checks.clone();
    options.active = args.active;
    options.login_burst = args.login_burst;
    options.stack = args.stack.clone();
    options.injection = injection_settings(&args.injection)?;
    let redactor = options.engine.redactor();
    if args.output.verbose {
        let redactor = redactor.clone();
        options.notes = Some(Box::new(move |note| {
            eprintln!("rampart: {}", redactor.redact_supplied(note));
        }));
    }
    let report = runtime()?
        .block_on(scan::run(options))
        .map_err(|e| anyhow::anyhow!(redactor.redact_supplied(&e.to_string()).into_owned()))?;
    if args.output.verbose {
        eprint!(
            "{}",
            redactor.redact_supplied(&report::text::coverage_table(&report))
        );
    }
    if !args.output.quiet {
        for change in report.changes_left() {
            eprintln!(
                "rampart: NOT RESTORED: {}: {}",
                redactor.redact_supplied(&change.request),
                redactor.redact_supplied(&change.what)
            );
        }
    }
    emit(&report, &args.output, &redactor)
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
    })
}

fn parse_target(raw: &str) -> Result<url::Url> {
    let url = url::Url::parse(raw).with_context(|| format!("invalid base URL '{raw}'"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        bail!("base URL must be an http:// or https:// URL with a host, got '{raw}'");
    }
    Ok(url)
}

/// Writes the report(s) and decides the exit status.
fn emit(report: &Report, output: &OutputArgs, redactor: &Redactor) -> Result<ExitCode> {
    let mut wrote_default_to_file = false;
    for target in &output.output {
        let (format, path) = match target.split_once('=') {
            Some((name, path)) => {
                let format = <Format as clap::ValueEnum>::from_str(name, true)
                    .map_err(|_| anyhow::anyhow!("unknown report format '{name}' in --output"))?;
                (format, path)
            }
            None => {
                wrote_default_to_file = true;
                (output.format, target.as_str())
            }
        };
        let text = report::render(report, format, false);
        std::fs::write(path, redactor.redact_supplied(&text).as_bytes())
            .with_context(|| format!("cannot write report to {path}"))?;
    }
    if !wrote_default_to_file {
        let color = output.format == Format::Text && std::io::stdout().is_terminal();
        let text = report::render(report, output.format, color);
        let mut stdout = std::io::stdout().lock();
        // A closed pipe (e.g. `| head`) is not an error worth a panic.
        let _ = stdout.write_all(redactor.redact_supplied(&text).as_bytes());
    } else if !output.quiet {
        eprintln!(
            "rampart: {} finding(s), score {}/100 ({})",
            report.findings.len(),
            report.score,
            report.grade
        );
    }
    let failed = output
        .fail_on
        .is_some_and(|threshold| report.worst().is_some_and(|worst| worst >= threshold));
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn demo_command(args: DemoArgs) -> Result<ExitCode> {
    let runtime = runtime()?;
    runtime.block_on(async {
        let lab = lab::start().await.context("cannot start the lab API")?;
        if !args.output.quiet {
            eprintln!(
                "rampart: lab API listening on {} (127.0.0.1 only)",
                lab.base_url()
            );
        }
        let mut options = ScanOptions::new(lab.base_url());
        options.spec = Some(lab.spec_url().to_string());
        options.engine.identities = lab::demo_identities();
        options.engine.rate_per_second = None;
        if args.output.verbose {
            options.notes = Some(Box::new(|note| eprintln!("rampart: {note}")));
        }
        let redactor = options.engine.redactor();
        let report = scan::run(options).await?;
        if args.output.verbose {
            eprint!("{}", report::text::coverage_table(&report));
        }
        let code = emit(&report, &args.output, &redactor)?;
        if args.serve {
            eprintln!(
                "rampart: lab still running at {}; Ctrl-C to stop",
                lab.base_url()
            );
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
