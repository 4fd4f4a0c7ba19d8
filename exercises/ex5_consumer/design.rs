//! Exercise 5: a queue consumer that survives redelivery.
//!
//! The broker delivers each message at least once: when an ack is lost, or the consumer is
//! slower than the visibility timeout, the message comes again (maybe to the other consumer).
//! This consumer creates an order and acks (returns 200), every time. Make a redelivered
//! message create nothing new, and still be acked.
//!
//! Hints: the message id is `req.idempotency_key()`; record it in an inbox row *in the same
//! transaction* as the order. Grade it: `cargo run --example ex5`.

use idemlab::handlers::api::{Body, Cx, Request, Response};

pub async fn handle(cx: Cx, req: Request) -> Response {
    let order = cx.db().create_order(req.amount()).await;
    Response::ok(Body::Order(order))
}
