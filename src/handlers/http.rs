//! HTTP resources: `POST` creates (not idempotent), `PUT` replaces and `DELETE` removes
//! (idempotent: the *effect* of N requests is the effect of one, though the *response* may
//! differ), `GET` reads (safe: no effect at all), `PATCH` changes relative to the current value
//! (not idempotent). Each request names its resource in the path: `/items/{n}`, see
//! [`Request::resource`].

use super::api::{Body, Cx, Request, Response, Value};

fn item(req: &Request) -> String {
    format!("item:{}", req.resource())
}

/// One line for `idemlab list`.
pub const NAIVE: &str = "POST creates an order and charges the card; no key: every retry that reaches the server charges again";

/// Catalog row 1, the naive `POST /orders`: create an order row, charge the card, answer 201.
///
/// **Breaks under:** a lost response (the client retries, the server charges again), a
/// duplicated request, a retry racing a slow first attempt, a crash after the order is created.
/// Every delivery of the request is a new order and a new charge.
///
/// **Instead:** require an idempotency key and record it with the effect
/// (`key-in-transaction`), or claim it before a foreign call (`recovery-points`).
// ANCHOR: naive
pub async fn naive(cx: Cx, req: Request) -> Response {
    let order = cx.db().create_order(req.amount()).await;
    if let Err(e) = cx.payments().charge(req.amount()).await {
        return e.into();
    }
    Response::created(Body::Order(order))
}
// ANCHOR_END: naive

/// One line for `idemlab list`.
pub const PUT: &str = "PUT /items/{n} replaces the value: a repeat changes nothing (201 first, 200 after: same effect, different response)";

/// Catalog row 2, `PUT /items/{n}` with the amount as the new value: an absolute write. The
/// first answers 201 (created), a repeat 200 (replaced, by the same value): the **same effect,
/// different response**, which the oracle counts separately and not as a failure.
///
/// **Breaks under:** none of the seven fault classes. Idempotent is not the same as safe
/// under reordering, though: two clients' `PUT`s with a delayed retry of the first can
/// overwrite the second (scenario `put-reordering`).
///
/// **Instead:** when writes from several clients race, make them conditional
/// (`conditional-write`).
// ANCHOR: put
pub async fn put(cx: Cx, req: Request) -> Response {
    let key = item(&req);
    let value = req.amount() as i64;
    let existed = cx.db().get(&key).await.is_some();
    cx.db().write(&key, Value::Int { value }).await;
    if existed {
        Response::ok(Body::Count(value))
    } else {
        Response::created(Body::Count(value))
    }
}
// ANCHOR_END: put

/// One line for `idemlab list`.
pub const DELETE: &str =
    "DELETE /items/{n}: 204 the first time, 404 on a repeat; the effect happens once";

/// `DELETE /items/{n}`: removes the item (204); a repeat finds it gone (404). The effect is
/// the same however many times it runs; the answer is not: **same effect, different
/// response**. A client that treats a 404 on a retried `DELETE` as failure misreads it.
///
/// **Breaks under:** nothing; its only surprise is the 404.
// ANCHOR: delete
pub async fn delete(cx: Cx, req: Request) -> Response {
    if cx.db().remove(&item(&req)).await {
        Response::no_content()
    } else {
        Response::not_found()
    }
}
// ANCHOR_END: delete

/// One line for `idemlab list`.
pub const GET: &str =
    "GET /items/{n} reads and changes nothing: safe, so any number of retries is harmless";

/// `GET /items/{n}`: reads the item (200 with its value; 0 when never written). **Safe**: it
/// makes no effect, so the oracle expects none.
pub async fn get(cx: Cx, req: Request) -> Response {
    let value = cx
        .db()
        .get(&item(&req))
        .await
        .and_then(|v| v.as_int())
        .unwrap_or(0);
    Response::ok(Body::Count(value))
}

/// One line for `idemlab list`.
pub const PATCH: &str =
    "PATCH /items/{n} adds the amount to the value: a relative change, each delivery adds again";

/// `PATCH /items/{n}` with `{"add": amount}`: a relative change.
///
/// **Breaks under:** every retry or duplicate that reaches the server: each adds again.
///
/// **Instead:** send the absolute value (`put`), or make the change conditional on a version
/// (`conditional-write`), or keyed.
pub async fn patch(cx: Cx, req: Request) -> Response {
    let n = cx.db().incr(&item(&req), req.amount() as i64).await;
    Response::ok(Body::Count(n))
}
