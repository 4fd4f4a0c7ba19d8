//! The live run's state, which its parts share behind one lock: the operations as their clients
//! see them, the trace, the ledger and the counts (`Live`, `Shared`), and the request's shape
//! (its key, its body, its answer read back). The parts are one file each: `client` (the
//! clients' loop), `wire` (each exchange and the faults on idemlab's side of it), `provider`
//! (the fake payment provider; `stripe`, its Stripe face) and `crash` (SIGKILL and restart).
//!
//! The client's decisions are the simulator's own functions, not copies: the key an attempt
//! carries (`world::client::key_for`), the backoff and its jitter (`world::client::backoff_us`),
//! and the wire's loss, latency and duplication (`world::net::loss_cause`, `latency`,
//! `duplicates`), all drawn from the same fates; a change to a rule changes both transports.
//! The loop follows the simulator's client (`world::client`): it accepts only the answer
//! to its current attempt while it waits for it; an answer after the attempt timed out is late;
//! a 2xx ends the operation, a retryable answer (409, 429, 5xx) or a timeout means a retry after
//! the policy's backoff (the same jitter, drawn from the same fates), and when the attempts run
//! out the operation is in doubt. A request to a service that is down is refused silently, as
//! in the simulator: the client learns of it only by its timeout.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use super::ProbeConfig;
use super::service::Served;
use crate::fate::Fates;
use crate::fault::FaultPlan;
use crate::settings::{KeyPolicy, Scenario};
use crate::trace::{Detail, EventKind, Node, TraceEvent};
use crate::vocab::{Body, ErrorCode, IdemKey, Response};
use crate::world::client::Attempts;
use crate::world::{LedgerEntry, Received};

/// One logical operation as its client sees it.
pub(crate) struct LiveOp {
    pub op: u32,
    pub client: u16,
    pub amount: u64,
    pub start_us: u64,
    pub end_us: Option<u64>,
    /// The client's decisions about it: the simulator's own state machine.
    pub attempts: Attempts,
    pub received: Vec<Received>,
    /// Attempts whose exchanges are still open, for attributing the provider's calls.
    pub open: Vec<(u32, u32)>,
    /// The answer the client accepted and has not acted on yet.
    pub pending: Option<Response>,
    pub wake: Arc<tokio::sync::Notify>,
    /// Every answer the service gave, as it came on the wire (lost ones too).
    pub raw: Vec<RawAnswer>,
}

/// One answer of the service to one attempt's copy, byte for byte.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawAnswer {
    /// The attempt it answers.
    pub attempt: u32,
    /// 0, or 1 for the network's duplicate.
    pub copy: u32,
    /// The HTTP status.
    pub status: u16,
    /// The body.
    pub body: Vec<u8>,
}

/// Everything the live run records, behind one lock.
pub(crate) struct Live {
    pub t0: Instant,
    pub ops: Vec<LiveOp>,
    pub trace: Vec<TraceEvent>,
    pub ledger: Vec<LedgerEntry>,
    pub timeouts: u64,
    pub delivered: u64,
    /// Calls the provider received, charged or not.
    pub provider_calls: u64,
    /// Receipts by provider key, for a provider that deduplicates.
    pub provider_keys: BTreeMap<String, u64>,
    pub receipts: u64,
    /// Calls per operation, for the fates of the provider's latency.
    pub calls: BTreeMap<u32, u32>,
    /// The first answer that was not HTTP, if one came.
    pub garbage: Option<String>,
    /// How many exchanges got an HTTP answer.
    pub answered: u64,
    /// How many exchanges were sent.
    pub sent: u64,
    /// Crash atoms that have fired (each fires once).
    pub fired: Vec<bool>,
    /// Provider calls refused, by reason.
    pub rejected: BTreeMap<String, u64>,
    /// Set when the service died on its own: how, with its last lines.
    pub died: Option<String>,
}

impl Live {
    pub fn now_us(&self) -> u64 {
        self.t0.elapsed().as_micros() as u64
    }

    /// Logs that the network lost `op`'s `attempt` (copy `copy`): its request, or its answer.
    pub(crate) fn log_lost(
        &mut self,
        (op, attempt, copy): (u32, u32, u32),
        key: Option<IdemKey>,
        request: bool,
        cause: crate::trace::LossCause,
    ) {
        self.log(
            Node::Net,
            EventKind::Lost,
            op,
            attempt,
            copy,
            key,
            Detail::Lost { request, cause },
        );
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn log(
        &mut self,
        node: Node,
        kind: EventKind,
        op: u32,
        attempt: u32,
        copy: u32,
        key: Option<IdemKey>,
        detail: Detail,
    ) {
        let time_us = self.now_us();
        self.trace.push(TraceEvent {
            time_us,
            op,
            attempt: attempt.min(u32::from(u16::MAX)) as u16,
            copy: copy.min(255) as u8,
            kind,
            node,
            key,
            detail,
        });
    }
}

/// What every task of the live run shares.
pub(crate) struct Shared {
    pub live: Mutex<Live>,
    pub plan: FaultPlan,
    pub scenario: Scenario,
    pub config: ProbeConfig,
    pub fates: Fates,
    pub target: SocketAddr,
    pub served: Option<Arc<Served>>,
    pub run_id: String,
    /// The key the trace shows for each operation (its operation and attempt), as the
    /// simulator mints it.
    pub key_policy: KeyPolicy,
    /// The Stripe-shaped provider's objects and idempotency keys.
    pub stripe: Mutex<super::stripe_state::State>,
}

impl Shared {
    pub fn lock(&self) -> std::sync::MutexGuard<'_, Live> {
        self.live.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn stripe(&self) -> std::sync::MutexGuard<'_, super::stripe_state::State> {
        self.stripe.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The key header `op`'s attempt sends, as text and as the trace shows it: the simulated
/// client's key (`world::client::key_for`, the same rule), behind this run's prefix.
pub(crate) fn key_for(shared: &Shared, op: u32, attempt: u32) -> Option<(String, IdemKey)> {
    let id =
        crate::world::client::key_for(shared.key_policy, &shared.scenario.workload, op, attempt)?;
    Some((format!("{}-{id}", shared.run_id), id))
}

/// The request of `op`: the body template with its fields.
pub(crate) fn body_for(shared: &Shared, op: u32, key: &str) -> String {
    let w = &shared.scenario.workload;
    let reference = format!("{}-op{op}", shared.run_id);
    shared
        .config
        .body
        .replace("{amount}", &w.amount_of(op).to_string())
        .replace("{reference}", &reference)
        .replace("{op}", &op.to_string())
        .replace("{item}", &w.item_of(op).to_string())
        .replace(
            "{version}",
            &w.version_of(op)
                .map_or("null".to_string(), |v| v.to_string()),
        )
        .replace("{key}", key)
}

/// An answer's body as the vocabulary's: an order, a receipt, an error code, or nothing.
pub(crate) fn body_of(bytes: &[u8]) -> Body {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(bytes) else {
        return Body::Empty;
    };
    if let Some(order) = value.get("order").and_then(serde_json::Value::as_u64) {
        return Body::Order(order);
    }
    if let Some(receipt) = value.get("receipt").and_then(serde_json::Value::as_u64) {
        return Body::Receipt(receipt);
    }
    if let Some(code) = value.get("error").and_then(serde_json::Value::as_str) {
        let known = ErrorCode::ALL
            .iter()
            .copied()
            .find(|c| Body::Error(*c).to_string() == code);
        return Body::Error(known.unwrap_or(ErrorCode::Internal));
    }
    Body::Empty
}
