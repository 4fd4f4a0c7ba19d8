//! Exercise 4: a key that comes back with a different payload.
//!
//! This handler is correct for retries: it locks the key's row, and creates the order and
//! stores the answer in one transaction. But a client reused the key of its first order for a
//! second one with another amount, and the handler replayed the first answer: the client
//! believes its second order exists. The Idempotency-Key draft says: answer 422 when a key is
//! reused with a different payload.
//!
//! Hints: `req.fingerprint()`; store it with the answer (`Value::Completed { fingerprint,
//! response }`) and compare on a replay (`Response::key_mismatch()`).
//! Grade it: `cargo run --example ex4`.

use idemlab::handlers::api::{Body, Cx, Request, Response};

pub async fn handle(cx: Cx, req: Request) -> Response {
    let Some(key) = req.idempotency_key() else {
        return Response::key_missing();
    };
    let record = format!("idem:{key}");
    if let Err(locked) = cx.db().lock(&record).await {
        return locked.into();
    }
    let amount = req.amount();
    let answer = cx
        .db()
        .transaction(|txn| {
            if let Some(previous) = txn.get(&record).and_then(|v| v.response()) {
                return Ok::<Response, ()>(previous);
            }
            let response = Response::created(Body::Order(txn.create_order(amount)));
            txn.put(&record, response.into());
            Ok(response)
        })
        .await;
    answer.unwrap_or_else(|()| Response::error(500, idemlab::handlers::api::ErrorCode::Internal))
}
