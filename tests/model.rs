//! What designs can say through the public API, and what the oracle sees (issue 16): request
//! payloads, client identity and per-client keys, effects a design declares, invariants on the
//! final state. Each design below is written outside the crate, as a user writes one, and is
//! judged by `check` or `explore`.

use idemlab::check::{Checker, FaultKind};
use idemlab::handlers::api::{Body, Cx, Request, Response, Value};
use idemlab::handlers::design_fn;
use idemlab::scenario::{self, Scenario};

fn scenario(text: &str) -> Scenario {
    scenario::parse(text, "model.toml").unwrap_or_else(|e| panic!("{e}"))
}

/// An idempotency record keyed by `key`: replay the stored answer when the fingerprint
/// matches, 422 when it does not, else create an order and store the answer, in one
/// transaction.
async fn keyed(cx: &Cx, record: String, fingerprint: u64, amount: u64) -> Response {
    let done = cx
        .db()
        .transaction(|txn| {
            match txn.get(&record) {
                Some(Value::Completed {
                    fingerprint: f,
                    response,
                }) => {
                    return Err(if f == fingerprint {
                        response
                    } else {
                        Response::key_mismatch()
                    });
                }
                Some(_) => return Err(Response::key_in_use()),
                None => {}
            }
            let order = txn.create_order(amount);
            let response = Response::created(Body::Order(order));
            txn.put(
                &record,
                Value::Completed {
                    fingerprint,
                    response,
                },
            );
            Ok(response)
        })
        .await;
    done.unwrap_or_else(|r| r)
}

/// Keys scoped by the key alone: two clients that number their keys on their own collide.
async fn key_only(cx: Cx, req: Request) -> Response {
    let Some(key) = req.idempotency_key() else {
        return Response::key_missing();
    };
    keyed(&cx, format!("idem:{key}"), req.fingerprint(), req.amount()).await
}

/// The same, scoped by the client that sent the key.
async fn key_per_client(cx: Cx, req: Request) -> Response {
    let Some(key) = req.idempotency_key() else {
        return Response::key_missing();
    };
    let record = format!("idem:{}:{key}", req.client());
    keyed(&cx, record, req.fingerprint(), req.amount()).await
}

const TWO_CLIENTS: &str = r#"
[workload]
ops = 2
clients = 2
[client.retry]
timeout = "50ms"
key = "per-client"
[network]
latency = "1ms"
"#;

#[test]
fn keys_that_collide_across_two_clients_lose_an_operation_unless_scoped_by_client() {
    let s = scenario(TWO_CLIENTS);
    let naive = design_fn("key-only", "test", key_only);
    let found = Checker::new(&s, &naive)
        .check()
        .counterexample
        .expect("client 1's first key is client 0's first key");
    assert!(found.plan.atoms.len() <= 3, "{}", found.report());
    assert_eq!(
        found.violation.invariant,
        "exactly one effect once the client was told success",
        "{}",
        found.report()
    );
    // The story says whose answer the second client got.
    assert!(
        found.report().contains("'s order, replayed"),
        "{}",
        found.report()
    );
    let scoped = design_fn("key-per-client", "test", key_per_client);
    let clean = Checker::new(&s, &scoped).explore(2);
    assert!(
        clean.minimal.is_none(),
        "{}",
        clean.minimal.map(|c| c.report()).unwrap_or_default()
    );
}

/// Fingerprints only the amount, as `Request::fingerprint` once did.
async fn amount_only(cx: Cx, req: Request) -> Response {
    let Some(key) = req.idempotency_key() else {
        return Response::key_missing();
    };
    let fingerprint = req.amount();
    keyed(&cx, format!("idem:{key}"), fingerprint, req.amount()).await
}

/// Two operations reuse one key for different items at the same price.
const REUSED_KEY: &str = r#"
[workload]
ops = 2
[client.retry]
timeout = "50ms"
[network]
latency = "1ms"
[[workload.op]]
op = 1
item = 7
[[workload.op]]
op = 2
item = 8
key_of = 1
"#;

#[test]
fn a_fingerprint_that_ignores_the_item_loses_the_second_purchase() {
    let s = scenario(REUSED_KEY);
    let broken = design_fn("amount-only", "test", amount_only);
    let found = Checker::new(&s, &broken)
        .check()
        .counterexample
        .expect("the second item is answered with the first one's order");
    assert!(found.plan.atoms.len() <= 3, "{}", found.report());
    assert_eq!(
        found.violation.invariant,
        "exactly one effect once the client was told success"
    );
    // The whole payload's fingerprint tells the two apart: 422, nothing lost.
    let correct = design_fn("whole-payload", "test", key_only);
    let (violation, run) = Checker::new(&s, &correct).check_plan(&Default::default());
    assert!(violation.is_none(), "{violation:?}");
    assert_eq!(run.ops[1].received[0].response, Response::key_mismatch());
}

