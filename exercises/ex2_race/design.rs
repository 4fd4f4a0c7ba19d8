//! Exercise 2: close the race between the check and the act.
//!
//! This handler looks the key up and, if it is absent, creates the order and stores the key in
//! one transaction. That survives lost responses and crashes, but not a retry that arrives
//! while the first attempt is still between its lookup and its commit (a client timeout shorter
//! than a slow commit): both miss the key, both create an order. Make the racing attempt wait
//! its turn (answer 409: the client retries) or find the key.
//!
//! Hints: a row lock (`cx.db().lock`) taken before the lookup, or an atomic claim
//! (`cx.db().insert_if_absent`). Grade it: `cargo run --example ex2`.

use idemlab::handlers::api::{Body, Cx, Request, Response};

pub async fn handle(cx: Cx, req: Request) -> Response {
    let Some(key) = req.idempotency_key() else {
        return Response::key_missing();
    };
    let record = format!("idem:{key}");
    if let Some(previous) = cx.db().get(&record).await.and_then(|v| v.response()) {
        return previous;
    }
    let amount = req.amount();
    let answer = cx
        .db()
        .transaction(|txn| {
            let response = Response::created(Body::Order(txn.create_order(amount)));
            txn.put(&record, response.into());
            Ok::<Response, ()>(response)
        })
        .await;
    answer.unwrap_or_else(|()| Response::error(500, idemlab::handlers::api::ErrorCode::Internal))
}
