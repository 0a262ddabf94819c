//! Every Python example in the knowledge base compiles, and every entry's id
//! matches its file and carries references.

use std::process::Command;

use rampart::knowledge;

/// The bodies of ```python fenced blocks in a markdown text.
fn python_blocks(markdown: &str) -> Vec<String> {
    fenced_blocks(markdown, "python")
}

/// The bodies of fenced blocks of one language in a markdown text.
fn fenced_blocks(markdown: &str, language: &str) -> Vec<String> {
    let opening = format!("```{language}");
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in markdown.lines() {
        let fence = line.trim_start();
        match current.as_mut() {
            None if fence.trim_end() == opening => current = Some(String::new()),
            Some(_) if fence.starts_with("```") => blocks.extend(current.take()),
            Some(block) => {
                block.push_str(line);
                block.push('\n');
            }
            None => {}
        }
    }
    assert!(current.is_none(), "unterminated ```{language} block");
    blocks
}

#[test]
fn python_examples_compile() {
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for entry in knowledge::entries() {
        for variant in &entry.variants {
            for (n, block) in python_blocks(&variant.remediation).into_iter().enumerate() {
                let path = dir.path().join(format!(
                    "{}_{}_{n}.py",
                    entry.id.replace(['.', '-'], "_"),
                    variant.stack.replace('+', "_")
                ));
                std::fs::write(&path, block).unwrap();
                files.push(path);
            }
        }
    }
    assert!(!files.is_empty(), "the knowledge base has Python examples");
    let output = Command::new("python3")
        .arg("-m")
        .arg("py_compile")
        .args(&files)
        .output()
        .expect("python3 is needed for the test suite (scripts/test)");
    assert!(
        output.status.success(),
        "a Python example does not compile:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn entries_have_references_and_one_line_summaries() {
    for entry in knowledge::entries() {
        assert!(
            !entry.references.is_empty(),
            "{} has no references",
            entry.id
        );
        assert!(
            !entry.summary.trim().contains('\n'),
            "{}: summary must be one line",
            entry.id
        );
        for variant in &entry.variants {
            assert!(
                !variant.verify.trim().is_empty(),
                "{} {}: no verify text",
                entry.id,
                variant.stack
            );
        }
    }
}

/// JavaScript examples at least parse: `node --check` on each block
/// (scripts/test installs Node where it is missing).
#[test]
fn javascript_examples_parse() {
    let dir = tempfile::tempdir().unwrap();
    let mut checked = 0;
    let mut failures = Vec::new();
    for entry in knowledge::entries() {
        for variant in &entry.variants {
            for (n, block) in fenced_blocks(&variant.remediation, "javascript")
                .into_iter()
                .enumerate()
            {
                // ES-module syntax needs the .mjs parser; CommonJS the .js one.
                let module = block.lines().any(|l| {
                    let l = l.trim_start();
                    l.starts_with("import ") || l.starts_with("export ")
                });
                let path = dir.path().join(format!(
                    "{}_{}_{n}.{}",
                    entry.id.replace(['.', '-'], "_"),
                    variant.stack.replace('+', "_"),
                    if module { "mjs" } else { "js" }
                ));
                std::fs::write(&path, block).unwrap();
                let output = Command::new("node")
                    .arg("--check")
                    .arg(&path)
                    .output()
                    .expect("node is needed for the test suite (scripts/test installs it)");
                checked += 1;
                if !output.status.success() {
                    failures.push(format!(
                        "{} [{}] block {n}:\n{}",
                        entry.id,
                        variant.stack,
                        String::from_utf8_lossy(&output.stderr)
                    ));
                }
            }
        }
    }
    assert!(checked > 0, "the knowledge base has JavaScript examples");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
