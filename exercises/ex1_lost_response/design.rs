//! Exercise 1: make `POST /orders` safe to retry.
//!
//! This handler creates an order for every request it receives. When a response is lost, the
//! client retries and a second order appears. The client sends an `Idempotency-Key` header
//! (`req.idempotency_key()`): use it so that a retry gets the first order back instead of a
//! new one, and so that two copies of one request in flight at once cannot both create one.
//!
//! Hints: `cx.db().lock(..)`, `cx.db().transaction(|txn| ..)` with `txn.get`, `txn.put` and
//! `txn.create_order`; store the response as a `Value::Response` (`response.into()`).
//! Grade it: `cargo run --example ex1`.

use idemlab::handlers::api::{Body, Cx, Request, Response};

pub async fn handle(cx: Cx, req: Request) -> Response {
    let order = cx.db().create_order(req.amount()).await;
    Response::created(Body::Order(order))
}
