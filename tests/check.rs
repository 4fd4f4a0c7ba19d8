//! The property-testing harness: it finds what is broken, finds nothing where nothing is, shrinks
//! to the known minimal stories, and its replay files and seeds reproduce them exactly.

mod common;

use idemlab::check::{Checker, FaultKind};
use idemlab::fault::{FaultAtom, FaultPlan, MessageRef, When};
use idemlab::handlers::lookup;
use idemlab::scenario::{self, Scenario};
use idemlab::world::StepKind;

fn bundled(name: &str) -> Scenario {
    let text =
        std::fs::read_to_string(common::root().join(format!("scenarios/{name}.toml"))).unwrap();
    scenario::parse(&text, name).unwrap()
}

/// Each broken design of the catalog on the scenario that shows its failure; each correct one
/// on every bundled scenario where its assumptions hold.
const BROKEN: [(&str, &str); 4] = [
    ("naive", "lost-response"),
    ("counter", "lost-response"),
    ("process-payment", "slow-server-race"),
    ("atomic-key", "crash-after-charge"),
];

#[test]
fn check_and_explore_find_every_broken_design() {
    for (design, scenario) in BROKEN {
        let s = bundled(scenario);
        let d = lookup(design).unwrap();
        let report = Checker::new(&s, d.as_ref()).cases(128).check();
        assert!(
            report.counterexample.is_some(),
            "check missed {design} on {scenario}"
        );
        let explored = Checker::new(&s, d.as_ref()).explore(1);
        assert!(
            explored.minimal.is_some(),
            "explore missed {design} on {scenario}"
        );
        assert!(explored.violations() > 0);
    }
}

#[test]
fn check_and_explore_find_nothing_in_correct_designs() {
    let mut cases = vec![("recovery-points", "crash-after-charge")];
    for s in [
        "default",
        "lost-response",
        "slow-server-race",
        "crash-after-charge",
    ] {
        cases.push(("key-in-transaction", s));
    }
    for (design, scenario) in cases {
        let s = bundled(scenario);
        let d = lookup(design).unwrap();
        let report = Checker::new(&s, d.as_ref()).cases(128).check();
        assert!(
            report.counterexample.is_none(),
            "{design} on {scenario}:\n{}",
            report.counterexample.unwrap().report()
        );
        assert_eq!(
            report.plans, 129,
            "the fault-free run and 128 generated plans"
        );
        let explored = Checker::new(&s, d.as_ref()).explore(2);
        assert!(explored.complete(), "{design} on {scenario}");
        assert_eq!(explored.violations(), 0, "{design} on {scenario}");
        assert_eq!(explored.complete_depth(), Some(2));
        assert!(
            explored.runs() > 100,
            "too few runs to mean anything: {}",
            explored.runs()
        );
    }
}

/// The process-payment race. With a client timeout shorter than the provider call, no fault is
/// needed: the known minimal story is zero faults and one operation. On a fast server, one
/// network duplicate of the first request makes the same race: one fault, one operation.
#[test]
fn the_process_payment_race_shrinks_to_its_known_minimal_plan() {
    let d = lookup("process-payment").unwrap();
    let slow = Checker::new(&bundled("slow-server-race"), d.as_ref()).check();
    let found = slow.counterexample.unwrap();
    assert_eq!(found.plan, FaultPlan::default());
    assert_eq!(found.scenario.workload.ops, 1);
    assert!(
        found
            .narrative()
            .iter()
            .any(|l| l.contains("charges 100 again → twice"))
    );

    let fast = Checker::new(&bundled("lost-response"), d.as_ref())
        .fault_kinds(&[FaultKind::Duplicate])
        .check();
    let found = fast.counterexample.unwrap();
    assert_eq!(
        found.plan.atoms,
        vec![FaultAtom::Duplicate(MessageRef::request(1, 1))]
    );
    assert_eq!(found.scenario.workload.ops, 1);
}

