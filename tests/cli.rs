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

/// A scratch directory of the test's own, removed at the end.
fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("idemlab-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Regression (issue 19, item 11): `/dev/zero` was read for ever. What is not a regular file
/// is refused at once, and so is a file larger than any scenario.
#[test]
fn a_device_or_a_huge_file_is_refused_without_reading_it() {
    for args in [
        vec!["run", "/dev/zero"],
        vec!["run", "/dev/urandom"],
        vec!["tui", "--sweep", "/dev/zero"],
    ] {
        let (code, _, err) = idemlab(&root(), &args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains("is not a regular file"), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
    }
    let dir = scratch("huge");
    let huge = dir.join("huge.toml");
    let file = std::fs::File::create(&huge).unwrap();
    file.set_len(idemlab::cli::SCENARIO_BYTES_MAX + 1).unwrap();
    let (code, _, err) = idemlab(&root(), &["run", huge.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("larger than 4 MiB"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Regression (item 12): an error on a 200 KB line printed the whole line.
#[test]
fn an_error_on_a_long_line_quotes_a_window_around_the_column() {
    let dir = scratch("long");
    let file = dir.join("long.toml");
    std::fs::write(
        &file,
        format!("name = \"{}\" ops = 0\n", "x".repeat(200_000)),
    )
    .unwrap();
    let (code, _, err) = idemlab(&root(), &["run", file.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.len() < 400, "{} bytes of stderr", err.len());
    assert!(err.contains("1:200011"), "{err}");
    assert!(err.contains('…'), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Regression (items 13 and 14): `--jobs 100000` started thousands of threads, and a sweep
/// stopped by a signal exited 0. The pool is capped at the cores, and SIGTERM exits 143 with
/// the rows kept for `--resume`.
#[test]
fn a_sweep_caps_its_threads_and_exits_143_on_sigterm() {
    let dir = scratch("sweep");
    let out = dir.join("s.csv");
    let (code, _, err) = idemlab(
        &root(),
        &[
            "sweep",
            "lost-response",
            "--param",
            "network.loss=0,0.1",
            "--seeds",
            "2",
            "--jobs",
            "100000",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("--jobs 100000 lowered to"), "{err}");
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_idemlab"))
        .args([
            "sweep",
            "default",
            "--param",
            "network.loss=0:0.3:0.001",
            "--seeds",
            "200",
            "--out",
            out.to_str().unwrap(),
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1_500));
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let done = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&done.stderr);
    assert_eq!(done.status.code(), Some(143), "{err}");
    assert!(err.contains("SIGTERM") && err.contains("--resume"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Regression (item 15): amounts that overflow the totals are refused, not wrapped.
#[test]
fn amounts_that_would_overflow_the_totals_are_refused() {
    let dir = scratch("amount");
    let file = dir.join("big.toml");
    std::fs::write(
        &file,
        "[workload]\nops = 20\namount = 9223372036854775807\n",
    )
    .unwrap();
    let (code, _, err) = idemlab(&root(), &["compare", file.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("overflow the totals"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Regression (item 16): a run stopped by its time limit was reported "exactly once".
#[test]
fn a_stopped_run_is_marked_stopped_in_the_report() {
    let dir = scratch("stopped");
    let file = dir.join("stopped.toml");
    std::fs::write(&file, "[workload]\nops = 5\n[limits]\nmax_time = \"1us\"\n").unwrap();
    let (code, out, _) = idemlab(&root(), &["compare", file.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(!out.contains("exactly once"), "{out}");
    assert!(out.contains("STOPPED, not judged"), "{out}");
    assert!(out.contains("naive (stopped)"), "{out}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Regression (item 17): messages that described the wrong mistake.
#[test]
fn errors_describe_the_mistake_that_was_made() {
    let dir = scratch("messages");
    let cases = [
        (
            "[workload]\nops = 1\n[client.retry]\ntimeout = \"99999999999999999h\"\n",
            "is too large",
        ),
        ("[[workload]]\nops = 1\n", "write `[workload]`"),
        ("workload = 5\n", "expected a table"),
        ("[workload]\nops = 1979-05-27T07:32:00Z\n", "a date-time"),
        (
            "[workload]\nops = 1\n[client.retry]\nattempt_max = 3\n",
            "did you mean `attempts_max`",
        ),
    ];
    for (i, (text, want)) in cases.iter().enumerate() {
        let file = dir.join(format!("m{i}.toml"));
        std::fs::write(&file, text).unwrap();
        let (code, _, err) = idemlab(&root(), &["run", file.to_str().unwrap()]);
        assert_eq!(code, 2, "{text}");
        assert!(err.contains(want), "{text}: {err}");
        assert!(!err.contains("Raw"), "{text}: {err}");
    }
    let (code, _, err) = idemlab(
        &root(),
        &[
            "sweep",
            "default",
            "--param",
            "network.loss=0:1:inf",
            "--out",
            dir.join("x.csv").to_str().unwrap(),
        ],
    );
    assert_eq!(code, 2);
    assert!(
        !err.contains("NaN") && err.contains("not a finite number"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Without the `probe` feature, `idemlab probe` is still a command: it says how to get it.
#[cfg(not(feature = "probe"))]
#[test]
fn probe_without_the_feature_says_how_to_build_it() {
    let (code, out, err) = idemlab(
        &root(),
        &["probe", "lost-response", "--target", "http://127.0.0.1:9"],
    );
    assert_eq!(code, 2, "{out}{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("--features probe"), "{err}");
}
