//! The world's semantics, one fault at a time: what a crash keeps and loses, what a crash at a
//! step means, duplicated and partitioned messages, retry timing, key policies, budgets.

use idemlab::fault::{FaultAtom, FaultPlan, MessageRef, When};
use idemlab::handlers::api::{Body, Cx, Request, Response};
use idemlab::handlers::{self, design_fn};
use idemlab::oracle::measure;
use idemlab::scenario::{self, Scenario};
use idemlab::sim::LimitHit;
use idemlab::time::SimTime;
use idemlab::trace::{Detail, EventKind};
use idemlab::world::{Run, StepKind, run};

fn scenario(text: &str) -> Scenario {
    scenario::parse(text, "test.toml").unwrap_or_else(|e| panic!("{e}"))
}

fn run_named(s: &Scenario, design: &str, plan: &FaultPlan) -> Run {
    run(s, handlers::lookup(design).unwrap().as_ref(), 1, plan)
}

const CALM: &str = r#"
[workload]
ops = 3
[client.retry]
timeout = "30ms"
attempts_max = 4
backoff = "constant"
backoff_base = "10ms"
jitter = "none"
[network]
latency = "2ms"
[provider]
latency = "5ms"
[server]
restart_delay = "20ms"
"#;

/// A design that remembers in process memory whether it has served before, and counts in the
/// database: a crash must wipe the first and keep the second.
async fn remembers(cx: Cx, _req: Request) -> Response {
    let seen = cx.cache().get("seen").await.is_some();
    cx.cache().put("seen", 1.into()).await;
    let n = cx.db().incr("n", 1).await;
    Response::ok(Body::Count(if seen { n } else { -n }))
}

#[test]
fn a_crash_loses_volatile_state_and_keeps_durable_state() {
    let s = scenario(CALM);
    let design = design_fn("remembers", "test", remembers);
    let calm = run(&s, &design, 1, &FaultPlan::default());
    // Without a crash, the second and third operations find the cache warm.
    let bodies = |r: &Run| -> Vec<Body> {
        r.ops
            .iter()
            .map(|o| o.received.last().unwrap().response.body)
            .collect()
    };
    assert_eq!(
        bodies(&calm),
        vec![Body::Count(-1), Body::Count(2), Body::Count(3)]
    );
    // Operation 1 ends at 2+1+1+1+2 = 7ms; crash at 8ms, restart at 28ms. Operation 2 is sent
    // at 7ms, refused, and retried after its timeout (37ms) and the 10ms backoff.
    let crashed = run(
        &s,
        &design,
        1,
        &FaultPlan::new(vec![FaultAtom::CrashAt {
            server: 0,
            at: SimTime(8_000),
        }]),
    );
    assert_eq!(
        bodies(&crashed),
        vec![Body::Count(-1), Body::Count(-2), Body::Count(3)]
    );
    assert_eq!(crashed.durable.get("n").and_then(|v| v.as_int()), Some(3));
    let kinds: Vec<EventKind> = crashed.trace.iter().map(|e| e.kind).collect();
    assert!(kinds.contains(&EventKind::Crash));
    assert!(kinds.contains(&EventKind::Restart));
    assert!(kinds.contains(&EventKind::Refused));
}

#[test]
fn a_crash_before_a_step_prevents_it_and_after_a_step_keeps_it() {
    let s = scenario(CALM);
    let before = FaultPlan::new(vec![FaultAtom::CrashAtStep {
        op: 1,
        attempt: Some(1),
        when: When::Before,
        step: StepKind::Charge,
        position: None,
        copy: None,
    }]);
    let m = measure(&run_named(&s, "process-payment", &before));
    assert_eq!((m.duplicates, m.charged, m.succeeded), (0, 300, 3));
    let after = FaultPlan::new(vec![FaultAtom::CrashAtStep {
        op: 1,
        attempt: Some(1),
        when: When::After,
        step: StepKind::Charge,
        position: None,
        copy: None,
    }]);
    let m = measure(&run_named(&s, "process-payment", &after));
    assert_eq!((m.duplicates, m.charged, m.succeeded), (1, 400, 3));
}

