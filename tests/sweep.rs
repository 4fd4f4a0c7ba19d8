//! Sweeps: the same file whatever the threads do, shards that add up to the whole, resume after
//! an interruption (even SIGKILL), and a chart.

mod common;

use std::path::{Path, PathBuf};

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("idemlab-sweep-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn sweep(d: &Path, extra: &[&str]) -> (i32, String, String) {
    let root = common::root();
    let scenario = root.join("scenarios/default.toml");
    let mut args = vec![
        "sweep",
        scenario.to_str().unwrap(),
        "--param",
        "network.loss=0:0.2:0.1",
        "--param",
        "client.retry.timeout=20ms,40ms",
        "--seeds",
        "4",
    ];
    args.extend_from_slice(extra);
    common::idemlab(d, &args)
}

#[test]
fn a_sweep_writes_one_sorted_row_per_run_whatever_the_thread_count() {
    let d = dir("threads");
    let (code, _, err) = sweep(
        &d,
        &["--out", "one.csv", "--jobs", "1", "--plot", "one.svg"],
    );
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = sweep(&d, &["--out", "two.csv", "--jobs", "2"]);
    assert_eq!(code, 0, "{err}");
    let one = std::fs::read_to_string(d.join("one.csv")).unwrap();
    let two = std::fs::read_to_string(d.join("two.csv")).unwrap();
    assert_eq!(one, two, "thread count changed the results");
    // 3 loss values × 2 timeouts × 4 seeds × 3 designs, plus the header.
    assert_eq!(one.lines().count(), 1 + 3 * 2 * 4 * 3);
    let header = one.lines().next().unwrap();
    assert!(header.starts_with("network.loss,client.retry.timeout,seed,design,ops,attempts"));
    assert!(!d.join("one.csv.partial").exists());
    let svg = std::fs::read_to_string(d.join("one.svg")).unwrap();
    assert!(svg.contains("duplicate rate") && svg.contains("naive"));
    // Each row equals a single `idemlab run` of the same point, seed and design: spot-check one.
    let row: Vec<&str> = one.lines().nth(1).unwrap().split(',').collect();
    assert_eq!(&row[..4], ["0.0", "20ms", "1", "naive"]);
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn shards_add_up_to_the_whole_sweep() {
    let d = dir("shards");
    sweep(&d, &["--out", "all.csv"]);
    let mut rows: Vec<String> = Vec::new();
    for i in 0..3 {
        let out = format!("shard{i}.csv");
        let shard = format!("{i}/3");
        let (code, _, err) = sweep(&d, &["--out", &out, "--shard", &shard]);
        assert_eq!(code, 0, "{err}");
        let text = std::fs::read_to_string(d.join(&out)).unwrap();
        rows.extend(text.lines().skip(1).map(str::to_string));
    }
    let all = std::fs::read_to_string(d.join("all.csv")).unwrap();
    let mut expected: Vec<String> = all.lines().skip(1).map(str::to_string).collect();
    expected.sort();
    rows.sort();
    assert_eq!(rows, expected);
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn resume_finishes_a_sweep_killed_with_sigkill() {
    let d = dir("kill");
    let root = common::root();
    let scenario = root.join("scenarios/default.toml");
    std::fs::write(d.join("big.csv"), "the old results\n").unwrap();
    // A sweep long enough to kill in the middle: 200 points × 20 seeds × 3 designs.
    let args = [
        "sweep",
        scenario.to_str().unwrap(),
        "--param",
        "network.loss=0:0.199:0.001",
        "--seeds",
        "20",
        "--out",
        "big.csv",
        "--jobs",
        "1",
    ];
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_idemlab"))
        .args(args)
        .current_dir(&d)
        .spawn()
        .unwrap();
    // Wait until some rows are on disk, then kill without warning.
    let partial = d.join("big.csv.partial");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while std::fs::read_to_string(&partial).map_or(0, |t| t.lines().count()) < 50 {
        assert!(std::time::Instant::now() < deadline, "no rows appeared");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    // The old file is untouched: the new one is only ever renamed into place, complete.
    let old = std::fs::read_to_string(d.join("big.csv")).unwrap();
    let kept = std::fs::read_to_string(&partial).unwrap().lines().count();
    assert!(
        old == "the old results\n" || old.lines().count() == 1 + 12_000,
        "a torn results file"
    );
    assert!(kept >= 50);
    // Without --resume, the unfinished sweep is not overwritten.
    let (code, _, err) = common::idemlab(&d, &args);
    assert_eq!(code, 2);
    assert!(err.contains("--resume"), "{err}");
    let mut resume = args.to_vec();
    resume.push("--resume");
    let (code, _, err) = common::idemlab(&d, &resume);
    assert_eq!(code, 0, "{err}");
    let done = std::fs::read_to_string(d.join("big.csv")).unwrap();
    assert_eq!(done.lines().count(), 1 + 200 * 20 * 3);
    assert!(!partial.exists());
    // The same rows as a sweep that was never interrupted.
    let mut fresh = args.to_vec();
    let out = fresh.len() - 3;
    fresh[out] = "fresh.csv";
    let (code, _, _) = common::idemlab(&d, &fresh);
    assert_eq!(code, 0);
    assert_eq!(std::fs::read_to_string(d.join("fresh.csv")).unwrap(), done);
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn bad_sweeps_are_input_errors() {
    let d = dir("bad");
    let root = common::root();
    let s = root.join("scenarios/default.toml");
    let s = s.to_str().unwrap();
    for (args, message) in [
        (
            vec!["--param", "network.los=0:1:0.1"],
            "did you mean `network.loss`?",
        ),
        (vec!["--param", "network.loss=0:2:1"], "between 0 and 1"),
        (
            vec!["--param", "network.loss=0.1", "--shard", "4/4"],
            "expected I/N",
        ),
        (
            vec!["--param", "network.loss=0.1", "--designs", "nope"],
            "unknown design `nope`",
        ),
        (
            vec![
                "--param",
                "network.loss=0:1:0.001",
                "--param",
                "workload.ops=1:2000:1",
            ],
            "grid points, more than the limit",
        ),
        (
            vec!["--param", "network.loss=0:1:0.0001", "--seeds", "400"],
            "split it with --shard I/N (N of at least 2)",
        ),
        (
            vec!["--param", "workload.ops=1:1000000:1"],
            "more than 100000 values",
        ),
    ] {
        let mut full = vec!["sweep", s, "--out", "x.csv"];
        full.extend(args);
        let (code, _, err) = common::idemlab(&d, &full);
        assert_eq!(code, 2, "{full:?}: {err}");
        assert!(err.contains(message), "{full:?}: {err}");
    }
    std::fs::remove_dir_all(&d).unwrap();
}

/// The catalog's knobs sweep too: key TTLs, store latency, provider 503s, and a broker's
/// visibility timeout and receive limit (on a scenario with a broker, and only there).
#[test]
fn the_catalogs_parameters_sweep_and_misapplied_ones_are_input_errors() {
    let d = dir("catalog-params");
    let root = common::root();
    let out = d.join("ttl.csv");
    let (code, _, err) = common::idemlab(
        &root,
        &[
            "sweep",
            "key-expiry",
            "--param",
            "server.key_ttl=100ms,1s",
            "--seeds",
            "2",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{err}");
    let text = std::fs::read_to_string(&out).unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let headers = reader.headers().unwrap().clone();
    let dup = headers.iter().position(|h| h == "duplicates").unwrap();
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 2 * 2 * 2);
    // A TTL of 1s outlives the 300ms backoff for key-in-transaction, not 100ms.
    for r in &rows {
        if &r[2] == "key-in-transaction" {
            let want = if &r[0] == "100ms" { "1" } else { "0" };
            assert_eq!(&r[dup], want, "{r:?}");
        }
    }
    let out = d.join("vt.csv");
    let (code, _, err) = common::idemlab(
        &root,
        &[
            "sweep",
            "queue-redelivery",
            "--param",
            "broker.visibility_timeout=20ms,200ms",
            "--param",
            "broker.max_receives=2,8",
            "--seeds",
            "1",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{err}");
    for (scenario, param, message) in [
        (
            "default",
            "broker.max_receives=2",
            "needs a scenario with a [broker]",
        ),
        (
            "queue-redelivery",
            "client.retry.timeout=10ms",
            "its redeliveries come from broker.visibility_timeout",
        ),
        ("default", "server.key_ttl=0ms", "longer than zero"),
    ] {
        let (code, _, err) = common::idemlab(
            &root,
            &[
                "sweep",
                scenario,
                "--param",
                param,
                "--out",
                d.join("x.csv").to_str().unwrap(),
            ],
        );
        assert_eq!(code, 2, "{param}: {err}");
        assert!(err.contains(message), "{param}: {err}");
    }
    std::fs::remove_dir_all(&d).unwrap();
}