/// The crash-after-charge window: one crash of op 1's server right after the provider call,
/// before the key is stored. Only crashes are searched, so nothing else can stand in for it.
#[test]
fn the_crash_after_charge_window_shrinks_to_its_known_minimal_plan() {
    let d = lookup("process-payment").unwrap();
    let s = bundled("crash-after-charge");
    let found = Checker::new(&s, d.as_ref())
        .fault_kinds(&[FaultKind::Crash])
        .check()
        .counterexample
        .unwrap();
    // "after charge" and "before put" are the same instant of this handler. The generated
    // plan names the first step of a kind; the tree search names the step by its position.
    let in_window = |atom: &FaultAtom| {
        matches!(
            *atom,
            FaultAtom::CrashAtStep {
                op: 1,
                attempt: Some(1),
                when: When::After,
                step: StepKind::Charge,
                ..
            } | FaultAtom::CrashAtStep {
                op: 1,
                attempt: Some(1),
                when: When::Before,
                step: StepKind::Put,
                ..
            }
        )
    };
    assert_eq!(found.plan.atoms.len(), 1, "{}", found.report());
    assert!(in_window(&found.plan.atoms[0]), "{}", found.report());
    assert_eq!(found.scenario.workload.ops, 1);
    let explored = Checker::new(&s, d.as_ref())
        .fault_kinds(&[FaultKind::Crash])
        .explore(1);
    let minimal = explored.minimal.unwrap();
    assert!(in_window(&minimal.plan.atoms[0]), "{}", minimal.report());
}