#[test]
fn an_atomic_claim_left_by_a_crash_stays_in_progress_and_the_client_ends_in_doubt() {
    let s = scenario(CALM);
    let plan = FaultPlan::new(vec![FaultAtom::CrashAtStep {
        op: 1,
        attempt: None,
        when: When::After,
        step: StepKind::InsertIfAbsent,
        position: None,
        copy: None,
    }]);
    let r = run_named(&s, "atomic-key", &plan);
    let m = measure(&r);
    assert_eq!((m.duplicates, m.in_doubt, m.charged), (0, 1, 200));
    assert_eq!(m.statuses.get("409"), Some(&3));
    assert!(matches!(
        r.durable.get("idem:k1"),
        Some(idemlab::handlers::api::Value::InProgress { .. })
    ));
}

#[test]
fn a_duplicated_request_charges_twice_without_a_key_and_once_with_one() {
    let s = scenario(CALM);
    let plan = FaultPlan::new(vec![FaultAtom::Duplicate(MessageRef::request(2, 1))]);
    let naive = measure(&run_named(&s, "naive", &plan));
    assert_eq!((naive.duplicates, naive.delivered), (1, 4));
    // The copy reaches the server just after the original and is answered 409 (in progress);
    // that answer reaches the client first, so the client retries and gets the stored 201.
    let keyed = measure(&run_named(&s, "atomic-key", &plan));
    assert_eq!(
        (keyed.duplicates, keyed.inconsistent, keyed.succeeded),
        (0, 0, 3)
    );
    assert_eq!((keyed.delivered, keyed.statuses.get("409")), (5, Some(&1)));
}

#[test]
fn a_partition_loses_every_message_sent_inside_it() {
    let s = scenario(CALM);
    let plan = FaultPlan::new(vec![FaultAtom::Partition {
        from: SimTime(0),
        until: SimTime(35_000),
    }]);
    let r = run_named(&s, "naive", &plan);
    let lost: Vec<_> = r
        .trace
        .iter()
        .filter(|e| e.kind == EventKind::Lost)
        .map(|e| (e.op, e.attempt, e.time_us))
        .collect();
    // Attempt 1 at 0ms is lost; attempt 2 at 40ms (30ms timeout + 10ms backoff) gets through.
    assert_eq!(lost, vec![(1, 1, 0)]);
    assert_eq!(measure(&r).succeeded, 3);
}

fn retry_delays(text: &str) -> Vec<u64> {
    let s = scenario(text);
    let r = run_named(&s, "naive", &FaultPlan::default());
    r.trace
        .iter()
        .filter_map(|e| match e.detail {
            Detail::Backoff { delay_us } if e.op == 1 => Some(delay_us / 1_000),
            _ => None,
        })
        .collect()
}

#[test]
fn exponential_backoff_doubles_up_to_its_cap_and_jitter_stays_under_it() {
    let base = r#"
[workload]
ops = 1
[network]
loss = { request = 1.0 }
[client.retry]
timeout = "5ms"
attempts_max = 6
backoff = "exponential"
backoff_base = "10ms"
backoff_cap = "50ms"
"#;
    assert_eq!(
        retry_delays(&format!("{base}jitter = \"none\"\n")),
        vec![10, 20, 40, 50, 50]
    );
    let full = retry_delays(&format!("{base}jitter = \"full\"\n"));
    assert_eq!(full.len(), 5);
    for (d, ceiling) in full.iter().zip([10, 20, 40, 50, 50]) {
        assert!(*d <= ceiling, "{full:?}");
    }
    let equal = retry_delays(&format!("{base}jitter = \"equal\"\n"));
    for (d, ceiling) in equal.iter().zip([10, 20, 40, 50, 50]) {
        assert!(*d >= ceiling / 2 && *d <= ceiling, "{equal:?}");
    }
    let decorrelated = retry_delays(&format!("{base}jitter = \"decorrelated\"\n"));
    assert!(
        decorrelated.iter().all(|d| (10..=50).contains(d)),
        "{decorrelated:?}"
    );
}

#[test]
fn a_client_that_mints_a_key_per_attempt_defeats_the_keyed_design() {
    let text = format!("{CALM}\n[[faults]]\nkind = \"drop\"\nmessage = \"response\"\nop = 2\n");
    let per_op = scenario(&text);
    let m = measure(&run_named(&per_op, "atomic-key", &FaultPlan::default()));
    assert_eq!(m.duplicates, 0);
    let per_attempt = scenario(&text.replace(
        "jitter = \"none\"",
        "jitter = \"none\"\nkey = \"per-attempt\"",
    ));
    let m = measure(&run_named(
        &per_attempt,
        "atomic-key",
        &FaultPlan::default(),
    ));
    assert_eq!(m.duplicates, 1);
}

