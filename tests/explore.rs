//! Exhaustive exploration over the tree of runs: it reaches the points that exist only because
//! of earlier faults, never claims more than it ran, and its pruning changes no verdict.

mod common;

use idemlab::check::{Checker, FaultKind};
use idemlab::fault::{Direction, FaultAtom};
use idemlab::handlers::api::{Body, Cx, Request, Response, Value};
use idemlab::handlers::{design_fn, lookup};
use idemlab::scenario::{self, Scenario};

fn bundled(name: &str) -> Scenario {
    let text =
        std::fs::read_to_string(common::root().join(format!("scenarios/{name}.toml"))).unwrap();
    scenario::parse(&text, name).unwrap()
}

/// Regression (issue 15): the old search tried only the fault-free run's points, so it could
/// never drop attempt 2 or 3, and said "no violation" at every depth. Over the tree of runs,
/// three drops break `short-ttl`, two do not, and the counterexample keeps its three atoms.
#[test]
fn three_lost_messages_in_a_row_outlive_a_short_key_and_two_do_not() {
    let s = bundled("retry-outlives-key");
    let d = lookup("short-ttl").unwrap();
    let two = Checker::new(&s, d.as_ref())
        .fault_kinds(&[FaultKind::Drop])
        .explore(2);
    assert!(two.minimal.is_none());
    assert_eq!(two.complete_depth(), Some(2));
    let lines = two.lines("retry-outlives-key", "short-ttl").join("\n");
    assert!(
        lines.contains("no violation in any plan of ≤ 2 fault(s) of kinds drop"),
        "{lines}"
    );
    let three = Checker::new(&s, d.as_ref())
        .fault_kinds(&[FaultKind::Drop])
        .explore(3);
    let found = three.minimal.expect("three drops break it");
    assert_eq!(
        found.violation.invariant,
        "at most one effect per operation"
    );
    assert_eq!(found.plan.atoms.len(), 3, "{}", found.report());
    // The response of attempt 1, then the requests of attempts 2 and 3: two of the atoms are
    // on attempts that exist only because of the fault before them.
    let attempts: Vec<(Direction, u32)> = found
        .plan
        .atoms
        .iter()
        .map(|a| match a {
            FaultAtom::Drop(m) => (m.dir, m.attempt),
            other => panic!("not a drop: {other}"),
        })
        .collect();
    assert_eq!(
        attempts,
        [
            (Direction::Response, 1),
            (Direction::Request, 2),
            (Direction::Request, 3)
        ]
    );
    // The correct design survives every number of drops the tree has.
    let correct = lookup("key-in-transaction").unwrap();
    let all = Checker::new(&s, correct.as_ref())
        .fault_kinds(&[FaultKind::Drop])
        .explore(12);
    assert!(all.minimal.is_none());
    assert!(all.complete(), "{:?}", all.depths);
}

#[test]
fn no_depth_panics_and_a_tree_smaller_than_the_depth_is_searched_whole() {
    let root = common::root();
    for k in ["0", "1", "3", "1000"] {
        let (code, out, err) = common::idemlab(
            &root,
            &[
                "explore",
                "retry-outlives-key",
                "--design",
                "key-in-transaction",
                "--faults",
                "drop",
                "--max-faults",
                k,
            ],
        );
        assert_eq!(code, 0, "--max-faults {k}: {err}");
        assert!(!err.contains("panicked"), "{err}");
        assert!(out.contains("no violation in any plan of ≤ "), "{out}");
    }
}

/// A design that survives any single fault but not a lost response followed by a crash on the
/// retry: the first attempt charges and records its key in one transaction (safe against any
/// crash), but a retry that finds the record "refreshes" it by deleting and writing it again.
/// Crash between the two on the retry, and the next attempt finds no key and charges again.
async fn refreshes_on_retry(cx: Cx, req: Request) -> Response {
    let Some(key) = req.idempotency_key() else {
        return Response::key_missing();
    };
    let record = format!("idem:{key}");
    if let Some(stored) = cx.db().get(&record).await.and_then(|v| v.response()) {
        cx.db().delete(&record).await;
        cx.db().put(&record, Value::from(stored)).await;
        return stored;
    }
    let amount = req.amount();
    let done = cx
        .db()
        .transaction(|txn| {
            if let Some(existing) = txn.get(&record).and_then(|v| v.response()) {
                return Err(existing);
            }
            let order = txn.create_order(amount);
            let response = Response::created(Body::Order(order));
            txn.put(&record, Value::from(response));
            Ok(response)
        })
        .await;
    done.unwrap_or_else(|existing| existing)
}

#[test]
fn a_design_broken_only_on_a_retry_is_found_at_two_faults() {
    let s = scenario::parse(
        "[workload]\nops = 1\n[client.retry]\ntimeout = \"30ms\"\nattempts_max = 4\nbackoff = \"constant\"\nbackoff_base = \"20ms\"\njitter = \"none\"\n[network]\nlatency = \"1ms\"\n[server]\nrestart_delay = \"10ms\"\n",
        "retry-crash.toml",
    )
    .unwrap();
    let design = design_fn("refreshes-on-retry", "test", refreshes_on_retry);
    let one = Checker::new(&s, &design).explore(1);
    assert!(
        one.minimal.is_none(),
        "{}",
        one.minimal.map(|c| c.report()).unwrap_or_default()
    );
    assert!(one.complete());
    let two = Checker::new(&s, &design).explore(2);
    let found = two
        .minimal
        .expect("a lost response, then a crash on the retry");
    assert_eq!(found.plan.atoms.len(), 2, "{}", found.report());
    assert!(
        matches!(
            found.plan.atoms[1],
            FaultAtom::CrashAtStep {
                attempt: Some(2),
                ..
            }
        ),
        "{}",
        found.report()
    );
}