/// `PUT /items/{n}` with `If-Match: v{version}`: a compare-and-set write. A retry that finds
/// its own write applied answers what the first attempt answered (RFC 9110 lets a server
/// answer 2xx when the change was already made).
async fn if_match(cx: Cx, req: Request) -> Response {
    let Some(expected) = req.version() else {
        return Response::precondition_failed();
    };
    let item = format!("item:{}", req.item().unwrap_or(req.resource()));
    let value = req.amount() as i64;
    match cx.db().write_if_version(&item, expected, value).await {
        Ok(version) => Response::ok(Body::Count(version as i64)),
        Err(current) => match cx.db().get(&item).await {
            Some(Value::Versioned { version, value: v })
                if version == expected + 1 && v == value && current == version =>
            {
                Response::ok(Body::Count(version as i64))
            }
            _ => Response::precondition_failed(),
        },
    }
}

#[test]
fn a_version_the_client_carries_makes_a_correct_compare_and_set() {
    let s = scenario(
        r#"
[workload]
ops = 3
clients = 3
[client.retry]
timeout = "30ms"
attempts_max = 3
[network]
latency = "1ms"
[[workload.op]]
op = 1
item = 1
version = 0
[[workload.op]]
op = 2
item = 2
version = 0
[[workload.op]]
op = 3
item = 3
version = 0
"#,
    );
    let design = design_fn("if-match", "test", if_match);
    let report = Checker::new(&s, &design).cases(256).check();
    assert!(
        report.counterexample.is_none(),
        "{}",
        report.counterexample.unwrap().report()
    );
    let explored = Checker::new(&s, &design).explore(2);
    assert!(explored.complete() && explored.minimal.is_none());
}

/// `PUT /items/{n}` written as delete-then-insert: idempotent while nothing crashes between the
/// two, but a crash there leaves the item gone.
async fn delete_then_insert(cx: Cx, req: Request) -> Response {
    let item = format!("item:{}", req.resource());
    cx.db().delete(&item).await;
    cx.db().put(&item, Value::from(req.amount() as i64)).await;
    Response::ok(Body::Empty)
}

#[test]
fn a_put_as_delete_then_insert_is_caught_by_the_final_state() {
    let s = scenario(
        r#"
[workload]
ops = 1
[client.retry]
timeout = "30ms"
attempts_max = 2
backoff = "constant"
backoff_base = "10ms"
jitter = "none"
[network]
latency = "1ms"
[server]
restart_delay = "5ms"
[oracle]
effect_keys = ["item:"]
exists = ["item:1"]
"#,
    );
    let design = design_fn("delete-then-insert", "test", delete_then_insert);
    // Without a fault, the declared key makes the write an effect: nothing is lost.
    let (violation, run) = Checker::new(&s, &design).check_plan(&Default::default());
    assert!(violation.is_none(), "{violation:?}");
    assert_eq!(run.ledger.len(), 1, "the put is the operation's effect");
    let found = Checker::new(&s, &design)
        .fault_kinds(&[FaultKind::Drop, FaultKind::Crash])
        .check()
        .counterexample
        .expect("a lost answer, then a crash between the delete and the insert of the retry");
    assert!(found.plan.atoms.len() <= 3, "{}", found.report());
    assert_eq!(found.violation.invariant, "the final state holds");
    assert!(
        found.violation.detail.contains("item:1"),
        "{}",
        found.report()
    );
    let explored = Checker::new(&s, &design)
        .fault_kinds(&[FaultKind::Drop, FaultKind::Crash])
        .explore(2);
    assert_eq!(
        explored.minimal.map(|c| c.violation.invariant),
        Some("the final state holds".to_string())
    );
    // The library's one-line form finds the same.
    let mut plain = s.clone();
    plain.oracle.exists.clear();
    let found = Checker::new(&plain, &design)
        .fault_kinds(&[FaultKind::Drop, FaultKind::Crash])
        .invariant(idemlab::check::exists("item:1"))
        .explore(2)
        .minimal
        .expect("the same, by the library's invariant");
    assert_eq!(found.violation.invariant, "item:1 exists when the run ends");
}

/// A counterexample of a design of one's own parses back, names the design in `own_designs`,
/// and replays through `Checker::replay` with the same violation.
#[test]
fn a_counterexample_of_a_design_of_ones_own_parses_and_replays() {
    let s = scenario(TWO_CLIENTS);
    let naive = design_fn("key-only", "test", key_only);
    let checker = Checker::new(&s, &naive);
    let found = checker.check().counterexample.unwrap();
    let text = found.to_toml();
    assert!(text.contains("own_designs = [\"key-only\"]"), "{text}");
    let back = scenario::parse(&text, "key-only.toml").unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert!(back.is_own_design("key-only"));
    let (violation, _) = checker.replay(&back);
    assert_eq!(violation.unwrap().invariant, found.violation.invariant);
}
