//! The CI files users copy: the GitHub Action, the example workflow and the
//! GitLab snippet parse as YAML, every input of the action is used and
//! every input it uses is declared, they upload SARIF and keep JUnit, and
//! every `rampart` option they pass exists.

mod support;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

/// A YAML file as JSON, read by PyYAML from the test venv (a standard,
/// independent parser).
fn yaml(relative: &str) -> Value {
    let venv = std::env::var_os("RAMPART_TEST_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| support::repo_root().join(".venv"));
    let script = "import json, sys, yaml\n\
                  doc = yaml.safe_load(open(sys.argv[1]))\n\
                  # YAML 1.1 reads a bare `on` key as true.\n\
                  if isinstance(doc, dict) and True in doc: doc['on'] = doc.pop(True)\n\
                  print(json.dumps(doc))";
    let path = support::repo_root().join(relative);
    let output = Command::new(venv.join("bin/python"))
        .args(["-c", script])
        .arg(&path)
        .output()
        .expect("the test venv's python runs");
    assert!(
        output.status.success(),
        "{relative} does not parse: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("JSON")
}

fn text(relative: &str) -> String {
    std::fs::read_to_string(support::repo_root().join(relative)).expect("readable")
}

/// Every `--long` option of `rampart scan --help`.
fn scan_options() -> BTreeSet<String> {
    let help = support::rampart(&["scan", "--help"]);
    let help = String::from_utf8_lossy(&help.stdout).into_owned();
    long_options(&help)
}

fn long_options(text: &str) -> BTreeSet<String> {
    let mut options = BTreeSet::new();
    for (at, _) in text.match_indices("--") {
        let name: String = text[at + 2..]
            .chars()
            .take_while(|c| c.is_ascii_lowercase() || *c == '-')
            .collect();
        if !name.is_empty() {
            options.insert(name);
        }
    }
    options
}

/// `inputs.NAME` references in a text.
fn input_references(text: &str) -> BTreeSet<String> {
    text.match_indices("inputs.")
        .map(|(at, _)| {
            text[at + 7..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                .collect()
        })
        .collect()
}

/// The options a CI file passes to `rampart`, from its shell lines.
fn rampart_options(scripts: &str) -> BTreeSet<String> {
    // `cargo install --locked` and the like are not rampart's.
    let lines: String = scripts
        .lines()
        .filter(|l| !l.contains("cargo install") && !l.contains("curl "))
        .collect::<Vec<_>>()
        .join("\n");
    long_options(&lines)
}

#[test]
fn the_action_is_composite_uses_every_input_and_uploads_sarif() {
    let action = yaml("action.yml");
    assert_eq!(action["runs"]["using"], "composite");
    let declared: BTreeSet<String> = action["inputs"]
        .as_object()
        .expect("inputs")
        .keys()
        .cloned()
        .collect();
    let steps = action["runs"]["steps"].as_array().expect("steps");
    let steps_text = serde_json::to_string(steps).expect("JSON");
    let used = input_references(&steps_text);
    assert_eq!(declared, used, "inputs declared vs used in the steps");
    for (name, output) in action["outputs"].as_object().expect("outputs") {
        let value = output["value"].as_str().expect("a value");
        let step_output = value
            .split("outputs.")
            .nth(1)
            .and_then(|rest| rest.split(' ').next())
            .unwrap_or_else(|| panic!("output {name} reads no step output"));
        assert!(
            steps_text.contains(&format!("{step_output}=")),
            "output {name}: no step writes {step_output}"
        );
    }
    let upload = steps
        .iter()
        .find(|s| {
            s["uses"]
                .as_str()
                .is_some_and(|u| u.starts_with("github/codeql-action/upload-sarif@"))
        })
        .expect("an upload-sarif step");
    assert!(upload["with"]["sarif_file"]
        .as_str()
        .is_some_and(|f| f.contains("sarif-file")));
    // Inputs reach shell scripts through the environment only.
    for step in steps {
        if let Some(run) = step["run"].as_str() {
            assert!(
                !run.contains("${{"),
                "an expression pasted into a script: {run}"
            );
        }
    }
    let known = scan_options();
    let scripts: String = steps
        .iter()
        .filter_map(|s| s["run"].as_str())
        .collect::<Vec<_>>()
        .join("\n");
    for option in rampart_options(&scripts) {
        assert!(known.contains(&option), "rampart scan has no --{option}");
    }
}

#[test]
fn the_example_workflow_uses_the_action_and_keeps_the_reports() {
    let workflow = yaml(".github/workflows/example-scan.yml");
    assert!(workflow["on"].get("workflow_dispatch").is_some());
    assert_eq!(workflow["permissions"]["security-events"], "write");
    let steps = workflow["jobs"]["scan"]["steps"].as_array().expect("steps");
    let scan = steps
        .iter()
        .find(|s| s["uses"] == "./")
        .expect("a step using the action");
    let action = yaml("action.yml");
    let inputs = action["inputs"].as_object().expect("inputs");
    for key in scan["with"].as_object().expect("with").keys() {
        assert!(inputs.contains_key(key), "the action has no input {key}");
    }
    assert!(steps.iter().any(|s| s["uses"]
        .as_str()
        .is_some_and(|u| u.starts_with("actions/upload-artifact@"))));
}

#[test]
fn the_gitlab_snippet_keeps_junit_and_passes_real_options() {
    let gitlab = yaml("docs/ci/gitlab-ci.yml");
    let job = &gitlab["rampart-scan"];
    let junit = job["artifacts"]["reports"]["junit"]
        .as_str()
        .expect("a JUnit report");
    let script = serde_json::to_string(&job["script"]).expect("JSON");
    assert!(script.contains(&format!("junit={junit}")), "{script}");
    assert!(script.contains("sarif="));
    let script_text: Vec<String> = job["script"]
        .as_array()
        .expect("script lines")
        .iter()
        .filter_map(|l| l.as_str().map(str::to_string))
        .collect();
    let known = scan_options();
    for option in rampart_options(&script_text.join("\n")) {
        assert!(known.contains(&option), "rampart scan has no --{option}");
    }
}

#[test]
fn the_option_reader_sees_options_and_the_exit_statuses_are_documented() {
    assert_eq!(
        long_options("rampart scan x --fail-on high -o a --spec s"),
        BTreeSet::from(["fail-on".to_string(), "spec".to_string()])
    );
    let readme = text("README.md");
    for status in ["| 0 |", "| 1 |", "| 2 |"] {
        assert!(readme.contains(status), "README lacks exit status {status}");
    }
}