/// The pruned search and the plain tree search agree: on every bundled scenario small enough
/// for both, for every catalog design, at two faults, they find the same first violating plan,
/// the same counterexample, and the same violating runs (by fingerprint). And the pruned one
/// says why it ran each plan it did not decide, every reason met somewhere.
#[test]
fn pruning_changes_no_verdict_and_no_counterexample() {
    let mut seen = idemlab::check::RunReasons::default();
    let mut compared = 0;
    let mut pruned_any = 0;
    let mut violations = 0;
    for (path, s) in common::bundled() {
        if s.workload.ops > 3 {
            continue;
        }
        for name in idemlab::handlers::names() {
            let Ok(design) = s.design(&name) else {
                continue;
            };
            let pruned = Checker::new(&s, design.as_ref())
                .verify_decisions(true)
                .explore(2);
            let plain = Checker::new(&s, design.as_ref()).pruning(false).explore(2);
            let what = format!("{} × {name}", path.display());
            seen.add(&reasons_add_up(&pruned, &what));
            let misjudged: u64 = pruned.depths.iter().map(|d| d.misjudged).sum();
            assert_eq!(
                misjudged, 0,
                "{what}: a plan decided clean breaks an invariant"
            );
            assert_eq!(pruned.first, plain.first, "{what}");
            assert_eq!(
                pruned.minimal.as_ref().map(|c| (&c.plan, &c.violation)),
                plain.minimal.as_ref().map(|c| (&c.plan, &c.violation)),
                "{what}"
            );
            // The plain search meets a violating run once per plan that makes it; the pruned
            // one meets each at least once.
            let set = |r: &idemlab::check::ExploreReport| -> std::collections::BTreeSet<u128> {
                r.violating_runs.iter().copied().collect()
            };
            assert_eq!(set(&pruned), set(&plain), "{what}");
            assert!(pruned.runs() <= plain.runs(), "{what}");
            pruned_any += u64::from(pruned.runs() < plain.runs());
            violations += u64::from(pruned.first.is_some());
            compared += 1;
        }
    }
    assert!(compared > 100, "only {compared} pairs compared");
    // Every reason to run a plan is met (a run that hit a budget: in the test of the reasons).
    for (reason, _, n) in seen.named() {
        assert!(
            reason == "unsound" || n > 0,
            "no run for `{reason}`: {seen:?}"
        );
    }
    assert!(pruned_any > 10, "the pruning never pruned: {pruned_any}");
    assert!(
        violations > 10,
        "too few violations to compare: {violations}"
    );
}

/// Every core, same answer: the report is the same for one thread and for four.
#[test]
fn the_report_is_the_same_for_any_number_of_threads() {
    for (scenario, design) in [
        ("crash-after-charge", "key-in-transaction"),
        ("lost-response", "naive"),
    ] {
        let s = bundled(scenario);
        let d = lookup(design).unwrap();
        let one = Checker::new(&s, d.as_ref()).jobs(1).explore(2);
        let four = Checker::new(&s, d.as_ref()).jobs(4).explore(2);
        assert_eq!(
            one.to_json(scenario, design),
            four.to_json(scenario, design)
        );
        assert_eq!(one.violating_runs, four.violating_runs);
    }
}

/// A budget stops the search where it says, and the claim is only what was covered.
#[test]
fn a_run_budget_stops_the_search_and_the_report_says_how_far_it_got() {
    let s = bundled("crash-after-charge");
    let d = lookup("key-in-transaction").unwrap();
    let full = Checker::new(&s, d.as_ref()).explore(3);
    assert!(full.complete());
    let depth2: u64 = full.depths[..3].iter().map(|d| d.runs).sum();
    let cut = Checker::new(&s, d.as_ref())
        .max_runs(depth2 + 10)
        .explore(3);
    assert!(!cut.complete());
    assert_eq!(cut.complete_depth(), Some(2));
    assert_eq!(
        cut.stopped,
        Some(idemlab::check::Stop::MaxRuns(depth2 + 10))
    );
    let last = cut.depths.last().unwrap();
    assert!(!last.complete && last.parents_done < last.parents);
    let words = cut
        .lines("crash-after-charge", "key-in-transaction")
        .join("\n");
    assert!(
        words.contains("complete for every plan of ≤ 2 fault(s)"),
        "{words}"
    );
    assert!(words.contains("stopped by --max-runs"), "{words}");
    assert!(!words.contains("≤ 3"), "{words}");
}

/// The same agreement at three faults, where the plans decided without a run have a parent
/// with a fault of its own (a crash among them): on the small bundled scenarios.
#[test]
fn pruning_changes_no_verdict_at_three_faults() {
    let deep = std::env::var_os("IDEMLAB_EXPLORE_DEEP").is_some();
    let mut compared = 0;
    let mut decided = 0;
    for (path, s) in common::bundled() {
        // Every small scenario with IDEMLAB_EXPLORE_DEEP=1; else those of one or two operations
        // (with one, no plan is decided: every atom is on the same operation).
        if s.workload.ops > if deep { 3 } else { 2 } {
            continue;
        }
        for name in idemlab::handlers::names() {
            let Ok(design) = s.design(&name) else {
                continue;
            };
            let pruned = Checker::new(&s, design.as_ref())
                .verify_decisions(true)
                .explore(3);
            let plain = Checker::new(&s, design.as_ref()).pruning(false).explore(3);
            let misjudged: u64 = pruned.depths.iter().map(|d| d.misjudged).sum();
            assert_eq!(
                misjudged,
                0,
                "{}: a plan decided clean breaks an invariant",
                path.display()
            );
            let what = format!("{} × {name}", path.display());
            assert_eq!(pruned.first, plain.first, "{what}");
            assert_eq!(
                pruned.minimal.as_ref().map(|c| (&c.plan, &c.violation)),
                plain.minimal.as_ref().map(|c| (&c.plan, &c.violation)),
                "{what}"
            );
            let set = |r: &idemlab::check::ExploreReport| -> std::collections::BTreeSet<u128> {
                r.violating_runs.iter().copied().collect()
            };
            assert_eq!(set(&pruned), set(&plain), "{what}");
            decided += pruned.depths.iter().map(|d| d.independent).sum::<u64>();
            compared += 1;
        }
    }
    assert!(compared > 20, "only {compared} pairs compared");
    assert!(decided > 0, "no plan was decided without a run");
}

/// Every plan the search decides without a run, run after all, breaks nothing: on the larger
/// bundled scenarios too (`default` among them), for the designs that survive them.
#[test]
fn plans_decided_without_a_run_break_nothing_when_run() {
    let deep = std::env::var_os("IDEMLAB_EXPLORE_DEEP").is_some();
    let cases: Vec<(&str, &str)> = if deep {
        Vec::new()
    } else {
        vec![
            ("default", "key-in-transaction"),
            ("crash-after-charge", "recovery-points"),
        ]
    };
    let mut decided = 0;
    let mut checked = 0;
    let all = common::bundled();
    let pairs: Vec<(String, Scenario, String)> = if deep {
        all.iter()
            .flat_map(|(p, s)| {
                idemlab::handlers::names()
                    .into_iter()
                    .map(move |n| (p.display().to_string(), s.clone(), n))
            })
            .collect()
    } else {
        cases
            .iter()
            .map(|(s, d)| (s.to_string(), bundled(s), d.to_string()))
            .collect()
    };
    for (what, s, name) in pairs {
        let Ok(design) = s.design(&name) else {
            continue;
        };
        // A budget keeps the few huge trees (hundreds of thousands of runs) in bounds: what
        // was decided in the part searched is verified all the same.
        let r = Checker::new(&s, design.as_ref())
            .verify_decisions(true)
            .max_runs(150_000)
            .explore(2);
        let misjudged: u64 = r.depths.iter().map(|d| d.misjudged).sum();
        if deep {
            eprintln!(
                "{what} × {name}: {} runs, {} decided",
                r.runs(),
                r.depths.iter().map(|d| d.independent).sum::<u64>()
            );
        }
        assert_eq!(misjudged, 0, "{what} × {name}");
        decided += r.depths.iter().map(|d| d.independent).sum::<u64>();
        checked += 1;
    }
    assert!(
        checked >= 2 && decided > 1_000,
        "{checked} searches, {decided} decided"
    );
}

