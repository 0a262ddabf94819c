//! A single number for dashboards: 100 minus a weight per finding.

use serde::{Deserialize, Serialize};

use crate::finding::{Finding, Severity};

fn weight(severity: Severity) -> u32 {
    match severity {
        Severity::Critical => 30,
        Severity::High => 15,
        Severity::Medium => 7,
        Severity::Low => 3,
        Severity::Info => 0,
    }
}

pub fn score(findings: &[Finding]) -> u8 {
    let penalty: u32 = findings.iter().map(|f| weight(f.head.severity)).sum();
    100u32.saturating_sub(penalty) as u8
}

/// The report's `grade`: a letter for the score, or `incomplete`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, strum::IntoStaticStr, strum::Display,
)]
pub enum Grade {
    A,
    B,
    C,
    D,
    F,
    /// The scan's coverage was cut short (see the report's
    /// `incomplete_reasons`); its score only covers what was scanned.
    #[serde(rename = "incomplete")]
    #[strum(serialize = "incomplete")]
    Incomplete,
}

impl Grade {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// The letter for a score.
pub fn grade(score: u8) -> Grade {
    match score {
        90..=100 => Grade::A,
        75..=89 => Grade::B,
        60..=74 => Grade::C,
        40..=59 => Grade::D,
        _ => Grade::F,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grades_follow_score_bands() {
        assert_eq!(grade(score(&[])), Grade::A);
        assert_eq!(grade(100), Grade::A);
        assert_eq!(grade(75), Grade::B);
        assert_eq!(grade(39), Grade::F);
        assert_eq!(
            serde_json::to_string(&[Grade::B, Grade::Incomplete]).unwrap(),
            r#"["B","incomplete"]"#
        );
        assert_eq!(
            (Grade::B.as_str(), Grade::Incomplete.as_str()),
            ("B", "incomplete")
        );
        assert_eq!(Grade::Incomplete.to_string(), "incomplete");
    }
}
