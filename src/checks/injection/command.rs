//! OS command injection.
//!
//! An API that hands input to a shell (`subprocess.run(f"ping -c 1 {host}",
//! shell=True)`, `os.system`, `child_process.exec`) lets the caller run any
//! command as the service: read its secrets, reach the internal network,
//! take the host. Rampart proves it with output canaries that only a shell
//! can produce — `echo ab''cd` prints `abcd`, while an API that merely
//! echoes the input shows `ab''cd` — in the forms that break out of an
//! unquoted, a double-quoted and a single-quoted argument; when the output
//! never comes back, a `sleep` whose length the answer's delay follows.

use std::sync::Arc;

use async_trait::async_trait;

use super::timing::{self, Delayed};
use super::{focus, shown, Halt, InputCheck, Payload, Point};
use crate::checks::{CheckMeta, Mode, RunsOn};
use crate::engine::Exchange;
use crate::facts::Needs;
use crate::finding::{Category, Confidence, FindingDraft, Severity};

pub struct Command;

pub static META: CheckMeta = CheckMeta {
    check: &Command,
    id: "injection.command",
    category: Category::InputValidation,
    severity: Severity::Critical,
    summary: "OS command injection: input run by a shell (output canaries, proportional sleep)",
    mode: Mode::Active,
    runs_on: RunsOn::Endpoints,
    min_identities: 0,
    needs: Needs::RESPONSE_VALUES,
};

/// Ways out of the argument the input was meant to be; `{cmd}` is the
/// command to run.
const BREAKOUTS: &[(&str, &str)] = &[
    (
        "$({cmd})",
        "command substitution (unquoted or double-quoted argument)",
    ),
    (
        "'$({cmd})'",
        "command substitution out of a single-quoted argument",
    ),
    (";{cmd};#", "command separator"),
    ("&{cmd}&", "command separator (Windows cmd.exe)"),
];

/// An output canary: what the shell prints and how the input writes it.
#[derive(Debug, Clone)]
pub struct Marker {
    pub printed: String,
    split: (String, String),
}

impl Marker {
    pub fn new(token: &str) -> Marker {
        let (head, tail) = token.split_at(token.len() / 2);
        let head = format!("rmp{head}");
        Marker {
            printed: format!("{head}{tail}"),
            split: (head, tail.to_string()),
        }
    }

    /// `echo` of the marker with the shell's (or cmd.exe's) quoting in the
    /// middle, which only evaluation removes.
    fn echo(&self, windows: bool) -> String {
        let (head, tail) = &self.split;
        if windows {
            format!("echo {head}^{tail}")
        } else {
            format!("echo {head}''{tail}")
        }
    }
}

fn breakout(form: &str, cmd: &str) -> String {
    form.replace("{cmd}", cmd)
}

/// The shell printed the marker: its evaluated form is in the answer and
/// was not in the ordinary one.
pub fn printed(ordinary: &str, answer: &str, marker: &Marker) -> bool {
    answer.contains(&marker.printed) && !ordinary.contains(&marker.printed)
}

/// Sends a fresh marker in the breakout `form` after `base`: the payload,
/// the marker and the answer when the shell printed it.
async fn marked(
    point: &Point<'_, '_>,
    base: &str,
    ordinary: &str,
    form: &str,
) -> Result<Option<(String, Marker, Arc<Exchange>)>, Halt> {
    let marker = Marker::new(&point.ctx.engine.buster().next_token());
    let payload = format!(
        "{base}{}",
        breakout(form, &marker.echo(form.starts_with('&')))
    );
    let Some(answer) = point.send(&Payload::text(payload.clone())).await? else {
        return Ok(None);
    };
    Ok(printed(ordinary, answer.body_text(), &marker).then_some((payload, marker, answer)))
}

async fn by_output(
    point: &Point<'_, '_>,
    base: &str,
    ordinary: &str,
) -> Result<Option<FindingDraft>, Halt> {
    for (form, how) in BREAKOUTS {
        let Some((payload, marker, answer)) = marked(point, base, ordinary, form).await? else {
            continue;
        };
        let Some((replay, again, confirm)) = marked(point, base, ordinary, form).await? else {
            continue;
        };
        let label = point.input.label();
        return Ok(Some(
            point
                .draft(&answer, Severity::Critical, Confidence::Confirmed)
.repeated()
                .title(format!("OS command injection in {label}"))
                .description(format!(
                    "The {label} reaches a shell ({how}): {} printed {}, which only a shell's quote \
                     removal produces from the text sent, and a fresh marker confirmed it.",
                    shown(&payload),
                    shown(&marker.printed),
                ))
                .evidence(
                    format!("Shell payload {}: {} printed", shown(&payload), marker.printed),
                    &answer,
                    focus(&answer, &marker.printed),
                )
                .evidence(
                    format!("Fresh marker {}: {} printed", shown(&replay), again.printed),
                    &confirm,
                    focus(&confirm, &again.printed),
                ),
        ));
    }
    Ok(None)
}

