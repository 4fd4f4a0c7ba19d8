//! A solution to exercise 2: the same transaction, behind a row lock and with the lookup
//! inside it.

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