/// Regression (issue 24): independence assumed every invariant is a property of each
/// operation on its own, which the final state is not. Two drops on two operations each push
/// the end later and together let a key expire: the search must run that plan, find it, and
/// say why it decided nothing without a run.
#[test]
fn two_drops_on_two_operations_that_together_expire_a_key_are_caught() {
    let path = common::root().join("tests/scenarios/ttl-two-drops.toml");
    let s = scenario::parse(&std::fs::read_to_string(&path).unwrap(), "ttl-two-drops").unwrap();
    let d = lookup("key-in-transaction").unwrap();
    let one = Checker::new(&s, d.as_ref())
        .fault_kinds(&[FaultKind::Drop])
        .explore(1);
    assert!(one.minimal.is_none(), "no single drop expires the key");
    let two = Checker::new(&s, d.as_ref())
        .fault_kinds(&[FaultKind::Drop])
        .explore(2);
    let found = two
        .minimal
        .as_ref()
        .expect("two drops expire the key before the end");
    assert_eq!(found.violation.invariant, "the final state holds");
    assert_eq!(found.plan.atoms.len(), 2);
    assert_eq!(two.depths[2].independent, 0);
    let words = two.lines("ttl-two-drops", "key-in-transaction").join("\n");
    assert!(
        words.contains("no plan decided without a run") && words.contains("[oracle] exists"),
        "{words}"
    );
}

/// A design that branches on the absolute time (`Cx::now`) can make two faults interact
/// through time alone: the search runs those plans instead of deciding them, and says so.
#[test]
fn a_design_that_reads_the_clock_is_never_decided_without_a_run() {
    async fn closes_at_noon(cx: Cx, req: Request) -> Response {
        // The shop closes 150ms into the run: a late retry is refused after the order stood.
        let Some(key) = req.idempotency_key() else {
            return Response::key_missing();
        };
        let record = format!("idem:{key}");
        if let Some(previous) = cx.db().get(&record).await.and_then(|v| v.response()) {
            return previous;
        }
        if cx.now().0 > 150_000 {
            return Response::error(403, idemlab::vocab::ErrorCode::KeyMismatch);
        }
        let order = cx.db().create_order(req.amount()).await;
        let response = Response::created(Body::Order(order));
        cx.db().put(&record, response.into()).await;
        response
    }
    let s = scenario::parse(
        "[workload]\nops = 3\nclients = 3\n[client.retry]\ntimeout = \"30ms\"\nbackoff = \"constant\"\nbackoff_base = \"10ms\"\njitter = \"none\"\n[network]\nlatency = \"5ms\"\n",
        "clock.toml",
    )
    .unwrap();
    let design = design_fn(
        "closes-at-noon",
        "refuses new orders after 150ms",
        closes_at_noon,
    );
    let r = Checker::new(&s, &design)
        .fault_kinds(&[FaultKind::Drop])
        .verify_decisions(true)
        .explore(2);
    assert_eq!(r.depths[2].independent, 0, "{:?}", r.depths[2]);
    assert!(r.depths[2].clock_refused > 0, "{:?}", r.depths[2]);
    assert!(r.depths[2].run_because.clock > 0, "{:?}", r.depths[2]);
    let words = r.lines("clock", "closes-at-noon").join("\n");
    assert!(
        words.contains("why these were run, not decided:")
            && words.contains("a handler read the clock"),
        "{words}"
    );
}

/// Decisions beyond two faults are checked too: on multi-operation scenarios (a key TTL, keys
/// numbered per client, payloads with free-form fields and a reused key, `[oracle] exists`),
/// a deterministic sample of the plans of three faults decided without a run is run, and none
/// breaks an invariant. The budget bounds the debug build's time; the sample is the same on
/// every machine and for any number of threads.
#[test]
fn a_sample_of_plans_decided_at_three_faults_breaks_nothing_when_run() {
    let with_ttl = "[workload]\nops = 3\nclients = 3\n[client.retry]\ntimeout = \"30ms\"\nattempts_max = 4\n[network]\nlatency = \"2ms\"\n[server]\nkey_ttl = \"400ms\"\n";
    let per_client = "[workload]\nops = 4\nclients = 2\n[client.retry]\ntimeout = \"30ms\"\nkey = \"per-client\"\n[network]\nlatency = \"2ms\"\n";
    // Keys numbered per client are scoped by the client, as a real server scopes them by
    // its credentials: the record and the order in one transaction.
    async fn scoped(cx: Cx, req: Request) -> Response {
        let Some(key) = req.idempotency_key() else {
            return Response::key_missing();
        };
        let record = format!("idem:c{}:{key}", req.client());
        let amount = req.amount();
        cx.db()
            .transaction(|txn| {
                if let Some(previous) = txn.get(&record).and_then(|v| v.response()) {
                    return Ok::<Response, ()>(previous);
                }
                let response = Response::created(Body::Order(txn.create_order(amount)));
                txn.put(&record, response.into());
                Ok(response)
            })
            .await
            .unwrap_or_else(|()| Response::key_in_use())
    }
    let scoped = design_fn("scoped-by-client", "keys scoped by client", scoped);
    let payloads = "[workload]\nops = 3\nclients = 3\n[[workload.op]]\nop = 1\nfields = { note = \"gift\" }\n[[workload.op]]\nop = 3\namount = 250\nfields = { note = \"rush\" }\n[client.retry]\ntimeout = \"30ms\"\n[network]\nlatency = \"2ms\"\n";
    let exists = "[workload]\nops = 3\nclients = 3\n[client.retry]\ntimeout = \"30ms\"\nattempts_max = 6\n[network]\nlatency = \"2ms\"\n[oracle]\nexists = [\"idem:k1\"]\n";
    let kit = lookup("key-in-transaction").unwrap();
    let cases: [(&str, &dyn idemlab::handlers::Design); 5] = [
        (with_ttl, kit.as_ref()),
        (with_ttl, &*lookup("business-key").unwrap()),
        (per_client, &scoped),
        (payloads, kit.as_ref()),
        (exists, kit.as_ref()),
    ];
    let mut verified = 0;
    let mut decided = 0;
    let mut contributed = 0;
    for (text, design) in cases {
        let s = scenario::parse(text, "sample.toml").unwrap();
        let name = design.name();
        let r = Checker::new(&s, design)
            .verify_sample(7)
            .max_runs(6_000)
            .explore(3);
        let what = format!("{name} in {text}");
        eprintln!(
            "{name}: {:?}; {:?}",
            r.depths.last(),
            r.minimal.as_ref().map(|c| &c.violation)
        );
        let misjudged: u64 = r.depths.iter().map(|d| d.misjudged).sum();
        assert_eq!(misjudged, 0, "{what}: a decided plan breaks an invariant");
        if r.minimal.is_none() && r.depths.len() > 3 {
            verified += r.depths[3].verified;
            decided += r.depths[3].independent;
            contributed += u32::from(r.depths[3].verified > 0);
        }
    }
    assert!(
        contributed >= 3 && verified >= 300 && decided > verified,
        "{verified} verified of {decided} decided at three faults, from {contributed} searches"
    );
}