#[test]
fn a_late_response_is_recorded_but_not_accepted() {
    // The provider is slower than the client's timeout: attempt 1's answer arrives late.
    let s = scenario(&CALM.replace("latency = \"5ms\"", "latency = \"40ms\""));
    let r = run_named(&s, "atomic-key", &FaultPlan::default());
    let late = r.trace.iter().filter(|e| e.kind == EventKind::Late).count();
    assert!(late > 0);
    let op1 = &r.ops[0];
    assert!(op1.received.iter().any(|x| !x.accepted && x.attempt == 1));
}

#[test]
fn a_run_past_its_event_budget_stops_with_the_budget_error() {
    let s = scenario(&format!("{CALM}\n[limits]\nmax_events = 5\n"));
    let r = run_named(&s, "naive", &FaultPlan::default());
    assert!(matches!(
        r.stopped,
        Some(LimitHit::Events { max_events: 5, .. })
    ));
    assert_eq!(r.events, 5);
    assert_eq!(
        r.trace.iter().last().map(|e| e.kind),
        Some(EventKind::Limit)
    );
    let m = measure(&r);
    assert!(m.unfinished > 0);
    assert!(m.stopped.unwrap().contains("event budget"));
}

#[test]
fn a_run_past_its_time_limit_stops_with_the_time_error() {
    let s = scenario(&format!("{CALM}\n[limits]\nmax_time = \"10ms\"\n"));
    let r = run_named(&s, "naive", &FaultPlan::default());
    assert_eq!(
        r.stopped,
        Some(LimitHit::Time {
            max_time_us: 10_000
        })
    );
    assert!(r.trace.iter().all(|e| e.time_us <= 10_000));
}

#[test]
fn a_run_past_its_trace_limit_stops_with_the_trace_error() {
    let s = scenario(&format!("{CALM}\n[limits]\nmax_trace_events = 12\n"));
    let r = run_named(&s, "naive", &FaultPlan::default());
    assert!(matches!(
        r.stopped,
        Some(LimitHit::Trace {
            max_trace_events: 12,
            ..
        })
    ));
    // The limit event itself is the one over.
    assert_eq!(r.trace.len(), 13);
    assert!(
        measure(&r)
            .stopped
            .unwrap()
            .contains("raise `max_trace_events`")
    );
}

/// A message that fails `max_receives` times waits in the dead-letter queue, inspectable on
/// the run; with `redrive_after` it is delivered again and processed.
#[test]
fn a_failing_message_goes_to_the_dead_letter_queue_and_a_redrive_processes_it() {
    let text = |redrive: &str| {
        format!(
            "designs = [\"outbox-inbox\"]\n[workload]\nops = 2\n[broker]\nvisibility_timeout = \"50ms\"\nmax_receives = 2\n{redrive}\n[[faults]]\nkind = \"unavailable\"\nop = 2\nattempt = 1\n[[faults]]\nkind = \"unavailable\"\nop = 2\nattempt = 2\n"
        )
    };
    let stays = idemlab::scenario::parse(&text(""), "dlq.toml").unwrap();
    let design = stays.design("outbox-inbox").unwrap();
    let r = run(&stays, design.as_ref(), 1, &FaultPlan::default());
    assert_eq!(r.dead_letters(), [2]);
    let m = idemlab::oracle::measure(&r);
    assert_eq!((m.dead_lettered, m.charged), (1, 100));
    let redriven = idemlab::scenario::parse(&text("redrive_after = \"1s\""), "dlq.toml").unwrap();
    let r = run(&redriven, design.as_ref(), 1, &FaultPlan::default());
    assert!(r.dead_letters().is_empty());
    let m = idemlab::oracle::measure(&r);
    assert_eq!((m.dead_lettered, m.charged, m.duplicates), (0, 200, 0));
    assert!(
        r.trace
            .kinds()
            .any(|k| k == idemlab::trace::EventKind::Redrive)
    );
}