/// The file a counterexample writes replays the same violation: parsed back, run, the same
/// trace, and `idemlab run FILE` exits 1 on its `[expect]` line.
#[test]
fn the_written_file_replays_the_same_violation() {
    for (design, scenario) in BROKEN {
        let d = lookup(design).unwrap();
        let found = Checker::new(&bundled(scenario), d.as_ref())
            .check()
            .counterexample
            .unwrap();
        let text = found.to_toml();
        let replay = scenario::parse(&text, "replay.toml").unwrap();
        let run = idemlab::world::run(&replay, d.as_ref(), replay.seed, &FaultPlan::default());
        assert_eq!(run.trace.hash(), found.run.trace.hash(), "{design}");
        let dir =
            std::env::temp_dir().join(format!("idemlab-replay-{}-{design}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("replay.toml");
        std::fs::write(&file, &text).unwrap();
        let (code, _, err) = common::idemlab(&dir, &["run", "replay.toml"]);
        assert_eq!(code, 1, "{design}: {err}");
        assert!(err.contains(&format!("[expect.{design}]")), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

/// The same seed gives the same counterexample, byte for byte; the CLI's output too.
#[test]
fn the_same_seed_gives_the_same_counterexample() {
    let d = lookup("naive").unwrap();
    let s = bundled("default");
    let a = Checker::new(&s, d.as_ref())
        .seed(7)
        .check()
        .counterexample
        .unwrap();
    let b = Checker::new(&s, d.as_ref())
        .seed(7)
        .check()
        .counterexample
        .unwrap();
    assert_eq!(a.report(), b.report());
    assert_eq!(a.to_toml(), b.to_toml());
    let args = [
        "check",
        "lost-response",
        "--design",
        "atomic-key",
        "--seed",
        "3",
    ];
    let first = common::idemlab(&common::root(), &args);
    let second = common::idemlab(&common::root(), &args);
    assert_eq!(first.0, 1);
    assert_eq!(first, second);
}

#[test]
fn the_commands_exit_1_on_a_violation_and_0_without() {
    let root = common::root();
    let (code, out, _) = common::idemlab(&root, &["check", "lost-response", "--design", "naive"]);
    assert_eq!(code, 1);
    assert!(out.contains("what happened:"), "{out}");
    let (code, out, err) = common::idemlab(
        &root,
        &[
            "explore",
            "crash-after-charge",
            "--design",
            "key-in-transaction",
            "--max-faults",
            "2",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains(
            "no violation in any plan of ≤ 2 fault(s) of kinds drop, duplicate, delay, crash"
        ),
        "{out}"
    );
    // A depth past every budget is not refused: the search stops at its first violation.
    let (code, out, err) = common::idemlab(
        &root,
        &[
            "explore",
            "default",
            "--design",
            "naive",
            "--max-faults",
            "9",
        ],
    );
    assert_eq!(code, 1, "{err}");
    assert!(out.contains("what happened:"), "{out}");
    let (code, _, err) = common::idemlab(
        &root,
        &[
            "check", "default", "--design", "naive", "--faults", "explode",
        ],
    );
    assert_eq!(code, 2);
    assert!(err.contains("unknown fault kind `explode`"), "{err}");
}

/// A user's own invariant is checked alongside the built-in ones.
#[test]
fn custom_invariants_are_checked() {
    struct NoRetries;
    impl idemlab::check::Invariant for NoRetries {
        fn name(&self) -> &str {
            "the client never needs a second attempt"
        }
        fn check(
            &self,
            run: &idemlab::world::Run,
            _: &idemlab::oracle::Metrics,
        ) -> Option<(String, Vec<u32>)> {
            run.ops.iter().find(|o| o.attempts > 1).map(|o| {
                (
                    format!("op {} needed {} attempts", o.op, o.attempts),
                    vec![o.op],
                )
            })
        }
    }
    let d = lookup("key-in-transaction").unwrap();
    let found = Checker::new(&bundled("lost-response"), d.as_ref())
        .invariant(Box::new(NoRetries))
        .check()
        .counterexample
        .unwrap();
    assert_eq!(
        found.violation.invariant,
        "the client never needs a second attempt"
    );
    assert_eq!(found.plan.atoms.len(), 1);
    // No metric captures it, so the replay file has no [expect] line for it.
    assert!(found.scenario.expect.is_empty());
}

/// Ctrl-C stops a long search cleanly and reports what it found so far.
#[test]
fn ctrl_c_stops_a_long_search_with_what_it_found() {
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_idemlab"))
        .args([
            "explore",
            "default",
            "--design",
            "key-in-transaction",
            "--max-faults",
            "3",
        ])
        .current_dir(common::root())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1_500));
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    // 130, as shells report a process ended by SIGINT: a batch scheduler must not read an
    // interrupted search as a finished one.
    assert_eq!(out.status.code(), Some(130), "{stdout}");
    assert!(stdout.contains("stopped by SIGINT (Ctrl-C)"), "{stdout}");
    assert!(
        stdout.contains("complete for every plan of ≤ "),
        "what was covered: {stdout}"
    );
    assert!(
        !stdout.contains("no violation in any plan of ≤ 3"),
        "an interrupted search proves nothing beyond what it covered: {stdout}"
    );
}

/// Every counterexample `check` and `explore` write replays with `idemlab run` and shows the
/// same violation: for every catalog design on the scenario of its catalog row (and the
/// middleware, whose file once kept other designs' options and was refused).
#[test]
fn every_counterexample_file_replays_with_idemlab_run() {
    let dir = std::env::temp_dir().join(format!("idemlab-replays-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cases = [
        ("naive", "row01-naive-post"),
        ("put", "row02-put-reordering"),
        ("conditional-write", "row03-conditional-write"),
        ("business-key", "row04-business-key"),
        ("check-then-act", "row05-check-then-act"),
        ("process-payment", "crash-after-charge"),
        ("atomic-key", "row07-claim-first"),
        ("key-in-transaction", "row08-key-in-transaction"),
        ("recovery-points", "row09-recovery-points"),
        ("middleware", "middleware"),
        ("caches-errors", "stored-responses"),
        ("short-ttl", "key-expiry"),
        ("new-key-per-attempt", "row13-new-key-per-attempt"),
        ("payload-hash", "dedup-table"),
        ("ack-first", "row15-ack-first"),
        ("process-then-ack", "row16-process-then-ack"),
        ("inbox", "dlq-redrive-after-ttl"),
        ("outbox-inbox", "row18-outbox-relay"),
    ];
    let mut replayed = 0;
    for (design, scenario) in cases {
        for command in ["check", "explore"] {
            let file = dir.join(format!("{design}-{command}.toml"));
            let file_arg = file.to_str().unwrap();
            let mut args = vec![command, scenario, "--design", design, "--out", file_arg];
            if command == "explore" {
                args.extend(["--max-faults", "2"]);
            }
            let (code, out, err) = common::idemlab(&common::root(), &args);
            if code == 0 {
                continue; // Nothing broke it: no file to replay.
            }
            assert_eq!(code, 1, "{command} {scenario} --design {design}: {err}");
            let text = std::fs::read_to_string(&file).unwrap();
            let broken = out
                .lines()
                .find_map(|l| {
                    l.split_once(" breaks \"")
                        .map(|(_, rest)| rest.trim_end_matches(':'))
                })
                .unwrap_or_else(|| panic!("{out}"))
                .to_string();
            let (code, _, err) = common::idemlab(&common::root(), &["run", file_arg]);
            assert_eq!(
                code, 1,
                "idemlab run of {command}'s counterexample for {design} on {scenario}: {err}\n{text}"
            );
            assert!(
                err.contains(&format!("[expect.{design}]")),
                "{design}: {err}\n{text}"
            );
            // The file's own [expect] line names the broken invariant's metric.
            let parsed = idemlab::scenario::parse(&text, "replay.toml").unwrap();
            let metric = &parsed.expect[design][0].metric;
            assert!(err.contains(metric.as_str()), "{design} ({broken}): {err}");
            replayed += 1;
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert!(replayed >= 20, "only {replayed} counterexamples replayed");
}