/// A stop that comes while the first violating plan is shrunk ends the shrinking: the
/// counterexample is the plan found, which still breaks the invariant, and the report says it
/// may not be the smallest.
#[test]
fn a_stop_during_shrinking_keeps_a_counterexample_and_says_so() {
    let s = bundled("lost-response");
    let d = lookup("naive").unwrap();
    let whole = Checker::new(&s, d.as_ref()).explore(2);
    let first = whole.first.clone().expect("naive breaks under one fault");
    assert!(!whole.shrink_stopped);
    assert!(!first.atoms.is_empty());

    // Raised after the batch that found it, so before the shrinking starts.
    let stop = std::sync::atomic::AtomicBool::new(false);
    let raise = |_: &idemlab::check::ExploreProgress| {
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
    };
    let cut = Checker::new(&s, d.as_ref())
        .stop_when(&stop)
        .on_explore_progress(&raise)
        .explore(2);
    assert_eq!(cut.first, whole.first);
    assert!(cut.shrink_stopped);
    let found = cut.minimal.as_ref().expect("the plan found is kept");
    assert_eq!(found.plan, first, "nothing was shrunk after the stop");
    // Without the stop, the workload is cut; with it, it is not.
    let ops = |r: &idemlab::check::ExploreReport| r.minimal.as_ref().unwrap().scenario.workload.ops;
    assert!(ops(&whole) < ops(&cut), "{} vs {}", ops(&whole), ops(&cut));
    let checker = Checker::new(&s, d.as_ref());
    assert!(
        checker.replay(&found.scenario).0.is_some(),
        "the counterexample still breaks it"
    );
    let words = cut.lines("lost-response", "naive").join("\n");
    assert!(words.contains("shrinking was stopped early"), "{words}");
}

/// `--max-runs` ends a batch between two nodes, so what it covers is whole nodes and the same
/// for any number of threads.
#[test]
fn a_run_budget_ends_between_nodes_the_same_for_any_jobs() {
    let s = bundled("crash-after-charge");
    let d = lookup("key-in-transaction").unwrap();
    let full = Checker::new(&s, d.as_ref()).explore(2);
    let max = full.depths[1].runs + 25;
    let one = Checker::new(&s, d.as_ref())
        .jobs(1)
        .max_runs(max)
        .explore(2);
    let two = Checker::new(&s, d.as_ref())
        .jobs(2)
        .max_runs(max)
        .explore(2);
    let last = one.depths.last().unwrap();
    assert!(!last.complete && last.parents_done > 0 && last.parents_done < last.parents);
    for (a, b) in one.depths.iter().zip(&two.depths) {
        assert_eq!(
            (a.runs, a.parents_done, a.independent),
            (b.runs, b.parents_done, b.independent)
        );
    }
    // The nodes extended are those before the one whose children would pass the budget.
    assert!(
        one.runs() <= max + 8,
        "{} runs for --max-runs {max}",
        one.runs()
    );
}

/// Plans of three faults decided by two groups of faults (`Groups`: `{a}` and `{x, y}` on
/// operations that cannot interact, where the rule for the two last atoms cannot say) break
/// nothing when run, each operation behaves as in its group's run, a delay decided so is
/// refined to the lengths its own run gives, and the search finds the same first violation
/// as the plain one.
#[test]
fn plans_decided_by_groups_of_faults_break_nothing_when_run() {
    let text = std::fs::read_to_string(common::root().join("scenarios/default.toml"))
        .unwrap()
        .replace("ops = 20\n", "ops = 3\n")
        .replace("attempts_max = 4", "attempts_max = 3");
    let s = scenario::parse(&text, "default-3.toml").unwrap();
    let kinds = [FaultKind::Drop, FaultKind::Duplicate, FaultKind::Delay];
    let mut composed = 0;
    // Three designs break here only at three faults (a wrong decision there would hide it or
    // find another first), one not at all.
    for name in [
        "key-in-transaction",
        "recovery-points",
        "middleware",
        "caches-errors",
    ] {
        let d = lookup(name).unwrap();
        let pruned = Checker::new(&s, d.as_ref())
            .fault_kinds(&kinds)
            .verify_decisions(true)
            .explore(3);
        let misjudged: u64 = pruned.depths.iter().map(|d| d.misjudged).sum();
        assert_eq!(
            misjudged, 0,
            "{name}: a plan decided clean breaks an invariant"
        );
        let plain = Checker::new(&s, d.as_ref())
            .fault_kinds(&kinds)
            .pruning(false)
            .explore(3);
        assert_eq!(pruned.first, plain.first, "{name}");
        assert_eq!(pruned.complete(), plain.complete(), "{name}");
        composed += pruned.depths.iter().map(|d| d.composed).sum::<u64>();
        let broken_at = pruned.first.as_ref().map(|p| p.atoms.len());
        let expected = (name != "key-in-transaction").then_some(3);
        assert_eq!(broken_at, expected, "{name}");
    }
    assert!(composed > 100, "only {composed} plans decided by groups");
}

