//! Two handler designs written outside idemlab, as a user would write their own: the seed's
//! `process_payment`, exactly as the pseudo-code has it, and a fix.

use idemlab::handlers::api::{Body, Cx, Request, Response, Value};

/// ```text
/// def process_payment(idempotency_key, amount):
///     if is_processed(idempotency_key):
///         return get_previous_result(idempotency_key)
///     result = charge_card(amount)
///     store_result(idempotency_key, result)
///     return result
/// ```
pub async fn process_payment(cx: Cx, req: Request) -> Response {
    let Some(key) = req.idempotency_key() else {
        return Response::key_missing();
    };
    let key = format!("payment:{key}");
    if let Some(previous) = cx.db().get(&key).await.and_then(|v| v.response()) {
        return previous;
    }
    let receipt = match cx.payments().charge(req.amount()).await {
        Ok(receipt) => receipt,
        Err(unavailable) => return unavailable.into(), // 503: nothing charged
    };
    let result = Response::created(Body::Receipt(receipt));
    cx.db().put(&key, result.into()).await;
    result
}

/// How long a claim protects an attempt in progress, in simulated microseconds.
const LEASE_US: u64 = 50_000;

/// The fix, in three moves:
/// 1. claim the key *before* charging, atomically, so two attempts cannot both proceed;
/// 2. charge with an idempotency key of the provider's, derived from ours, so a retry after a
///    crash charges nothing new;
/// 3. give the claim a lease, so a crashed attempt's claim can be taken over by a retry.
pub async fn process_payment_fixed(cx: Cx, req: Request) -> Response {
    let Some(key) = req.idempotency_key() else {
        return Response::key_missing();
    };
    let record = format!("payment:{key}");
    let now = cx.now().0;
    let claim = Value::InProgress {
        fingerprint: req.fingerprint(),
        since_us: now,
    };
    match cx.db().insert_if_absent(&record, claim.clone()).await {
        Ok(()) => {}
        Err(Value::Completed { response, .. }) => return response,
        Err(held @ Value::InProgress { since_us, .. }) if now >= since_us + LEASE_US => {
            if cx
                .db()
                .compare_and_set(&record, Some(&held), claim)
                .await
                .is_err()
            {
                return Response::key_in_use();
            }
        }
        Err(_) => return Response::key_in_use(),
    }
    let receipt = match cx
        .payments()
        .charge_with_key(&format!("card:{key}"), req.amount())
        .await
    {
        Ok(receipt) => receipt,
        Err(unavailable) => {
            // Release the claim so that the retry runs again; the provider charged nothing.
            cx.db().delete(&record).await;
            return unavailable.into();
        }
    };
    let result = Response::created(Body::Receipt(receipt));
    let done = Value::Completed {
        fingerprint: req.fingerprint(),
        response: result,
    };
    cx.db().put(&record, done).await;
    result
}
