//! The live display of a scan on a terminal's stderr: a spinner with the
//! phase, the requests used of the budget and the findings so far, and the
//! `-v` notes printed above it. Off the terminal there is no display, and
//! notes are plain lines.

use std::sync::Arc;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::scan::{Progress, ProgressSink};

pub struct Display {
    bar: Option<ProgressBar>,
}

impl Display {
    /// A display drawn on stderr when `enabled` (stderr is a terminal and
    /// the user did not ask for quiet); otherwise one that only prints notes.
    pub fn new(enabled: bool) -> Self {
        let bar = enabled.then(|| {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template("{spinner} {elapsed:>4} {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.enable_steady_tick(Duration::from_millis(120));
            bar.set_message("starting");
            bar
        });
        Display { bar }
    }

    /// What the scan reports its progress to, when there is a display.
    pub fn sink(&self) -> Option<ProgressSink> {
        let bar = self.bar.clone()?;
        Some(Arc::new(move |progress: Progress| {
            bar.set_message(line(&progress));
        }))
    }

    /// A note line: above the spinner when there is one.
    pub fn note(&self, text: &str) {
        match &self.bar {
            Some(bar) => bar.println(format!("rampart: {text}")),
            None => eprintln!("rampart: {text}"),
        }
    }

    /// A function that prints notes the same way (for the scan's note sink).
    pub fn notes(&self) -> impl Fn(&str) + Send + Sync + 'static {
        let bar = self.bar.clone();
        move |text: &str| match &bar {
            Some(bar) => bar.println(format!("rampart: {text}")),
            None => eprintln!("rampart: {text}"),
        }
    }

    /// Takes the spinner off the screen before the report is printed.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl Drop for Display {
    fn drop(&mut self) {
        self.finish();
    }
}

/// `probing endpoints · 312/5000 requests · 7 findings`.
pub fn line(progress: &Progress) -> String {
    let budget = progress.budget.map(|b| format!("/{b}")).unwrap_or_default();
    format!(
        "{} · {}{budget} requests · {} finding(s) so far",
        progress.phase.as_str(),
        progress.requests,
        progress.findings
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::Phase;

    #[test]
    fn the_line_names_the_phase_the_budget_and_the_findings() {
        let progress = Progress {
            phase: Phase::Probe,
            requests: 312,
            budget: Some(5000),
            findings: 7,
        };
        assert_eq!(
            line(&progress),
            "probing endpoints · 312/5000 requests · 7 finding(s) so far"
        );
    }
}
