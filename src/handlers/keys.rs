//! Designs built on an idempotency key: the client sends one key per logical operation and
//! reuses it on every retry; the server remembers what it did for each key. From the seed's
//! `process_payment` (which breaks) to atomic phases with recovery points (which does not).
//!
//! Every key record here lives for the scenario's `server.key_ttl` (for ever when unset):
//! a reaper prunes it after that, and a retry that arrives later is a new request.

use super::api::{Body, Cx, Request, Response, Value};
use super::{Design, HandlerFuture, OptionKind, OptionSpec, Options, duration_option};
use crate::time::SimDuration;
use crate::vocab::IdemKey;

/// The key record's name in the store: `idem:` and the key, as `format!("idem:{key}")`
/// writes it, built without the formatting machinery (it runs on every request).
fn record(key: IdemKey) -> String {
    let mut name = String::with_capacity(16);
    name.push_str("idem:");
    key.push_to(&mut name);
    name
}

/// One line for `idemlab list`.
pub const CHECK_THEN_ACT: &str = "looks the key up, then creates the order and stores the key in one transaction; two attempts in flight both miss the key";

/// Catalog row 5: a key table with **check-then-act**. Look the key up; if absent, create the
/// order and store the key and response *in one transaction* (so a crash cannot separate the
/// effect from its record), without checking again inside it.
///
/// **Breaks under:** two attempts in flight at once: both look the key up before either
/// commits, both create an order. A retry after the key expired. A key reused with another
/// payload gets the old answer (nothing checks the payload).
///
/// **Instead:** check inside the transaction (`key-in-transaction`).
// ANCHOR: check_then_act
pub async fn check_then_act(cx: Cx, req: Request) -> Response {
    let Some(key) = req.idempotency_key() else {
        return Response::key_missing();
    };
    let key = record(key);
    if let Some(previous) = cx.db().get(&key).await.and_then(|v| v.response()) {
        return previous;
    }
    let (amount, ttl) = (req.amount(), cx.key_ttl());
    cx.db()
        .transaction(|txn| {
            let response = Response::created(Body::Order(txn.create_order(amount)));
            txn.put_for(&key, response.into(), ttl);
            Ok::<Response, ()>(response)
        })
        .await
        .unwrap_or_else(|()| Response::error(500, super::api::ErrorCode::Internal))
}
// ANCHOR_END: check_then_act

/// One line for `idemlab list`.
pub const PROCESS_PAYMENT: &str = "the seed's process_payment: look up the key, charge, store the result; a crash or a concurrent retry charges twice";

/// Catalog row 6, the seed's `process_payment` exactly as written: look the key up; if absent,
/// charge (an effect in the outside world), then store the result under the key.
///
/// ```text
/// if is_processed(key): return get_previous_result(key)
/// result = charge_card(amount)
/// store_result(key, result)
/// ```
///
/// **Breaks under:** two attempts in flight at once (a client timeout shorter than the
/// processing time): both look the key up before either stores it, both charge. A crash
/// between the charge and the store: the retry finds no key and charges again. A retry after
/// expiry; a reused key with another payload.
///
/// **Instead:** claim the key before the charge, and for effects in the outside world record
/// recovery points and pass a key to the provider (`recovery-points`).
// ANCHOR: process_payment
pub async fn process_payment(cx: Cx, req: Request) -> Response {
    let Some(key) = req.idempotency_key() else {
        return Response::key_missing();
    };
    let key = record(key);
    if let Some(previous) = cx.db().get(&key).await.and_then(|v| v.response()) {
        return previous;
    }
    let receipt = match cx.payments().charge(req.amount()).await {
        Ok(receipt) => receipt,
        Err(e) => return e.into(),
    };
    let response = Response::created(Body::Receipt(receipt));
    cx.db().put_for(&key, response.into(), cx.key_ttl()).await;
    response
}
// ANCHOR_END: process_payment

/// One line for `idemlab list`.
pub const ATOMIC_KEY: &str = "claims the key atomically before charging (409 while in progress), stores the response; no recovery, no payload check";

