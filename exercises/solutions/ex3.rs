//! A solution to exercise 3: a row lock (released by a crash) serializes attempts, and the
//! charge carries a provider key derived from ours, so a retry after a crash charges nothing
//! new and gets the same receipt.

use idemlab::handlers::api::{Body, Cx, Request, Response};

pub async fn handle(cx: Cx, req: Request) -> Response {
    let Some(key) = req.idempotency_key() else {
        return Response::key_missing();
    };
    let record = format!("idem:{key}");
    if let Err(locked) = cx.db().lock(&record).await {
        return locked.into();
    }
    if let Some(previous) = cx.db().get(&record).await.and_then(|v| v.response()) {
        return previous;
    }
    let receipt = match cx
        .payments()
        .charge_with_key(&format!("charge:{key}"), req.amount())
        .await
    {
        Ok(receipt) => receipt,
        Err(unavailable) => return unavailable.into(),
    };
    let response = Response::created(Body::Receipt(receipt));
    cx.db().put(&record, response.into()).await;
    response
}
