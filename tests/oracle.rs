//! The oracle's running counters (`progress`, drawn by the TUI's chart and panels) end where
//! its final measurement (`measure`, printed by `compare`) does.

mod common;

use idemlab::fault::FaultPlan;
use idemlab::handlers::api::Response;
use idemlab::oracle::{measure, measure_verdict, progress};
use idemlab::sim::LimitHit;
use idemlab::trace::{Detail, EventKind};
use idemlab::world::{Recording, Run, run, run_with};

#[test]
fn progress_ends_where_measure_does() {
    let mut diverged = 0;
    for (path, scenario) in common::bundled() {
        for name in &scenario.designs {
            let design = scenario.design(name).unwrap();
            for seed in 0..20 {
                let r = run(&scenario, design.as_ref(), seed, &FaultPlan::default());
                let m = measure(&r);
                let p = progress(&r);
                assert_eq!(p.len(), r.trace.len());
                let last = p.last().copied().unwrap_or_default();
                let got = (
                    u64::from(last.effects),
                    u64::from(last.duplicates),
                    u64::from(last.lost),
                    u64::from(last.in_doubt),
                    u64::from(last.dead_lettered),
                    u64::from(last.inconsistent),
                    u64::from(last.succeeded),
                    u64::from(last.timeouts),
                    last.charged,
                    u64::from(last.false_failures),
                );
                let want = (
                    m.effects,
                    m.duplicates,
                    m.lost,
                    m.in_doubt,
                    m.dead_lettered,
                    m.inconsistent,
                    m.succeeded,
                    m.timeouts,
                    m.charged,
                    m.false_failures,
                );
                assert_eq!(got, want, "{} / {name} / seed {seed}", path.display());
                assert_eq!(u64::from(last.started), m.ops);
                if last.divergence() > 0 {
                    diverged += 1;
                }
            }
        }
    }
    assert!(
        diverged > 0,
        "no run diverged: the comparison above proves little"
    );
}

/// What `measure` reads besides the ledger and outcomes, derived from the trace the long way:
/// the timeouts that fired, and per operation the first final answer a server sent and
/// whether a later final answer differed.
fn from_trace(r: &Run) -> (u64, Vec<(Option<Response>, bool)>) {
    let timeouts = r
        .trace
        .iter()
        .filter(|e| e.kind == EventKind::Timeout)
        .count() as u64;
    let mut answers = vec![(None, false); r.ops.len()];
    for e in r.trace.iter().filter(|e| e.kind == EventKind::Respond) {
        if let Detail::Response(resp) = e.detail
            && !resp.is_retryable()
        {
            let slot: &mut (Option<Response>, bool) = &mut answers[e.op as usize - 1];
            match slot.0 {
                None => slot.0 = Some(resp),
                Some(first) => slot.1 |= first != resp,
            }
        }
    }
    (timeouts, answers)
}

/// A run made with `Recording::Metrics` is the same run without its trace: same events,
/// ledger, operations and metrics; the counts it keeps instead of the trace (timeouts, each
/// operation's answers) agree with the traced run's events; a trace budget stops both at the
/// same event.
#[test]
fn a_metrics_only_run_measures_what_the_traced_run_does() {
    let mut checked = 0;
    let mut differing_answers = 0;
    let mut with_timeouts = 0;
    let mut stopped_by_trace = 0;
    let mut scenarios = common::bundled();
    let mut short = idemlab::scenario::default_scenario();
    short.limits.max_trace_events = 40;
    scenarios.push(("default with max_trace_events = 40".into(), short));
    for (path, scenario) in scenarios {
        for name in &scenario.designs {
            let design = scenario.design(name).unwrap();
            for seed in 0..20 {
                let what = format!("{} / {name} / seed {seed}", path.display());
                let plan = FaultPlan::default();
                let a = run(&scenario, design.as_ref(), seed, &plan);
                let b = run_with(&scenario, design.as_ref(), seed, &plan, Recording::Metrics);
                assert!(b.trace.is_empty(), "{what}");
                assert_eq!(a.logged, a.trace.len() as u64, "{what}");
                assert_eq!(
                    (a.logged, a.events, a.end_us, &a.ledger, &a.ops, a.stopped),
                    (b.logged, b.events, b.end_us, &b.ledger, &b.ops, b.stopped),
                    "{what}"
                );
                let (timeouts, answers) = from_trace(&a);
                assert_eq!(a.timeouts, timeouts, "{what}");
                let kept: Vec<_> = a
                    .ops
                    .iter()
                    .map(|o| (o.server_first_answer, o.answers_differ))
                    .collect();
                assert_eq!(kept, answers, "{what}");
                assert_eq!(measure(&a), measure(&b), "{what}");
                differing_answers += a.ops.iter().filter(|o| o.answers_differ).count();
                with_timeouts += usize::from(timeouts > 0);
                stopped_by_trace += usize::from(matches!(b.stopped, Some(LimitHit::Trace { .. })));
                checked += 1;
            }
        }
    }
    // The comparison must have seen the cases it is about.
    assert!(checked >= 1_000, "only {checked} runs");
    assert!(differing_answers > 0 && with_timeouts > 0 && stopped_by_trace > 0);
}

/// What a search measures (`measure_verdict`) is every count `measure` makes, with only the
/// descriptive figures left out: on every bundled scenario and design, over seeds whose runs
/// break the exactly-once ideal in each way the built-in invariants look for.
#[test]
fn a_verdict_measures_every_count_a_full_measurement_does() {
    let mut checked = 0;
    let (mut with_duplicates, mut with_lost, mut with_statuses) = (0, 0, 0);
    for (path, scenario) in common::bundled() {
        for name in &scenario.designs {
            let design = scenario.design(name).unwrap();
            for seed in 0..10 {
                let what = format!("{} / {name} / seed {seed}", path.display());
                let r = run_with(
                    &scenario,
                    design.as_ref(),
                    seed,
                    &FaultPlan::default(),
                    Recording::Metrics,
                );
                let full = measure(&r);
                let verdict = measure_verdict(&r);
                let mut expected = full.clone();
                expected.design = String::new();
                expected.statuses.clear();
                expected.latency_p50_us = 0;
                expected.latency_p99_us = 0;
                expected.stopped = None;
                assert_eq!(verdict, expected, "{what}");
                with_duplicates += usize::from(full.duplicates > 0);
                with_lost += usize::from(full.lost > 0);
                with_statuses += usize::from(!full.statuses.is_empty());
                checked += 1;
            }
        }
    }
    assert!(checked >= 500, "only {checked} runs");
    assert!(with_duplicates > 0 && with_lost > 0 && with_statuses > 0);
}
