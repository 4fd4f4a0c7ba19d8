//! Message-queue consumers. Behind a broker (`[broker]` in a scenario) a request is a
//! delivered message, its key is the message id, and the response is the consumer's **ack**:
//! a message not acked within the visibility timeout is delivered again, possibly to another
//! consumer while the first still works, until `max_receives` sends it to the dead-letter
//! queue. Delivery is at least once; these designs differ in what they make of that.

use super::api::{Body, Cx, Request, Response, Value};

/// One line for `idemlab list`.
pub const ACK_FIRST: &str =
    "acks the message, then processes it: at-most-once, a crash after the ack loses the message";

/// Catalog row 15, **ack before processing** (Kafka's commit-then-process): at most once.
///
/// **Breaks under:** a crash after the ack (the message is gone, the effect never happens);
/// a lost ack or a duplicate delivery (processed again: nothing deduplicates).
///
/// **Instead:** process, then ack, with an inbox (`inbox`).
// ANCHOR: ack_first
pub async fn ack_first(cx: Cx, req: Request) -> Response {
    cx.ack().await;
    // Then the very processing of `process-then-ack`; its answer goes nowhere.
    process_then_ack(cx, req).await
}
// ANCHOR_END: ack_first

/// One line for `idemlab list`.
pub const PROCESS_THEN_ACK: &str = "processes the message, then acks: at-least-once with no deduplication, every redelivery processes again";

/// Catalog row 16, **process then ack, no deduplication**: at least once.
///
/// **Breaks under:** a lost ack, a duplicate delivery, processing longer than the visibility
/// timeout (a second consumer gets the message while the first still works), a crash before
/// the ack: each processes the message again.
///
/// **Instead:** record the message id with the effect (`inbox`).
// ANCHOR: process_then_ack
pub async fn process_then_ack(cx: Cx, req: Request) -> Response {
    let order = cx.db().create_order(req.amount()).await;
    if let Err(e) = cx.payments().charge(req.amount()).await {
        return e.into();
    }
    Response::ok(Body::Order(order))
}
// ANCHOR_END: process_then_ack

/// One line for `idemlab list`.
pub const INBOX: &str = "records the message id in the effect's transaction (the inbox), then acks; a redelivery finds it and only acks";

/// Catalog row 17, the **inbox**: the message id is recorded in the same transaction as the
/// effect; a redelivery finds it and just acks. Messages that fail `max_receives` times go to
/// the dead-letter queue.
///
/// **Breaks under:** a redelivery after the inbox row was pruned (the scenario's
/// `server.key_ttl`; a DLQ redriven days later); a message id reused for another payload is
/// acked without processing.
// ANCHOR: inbox
pub async fn inbox(cx: Cx, req: Request) -> Response {
    let Some(id) = req.idempotency_key() else {
        return Response::key_missing();
    };
    let row = format!("inbox:{id}");
    let (amount, ttl) = (req.amount(), cx.key_ttl());
    cx.db()
        .transaction(|txn| {
            // A redelivery finds its row and acks with the same answer as the first time.
            if let Some(order) = txn.get(&row).and_then(|v| v.as_int()) {
                return Ok::<Response, ()>(Response::ok(Body::Order(order as u64)));
            }
            let order = txn.create_order(amount);
            txn.put_for(
                &row,
                Value::Int {
                    value: order as i64,
                },
                ttl,
            );
            Ok(Response::ok(Body::Order(order)))
        })
        .await
        .unwrap_or_else(|()| Response::error(500, super::api::ErrorCode::Internal))
}
// ANCHOR_END: inbox

/// One line for `idemlab list`.
pub const OUTBOX_INBOX: &str = "inbox plus an outbox row in the same transaction; a relay publishes the event with its id, at least once, to a deduplicating consumer";

/// Catalog row 18, **outbox relay + inbox consumer**. In one transaction: the inbox row, the
/// order, and an outbox row holding the event to publish. A relay then publishes the event
/// with its id (here: a charge keyed by the event id, which the downstream consumer
/// deduplicates) and marks the outbox row sent. A relay that crashes before marking it sent
/// publishes again on the next delivery: harmless only because every consumer deduplicates.
///
/// **Breaks under:** what breaks `inbox`: pruned inbox rows, a reused message id.
pub async fn outbox_inbox(cx: Cx, req: Request) -> Response {
    let Some(id) = req.idempotency_key() else {
        return Response::key_missing();
    };
    let row = format!("inbox:{id}");
    let outbox = format!("outbox:{id}");
    let (amount, ttl) = (req.amount(), cx.key_ttl());
    let order = cx
        .db()
        .transaction(|txn| {
            if let Some(order) = txn.get(&row).and_then(|v| v.as_int()) {
                return Ok::<u64, ()>(order as u64);
            }
            let order = txn.create_order(amount);
            txn.put_for(
                &row,
                Value::Int {
                    value: order as i64,
                },
                ttl,
            );
            txn.put(&outbox, Value::Int { value: 0 });
            Ok(order)
        })
        .await
        .unwrap_or(0);
    // The relay: publish every unsent event, then mark it sent.
    if cx.db().get(&outbox).await == Some(Value::Int { value: 0 }) {
        if let Err(e) = cx
            .payments()
            .charge_with_key(&format!("event:{id}"), amount)
            .await
        {
            return e.into();
        }
        cx.db().put(&outbox, Value::Int { value: 1 }).await;
    }
    Response::ok(Body::Order(order))
}
