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

/// Regression (issue 24): a design whose fingerprint includes something that changes per
/// attempt (here the request id) answers the retry after a lost response with 422 while the
/// first attempt's order stands. The client ends told "failed" with the effect made: the
/// mirror image of a lost success. `check` and `explore` both catch it, with one fault.
#[test]
fn a_final_failure_with_the_effect_made_is_caught_by_check_and_explore() {
    use idemlab::handlers::api::{Body, Cx, Request, Response, Value};
    async fn per_attempt_fingerprint(cx: Cx, req: Request) -> Response {
        let Some(key) = req.idempotency_key() else {
            return Response::key_missing();
        };
        let record = format!("idem:{key}");
        // The bug: the fingerprint covers the request id, which every retry changes.
        let fingerprint = req.fingerprint() ^ req.request_id();
        let amount = req.amount();
        cx.db()
            .transaction(|txn| {
                if let Some(existing) = txn.get(&record) {
                    return Ok::<Response, ()>(match existing {
                        Value::Completed { fingerprint: f, .. } if f != fingerprint => {
                            Response::key_mismatch()
                        }
                        Value::Completed { response, .. } => response,
                        _ => Response::key_in_use(),
                    });
                }
                let response = Response::created(Body::Order(txn.create_order(amount)));
                txn.put(
                    &record,
                    Value::Completed {
                        fingerprint,
                        response,
                    },
                );
                Ok(response)
            })
            .await
            .unwrap_or_else(|()| Response::key_in_use())
    }
    let design = idemlab::handlers::design_fn(
        "per-attempt-fingerprint",
        "key-in-transaction whose fingerprint covers the request id",
        per_attempt_fingerprint,
    );
    let s = bundled("lost-response");
    let checked = Checker::new(&s, &design).cases(500).check();
    let found = checked
        .counterexample
        .expect("check finds the false failure");
    assert_eq!(
        found.violation.invariant,
        "no effect behind a final failure"
    );
    assert_eq!(found.plan.atoms.len(), 1, "{}", found.report());
    assert!(
        found.violation.detail.contains("422 key-mismatch"),
        "{}",
        found.violation.detail
    );
    let explored = Checker::new(&s, &design).explore(3);
    let found = explored.minimal.expect("explore finds it");
    assert_eq!(
        found.violation.invariant,
        "no effect behind a final failure"
    );
    assert_eq!(found.plan.atoms.len(), 1);
    let m = idemlab::oracle::measure(&found.run);
    assert_eq!((m.false_failures, m.duplicates, m.lost), (1, 0, 0));
    // The catalog's correct designs still pass (recovery-points against the network's faults:
    // a crash leaves its claim to a retry that this client's patience does not wait for).
    for (name, kinds) in [
        ("key-in-transaction", &FaultKind::DEFAULT[..]),
        (
            "recovery-points",
            &[FaultKind::Drop, FaultKind::Duplicate, FaultKind::Delay][..],
        ),
    ] {
        let d = lookup(name).unwrap();
        let r = Checker::new(&s, d.as_ref()).fault_kinds(kinds).explore(2);
        assert!(
            r.minimal.is_none(),
            "{name}: {:?}",
            r.minimal.map(|c| c.report())
        );
        let c = Checker::new(&s, d.as_ref())
            .fault_kinds(kinds)
            .cases(300)
            .check();
        assert!(c.counterexample.is_none(), "{name}");
    }
}

/// A design that stores a provider's 503 and replays it for ever leaves the client told "try
/// again" on every attempt, nothing applied: a liveness verdict, which says the client's
/// patience it rests on.
#[test]
fn a_stored_503_replayed_for_ever_is_a_liveness_verdict_with_the_patience_it_rests_on() {
    let s = bundled("lost-response");
    let d = lookup("caches-errors").unwrap();
    let r = Checker::new(&s, d.as_ref())
        .fault_kinds(&[FaultKind::Unavailable])
        .explore(1);
    let found = r.minimal.expect("one 503 is enough");
    assert_eq!(found.violation.invariant, "every operation served");
    let patience = found
        .violation
        .liveness
        .clone()
        .expect("a liveness verdict");
    assert!(patience.contains("attempts"), "{patience}");
    let story = found.report();
    assert!(story.contains("a liveness verdict"), "{story}");
    let m = idemlab::oracle::measure(&found.run);
    assert_eq!(m.unserved, 1);
    // recovery-points does not store the 503: the retry is served.
    let fixed = lookup("recovery-points").unwrap();
    let r = Checker::new(&s, fixed.as_ref())
        .fault_kinds(&[FaultKind::Unavailable])
        .explore(2);
    assert!(r.minimal.is_none());
}

/// Every counterexample `check` and `explore` find, for every bundled scenario × every design
/// of the catalog, is written as a file that reads back and replays: the run of the file
/// breaks its own `[expect]` line (what makes `idemlab run FILE` exit 1; the test above runs
/// the binary on one file per design). In-process, so that the debug build covers them all.
#[test]
fn every_counterexample_of_every_bundled_scenario_and_design_replays() {
    let mut replayed = 0;
    for (path, s) in common::bundled() {
        for name in idemlab::handlers::names() {
            let Ok(design) = s.design(&name) else {
                continue;
            };
            let what = format!("{} × {name}", path.display());
            let checker = Checker::new(&s, design.as_ref()).cases(12).max_faults(2);
            let explored = Checker::new(&s, design.as_ref()).max_runs(60).explore(1);
            for found in [checker.check().counterexample, explored.minimal]
                .into_iter()
                .flatten()
            {
                let text = found.to_toml();
                let parsed = scenario::parse(&text, "replay.toml")
                    .unwrap_or_else(|e| panic!("{what}: the file does not read back: {e}\n{text}"));
                let replay = parsed.design(&name).unwrap();
                let run = idemlab::world::run(
                    &parsed,
                    replay.as_ref(),
                    parsed.seed,
                    &FaultPlan::default(),
                );
                let m = idemlab::oracle::measure(&run);
                let failed = idemlab::oracle::check_expectations(&parsed, &m);
                assert!(
                    !failed.is_empty(),
                    "{what}: the replay breaks no [expect] line\n{text}"
                );
                replayed += 1;
            }
        }
    }
    assert!(replayed >= 150, "only {replayed} counterexamples replayed");
}

/// Regression (issue 24): the shrinker cut `ops` but kept the `[[workload.op]]` tables of the
/// operations it cut, and the file was refused (`op must be between 1 and 1, got 2`).
#[test]
fn a_counterexample_cut_to_fewer_operations_drops_their_payloads() {
    let s = scenario::parse(
        "[workload]\nops = 3\nclients = 1\n[[workload.op]]\nop = 2\namount = 250\nfields = { note = \"gift\" }\n[[workload.op]]\nop = 3\nkey_of = 2\n[client.retry]\ntimeout = \"20ms\"\n",
        "payloads.toml",
    )
    .unwrap();
    let naive = lookup("naive").unwrap();
    let found = Checker::new(&s, naive.as_ref())
        .explore(1)
        .minimal
        .expect("a lost response makes naive charge twice");
    assert_eq!(found.scenario.workload.ops, 1, "{}", found.report());
    let text = found.to_toml();
    assert!(!text.contains("[[workload.op]]"), "{text}");
    let dir = std::env::temp_dir().join(format!("idemlab-payload-replay-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("cx.toml");
    std::fs::write(&file, &text).unwrap();
    let (code, _, err) = common::idemlab(&dir, &["run", file.to_str().unwrap()]);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(code, 1, "{err}\n{text}");
}