/// Regression (issue 16, defect 1): an answer that arrives during the backoff after its
/// attempt timed out used to be accepted ("succeeded") while the scheduled retry was still
/// sent, so the *client* made the server apply the operation again. The answer is late: the
/// client has already decided to retry, and only the retry's answer ends the operation.
#[test]
fn an_answer_to_a_timed_out_attempt_is_late_even_during_the_backoff() {
    let s = scenario(
        r#"
[workload]
ops = 1
[client.retry]
timeout = "30ms"
attempts_max = 3
backoff = "constant"
backoff_base = "10ms"
jitter = "none"
[network]
latency = "1ms"
[[faults]]
kind = "slow"
op = 1
attempt = 1
step = "incr"
by = "30ms"
"#,
    );
    let r = run_named(&s, "counter", &FaultPlan::default());
    let kinds: Vec<(EventKind, u16)> = r
        .trace
        .iter()
        .filter(|e| e.op == 1)
        .map(|e| (e.kind, e.attempt))
        .collect();
    // Attempt 1's answer (33 ms) comes after its timeout (30 ms), inside the 10 ms backoff.
    assert!(kinds.contains(&(EventKind::Late, 1)), "{kinds:?}");
    assert!(!kinds.contains(&(EventKind::Receive, 1)), "{kinds:?}");
    // The operation ends once, on the retry's answer, and nothing is sent after it ends.
    let done: Vec<usize> = (0..kinds.len())
        .filter(|&i| kinds[i].0 == EventKind::Done)
        .collect();
    assert_eq!(done.len(), 1, "{kinds:?}");
    assert_eq!(
        kinds[done[0]].1, 2,
        "ended by attempt 2's answer: {kinds:?}"
    );
    assert!(
        kinds[done[0]..].iter().all(|(k, _)| *k != EventKind::Send),
        "a send after the operation ended: {kinds:?}"
    );
    // The client never tells success and retries anyway: with a design that is idempotent
    // by key, the same faults give exactly once.
    let key = run_named(&s, "atomic-key", &FaultPlan::default());
    let m = measure(&key);
    assert_eq!((m.duplicates, m.lost, m.inconsistent), (0, 0, 0), "{m:?}");
}

/// A retryable answer (503) accepted before the attempt's timer fires must not be retried a
/// second time by that timer.
#[test]
fn a_retryable_answer_and_the_timeout_of_the_same_attempt_make_one_retry() {
    let s = scenario(
        r#"
[workload]
ops = 1
[client.retry]
timeout = "30ms"
attempts_max = 4
backoff = "constant"
backoff_base = "50ms"
jitter = "none"
[network]
latency = "1ms"
[[faults]]
kind = "unavailable"
op = 1
attempt = 1
"#,
    );
    let r = run_named(&s, "process-payment", &FaultPlan::default());
    let sends = r
        .trace
        .iter()
        .filter(|e| e.op == 1 && e.kind == EventKind::Send)
        .count();
    assert_eq!(sends, 2, "one 503, one retry");
    assert_eq!(r.ops[0].attempts, 2);
}

/// A crash named by its step's position: the second `get` of a handler that reads twice is
/// its own point, before which the first read has happened.
#[test]
fn a_crash_names_a_step_by_its_position() {
    async fn reads_twice(cx: Cx, req: Request) -> Response {
        let _ = cx.db().get("a").await;
        let _ = cx.db().get("b").await;
        let n = cx.db().incr("n", req.amount() as i64).await;
        Response::ok(Body::Count(n))
    }
    let s = scenario(CALM);
    let design = design_fn("reads-twice", "test", reads_twice);
    let crash_at = |position| {
        FaultPlan::new(vec![FaultAtom::CrashAtStep {
            op: 1,
            attempt: Some(1),
            when: When::After,
            step: StepKind::Get,
            position,
            copy: None,
        }])
    };
    let steps_before_crash = |r: &Run| {
        r.trace
            .iter()
            .take_while(|e| e.kind != EventKind::Crash)
            .filter(|e| e.kind == EventKind::Step && e.op == 1 && e.attempt == 1)
            .count()
    };
    // Without a position: the first `get`. With position 2: the second.
    assert_eq!(steps_before_crash(&run(&s, &design, 1, &crash_at(None))), 1);
    assert_eq!(
        steps_before_crash(&run(&s, &design, 1, &crash_at(Some(2)))),
        2
    );
    // Position 3 is the `incr`, not a `get`: the atom names both, so it never fires.
    let r = run(&s, &design, 1, &crash_at(Some(3)));
    assert!(r.trace.kinds().all(|k| k != EventKind::Crash));
}

