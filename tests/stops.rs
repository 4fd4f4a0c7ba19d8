//! Every stop `explore` knows is honoured within a second, on a scenario large enough that a
//! single batch, or the root's children alone, takes minutes: `--time`, `--max-runs`, and
//! SIGINT, SIGTERM and SIGHUP, each with the exact claim of what was covered and the exit code
//! a shell expects. One test in a binary of its own, so that nothing else in the suite runs
//! beside the measurements.

mod common;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long a stop may take to be honoured: the bound, for a debug build (which the
/// suite runs) on a loaded two-core machine.
const PROMPT: Duration = Duration::from_secs(1);

/// `default` with 2,000 operations: about 24,000 fault points, so the root's children alone
/// are minutes of runs in a debug build.
fn big_scenario() -> PathBuf {
    let root = common::root();
    let text = std::fs::read_to_string(root.join("scenarios/default.toml"))
        .unwrap()
        .replace("ops = 20\n", "ops = 2000\n")
        .replace("name = \"default\"", "name = \"big\"");
    assert!(text.contains("ops = 2000"));
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("stops-big.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// The claim of a search stopped before any plan of one fault was covered whole.
fn claims_only_the_root(out: &str, why: &str) {
    assert!(
        out.contains("0 fault(s): 1 runs, 1 distinct")
            && out.contains(&format!(
                "complete for every plan of ≤ 0 fault(s) of kinds drop, duplicate, delay, crash: no violation; deeper plans only in part, {why}"
            )),
        "{out}"
    );
}

#[test]
fn every_stop_is_honoured_within_a_second_on_a_large_scenario() {
    let path = big_scenario();
    let scenario = path.to_str().unwrap();
    let explore = ["explore", scenario, "--design", "key-in-transaction"];

    // --time: the report comes within a second of the deadline.
    let started = Instant::now();
    let (code, out, err) =
        common::idemlab(&common::root(), &[&explore[..], &["--time", "1s"]].concat());
    let late = started.elapsed().saturating_sub(Duration::from_secs(1));
    assert_eq!(code, 0, "{err}");
    assert!(
        late < PROMPT,
        "--time 1s answered {late:?} after its deadline"
    );
    claims_only_the_root(&out, "stopped by --time 1s");

    // --max-runs: the root's children do not fit in 1,000 runs, so none is run; the search
    // says so at once instead of running the whole batch first.
    let started = Instant::now();
    let (code, out, err) = common::idemlab(
        &common::root(),
        &[&explore[..], &["--max-runs", "1000"]].concat(),
    );
    let took = started.elapsed();
    assert_eq!(code, 0, "{err}");
    assert!(took < PROMPT, "--max-runs 1000 took {took:?}");
    claims_only_the_root(&out, "stopped by --max-runs 1000");
    assert!(out.contains("0 of 1 plans of 0 fault(s) extended"), "{out}");

    // Signals, in the middle of the root's children: the report of what was covered, and the
    // exit code of the signal.
    for (signal, code, name) in [
        ("-INT", 130, "SIGINT (Ctrl-C)"),
        ("-TERM", 143, "SIGTERM"),
        ("-HUP", 129, "SIGHUP"),
    ] {
        let child = Command::new(env!("CARGO_BIN_EXE_idemlab"))
            .args(explore)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Past the fault-free run and its points (well under a second), into the batch.
        std::thread::sleep(Duration::from_millis(1500));
        let sent = Instant::now();
        let status = Command::new("kill")
            .args([signal, &child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let output = child.wait_with_output().unwrap();
        let took = sent.elapsed();
        let out = String::from_utf8_lossy(&output.stdout);
        assert_eq!(output.status.code(), Some(code), "{signal}: {out}");
        assert!(took < PROMPT, "{signal} answered after {took:?}");
        claims_only_the_root(&out, &format!("stopped by {name}"));
        eprintln!("{name}: answered in {took:?}");
    }
    std::fs::remove_file(&path).unwrap();
}
