//! The command line's contracts: output formats, exit codes, exports.

mod common;

use std::io::Read;
use std::process::{Command, Stdio};

use common::{idemlab, root};

const DESIGN_KEYS: [&str; 8] = [
    "design",
    "ops",
    "attempts",
    "effects",
    "duplicates",
    "lost",
    "in_doubt",
    "inconsistent",
];

#[test]
fn compare_json_has_the_documented_shape() {
    let (code, out, err) = idemlab(&root(), &["compare", "lost-response", "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["scenario"], "lost-response");
    assert_eq!(v["seed"], 1);
    assert_eq!(v["ideal"]["effects"], 5);
    let designs = v["designs"].as_array().unwrap();
    assert_eq!(designs.len(), 3);
    for d in designs {
        for key in DESIGN_KEYS {
            assert!(d.get(key).is_some(), "missing {key} in {d}");
        }
    }
    assert_eq!(designs[0]["design"], "naive");
    assert_eq!(designs[0]["duplicates"], 1);
    assert_eq!(designs[2]["duplicates"], 0);
}

#[test]
fn run_json_is_one_design_object_plus_scenario_and_seed() {
    let (code, out, err) = idemlab(
        &root(),
        &[
            "run",
            "scenarios/slow-server-race.toml",
            "--design",
            "process-payment",
            "--seed",
            "3",
            "--format",
            "json",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["scenario"], "slow-server-race");
    assert_eq!(v["seed"], 3);
    assert_eq!(v["design"], "process-payment");
    for key in DESIGN_KEYS {
        assert!(v.get(key).is_some(), "missing {key}");
    }
}

#[test]
fn compare_csv_has_a_header_and_one_row_per_design() {
    let (code, out, _) = idemlab(
        &root(),
        &["compare", "crash-after-charge", "--format", "csv"],
    );
    assert_eq!(code, 0);
    let mut reader = csv::Reader::from_reader(out.as_bytes());
    let header = reader.headers().unwrap().clone();
    for key in [
        "scenario",
        "seed",
        "design",
        "duplicates",
        "in_doubt",
        "charged",
    ] {
        assert!(header.iter().any(|h| h == key), "missing column {key}");
    }
    let rows: Vec<_> = reader.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), 3);
}

#[test]
fn the_trace_export_is_csv_with_the_documented_columns_and_leaves_no_temporary_file() {
    let dir = std::env::temp_dir().join(format!("idemlab-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let target = dir.join("trace.csv");
    std::fs::write(&target, "old content").unwrap();
    let path = target.to_str().unwrap();
    let (code, _, err) = idemlab(&root(), &["run", "lost-response", "--trace", path]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("trace written to"));
    let text = std::fs::read_to_string(&target).unwrap();
    let header = text.lines().next().unwrap();
    assert_eq!(header, "time_us,node,kind,op,attempt,copy,key,detail");
    assert!(text.contains("response lost (fault plan)"));
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n != "trace.csv")
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_export_that_cannot_be_written_is_an_error_with_exit_2() {
    let (code, _, err) = idemlab(
        &root(),
        &[
            "run",
            "lost-response",
            "--trace",
            "/nonexistent-dir/trace.csv",
        ],
    );
    assert_eq!(code, 2);
    assert!(
        err.contains("cannot write /nonexistent-dir/trace.csv"),
        "{err}"
    );
}

#[test]
fn a_failed_expectation_exits_1_and_names_it() {
    let (code, _, err) = idemlab(&root(), &["compare", "tests/fixtures/failing-expect.toml"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("[expect.naive] duplicates: expected = 0, got 1"),
        "{err}"
    );
}

#[test]
fn a_run_that_hits_its_budget_says_which_and_exits_2() {
    let (code, _, err) = idemlab(&root(), &["run", "tests/fixtures/tiny-budget.toml"]);
    assert_eq!(code, 2);
    assert!(err.contains("event budget"), "{err}");
    assert!(err.contains("max_events"), "{err}");
}

#[test]
fn an_unknown_design_lists_the_known_ones() {
    let (code, _, err) = idemlab(&root(), &["run", "lost-response", "--design", "atomic_key"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("unknown design `atomic_key` (did you mean `atomic-key`?)"),
        "{err}"
    );
    assert!(
        err.contains(
            "naive, put, conditional-write, business-key, check-then-act, process-payment"
        ),
        "{err}"
    );
    let (code, _, err) = idemlab(&root(), &["compare", "default", "--designs", "naive,nope"]);
    assert_eq!(code, 2);
    assert!(err.contains("unknown design `nope`"), "{err}");
}

#[test]
fn an_unknown_scenario_name_lists_the_bundled_ones() {
    let (code, _, err) = idemlab(&root(), &["compare", "lost-responce"]);
    assert_eq!(code, 2);
    assert!(err.contains("did you mean `lost-response`?"), "{err}");
}

#[test]
fn with_no_arguments_and_no_terminal_it_prints_the_default_comparison() {
    let (code, out, err) = idemlab(&root(), &[]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with("scenario default · seed 1 · 20 operations"),
        "{out}"
    );
    for d in ["naive", "process-payment", "atomic-key", "(ideal)"] {
        assert!(out.contains(d), "{out}");
    }
}

#[test]
fn list_shows_every_design_and_bundled_scenario() {
    let (code, out, _) = idemlab(&root(), &["list"]);
    assert_eq!(code, 0);
    for name in idemlab::handlers::names() {
        assert!(out.contains(&name), "{name} missing");
    }
    for (file, _) in idemlab::scenario::BUNDLED {
        assert!(out.contains(file.trim_end_matches(".toml")));
    }
}

/// `idemlab ... | head` must not turn a closed pipe into an error.
#[test]
fn a_closed_stdout_pipe_is_not_an_error() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_idemlab"))
        .args(["run", "default", "--design", "naive"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let status = child.wait().unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert_eq!(status.code(), Some(0), "{err}");
    assert!(err.is_empty(), "{err}");
}

/// Workload W behaves as specified: about 1.23 attempts per operation (1 / 0.81) and
/// duplicate applications for about 11% of operations.
#[test]
fn bench_runs_workload_w_and_reports_every_figure() {
    let bench = |record: &str| {
        let args = ["bench", "--ops", "20000", "--runs", "1", "--record", record];
        let (code, out, err) = idemlab(&root(), &args);
        assert_eq!(code, 0, "{err}");
        assert!(out.starts_with(&format!("record={record} ")), "{out}");
        let fields: std::collections::BTreeMap<String, f64> = out
            .split_whitespace()
            .skip(1)
            .map(|kv| {
                let (k, v) = kv.split_once('=').unwrap();
                (k.to_string(), v.parse().unwrap())
            })
            .collect();
        (out, fields)
    };
    let (out, fields) = bench("trace");
    for key in [
        "ops",
        "attempts",
        "messages",
        "duplicates",
        "gave_up",
        "trace_events",
        "trace_bytes",
        "sim_ms",
        "wall_ms",
        "events_per_sec",
        "ops_per_sec",
    ] {
        assert!(fields.contains_key(key), "missing {key} in {out}");
    }
    // The trace is packed: 32 bytes an event (the budget is 64).
    assert_eq!(fields["trace_bytes"], fields["trace_events"] * 32.0);
    let per_op = fields["attempts"] / fields["ops"];
    assert!((1.19..1.28).contains(&per_op), "attempts per op {per_op}");
    let dup_rate = fields["duplicates"] / fields["ops"];
    assert!(
        (0.09..0.13).contains(&dup_rate),
        "duplicate rate {dup_rate}"
    );
    // Without a trace it is the same run: the same figures, and no trace memory.
    let (_, metrics) = bench("metrics");
    for key in [
        "ops",
        "attempts",
        "messages",
        "duplicates",
        "events",
        "trace_events",
    ] {
        assert_eq!(metrics[key], fields[key], "{key}");
    }
    assert_eq!(metrics["trace_bytes"], 0.0);
    let (code, _, err) = idemlab(&root(), &["bench", "--loss", "1.5"]);
    assert_eq!(code, 2);
    assert!(err.contains("--loss must be a probability"));
}
