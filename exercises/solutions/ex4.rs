//! A solution to exercise 4: store the payload's fingerprint with the answer; a replay with
//! another fingerprint gets 422.

use idemlab::handlers::api::{Body, Cx, Request, Response, Value};

pub async fn handle(cx: Cx, req: Request) -> Response {
    let Some(key) = req.idempotency_key() else {
        return Response::key_missing();
    };
    let record = format!("idem:{key}");
    if let Err(locked) = cx.db().lock(&record).await {
        return locked.into();
    }
    let (amount, fingerprint) = (req.amount(), req.fingerprint());
    let answer = cx
        .db()
        .transaction(|txn| {
            if let Some(Value::Completed {
                fingerprint: f,
                response,
            }) = txn.get(&record)
            {
                return Ok::<Response, ()>(if f == fingerprint {
                    response
                } else {
                    Response::key_mismatch()
                });
            }
            let response = Response::created(Body::Order(txn.create_order(amount)));
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
    answer.unwrap_or_else(|()| Response::error(500, idemlab::handlers::api::ErrorCode::Internal))
}
