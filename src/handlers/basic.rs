//! Designs with no idempotency at all: what happens when nobody thought about retries.

use super::api::{Body, Cx, Request, Response};

/// One line for `idemlab list`.
pub const NAIVE: &str = "POST creates an order and charges the card; no key: every retry that reaches the server charges again";

/// The naive `POST /orders`: create an order row, charge the card, answer 201.
///
/// **Breaks under:** a lost response (the client retries, the server charges again), a
/// duplicated request, a retry racing a slow first attempt, a crash after the charge. Every
/// delivery of the request is a new order and a new charge.
///
/// **Instead:** require an idempotency key and claim it atomically (`atomic-key`).
pub async fn naive(cx: Cx, req: Request) -> Response {
    let order = cx.db().create_order(req.amount()).await;
    cx.payments().charge(req.amount()).await;
    Response::created(Body::Order(order))
}

/// One line for `idemlab list`.
pub const COUNTER: &str =
    "UPDATE counter SET n = n + amount: not idempotent, every delivery adds again";

/// `UPDATE users SET count = count + 1`: a relative change, applied once per delivery.
///
/// **Breaks under:** any retry or duplicate that reaches the server; each adds again.
///
/// **Instead:** make the write absolute (`SET n = 42`), conditional on a version, or keyed.
pub async fn counter(cx: Cx, req: Request) -> Response {
    let n = cx.db().incr("counter", req.amount() as i64).await;
    Response::ok(Body::Count(n))
}
