//! A solution to exercise 5: an inbox row in the order's transaction.

use idemlab::handlers::api::{Body, Cx, Request, Response, Value};

pub async fn handle(cx: Cx, req: Request) -> Response {
    let Some(id) = req.idempotency_key() else {
        return Response::key_missing();
    };
    let row = format!("inbox:{id}");
    let amount = req.amount();
    let answer = cx
        .db()
        .transaction(|txn| {
            if txn.get(&row).is_some() {
                return Ok::<Response, ()>(Response::ok(Body::Empty));
            }
            let order = txn.create_order(amount);
            txn.put(
                &row,
                Value::Int {
                    value: order as i64,
                },
            );
            Ok(Response::ok(Body::Order(order)))
        })
        .await;
    answer.unwrap_or_else(|()| Response::error(500, idemlab::handlers::api::ErrorCode::Internal))
}