async fn by_delay(
    point: &Point<'_, '_>,
    base: &str,
    latencies: &[std::time::Duration],
) -> Result<Option<(&'static str, String, Delayed)>, Halt> {
    let timeout = point.ctx.engine.timeout();
    for (form, how) in &BREAKOUTS[..3] {
        let build = |delay| {
            format!(
                "{base}{}",
                breakout(form, &format!("sleep {}", timing::seconds(delay)))
            )
        };
        let proved = timing::prove(latencies, timeout, |delay| async move {
            point.send(&Payload::text(build(delay))).await
        })
        .await?;
        if let Some(delayed) = proved {
            return Ok(Some((how, build(delayed.delay), delayed)));
        }
    }
    Ok(None)
}

#[async_trait]
impl InputCheck for Command {
    const META: &'static CheckMeta = &META;
    async fn probe_input(&self, point: &Point<'_, '_>) -> Result<Option<FindingDraft>, Halt> {
        let profile = point.profile().await?;
        if let Some(draft) = by_output(point, &profile.base_value, profile.base.body_text()).await?
        {
            return Ok(Some(draft.evidence(
                format!("Ordinary value {}", shown(&profile.base_value)),
                &profile.base,
                None,
            )));
        }
        let Some((how, payload, delayed)) = by_delay(
            point,
            &profile.base_value,
            &point.latencies(&profile).await?,
        )
        .await?
        else {
            return Ok(None);
        };
        let label = point.input.label();
        let ms = |d: std::time::Duration| d.as_millis();
        Ok(Some(
            point
                .draft(&delayed.once, Severity::Critical, Confidence::Confirmed)
.repeated()
                .title(format!("OS command injection in {label} (blind, time-based)"))
                .description(format!(
                    "The {label} reaches a shell ({how}): {} delayed the answer to {} ms, twice the sleep \
                     to {} ms, no sleep answered in {} ms (ordinary answers take about {} ms).",
                    shown(&payload),
                    ms(delayed.once.elapsed),
                    ms(delayed.twice.elapsed),
                    ms(delayed.none.elapsed),
                    ms(profile.base.elapsed),
                ))
                .evidence(format!("Ordinary value ({} ms)", ms(profile.base.elapsed)), &profile.base, None)
                .evidence(format!("sleep {} ms: {} ms", ms(delayed.delay), ms(delayed.once.elapsed)), &delayed.once, None)
                .evidence(
                    format!("sleep {} ms: {} ms", ms(delayed.delay * 2), ms(delayed.twice.elapsed)),
                    &delayed.twice,
                    None,
                )
                .evidence(format!("sleep 0: {} ms", ms(delayed.none.elapsed)), &delayed.none, None),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::injection::testing::{self, Seen};
    use crate::checks::probe::fixtures::assert_contains;

    #[test]
    fn only_the_shell_joins_the_marker() {
        let marker = Marker::new("abc123");
        assert_eq!(marker.printed, "rmpabc123");
        assert_eq!(marker.echo(false), "echo rmpabc''123");
        assert_eq!(marker.echo(true), "echo rmpabc^123");
        assert!(printed("", "PING ok\nrmpabc123\n", &marker));
        assert!(!printed("", "unknown host: x;echo rmpabc''123;#", &marker));
    }

    /// Runs `echo` the way `sh -c "ping {host}"` would, for the
    /// command-substitution form only (vulnerable), or answers with the
    /// host as text (fixed).
    fn ping(vulnerable: bool) -> impl Fn(&Seen) -> (u16, String) + Clone + Send + Sync + 'static {
        move |seen: &Seen| {
            let host = seen.arg("host").unwrap_or_default().to_string();
            let mut output = format!("PING {host}");
            if vulnerable {
                if let Some(start) = host.find("$(echo ") {
                    if let Some(end) = host[start..].find(')') {
                        output = host[start + 7..start + end].replace("''", "");
                    }
                }
            }
            (200, serde_json::json!({"output": output}).to_string())
        }
    }

    #[tokio::test]
    async fn a_shell_is_found_by_its_output_and_an_argument_vector_is_not() {
        let twins = testing::twins(&META, ping, "GET /api/admin/ping?host=127.0.0.1").await;
        assert_contains(&twins.finding.description, "command substitution");
        assert_eq!(twins.finding.evidence.len(), 3);
        // On the fixed twin: the impossible value, four canaries, three
        // sleeps that came back at once.
        assert_eq!(twins.sent.1, 8);
    }
}
