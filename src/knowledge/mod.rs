//! Remediation as data: one TOML file per check under `knowledge/`, each with
//! a generic write-up and variants per framework × technology. The report
//! embeds the most specific variant for the detected stack.

use std::sync::LazyLock;

use serde::Deserialize;

use crate::stack::Stack;

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/knowledge_files.rs"));
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    pub id: String,
    pub title: String,
    pub summary: String,
    pub attack: String,
    pub impact: String,
    pub references: Vec<String>,
    #[serde(rename = "variant")]
    pub variants: Vec<Variant>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Variant {
    /// "generic", or technologies joined by '+', framework first: "flask+dynamodb".
    pub stack: String,
    pub summary: String,
    pub remediation: String,
    pub verify: String,
}

impl Variant {
    fn tokens(&self) -> Vec<&str> {
        if self.stack == "generic" {
            Vec::new()
        } else {
            self.stack.split('+').map(str::trim).collect()
        }
    }
}

static ENTRIES: LazyLock<Vec<Entry>> = LazyLock::new(|| {
    embedded::FILES
        .iter()
        .map(|(name, text)| {
            // The files are compiled in and a test parses them all, so a
            // failure here is a build defect, not bad input.
            toml::from_str(text).unwrap_or_else(|e| panic!("knowledge/{name}: {e}"))
        })
        .collect()
});

pub fn entries() -> &'static [Entry] {
    &ENTRIES
}

pub fn entry(id: &str) -> Option<&'static Entry> {
    ENTRIES.iter().find(|e| e.id == id)
}

impl Entry {
    /// The variant whose every token the stack has, preferring the one with
    /// the most tokens; the generic variant otherwise.
    pub fn best_variant(&self, stack: &Stack) -> &Variant {
        let have = stack.tokens();
        self.variants
            .iter()
            .filter(|v| v.tokens().iter().all(|t| have.iter().any(|h| h == t)))
            .max_by_key(|v| (v.tokens().len(), std::cmp::Reverse(self.position(v))))
            .or_else(|| self.variants.iter().find(|v| v.stack == "generic"))
            .unwrap_or(&self.variants[0])
    }

    /// The variant for an explicit `flask+dynamodb`-style key, if written.
    pub fn variant(&self, stack: &str) -> Option<&Variant> {
        self.variants.iter().find(|v| v.stack == stack)
    }

    fn position(&self, variant: &Variant) -> usize {
        self.variants
            .iter()
            .position(|v| std::ptr::eq(v, variant))
            .unwrap_or(usize::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_parses_and_has_a_generic_variant() {
        assert!(!entries().is_empty());
        for entry in entries() {
            assert!(
                entry.variant("generic").is_some(),
                "{} lacks generic",
                entry.id
            );
            for text in [&entry.title, &entry.summary, &entry.attack, &entry.impact] {
                assert!(!text.trim().is_empty(), "{} has an empty field", entry.id);
            }
            for variant in &entry.variants {
                assert!(
                    !variant.remediation.trim().is_empty(),
                    "{} {}",
                    entry.id,
                    variant.stack
                );
            }
        }
    }

    #[test]
    fn every_check_has_an_entry_and_every_entry_a_check() {
        for check in crate::checks::all() {
            let id = check.id;
            assert!(entry(id).is_some(), "no knowledge for {id}");
            // One file per check, named after it: knowledge/<id>.toml.
            let file = format!("{id}.toml");
            let text = embedded::FILES.iter().find(|(name, _)| *name == file);
            let text = text.unwrap_or_else(|| panic!("no knowledge/{file}")).1;
            let parsed: Entry = toml::from_str(text).expect("parses");
            assert_eq!(parsed.id, id, "knowledge/{file} describes another check");
        }
        for entry in entries() {
            assert!(
                crate::checks::find(&entry.id).is_some(),
                "knowledge for unknown check {}",
                entry.id
            );
        }
    }

    #[test]
    fn the_most_specific_matching_variant_wins() {
        let entry = entries()
            .iter()
            .find(|e| e.variant("flask+dynamodb").is_some() && e.variant("flask").is_some())
            .expect("an entry with flask and flask+dynamodb variants");
        let flask_dynamo = Stack::forced("flask+dynamodb");
        assert_eq!(entry.best_variant(&flask_dynamo).stack, "flask+dynamodb");
        assert_eq!(entry.best_variant(&Stack::forced("flask")).stack, "flask");
        // A framework no entry writes for falls back to the generic text.
        assert_eq!(
            entry.best_variant(&Stack::forced("cobol-cics")).stack,
            "generic"
        );
        assert_eq!(entry.best_variant(&Stack::default()).stack, "generic");
    }
}
