//! Database operations from the topic: `UPDATE users SET status = 'active'` (idempotent) vs
//! `UPDATE users SET count = count + 1` (not), and the two ways a database makes a write safe to
//! repeat without a key table: a **conditional write** on a version (`If-Match`, 412 on a
//! mismatch) and a **unique business key** in the effect's own transaction.

use super::api::{Body, Cx, Request, Response, Value};

/// One line for `idemlab list`.
pub const SET_STATUS: &str =
    "UPDATE users SET status = 'active' WHERE id = n: absolute, a repeat changes nothing";

/// `UPDATE users SET status = 'active' WHERE id = n`: an absolute write; repeating it leaves
/// the row as it was. The idempotent half of the topic's SQL pair.
///
/// **Breaks under:** none of the seven fault classes.
// ANCHOR: set_status
pub async fn set_status(cx: Cx, req: Request) -> Response {
    let row = format!("users:{}:status", req.resource());
    cx.db()
        .write(
            &row,
            Value::Text {
                value: "active".to_string(),
            },
        )
        .await;
    Response::ok(Body::Empty)
}
// ANCHOR_END: set_status

/// One line for `idemlab list`.
pub const COUNTER: &str =
    "UPDATE counter SET n = n + amount: not idempotent, every delivery adds again";

/// `UPDATE users SET count = count + 1`: a relative change, applied once per delivery. The
/// other half of the topic's SQL pair.
///
/// **Breaks under:** any retry or duplicate that reaches the server; each adds again.
///
/// **Instead:** make the write absolute (`set-status`), conditional on a version
/// (`conditional-write`), or keyed.
// ANCHOR: counter
pub async fn counter(cx: Cx, req: Request) -> Response {
    let n = cx.db().incr("counter", req.amount() as i64).await;
    Response::ok(Body::Count(n))
}
// ANCHOR_END: counter

/// One line for `idemlab list`.
pub const CONDITIONAL_WRITE: &str = "balance -= amount If-Match: v0 (compare-and-set on a version); a repeat gets 412 and the client must re-read";

/// Catalog row 3: `balance -= amount` with `If-Match: v0` (the version the client read). The
/// write happens only if the version is still 0; otherwise **412 Precondition Failed** and
/// nothing changes. A repeat can never apply twice.
///
/// **The catch (~):** a retry after a lost response gets 412, not the first answer. The client
/// must re-read and decide; a client that re-reads and re-applies blindly debits twice.
// ANCHOR: conditional_write
pub async fn conditional_write(cx: Cx, req: Request) -> Response {
    let key = format!("balance:{}", req.resource());
    match cx
        .db()
        .write_if_version(&key, 0, -(req.amount() as i64))
        .await
    {
        Ok(version) => Response::ok(Body::Count(version as i64)),
        Err(_) => Response::precondition_failed(),
    }
}
// ANCHOR_END: conditional_write

/// One line for `idemlab list`.
pub const BUSINESS_KEY: &str = "the order number is a unique column in the order's own transaction; a repeat gets 409 already-exists";

/// Catalog row 4: the client's key is the order's business key (its order number), a unique
/// column written in the **same transaction** as the order. A repeat cannot create a second
/// order; it gets **409 already-exists** (final: look the order up).
///
/// **The catch (~):** the retry after a lost response gets 409, not the order. And a corrected
/// payload under the same business key is refused, not applied.
// ANCHOR: business_key
pub async fn business_key(cx: Cx, req: Request) -> Response {
    let Some(key) = req.idempotency_key() else {
        return Response::key_missing();
    };
    let unique = format!("order-number:{key}");
    let amount = req.amount();
    cx.db()
        .transaction(|txn| {
            if txn.get(&unique).is_some() {
                return Err(());
            }
            let order = txn.create_order(amount);
            txn.put(
                &unique,
                Value::Int {
                    value: order as i64,
                },
            );
            Ok(order)
        })
        .await
        .map_or_else(
            |()| Response::already_exists(),
            |order| Response::created(Body::Order(order)),
        )
}
// ANCHOR_END: business_key