/// Catalog row 7, **claim first, no recovery**: `insert_if_absent(key, in-progress)` before
/// any effect, so that of two attempts in flight exactly one proceeds; the other gets **409**.
/// A retry after completion gets the stored response, replayed.
///
/// **Breaks under:** a crash after the claim: the key stays in progress for ever, every retry
/// gets 409, the client ends in doubt and the charge may or may not have happened (stuck).
/// A retry after expiry. A key reused with another payload gets the old answer.
///
/// **Instead:** a lease on the claim plus recovery points (`recovery-points`), and a payload
/// fingerprint (422).
// ANCHOR: atomic_key
pub async fn atomic_key(cx: Cx, req: Request) -> Response {
    let Some(key) = req.idempotency_key() else {
        return Response::key_missing();
    };
    let key = record(key);
    let ttl = cx.key_ttl();
    let claim = Value::InProgress {
        fingerprint: req.fingerprint(),
        since_us: cx.now().0,
    };
    if let Err(existing) = cx.db().insert_if_absent_for(&key, claim, ttl).await {
        return existing.response().unwrap_or_else(Response::key_in_use);
    }
    let receipt = match cx.payments().charge(req.amount()).await {
        Ok(receipt) => receipt,
        Err(e) => {
            cx.db().delete(&key).await;
            return e.into();
        }
    };
    let response = Response::created(Body::Receipt(receipt));
    let done = Value::Completed {
        fingerprint: req.fingerprint(),
        response,
    };
    cx.db().put_for(&key, done, ttl).await;
    response
}
// ANCHOR_END: atomic_key

/// One line for `idemlab list`.
pub const KEY_IN_TRANSACTION: &str =
    "key, order and stored response committed in one transaction; 422 on a different payload";

/// Catalog row 8: the key, the effect and the response are written in **one transaction**, so
/// there is no moment where one exists without the others. The request first locks the key's
/// row (`SELECT ... FOR UPDATE NOWAIT`): a second attempt in flight gets **409** and retries;
/// a crash releases the lock with the session. A crash before the commit leaves nothing;
/// after it, everything. A retry after completion replays the stored response; a reused key
/// with another payload gets 422.
///
/// The effect is local (an order row). **Breaks under:** a retry after the key expired; and an
/// effect in the outside world cannot join the transaction (see `recovery-points`).
// ANCHOR: key_in_transaction
pub async fn key_in_transaction(cx: Cx, req: Request) -> Response {
    let Some(key) = req.idempotency_key() else {
        return Response::key_missing();
    };
    let ttl = cx.key_ttl();
    let record = record(key);
    if let Err(locked) = cx.db().lock(&record).await {
        return locked.into();
    }
    in_transaction(&cx, &req, record, ttl).await
}
// ANCHOR_END: key_in_transaction

/// The body of `key-in-transaction`, also `short-ttl` and `payload-hash`: look the record up
/// and, if absent, create the order and store the record in the same transaction.
async fn in_transaction(
    cx: &Cx,
    req: &Request,
    record: String,
    ttl: Option<SimDuration>,
) -> Response {
    let fingerprint = req.fingerprint();
    let amount = req.amount();
    cx.db()
        .transaction(|txn| {
            if let Some(existing) = txn.get(&record) {
                return Ok(match existing {
                    Value::Completed { fingerprint: f, .. } if f != fingerprint => {
                        Response::key_mismatch()
                    }
                    Value::Completed { response, .. } => response,
                    _ => Response::key_in_use(),
                });
            }
            let response = Response::created(Body::Order(txn.create_order(amount)));
            let done = Value::Completed {
                fingerprint,
                response,
            };
            txn.put_for(&record, done, ttl);
            Ok::<Response, ()>(response)
        })
        .await
        .unwrap_or_else(|()| Response::error(500, super::api::ErrorCode::Internal))
}

/// One line for `idemlab list`.
pub const SHORT_TTL: &str = "key-in-transaction whose keys live only 150ms (option ttl): a retry after that is applied again";

/// The `ttl` option of `short-ttl`.
pub const TTL_OPTION: OptionSpec = OptionSpec {
    name: "ttl",
    kind: OptionKind::Duration,
    help: "how long a key lives (default 150ms, or the scenario's server.key_ttl if shorter)",
};

