//! Exercise 3: the crash window of `process_payment`.
//!
//! This is the seed's `process_payment`: look the key up, charge the card, store the result.
//! The charge happens at the payment provider, outside your database: no transaction can
//! include it. If the server crashes after the charge and before the store, the retry finds
//! no key and charges again. Make the charge happen once whatever crashes.
//!
//! Hints: the provider takes its own idempotency key (`cx.payments().charge_with_key`); claim
//! the key before charging (`insert_if_absent` with `Value::InProgress`) and let a retry take
//! over a claim whose holder is gone (`compare_and_set` once the claim is old enough), or hold
//! a row lock (`cx.db().lock`), which a crash releases. Grade it: `cargo run --example ex3`.

use idemlab::handlers::api::{Body, Cx, Request, Response};

pub async fn handle(cx: Cx, req: Request) -> Response {
    let Some(key) = req.idempotency_key() else {
        return Response::key_missing();
    };
    let record = format!("idem:{key}");
    if let Some(previous) = cx.db().get(&record).await.and_then(|v| v.response()) {
        return previous;
    }
    let receipt = match cx.payments().charge(req.amount()).await {
        Ok(receipt) => receipt,
        Err(unavailable) => return unavailable.into(),
    };
    let response = Response::created(Body::Receipt(receipt));
    cx.db().put(&record, response.into()).await;
    response
}