/// `explore --shard I/N` searches its share of the tree; `explore-merge` joins the N reports
/// into the claim for the whole tree, or says what is missing.
#[test]
fn shards_merge_into_the_claim_for_the_whole_tree() {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("explore-shards");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let root = common::root();
    let shards = |scenario: &str, design: &str, k: &str, n: usize| -> Vec<String> {
        (0..n)
            .map(|i| {
                let (code, out, err) = common::idemlab(
                    &root,
                    &[
                        "explore",
                        scenario,
                        "--design",
                        design,
                        "--max-faults",
                        k,
                        "--shard",
                        &format!("{i}/{n}"),
                        "--format",
                        "json",
                    ],
                );
                assert!(code == 0 || code == 1, "{err}");
                let path = dir.join(format!("{scenario}-{design}-{i}.json"));
                std::fs::write(&path, out).unwrap();
                path.to_str().unwrap().to_string()
            })
            .collect()
    };
    let merge = |files: &[String]| {
        let mut args = vec!["explore-merge"];
        args.extend(files.iter().map(String::as_str));
        common::idemlab(&root, &args)
    };

    // A clean search: the shards' runs add up to the whole search's, and the claim is whole.
    let files = shards("crash-after-charge", "recovery-points", "2", 3);
    let (code, out, err) = merge(&files);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("no violation in any plan of ≤ 2 fault(s) of kinds drop, duplicate, delay, crash (1,807 runs in 3 shards)"),
        "{out}"
    );
    let whole = Checker::new(
        &bundled("crash-after-charge"),
        lookup("recovery-points").unwrap().as_ref(),
    )
    .explore(2);
    assert_eq!(whole.runs(), 1_807);
    // And why the deepest depth's runs were made, added up over the shards.
    assert!(out.contains("why these were run, not decided: "), "{out}");

    // A violation: one shard finds it, and the merge claims no smaller plan breaks anything.
    let broken = shards("lost-response", "process-payment", "2", 2);
    let (code, out, _) = merge(&broken);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("violation: a plan of 1 fault(s) breaks an invariant (found by shard")
            && out.contains("no plan of fewer does"),
        "{out}"
    );

    // Three faults: every shard searches the first depth whole, and the merge counts it once;
    // every node of the second is extended by one shard, so that depth adds up to the whole's.
    let deep = shards("lost-response", "key-in-transaction", "3", 3);
    let whole = Checker::new(
        &bundled("lost-response"),
        lookup("key-in-transaction").unwrap().as_ref(),
    )
    .explore(3);
    let mut args = vec!["explore-merge", "--format", "json"];
    args.extend(deep.iter().map(String::as_str));
    let (code, out, err) = common::idemlab(&root, &args);
    assert_eq!(code, 1, "{err}");
    let merged: serde_json::Value = serde_json::from_str(&out).unwrap();
    for depth in 1..=2 {
        assert_eq!(
            merged["depths"][depth]["runs"].as_u64(),
            Some(whole.depths[depth].runs),
            "{out}"
        );
    }
    assert_eq!(merged["complete"], true, "{out}");
    // Every run of the deepest depth has its reason in each shard, so in the merge too.
    let last = &merged["depths"][3];
    let reasons: u64 = last["run_because"]
        .as_object()
        .map_or(0, |r| r.values().filter_map(|n| n.as_u64()).sum());
    assert!(reasons > 0, "{out}");
    assert_eq!(Some(reasons), last["runs"].as_u64(), "{out}");
    assert_eq!(
        merged["first"].as_array().map(Vec::len),
        whole.first.as_ref().map(|p| p.atoms.len()),
        "{out}"
    );

    // What cannot be merged: a shard missing, given twice, of another search, or of shards
    // cut another way (a report from before the cut had a name has no `partition`).
    let every_nth = dir.join("every-nth.json");
    let mut old: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&files[1]).unwrap()).unwrap();
    old.as_object_mut().unwrap().remove("partition");
    std::fs::write(&every_nth, old.to_string()).unwrap();
    let every_nth = every_nth.to_str().unwrap().to_string();
    for (files, needle) in [
        (
            vec![files[0].clone(), files[1].clone()],
            "shard 2/3 is missing",
        ),
        (
            vec![files[0].clone(), files[0].clone(), files[2].clone()],
            "is given twice",
        ),
        (
            vec![files[0].clone(), broken[1].clone(), files[2].clone()],
            "a search cut in 2, not 3",
        ),
        (
            vec![files[0].clone(), every_nth.clone(), files[2].clone()],
            "its `partition` differs",
        ),
    ] {
        let (code, _, err) = merge(&files);
        assert_eq!(code, 2, "{err}");
        assert!(err.contains(needle), "{err}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `--shard` searches the first depths whole in every shard and deals the nodes it extends
/// next among the shards: on `lost-response` at three faults, dealing every third
/// first fault gave shards of 14,968, 46,247 and 16,081 runs (the second had every retry's
/// delays). Now every shard runs the first depth as the whole search does, every node of the
/// second is extended by exactly one shard, and no shard has a quarter more runs than another.
#[test]
fn shards_are_dealt_subtrees_of_about_the_same_size() {
    let s = bundled("lost-response");
    let d = lookup("key-in-transaction").unwrap();
    let whole = Checker::new(&s, d.as_ref()).explore(3);
    let reports: Vec<_> = (0..3)
        .map(|i| Checker::new(&s, d.as_ref()).shard(i, 3).explore(3))
        .collect();
    for r in &reports {
        assert_eq!(r.shared_depths, 1);
        assert_eq!(r.depths[1], whole.depths[1]);
    }
    let extended: u64 = reports.iter().map(|r| r.depths[2].parents).sum();
    assert_eq!(extended, whole.depths[2].parents);
    let runs: Vec<u64> = reports.iter().map(|r| r.depths[3].runs).collect();
    let (min, max) = (runs.iter().min().unwrap(), runs.iter().max().unwrap());
    assert!(*min > 0 && max * 4 <= min * 5, "shards of {runs:?} runs");
}

/// The crash at `step` (`when`: before it begins or after it completes), built here rather
/// than by the search's own candidates, so that the tests below check the search against an
/// independent construction.
fn crash(step: idemlab::world::StepId, when: idemlab::fault::When) -> FaultAtom {
    FaultAtom::CrashAtStep {
        op: step.op,
        attempt: Some(step.attempt),
        when,
        step: step.kind,
        position: Some(step.position),
        copy: Some(step.copy),
    }
}

/// A crash before a step that begins as the step before it in the same handler ends (one
/// poll, the same instant) is the crash after that step: the search tries only the crash after.
/// On every bundled scenario × every design it runs, each such pair of the fault-free run makes
/// the same run, event for event, but for the crash's label, with the same effects and answers;
/// and the search skips exactly those pairs (its skipped crashes at one fault are the pairs
/// found here, and no more).
#[test]
fn a_crash_before_a_step_begun_as_the_one_before_it_ended_is_the_crash_after_that_one() {
    use idemlab::fault::{FaultPlan, When};
    use idemlab::trace::{CrashCause, Detail};
    use idemlab::world::{Point, Recording, run_with};
    let unlabelled = |run: &idemlab::world::Run| -> Vec<idemlab::trace::TraceEvent> {
        run.trace
            .iter()
            .map(|mut e| {
                if let Detail::Crash(CrashCause::Before(_) | CrashCause::After(_)) = e.detail {
                    e.detail = Detail::Crash(CrashCause::At);
                }
                e
            })
            .collect()
    };
    let (mut pairs, mut designs) = (0u64, 0u64);
    for (path, mut s) in common::bundled() {
        // As the search runs it: without the scenario's own faults.
        s.faults = FaultPlan::default();
        for name in idemlab::handlers::names() {
            let Ok(design) = s.design(&name) else {
                continue;
            };
            let root = run_with(
                &s,
                design.as_ref(),
                s.seed,
                &FaultPlan::default(),
                Recording::Explore,
            );
            let points = &root.exploration.as_ref().unwrap().points;
            let mut found = 0u64;
            for w in points.windows(2) {
                let (
                    Point::StepDone {
                        step: a,
                        server: sa,
                        at_us: ta,
                        ..
                    },
                    Point::StepStart {
                        step: b,
                        server: sb,
                        at_us: tb,
                        ..
                    },
                ) = (w[0], w[1])
                else {
                    continue;
                };
                if sa != sb
                    || ta != tb
                    || (a.op, a.attempt, a.copy) != (b.op, b.attempt, b.copy)
                    || a.position + 1 != b.position
                {
                    continue;
                }
                found += 1;
                let what = format!("{} × {name}: after {a:?} / before {b:?}", path.display());
                let after = idemlab::world::run(
                    &s,
                    design.as_ref(),
                    s.seed,
                    &FaultPlan::new(vec![crash(a, When::After)]),
                );
                let before = idemlab::world::run(
                    &s,
                    design.as_ref(),
                    s.seed,
                    &FaultPlan::new(vec![crash(b, When::Before)]),
                );
                assert!(
                    after
                        .trace
                        .iter()
                        .any(|e| matches!(e.detail, Detail::Crash(_))),
                    "{what}: no crash"
                );
                assert_eq!(unlabelled(&after), unlabelled(&before), "{what}");
                assert_eq!(after.ledger, before.ledger, "{what}");
                assert_eq!(after.ops, before.ops, "{what}");
                assert_eq!(after.durable, before.durable, "{what}");
            }
            let one = Checker::new(&s, design.as_ref())
                .fault_kinds(&[FaultKind::Crash])
                .explore(1);
            if one.depths.len() > 1 {
                assert_eq!(
                    one.depths[1].dominated,
                    found,
                    "{} × {name}",
                    path.display()
                );
            }
            pairs += found;
            designs += u64::from(found > 0);
        }
    }
    eprintln!("{pairs} pairs in {designs} runs");
    assert!(
        pairs > 500 && designs > 50,
        "{pairs} pairs in {designs} runs"
    );
}

/// The twins are one run only for invariants that do not read the crash's label. An invariant
/// of the user's own may read the trace, so with one both twins are tried: one that forbids a
/// crash *before* a `transaction` step (every such crash on `default` is the twin of a crash
/// after a `lock` step) is broken at one fault, and the skipped-twin count is zero.
#[test]
fn with_an_invariant_of_the_users_own_both_twins_are_tried() {
    use idemlab::check::Invariant;
    use idemlab::trace::{CrashCause, Detail};
    use idemlab::vocab::StepKind;
    struct NoCrashBeforeTransaction;
    impl Invariant for NoCrashBeforeTransaction {
        fn name(&self) -> &str {
            "no crash before a transaction step"
        }
        fn check(
            &self,
            run: &idemlab::world::Run,
            _: &idemlab::oracle::Metrics,
        ) -> Option<(String, Vec<u32>)> {
            run.trace
                .iter()
                .find(|e| e.detail == Detail::Crash(CrashCause::Before(StepKind::Transaction)))
                .map(|e| ("crashed before a transaction".to_string(), vec![e.op]))
        }
    }
    let s = idemlab::scenario::default_scenario();
    let design = lookup("key-in-transaction").unwrap();
    let plain = Checker::new(&s, design.as_ref())
        .fault_kinds(&[FaultKind::Crash])
        .explore(1);
    assert!(plain.depths[1].dominated > 0, "default has twins to skip");
    let own = Checker::new(&s, design.as_ref())
        .fault_kinds(&[FaultKind::Crash])
        .invariant(Box::new(NoCrashBeforeTransaction))
        .explore(1);
    assert_eq!(own.depths[1].dominated, 0);
    assert_eq!(
        own.depths[1].runs,
        plain.depths[1].runs + plain.depths[1].dominated
    );
    let found = own
        .minimal
        .expect("a crash before a transaction step is tried");
    assert_eq!(
        found.violation.invariant,
        "no crash before a transaction step"
    );
}

/// Skipping a crash's twin changes no count: a violating plan stands for itself and for the
/// plans with its crashes' twins instead, as a search that tries both twins counts them. On
/// every bundled scenario small enough × every design, at two faults (three on one-operation
/// scenarios, where a twin's weight passes to its children), the violations of each depth equal
/// those of the same search with an invariant of the user's own that never fires (with which
/// both twins are tried).
#[test]
fn violating_plans_are_counted_with_their_crashes_twins() {
    use idemlab::check::Invariant;
    struct Never;
    impl Invariant for Never {
        fn name(&self) -> &str {
            "never broken"
        }
        fn check(
            &self,
            _: &idemlab::world::Run,
            _: &idemlab::oracle::Metrics,
        ) -> Option<(String, Vec<u32>)> {
            None
        }
        fn local(&self, _: &idemlab::scenario::Scenario) -> bool {
            true
        }
    }
    let (mut compared, mut weighed) = (0u64, 0u64);
    for (path, s) in common::bundled() {
        if s.workload.ops > 3 {
            continue;
        }
        for name in idemlab::handlers::names() {
            let Ok(design) = s.design(&name) else {
                continue;
            };
            let k = if s.workload.ops == 1 { 3 } else { 2 };
            let skipped = Checker::new(&s, design.as_ref()).explore(k);
            let both = Checker::new(&s, design.as_ref())
                .invariant(Box::new(Never))
                .explore(k);
            let what = format!("{} × {name}", path.display());
            let counts = |r: &idemlab::check::ExploreReport| -> Vec<u64> {
                r.depths.iter().map(|d| d.violations).collect()
            };
            assert_eq!(counts(&skipped), counts(&both), "{what}");
            assert_eq!(skipped.first, both.first, "{what}");
            // Pairs where twins were skipped and violations counted: the weights mattered.
            weighed += u64::from(skipped.violations() > 0 && skipped.runs() < both.runs());
            compared += 1;
        }
    }
    assert!(compared > 100, "only {compared} pairs compared");
    assert!(
        weighed > 10,
        "too few searches where twins were skipped: {weighed}"
    );
}

/// Families too many to hold are made again at the last depth, a batch of parents at a time,
/// from the same runs: the report is the same, field for field, holding none as holding all.
/// On every bundled scenario small enough × every design at two faults, at three on the
/// one-operation scenarios and on `missing-key` × `key-in-transaction` (over a hundred
/// parents: two batches of them).
#[test]
fn families_made_again_at_the_last_depth_give_the_same_report() {
    let (mut compared, mut decided) = (0u64, 0u64);
    for (path, s) in common::bundled() {
        for name in idemlab::handlers::names() {
            let k = if s.workload.ops == 1
                || (s.name == "missing-key" && name == "key-in-transaction")
            {
                3
            } else if s.workload.ops <= 3 {
                2
            } else {
                continue;
            };
            let Ok(design) = s.design(&name) else {
                continue;
            };
            let held = Checker::new(&s, design.as_ref()).explore(k);
            let made_again = Checker::new(&s, design.as_ref())
                .max_effects_held(0)
                .explore(k);
            assert_eq!(
                format!("{held:?}"),
                format!("{made_again:?}"),
                "{} × {name} at {k} faults",
                path.display()
            );
            decided += made_again.depths.last().map_or(0, |d| d.independent);
            compared += 1;
        }
    }
    assert!(compared > 100, "only {compared} searches compared");
    assert!(
        decided > 10_000,
        "too few plans decided by families: {decided}"
    );
}

/// The reasons a search gives for the runs of the depth where plans are decided (the deepest,
/// from two faults on, unless an invariant is not local): they add up to its runs there, and
/// nowhere else is one counted.
fn reasons_add_up(r: &idemlab::check::ExploreReport, what: &str) -> idemlab::check::RunReasons {
    let mut reasons = idemlab::check::RunReasons::default();
    for d in &r.depths {
        let deciding = d.faults == r.max_faults && d.faults >= 2 && r.independence.is_none();
        let expected = if deciding { d.runs } else { 0 };
        assert_eq!(d.run_because.total(), expected, "{what}: {d:?}");
        reasons.add(&d.run_because);
    }
    reasons
}

/// Why runs were made, where `pruning_changes_no_verdict_and_no_counterexample` does not
/// reach: a run that hit the time budget is not one to decide from ("unsound"), and without
/// crashes among the kinds no run is "near a crash".
#[test]
fn every_run_where_plans_are_decided_says_why_it_was_run() {
    let tight = scenario::parse(
        "[workload]\nops = 3\nclients = 3\n[client.retry]\ntimeout = \"30ms\"\nbackoff = \"constant\"\nbackoff_base = \"10ms\"\njitter = \"none\"\n[network]\nlatency = \"2ms\"\n[limits]\nmax_time = \"45ms\"\n",
        "tight.toml",
    )
    .unwrap();
    let design = lookup("key-in-transaction").unwrap();
    let r = Checker::new(&tight, design.as_ref())
        .fault_kinds(&[FaultKind::Drop])
        .explore(2);
    assert!(reasons_add_up(&r, "tight").unsound > 0, "{r:?}");
    for name in ["crash-after-charge", "lost-response", "client-retry"] {
        let r = Checker::new(&bundled(name), design.as_ref())
            .fault_kinds(&[FaultKind::Drop, FaultKind::Delay, FaultKind::Duplicate])
            .explore(2);
        let reasons = reasons_add_up(&r, name);
        assert_eq!(reasons.crash, 0, "{name}: {reasons:?}");
        assert!(reasons.total() > 0, "{name}: {reasons:?}");
    }
}

/// A run that extends a plan by one atom logs its parent's events until it reaches the atom's
/// point, so it may take the parent's hash over there (`Recording::FingerprintFrom`) instead
/// of hashing the shared prefix: the fingerprint is the same. For every point of the
/// fault-free run of the small bundled scenarios × every design (and of `default` ×
/// `key-in-transaction`), and for the points after a crash of a one-fault plan, the run
/// resumed from its parent's hash and the run hashed whole have the same fingerprint.
///
/// And the run forked from a `Prefix` of its parent's run, at the last moment before the
/// atom's point that no handler ran (what `explore` runs at every depth), is the same run as
/// the one made from the start: the same fingerprint, operations, ledger, store, end, event
/// counts and budget hit.
#[test]
fn a_run_resumed_from_its_parents_hash_has_the_fingerprint_of_the_run_hashed_whole() {
    use idemlab::fault::{FaultPlan, When};
    use idemlab::time::SimDuration;
    use idemlab::world::{Point, Prefix, Recording, run_with};
    let never = std::sync::atomic::AtomicBool::new(false);
    let mut forked = 0u64;
    // Events the forks did not simulate again, of all the events of the runs they stand for.
    let (mut skipped, mut events) = (0u64, 0u64);
    let atoms = |p: &Point| -> Vec<FaultAtom> {
        match *p {
            Point::Message { msg, .. } => vec![
                FaultAtom::Drop(msg),
                FaultAtom::Delay {
                    msg,
                    by: SimDuration(7_000),
                },
                FaultAtom::Duplicate(msg),
            ],
            Point::StepStart { step, .. } => vec![crash(step, When::Before)],
            Point::StepDone { step, .. } => vec![crash(step, When::After)],
        }
    };
    let mut compared = 0u64;
    for (path, mut s) in common::bundled() {
        s.faults = FaultPlan::default();
        for name in idemlab::handlers::names() {
            let default = s.name == "default" && name == "key-in-transaction";
            if s.workload.ops > 3 && !default {
                continue;
            }
            let Ok(design) = s.design(&name) else {
                continue;
            };
            let run = |plan: &[FaultAtom], recording| {
                run_with(
                    &s,
                    design.as_ref(),
                    s.seed,
                    &FaultPlan::new(plan.to_vec()),
                    recording,
                )
            };
            // The fault-free run, then a one-crash plan: each with the atoms after its own.
            let root = run(&[], Recording::Explore);
            let first_crash = root
                .exploration
                .as_ref()
                .unwrap()
                .points
                .iter()
                .position(|p| matches!(p, Point::StepDone { .. }));
            let mut parents = vec![(Vec::new(), root, 0usize)];
            if let Some(i) = first_crash {
                let plan = atoms(&parents[0].1.exploration.as_ref().unwrap().points[i]);
                let one = run(&plan, Recording::Explore);
                parents.push((plan, one, i + 1));
            }
            for (plan, parent, from) in &parents {
                let ex = parent.exploration.as_ref().unwrap();
                let prefix_of = |full| {
                    Prefix::new(
                        &s,
                        design.as_ref(),
                        s.seed,
                        &FaultPlan::new(plan.clone()),
                        full,
                        &never,
                    )
                };
                // Hash-only forks from a prefix that counts points; forks recorded for the
                // search from one that records everything.
                let (mut prefix, mut full) = (prefix_of(false), prefix_of(true));
                // An atom that acts by the clock is not forked: it would have acted already.
                let by_clock = FaultAtom::CrashAt {
                    server: 0,
                    at: idemlab::time::SimTime(1),
                };
                assert!(full.fork(by_clock, Recording::Explore).is_none());
                for (point, p) in ex.points.iter().enumerate().skip(*from) {
                    let quiet = ex.quiet_before(point as u32).unwrap();
                    assert!(
                        prefix.advance_to(quiet) && full.advance_to(quiet),
                        "{}: no quiet moment at {quiet}",
                        path.display()
                    );
                    for atom in atoms(p) {
                        let mut child = plan.clone();
                        child.push(atom);
                        let whole = run(&child, Recording::Fingerprint);
                        let at = ex.hash_at(point as u32).unwrap();
                        let resumed = run(&child, Recording::FingerprintFrom(at));
                        assert_eq!(
                            whole.exploration.as_ref().unwrap().hash,
                            resumed.exploration.as_ref().unwrap().hash,
                            "{} × {name}: {child:?}",
                            path.display()
                        );
                        compared += 1;
                        let fork = prefix.fork(atom, Recording::FingerprintFrom(at)).unwrap();
                        let what =
                            format!("{} × {name}: {child:?} forked at {quiet}", path.display());
                        assert_eq!(
                            whole.exploration.as_ref().unwrap().hash,
                            fork.exploration.as_ref().unwrap().hash,
                            "{what}"
                        );
                        assert_eq!(whole.ops, fork.ops, "{what}");
                        assert_eq!(whole.ledger, fork.ledger, "{what}");
                        assert_eq!(whole.durable, fork.durable, "{what}");
                        assert_eq!(
                            (
                                whole.end_us,
                                whole.events,
                                whole.logged,
                                whole.delivered,
                                whole.timeouts,
                                whole.provider_calls
                            ),
                            (
                                fork.end_us,
                                fork.events,
                                fork.logged,
                                fork.delivered,
                                fork.timeouts,
                                fork.provider_calls
                            ),
                            "{what}"
                        );
                        assert_eq!(whole.stopped, fork.stopped, "{what}");
                        assert_eq!(whole.final_missing, fork.final_missing, "{what}");
                        // Recorded for the search: every point, instant and view the same.
                        let whole = run(&child, Recording::Explore);
                        let fork = full.fork(atom, Recording::Explore).unwrap();
                        let (a, b) = (
                            whole.exploration.as_deref().unwrap(),
                            fork.exploration.as_deref().unwrap(),
                        );
                        assert_eq!(a.hash, b.hash, "{what}");
                        assert_eq!(a.points, b.points, "{what}");
                        assert_eq!(a.views, b.views, "{what}");
                        assert_eq!(a.touches, b.touches, "{what}");
                        assert_eq!(a.instants, b.instants, "{what}");
                        assert_eq!(a.starts, b.starts, "{what}");
                        assert_eq!(a.lanes_at, b.lanes_at, "{what}");
                        assert_eq!(a.quiet_at, b.quiet_at, "{what}");
                        assert_eq!(a.killed, b.killed, "{what}");
                        assert_eq!((a.cache, a.clock), (b.cache, b.clock), "{what}");
                        assert_eq!(whole.ops, fork.ops, "{what}");
                        forked += 1;
                        skipped += quiet;
                        events += whole.events;
                    }
                }
            }
        }
    }
    assert!(compared > 10_000, "only {compared} runs compared");
    assert_eq!(forked, compared);
    // Forks that began at the start would pass whatever the moments were.
    assert!(
        skipped * 3 > events,
        "forks skipped only {skipped} of {events} events"
    );
}

/// A crash records the handler tasks it kills, which the events alone cannot tell: a consumer
/// that acked (its last event an answer, `respond`) and was killed before its next step
/// completed looks by its events like one that answered and finished. The search's reasoning
/// about where an operation was on a server when another atom crashed it reads this list
/// (`independence::activity`). On `queue-redelivery` × `ack-first`, a crash of the server
/// halfway through the step that follows each ack is recorded as killing that task.
#[test]
fn a_crash_records_the_tasks_it_kills_even_one_that_acked() {
    use idemlab::fault::FaultPlan;
    use idemlab::time::SimTime;
    use idemlab::trace::{EventKind, Node};
    use idemlab::world::{Point, Recording, run_with};
    let mut s = bundled("queue-redelivery");
    s.faults = FaultPlan::default();
    let design = s.design("ack-first").unwrap();
    let run = |plan: Vec<FaultAtom>| {
        run_with(
            &s,
            design.as_ref(),
            s.seed,
            &FaultPlan::new(plan),
            Recording::Explore,
        )
    };
    let root = run(Vec::new());
    let ex = root.exploration.as_deref().unwrap();
    assert!(ex.killed.is_empty(), "no crash, nothing killed");
    let mut checked = 0;
    for p in &ex.points {
        // The handler's step after its ack (its first step).
        let Point::StepStart {
            step,
            server,
            at_us,
            done_us,
            ..
        } = *p
        else {
            continue;
        };
        if step.position != 2 || done_us < at_us + 2 {
            continue;
        }
        let at = (at_us + done_us) / 2;
        let crashed = run(vec![FaultAtom::CrashAt {
            server,
            at: SimTime(at),
        }]);
        let ex = crashed.exploration.as_deref().unwrap();
        let task = (step.op, step.attempt, step.copy);
        let killed: Vec<_> = ex
            .killed
            .iter()
            .filter(|k| (k.op, u32::from(k.attempt), u32::from(k.copy)) == task)
            .collect();
        assert_eq!(killed.len(), 1, "{step:?}: {:?}", ex.killed);
        assert_eq!((killed[0].time_us, killed[0].server), (at, server));
        // Its last event before the crash is its ack, before the crash's instant.
        let last = ex
            .instants
            .iter()
            .rev()
            .filter(|e| e.time_us <= at && matches!(e.node, Node::Server(_)))
            .find(|e| (e.op, u32::from(e.attempt), u32::from(e.copy)) == task)
            .unwrap();
        assert_eq!(last.kind, EventKind::Respond, "{step:?}");
        assert!(last.time_us < at);
        checked += 1;
    }
    assert!(checked >= 3, "only {checked} acked tasks crashed");
}
