//! A single number for dashboards: 100 minus a weight per finding.

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
    let penalty: u32 = findings.iter().map(|f| weight(f.severity)).sum();
    100u32.saturating_sub(penalty) as u8
}

pub fn grade(score: u8) -> char {
    match score {
        90..=100 => 'A',
        75..=89 => 'B',
        60..=74 => 'C',
        40..=59 => 'D',
        _ => 'F',
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grades_follow_score_bands() {
        assert_eq!(grade(score(&[])), 'A');
        assert_eq!(grade(100), 'A');
        assert_eq!(grade(75), 'B');
        assert_eq!(grade(39), 'F');
    }
}
