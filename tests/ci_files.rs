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

// --- Fleet scans on Kubernetes, GitHub Actions and GitLab CI ---------------

/// Every document of a multi-document YAML file, as JSON.
fn yaml_documents(relative: &str) -> Vec<Value> {
    let venv = venv();
    let script = "import json, sys, yaml\n\
                  print(json.dumps([d for d in yaml.safe_load_all(open(sys.argv[1])) if d is not None]))";
    let output = Command::new(venv.join("bin/python"))
        .args(["-c", script])
        .arg(support::repo_root().join(relative))
        .output()
        .expect("the test venv's python runs");
    assert!(
        output.status.success(),
        "{relative} does not parse: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("JSON")
}

fn venv() -> PathBuf {
    std::env::var_os("RAMPART_TEST_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| support::repo_root().join(".venv"))
}

/// Runs a validator of the test venv (tests/targets/requirements.txt) on
/// repository files; it must pass.
fn validate(tool: &str, args: &[&str], files: &[&str]) {
    let output = Command::new(venv().join("bin").join(tool))
        .args(args)
        .args(files.iter().map(|f| support::repo_root().join(f)))
        .output()
        .unwrap_or_else(|e| panic!("{tool} from the test venv runs: {e}"));
    assert!(
        output.status.success(),
        "{tool} {files:?}:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Every `--long` option of `rampart merge --help`.
fn merge_options() -> BTreeSet<String> {
    let help = support::rampart(&["merge", "--help"]);
    long_options(&String::from_utf8_lossy(&help.stdout))
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .expect("a list")
        .iter()
        .map(|v| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
        .collect()
}

/// The value after `option` in an argument list.
fn after<'a>(args: &'a [String], option: &str) -> &'a str {
    let at = args
        .iter()
        .position(|a| a == option)
        .unwrap_or_else(|| panic!("no {option} in {args:?}"));
    &args[at + 1]
}

fn assert_known(options: BTreeSet<String>, known: &BTreeSet<String>, command: &str) {
    for option in options {
        assert!(
            known.contains(&option),
            "rampart {command} has no --{option}"
        );
    }
}

fn shards_0_to(n: usize) -> Vec<String> {
    (0..n).map(|i| i.to_string()).collect()
}

#[test]
fn the_kubernetes_fleet_manifests_validate_and_shard_by_completion_index() {
    let scan_file = "deploy/kubernetes/fleet-scan.yaml";
    let merge_file = "deploy/kubernetes/fleet-merge.yaml";
    validate(
        "kubernetes-validate",
        &["--strict", "--quiet"],
        &[scan_file, merge_file],
    );

    let docs = yaml_documents(scan_file);
    let of_kind = |kind: &str| -> &Value {
        docs.iter()
            .find(|d| d["kind"] == kind)
            .unwrap_or_else(|| panic!("no {kind} in {scan_file}"))
    };
    let job = &of_kind("Job")["spec"];
    assert_eq!(job["completionMode"], "Indexed");
    let container = &job["template"]["spec"]["containers"][0];
    let env = |name: &str| -> String {
        container["env"]
            .as_array()
            .expect("env")
            .iter()
            .find(|e| e["name"] == name)
            .and_then(|e| e["value"].as_str())
            .unwrap_or_else(|| panic!("no {name} value in the env"))
            .to_string()
    };
    let shards: usize = env("SHARDS").parse().expect("SHARDS is a number");
    assert_eq!(job["completions"], shards);
    assert_eq!(job["parallelism"], shards);
    let args = strings(&container["args"]);
    assert_eq!(args[0], "scan");
    assert_eq!(after(&args, "--shard"), "$(JOB_COMPLETION_INDEX)/$(SHARDS)");
    assert!(args.contains(&"--resume".to_string()));
    assert_known(long_options(&args.join(" ")), &scan_options(), "scan");
    // The run's directory is the Job's own (its uid), so retries resume
    // and nights never mix.
    let run = container["env"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "RUN")
        .expect("RUN");
    assert_eq!(
        run["valueFrom"]["fieldRef"]["fieldPath"],
        "metadata.labels['batch.kubernetes.io/controller-uid']"
    );

    // The files it reads are the ConfigMap's, and they are valid.
    let pod = &job["template"]["spec"];
    let mount_of = |volume: &str| -> String {
        container["volumeMounts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["name"] == volume)
            .and_then(|m| m["mountPath"].as_str())
            .unwrap_or_else(|| panic!("{volume} not mounted"))
            .to_string()
    };
    let volume_with = |key: &str| -> String {
        pod["volumes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v.get(key).is_some())
            .and_then(|v| v["name"].as_str())
            .unwrap_or_else(|| panic!("no {key} volume"))
            .to_string()
    };
    let config_dir = mount_of(&volume_with("configMap"));
    let data = &of_kind("ConfigMap")["data"];
    let targets = after(&args, "--targets");
    let fleet_text = data[targets
        .strip_prefix(&format!("{config_dir}/"))
        .expect("--targets in the ConfigMap")]
    .as_str()
    .expect("the targets file");
    let fleet = rampart::fleet::Fleet::parse(fleet_text, std::path::Path::new(targets))
        .expect("the example targets file is valid");
    assert!(fleet.targets.len() >= 2);
    let config = after(&args, "--config");
    let config_text = data[config.strip_prefix(&format!("{config_dir}/")).unwrap()]
        .as_str()
        .expect("the project file");
    rampart::config::parse(config_text, std::path::Path::new(config))
        .expect("the example project file is valid");
    // Reports go to the shared claim.
    let reports = mount_of(&volume_with("persistentVolumeClaim"));
    let out_dir = after(&args, "--out-dir");
    assert!(out_dir.starts_with(&format!("{reports}/")), "{out_dir}");
    assert_eq!(
        of_kind("PersistentVolumeClaim")["spec"]["accessModes"][0],
        "ReadWriteMany"
    );

    // The merge Job reads what the shards wrote, with real options.
    let merge = &yaml_documents(merge_file)[0]["spec"]["template"]["spec"]["containers"][0];
    let script = strings(&merge["args"]).join("\n");
    let night = script
        .lines()
        .find_map(|l| l.trim().strip_prefix("night="))
        .expect("night=")
        .trim_matches('"')
        .to_string();
    let read = script.replace("$night", &night);
    assert!(
        read.contains(&out_dir.replace("$(RUN)", "$RUN")),
        "the merge does not read {out_dir}:\n{script}"
    );
    assert!(script.contains("rampart merge"));
    assert_known(rampart_options(&script), &merge_options(), "merge");
    assert_eq!(merge["env"][0]["value"], "SCAN_JOB_UID");
    assert!(text(merge_file).contains("sed \"s/SCAN_JOB_UID/"));
}

#[test]
fn the_fleet_workflow_validates_and_runs_one_job_per_shard() {
    let file = ".github/workflows/fleet-scan.yml";
    validate(
        "check-jsonschema",
        &["--builtin-schema", "vendor.github-workflows"],
        &[file, ".github/workflows/example-scan.yml"],
    );
    let workflow = yaml(file);
    let shards: usize = workflow["env"]["SHARDS"]
        .as_str()
        .expect("SHARDS")
        .parse()
        .expect("a number");
    let jobs = &workflow["jobs"];
    let scan = &jobs["scan"];
    assert_eq!(
        strings(&scan["strategy"]["matrix"]["shard"]),
        shards_0_to(shards)
    );
    assert_eq!(scan["strategy"]["fail-fast"], false);
    let runs = |job: &Value| -> String {
        job["steps"]
            .as_array()
            .expect("steps")
            .iter()
            .filter_map(|s| s["run"].as_str())
            .collect::<Vec<_>>()
            .join("\n")
    };
    for job in jobs.as_object().unwrap().values() {
        assert!(
            !runs(job).contains("${{"),
            "an expression pasted into a script"
        );
    }
    let scan_script = runs(scan);
    assert!(scan_script.contains("--shard \"$SHARD/$SHARDS\""));
    assert!(scan_script.contains("--out-dir \"reports/shard-$SHARD\""));
    assert_known(rampart_options(&scan_script), &scan_options(), "scan");
    let merge = &jobs["merge"];
    assert!(strings(&merge["needs"]).contains(&"scan".to_string()));
    assert!(merge["if"].as_str().is_some_and(|c| c.contains("always()")));
    let merge_script = runs(merge);
    assert!(merge_script.contains("merge reports/shard-*"));
    assert_known(rampart_options(&merge_script), &merge_options(), "merge");
    let steps = merge["steps"].as_array().unwrap();
    assert!(steps
        .iter()
        .any(|s| s["with"]["pattern"] == "rampart-shard-*"));
    assert!(steps
        .iter()
        .any(|s| s["with"]["sarif_file"] == "fleet/fleet.sarif"));
}

#[test]
fn the_gitlab_fleet_snippet_validates_and_runs_one_job_per_shard() {
    let file = "docs/ci/gitlab-fleet.yml";
    validate(
        "check-jsonschema",
        &["--builtin-schema", "vendor.gitlab-ci"],
        &[file, "docs/ci/gitlab-ci.yml"],
    );
    let gitlab = yaml(file);
    let shards: usize = gitlab["variables"]["SHARDS"]
        .as_str()
        .expect("SHARDS")
        .parse()
        .expect("a number");
    let scan = &gitlab["rampart-fleet-scan"];
    assert_eq!(
        strings(&scan["parallel"]["matrix"][0]["SHARD"]),
        shards_0_to(shards)
    );
    let scan_script = strings(&scan["script"]).join("\n");
    assert!(scan_script.contains("--shard \"$SHARD/$SHARDS\""));
    assert!(scan_script.contains("--out-dir \"reports/shard-$SHARD\""));
    assert_known(rampart_options(&scan_script), &scan_options(), "scan");
    let merge = &gitlab["rampart-fleet-merge"];
    assert_eq!(merge["when"], "always");
    let merge_script = strings(&merge["script"]).join("\n");
    assert!(merge_script.contains("merge reports/shard-*"));
    assert_known(rampart_options(&merge_script), &merge_options(), "merge");
}
