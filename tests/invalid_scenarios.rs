//! Bad input gets a clear error, never a panic: every file in `tests/invalid_scenarios/` makes
//! `idemlab run` exit 2 with exactly the message in the `.stderr` file beside it, which names
//! the file, line and column and says what was expected.
//!
//! To update the expected messages after a deliberate change of wording, run
//! `IDEMLAB_BLESS=1 cargo test --test invalid_scenarios` and review the diff.

mod common;

use std::path::PathBuf;

#[test]
fn every_invalid_scenario_exits_2_with_its_exact_message() {
    let root = common::root();
    let dir = root.join("tests/invalid_scenarios");
    let mut fixtures: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    fixtures.sort();
    assert!(fixtures.len() >= 12, "only {} fixtures", fixtures.len());
    let bless = std::env::var_os("IDEMLAB_BLESS").is_some();
    let mut failures = Vec::new();
    for toml in &fixtures {
        let rel = toml
            .strip_prefix(&root)
            .unwrap()
            .to_str()
            .unwrap()
            .to_string();
        let (code, stdout, stderr) = common::idemlab(&root, &["run", &rel]);
        assert!(!stderr.contains("panicked"), "{rel} panicked:\n{stderr}");
        assert_eq!(code, 2, "{rel}: exit code {code}\n{stderr}");
        assert!(stdout.is_empty(), "{rel}: printed to stdout:\n{stdout}");
        assert!(
            stderr.starts_with(&format!("error: {rel}:")),
            "{rel}: the message does not start with the file's location:\n{stderr}"
        );
        let expected_path = toml.with_extension("stderr");
        if bless {
            std::fs::write(&expected_path, &stderr).unwrap();
            continue;
        }
        let expected = std::fs::read_to_string(&expected_path)
            .unwrap_or_else(|_| panic!("{rel} has no .stderr file; run with IDEMLAB_BLESS=1"));
        if expected != stderr {
            failures.push(format!("{rel}\n--- expected\n{expected}--- got\n{stderr}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Line and column are computed from the error's span, counting characters, not bytes.
#[test]
fn columns_count_characters_not_bytes() {
    let text = "name = \"café ☕\"\n[workload]\nops = -1\n";
    let err = idemlab::scenario::parse(text, "x.toml").unwrap_err();
    assert_eq!((err.line, err.column), (3, 7));
    let text = "description = \"ünïcödé\" ; ops = 1\n";
    let err = idemlab::scenario::parse(text, "y.toml").unwrap_err();
    assert_eq!(err.line, 1);
    assert!(err.column > 20, "column {}", err.column);
}

/// A limit raised past what the machine can hold is refused where it is written, with the
/// most this machine takes, instead of a run that aborts allocating it.
#[test]
fn a_trace_limit_past_the_machines_memory_is_refused_with_the_most_it_holds() {
    let text = "[workload]\nops = 2\n[limits]\nmax_trace_events = 9223372036854775807\n";
    let err = idemlab::scenario::parse(text, "limits.toml").unwrap_err();
    assert_eq!((err.line, err.column), (4, 20));
    let message = err.to_string();
    assert!(
        message.contains("more than half of this machine's") && message.contains("at most "),
        "{message}"
    );
    // The most it names is accepted.
    let most: u64 = message
        .rsplit("at most ")
        .next()
        .and_then(|m| m.split_whitespace().next())
        .and_then(|m| m.parse().ok())
        .unwrap_or_else(|| panic!("{message}"));
    let text = format!("[workload]\nops = 2\n[limits]\nmax_trace_events = {most}\n");
    assert!(idemlab::scenario::parse(&text, "limits.toml").is_ok());
    let text = format!(
        "[workload]\nops = 2\n[limits]\nmax_trace_events = {}\n",
        most + 1
    );
    assert!(idemlab::scenario::parse(&text, "limits.toml").is_err());
}
