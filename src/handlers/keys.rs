//! Designs built on an idempotency key: the client sends one key per logical operation and
//! reuses it on every retry; the server remembers what it did for each key.

use super::api::{Body, Cx, Request, Response, Value};

/// One line for `idemlab list`.
pub const CHECK_THEN_ACT: &str = "the seed's process_payment: look up the key, charge, store the result; two attempts in flight both miss the key";

/// The seed's `process_payment`, exactly as written: look the key up; if absent, charge, then
/// store the result under the key.
///
/// ```text
/// if is_processed(key): return get_previous_result(key)
/// result = charge_card(amount)
/// store_result(key, result)
/// ```
///
/// **Breaks under:** two attempts in flight at once (a client timeout shorter than the
/// processing time): both look the key up before either stores it, both charge. Also a crash
/// between the charge and the store: the retry finds no key and charges again.
///
/// **Instead:** claim the key atomically *before* the charge (`atomic-key`), and for effects in
/// the outside world, record recovery points and pass a key to the provider.
pub async fn check_then_act(cx: Cx, req: Request) -> Response {
    let Some(key) = req.idempotency_key() else {
        return Response::key_missing();
    };
    let key = format!("idem:{key}");
    if let Some(previous) = cx.db().get(&key).await.and_then(|v| v.response()) {
        return previous;
    }
    let receipt = cx.payments().charge(req.amount()).await;
    let response = Response::created(Body::Receipt(receipt));
    cx.db().put(&key, response.into()).await;
    response
}

/// One line for `idemlab list`.
pub const ATOMIC_KEY: &str = "claims the key atomically before charging; 409 while in progress, 422 on a different payload, the stored response replayed";

/// Claim first: `insert_if_absent(key, in-progress)` before any effect, so that of two attempts
/// in flight exactly one proceeds. The other gets **409** while the first is in progress; a key
/// that comes back with a different payload gets **422**; a retry after completion gets the
/// stored response, replayed.
///
/// **Still breaks under:** a crash after the claim and before the response is stored: the key
/// stays in progress for ever, every retry gets 409, and the client ends in doubt (no duplicate
/// charge, but no answer either). The fix is a lease with recovery points; see the catalog.
/// Keys never expire here, so retries after an expiry are not modelled by this design.
pub async fn atomic_key(cx: Cx, req: Request) -> Response {
    let Some(key) = req.idempotency_key() else {
        return Response::key_missing();
    };
    let key = format!("idem:{key}");
    let fingerprint = req.fingerprint();
    let claim = Value::InProgress {
        fingerprint,
        since_us: cx.now().0,
    };
    if let Err(existing) = cx.db().insert_if_absent(&key, claim).await {
        return match existing {
            Value::InProgress { fingerprint: f, .. } | Value::Completed { fingerprint: f, .. }
                if f != fingerprint =>
            {
                Response::key_mismatch()
            }
            Value::Completed { response, .. } => response,
            _ => Response::key_in_use(),
        };
    }
    let receipt = cx.payments().charge(req.amount()).await;
    let response = Response::created(Body::Receipt(receipt));
    cx.db()
        .put(
            &key,
            Value::Completed {
                fingerprint,
                response,
            },
        )
        .await;
    response
}

/// One line for `idemlab list`.
pub const KEY_IN_TRANSACTION: &str =
    "key, order and stored response committed in one transaction; 422 on a different payload";

/// Catalog row 8: the key, the effect and the response are written in **one transaction**, so
/// there is no moment where one exists without the others. Two attempts in flight serialize on
/// the transaction: the second finds the key and replays the stored response. A crash before
/// the commit leaves nothing; after it, everything.
///
/// The effect here is local (an order row). **Breaks under:** nothing the kernel injects; a key
/// that expires before the client's last retry would (keys never expire in this design), and
/// an effect in the outside world cannot join the transaction (see `claim-with-lease`).
pub async fn key_in_transaction(cx: Cx, req: Request) -> Response {
    let Some(key) = req.idempotency_key() else {
        return Response::key_missing();
    };
    let key = format!("idem:{key}");
    let fingerprint = req.fingerprint();
    let amount = req.amount();
    cx.db()
        .transaction(|txn| {
            if let Some(existing) = txn.get(&key) {
                return Ok(match existing {
                    Value::Completed { fingerprint: f, .. } if f != fingerprint => {
                        Response::key_mismatch()
                    }
                    Value::Completed { response, .. } => response,
                    _ => Response::key_in_use(),
                });
            }
            let order = txn.create_order(amount);
            let response = Response::created(Body::Order(order));
            txn.put(
                &key,
                Value::Completed {
                    fingerprint,
                    response,
                },
            );
            Ok::<Response, ()>(response)
        })
        .await
        .unwrap_or_else(|()| Response::error(500, super::api::ErrorCode::Internal))
}

/// One line for `idemlab list`.
pub const CLAIM_WITH_LEASE: &str = "claims the key with a lease, charges with a provider key derived from it, takes over an expired claim";

/// How long a claim holds before another attempt may take it over, in microseconds.
pub const LEASE_US: u64 = 50_000;

/// Claim the key with a **lease**, make the foreign call with a **provider idempotency key
/// derived from ours**, then record the result. If the server crashes after the charge, the
/// claim stays in progress only until its lease runs out: the next retry takes it over
/// (compare-and-set on the old claim) and charges again with the same provider key, which the
/// provider answers with the same receipt and no second charge.
///
/// **Breaks under:** a lease shorter than the slowest legitimate attempt (two holders at once;
/// harmless here only because the provider deduplicates), and a provider without idempotency
/// keys. The lease is 50ms.
pub async fn claim_with_lease(cx: Cx, req: Request) -> Response {
    let Some(key) = req.idempotency_key() else {
        return Response::key_missing();
    };
    let idem = format!("idem:{key}");
    let fingerprint = req.fingerprint();
    let claim = Value::InProgress {
        fingerprint,
        since_us: cx.now().0,
    };
    if let Err(existing) = cx.db().insert_if_absent(&idem, claim.clone()).await {
        match existing {
            Value::InProgress { fingerprint: f, .. } | Value::Completed { fingerprint: f, .. }
                if f != fingerprint =>
            {
                return Response::key_mismatch();
            }
            Value::Completed { response, .. } => return response,
            Value::InProgress { since_us, .. } if cx.now().0 >= since_us + LEASE_US => {
                // The holder's lease ran out (it crashed, or is very slow): take the claim over.
                let fresh = Value::InProgress {
                    fingerprint,
                    since_us: cx.now().0,
                };
                if cx
                    .db()
                    .compare_and_set(&idem, Some(&existing), fresh)
                    .await
                    .is_err()
                {
                    return Response::key_in_use();
                }
            }
            _ => return Response::key_in_use(),
        }
    }
    let receipt = cx
        .payments()
        .charge_with_key(&format!("charge:{key}"), req.amount())
        .await;
    let response = Response::created(Body::Receipt(receipt));
    cx.db()
        .put(
            &idem,
            Value::Completed {
                fingerprint,
                response,
            },
        )
        .await;
    response
}
