//! The progress of a fleet scan as JSON Lines on standard output, one
//! object per line, for log collectors (Fluent Bit, Vector, Loki, a CI
//! log): every line has `event`, `time` (RFC 3339, UTC) and `shard`, and
//! each line is written whole and flushed, so lines from concurrent
//! targets never interleave.
//!
//! | event | when | fields |
//! |---|---|---|
//! | `shard-started` | first | `fleet` (targets in the file), `targets` (in this shard), `to_scan`, `skipped`, `parallel` |
//! | `target-skipped` | `--resume` found its complete report | `api`, `target`, `report` |
//! | `target-started` | a scan begins | `api`, `target` |
//! | `target-finished` | its report is written | `api`, `target`, `grade`, `score`, `findings`, `counts`, `requests`, `errors`, `duration_ms`, `report` |
//! | `target-failed` | it could not be scanned | `api`, `target`, `error`, `requests`, `duration_ms`, `record` |
//! | `shard-finished` | last | `scanned`, `failed`, `skipped`, `requests`, `duration_ms`, `peak_rss_kib` |

use std::io::Write;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use super::view::SeverityCounts;

/// One event (the `event` field names the variant).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum Event {
    ShardStarted {
        fleet: usize,
        targets: usize,
        to_scan: usize,
        skipped: usize,
        parallel: usize,
    },
    TargetSkipped {
        api: String,
        target: String,
        report: String,
    },
    TargetStarted {
        api: String,
        target: String,
    },
    TargetFinished {
        api: String,
        target: String,
        grade: crate::report::Grade,
        score: u8,
        findings: usize,
        counts: SeverityCounts,
        requests: u64,
        errors: usize,
        duration_ms: u64,
        report: String,
    },
    TargetFailed {
        api: String,
        target: String,
        error: String,
        requests: u64,
        duration_ms: u64,
        record: String,
    },
    ShardFinished {
        scanned: usize,
        failed: usize,
        skipped: usize,
        requests: u64,
        duration_ms: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        peak_rss_kib: Option<u64>,
    },
}

/// An event as written: the time and the shard, then the event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Line {
    pub time: String,
    pub shard: String,
    #[serde(flatten)]
    pub event: Event,
}

/// Writes events as JSON Lines; clones share the writer.
#[derive(Clone)]
pub struct EventSink {
    shard: String,
    out: Arc<Mutex<Box<dyn Write + Send>>>,
}

impl EventSink {
    pub fn new(shard: String, out: Box<dyn Write + Send>) -> Self {
        EventSink {
            shard,
            out: Arc::new(Mutex::new(out)),
        }
    }

    /// Standard output.
    pub fn stdout(shard: String) -> Self {
        EventSink::new(shard, Box::new(std::io::stdout()))
    }

    pub fn emit(&self, event: Event) {
        let line = Line {
            time: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            shard: self.shard.clone(),
            event,
        };
        let Ok(mut text) = serde_json::to_string(&line) else {
            return;
        };
        text.push('\n');
        let mut out = self.out.lock().unwrap_or_else(|p| p.into_inner());
        // A collector that went away is no reason to stop scanning.
        let _ = out.write_all(text.as_bytes());
        let _ = out.flush();
    }
}

/// Reads the events a shard printed (for tests and tools); lines that are
/// not events are left out.
pub fn parse_lines(text: &str) -> Vec<Line> {
    text.lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn events_are_whole_json_lines_from_any_thread() {
        let buffer = Shared::default();
        let sink = EventSink::new("1/4".into(), Box::new(buffer.clone()));
        let threads: Vec<_> = (0..8)
            .map(|n| {
                let sink = sink.clone();
                std::thread::spawn(move || {
                    for _ in 0..50 {
                        sink.emit(Event::TargetStarted {
                            api: format!("api-{n}"),
                            target: "http://127.0.0.1:1/".into(),
                        });
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        assert_eq!(text.lines().count(), 400);
        let lines = parse_lines(&text);
        assert_eq!(lines.len(), 400);
        assert!(lines.iter().all(|l| l.shard == "1/4"));
        let first: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
        assert_eq!(first["event"], "target-started");
        assert!(first["time"].as_str().unwrap().ends_with('Z'));
    }
}