/// The client's state machine, the one both the simulated and the live client drive: an answer
/// to an attempt the client no longer waits for is late; a retryable answer or a timeout
/// retries after the policy's backoff until the round's attempts are spent; behind a broker a
/// non-ack waits for the visibility timeout and the last receive dead-letters the message,
/// which a redrive starts over with a fresh round.
#[test]
fn the_clients_state_machine_decides_late_answers_retries_and_giving_up() {
    use idemlab::trace::Outcome;
    use idemlab::world::client::{Attempts, Next, RetryCx};
    let s = scenario(CALM); // 4 attempts, constant 10ms backoff, no jitter
    let fates = idemlab::fate::Fates::new(1);
    let cx = |behind_broker| RetryCx {
        policy: &s.retry,
        fates: &fates,
        op: 1,
        behind_broker,
    };
    let mut a = Attempts::new(&s.retry);
    assert!(
        !a.receive(1, Response::unavailable(), false),
        "nothing sent yet"
    );
    assert_eq!(a.send(), 1);
    assert!(a.timeout(1), "the current attempt's timeout counts");
    assert!(!a.timeout(1), "and only once");
    assert_eq!(a.after_failure(cx(false)), Next::Retry { delay_us: 10_000 });
    assert!(
        !a.receive(1, Response::unavailable(), false),
        "an answer to a timed-out attempt is late"
    );
    assert_eq!(a.send(), 2);
    assert!(a.receive(2, Response::unavailable(), false));
    assert!(!a.waiting, "an accepted answer ends the wait");
    assert_eq!(
        a.decide(Response::unavailable(), cx(false)),
        Next::Retry { delay_us: 10_000 }
    );
    assert_eq!(a.send(), 3);
    assert!(a.receive(3, Response::key_mismatch(), false));
    assert_eq!(
        a.decide(Response::key_mismatch(), cx(false)),
        Next::Finish(Outcome::Failed),
        "a final failure is not retried"
    );
    assert_eq!(a.send(), 4);
    assert!(a.timeout(4));
    assert_eq!(
        a.after_failure(cx(false)),
        Next::GiveUp,
        "4 of 4 attempts spent"
    );
    a.finish(Outcome::InDoubt);
    assert!(
        !a.receive(4, Response::ok(Body::Empty), false),
        "over: every answer is late"
    );

    // Behind a broker: a non-ack keeps the message in flight; the last receive dead-letters.
    let mut b = Attempts::new(&s.retry);
    for attempt in 1..=4 {
        assert_eq!(b.send(), attempt);
        assert!(b.receive(attempt, Response::unavailable(), true));
        assert!(b.waiting, "a non-ack does not end the wait");
        assert_eq!(b.decide(Response::unavailable(), cx(true)), Next::Wait);
        assert!(b.timeout(attempt), "the visibility timeout counts");
        let expected = if attempt < 4 {
            Next::Retry { delay_us: 10_000 }
        } else {
            Next::DeadLetter
        };
        assert_eq!(b.after_failure(cx(true)), expected);
    }
    assert!(!b.redrive(), "only a dead-lettered message is redriven");
    b.finish(Outcome::DeadLettered);
    assert!(b.redrive());
    assert_eq!(b.send(), 5);
    assert!(b.timeout(5));
    assert_eq!(
        b.after_failure(cx(true)),
        Next::Retry { delay_us: 10_000 },
        "a redriven message has a fresh round of receives"
    );
    assert!(
        !b.receive(5, Response::ok(Body::Empty), true),
        "attempt 5 timed out: its answer is late"
    );
}

/// The client's invariants are checked, not assumed: an operation finishes once, and one that
/// is over sends nothing (both `assert!`s, in release too).
fn finished_operation() -> idemlab::world::client::Attempts {
    let s = scenario(CALM);
    let mut a = idemlab::world::client::Attempts::new(&s.retry);
    a.send();
    a.finish(idemlab::trace::Outcome::Succeeded);
    a
}

#[test]
#[should_panic(expected = "an operation finishes once")]
fn finishing_an_operation_twice_is_caught() {
    finished_operation().finish(idemlab::trace::Outcome::Failed);
}

#[test]
#[should_panic(expected = "an operation that is over sends nothing")]
fn sending_for_a_finished_operation_is_caught() {
    finished_operation().send();
}