/// Catalog row 12: `key-in-transaction` with a key TTL **shorter than the client's retry
/// horizon** (150ms unless the `ttl` option says otherwise). Correct while every retry
/// arrives inside the TTL; a retry after it (a long backoff, a DLQ redrive) is applied again.
///
/// **Rule:** TTL ≥ the client's retry horizon (+ the queue's retention).
pub struct ShortTtl {
    ttl: SimDuration,
}

impl ShortTtl {
    /// Builds the design from its options.
    pub fn new(options: &Options) -> Self {
        ShortTtl {
            ttl: duration_option(options, "ttl").unwrap_or(SimDuration::from_millis(150)),
        }
    }
}

impl Design for ShortTtl {
    fn name(&self) -> &str {
        "short-ttl"
    }
    fn summary(&self) -> &str {
        SHORT_TTL
    }
    fn handle(&self, cx: Cx, req: Request) -> HandlerFuture {
        let own = self.ttl;
        Box::pin(async move {
            let Some(key) = req.idempotency_key() else {
                return Response::key_missing();
            };
            let ttl = Some(cx.key_ttl().map_or(own, |t| t.min(own)));
            let record = record(key);
            if let Err(locked) = cx.db().lock(&record).await {
                return locked.into();
            }
            in_transaction(&cx, &req, record, ttl).await
        })
    }
}

/// One line for `idemlab list`.
pub const NEW_KEY_PER_ATTEMPT: &str = "atomic-key on the server, but the client mints a new key on every attempt: every retry is a new operation";

/// One line for `idemlab list`.
pub const PAYLOAD_HASH: &str = "no key: deduplicates by a hash of the payload, so two legitimate identical requests become one";

/// Catalog row 14: no key header; the server deduplicates by a **hash of the payload**, in
/// the effect's transaction (no row lock: a concurrent duplicate waits for the first commit
/// and finds it). Retries are safe, but two *legitimately* identical requests (the
/// same purchase twice, on purpose) are merged: the second is a lost effect.
///
/// **Instead:** a caller-provided token (AWS's client token), not a hash of the parameters.
// ANCHOR: payload_hash
pub async fn payload_hash(cx: Cx, req: Request) -> Response {
    let record = format!("dedup:{:016x}", req.fingerprint());
    let ttl = cx.key_ttl();
    in_transaction(&cx, &req, record, ttl).await
}
// ANCHOR_END: payload_hash

/// One line for `idemlab list`.
pub const RECOVERY_POINTS: &str = "atomic phases with recovery points: claim with a lease, commit the order, charge with a derived provider key, finish";

/// One line for `idemlab list`.
pub const CACHES_ERRORS: &str =
    "recovery-points that also stores a provider's 503 as the final answer and replays it for ever";

/// The `lease` option of `recovery-points` and `caches-errors`.
pub const LEASE_OPTION: OptionSpec = OptionSpec {
    name: "lease",
    kind: OptionKind::Duration,
    help: "how long a claim holds before a retry may take it over (default 100ms)",
};

/// Catalog rows 9 and 11: Brandur Leach's **atomic phases with recovery points**.
///
/// 1. Claim the key with a lease (`insert_if_absent`); a retry within the lease gets 409, a
///    retry after it takes the claim over (compare-and-set), a different payload gets 422, a
///    finished key replays its response.
/// 2. Phase one, one transaction: create the order and record the recovery point
///    `order-created` with its id. A retry that finds the recovery point reuses the order.
/// 3. The foreign call carries a provider key derived from ours, so repeating it charges once.
/// 4. Finish: store the response.
///
/// A crash at any point leaves a state the next attempt resumes from. **Breaks under:** a
/// retry after the key expired. As `caches-errors` (row 11) it also stores a 503 from the
/// provider as the final answer: the client is told "unavailable" for ever on that key, and
/// when it gives up and sends a new key, anything the 503 hid happens twice.
pub struct RecoveryPoints {
    name: &'static str,
    lease: SimDuration,
    store_errors: bool,
}

impl RecoveryPoints {
    /// Builds the design from its options; `store_errors` makes it `caches-errors`.
    pub fn new(name: &'static str, options: &Options, store_errors: bool) -> Self {
        RecoveryPoints {
            name,
            lease: duration_option(options, "lease").unwrap_or(SimDuration::from_millis(100)),
            store_errors,
        }
    }
}

impl Design for RecoveryPoints {
    fn name(&self) -> &str {
        self.name
    }
    fn summary(&self) -> &str {
        if self.store_errors {
            CACHES_ERRORS
        } else {
            RECOVERY_POINTS
        }
    }
    fn handle(&self, cx: Cx, req: Request) -> HandlerFuture {
        let (lease, store_errors) = (self.lease, self.store_errors);
        Box::pin(recovery_points(cx, req, lease, store_errors))
    }
}

// ANCHOR: recovery_points
async fn recovery_points(cx: Cx, req: Request, lease: SimDuration, store_errors: bool) -> Response {
    let Some(key) = req.idempotency_key() else {
        return Response::key_missing();
    };
    let idem = record(key);
    let point = format!("idem:{key}:order");
    let ttl = cx.key_ttl();
    let fingerprint = req.fingerprint();
    if let Some(early) = claim(&cx, &idem, fingerprint, lease, ttl).await {
        return early;
    }
    // Phase one: the order and its recovery point, committed together.
    let amount = req.amount();
    let order = cx
        .db()
        .transaction(|txn| {
            if let Some(id) = txn.get(&point).and_then(|v| v.as_int()) {
                return Ok::<u64, ()>(id as u64);
            }
            let id = txn.create_order(amount);
            txn.put_for(&point, Value::Int { value: id as i64 }, ttl);
            Ok(id)
        })
        .await
        .unwrap_or(0);
    // Phase two: the foreign call, keyed so that repeating it charges once.
    let response = match cx
        .payments()
        .charge_with_key(&format!("charge:{key}"), amount)
        .await
    {
        Ok(_) => Response::created(Body::Order(order)),
        Err(e) if store_errors => e.into(),
        Err(e) => {
            // Release the claim so that the retry runs again; the recovery point stays.
            cx.db().delete(&idem).await;
            return e.into();
        }
    };
    let done = Value::Completed {
        fingerprint,
        response,
    };
    cx.db().put_for(&idem, done, ttl).await;
    response
}
// ANCHOR_END: recovery_points

/// Claims `idem` as in progress with a lease: `None` when this attempt holds the claim and
/// should run (a fresh claim, or one taken over after its lease ran out), `Some(answer)`
/// otherwise (409 while another holds it, 422 for another payload, the stored response).
pub(crate) async fn claim(
    cx: &Cx,
    idem: &str,
    fingerprint: u64,
    lease: SimDuration,
    ttl: Option<SimDuration>,
) -> Option<Response> {
    let claim = Value::InProgress {
        fingerprint,
        since_us: cx.now().0,
    };
    match cx.db().insert_if_absent_for(idem, claim, ttl).await {
        Ok(()) => None,
        Err(existing) => take_over(cx, idem, existing, fingerprint, lease, ttl).await,
    }
}

/// What to do when the key is already there: `Some(answer)` to answer now, `None` when this
/// attempt took over an expired claim and should run.
async fn take_over(
    cx: &Cx,
    idem: &str,
    existing: Value,
    fingerprint: u64,
    lease: SimDuration,
    ttl: Option<SimDuration>,
) -> Option<Response> {
    match existing {
        Value::InProgress { fingerprint: f, .. } | Value::Completed { fingerprint: f, .. }
            if f != fingerprint =>
        {
            Some(Response::key_mismatch())
        }
        Value::Completed { response, .. } => Some(response),
        Value::InProgress { since_us, .. } if cx.now().0 >= since_us + lease.0 => {
            // The holder's lease ran out (it crashed, or is very slow): take the claim over.
            let fresh = Value::InProgress {
                fingerprint,
                since_us: cx.now().0,
            };
            match cx
                .db()
                .compare_and_set_for(idem, Some(&existing), fresh, ttl)
                .await
            {
                Ok(()) => None,
                Err(_) => Some(Response::key_in_use()),
            }
        }
        _ => Some(Response::key_in_use()),
    }
}
