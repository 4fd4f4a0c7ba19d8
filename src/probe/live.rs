//! The live run: the clients that play the scenario's workload against the service over real
//! HTTP, the fake payment provider the service calls, and the fault plan applied on idemlab's
//! side of the wire, keyed by the same identities as in the simulator.
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
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;

use super::ProbeConfig;
use super::http::{self, Failure, Outgoing};
use super::service::Served;
use crate::fate::{Decision, Fates, Identity};
use crate::fault::{Direction, FaultAtom, FaultPlan, MessageRef, When};
use crate::settings::{KeyPolicy, RetryPolicy, Scenario};
use crate::time::{SimDuration, SimTime};
use crate::trace::{CrashCause, Detail, EventKind, LossCause, Node, Outcome, TraceEvent};
use crate::vocab::{Body, EffectKind, ErrorCode, IdemKey, Response, StepKind};
use crate::world::{LedgerEntry, Received};

/// One logical operation as its client sees it.
pub(crate) struct LiveOp {
    pub op: u32,
    pub client: u16,
    pub amount: u64,
    pub start_us: u64,
    pub end_us: Option<u64>,
    pub outcome: Option<Outcome>,
    pub attempt: u32,
    pub waiting: bool,
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

    #[allow(clippy::too_many_arguments)]
    fn log(
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
    pub stripe: Mutex<super::stripe::State>,
}

impl Shared {
    pub fn lock(&self) -> std::sync::MutexGuard<'_, Live> {
        self.live.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn stripe(&self) -> std::sync::MutexGuard<'_, super::stripe::State> {
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

/// Runs operation `op` to its end, as its client does.
pub(crate) async fn run_op(shared: Arc<Shared>, op: u32) {
    let policy = shared.scenario.retry.clone();
    let wake = {
        let mut live = shared.lock();
        let now = live.now_us();
        let state = &mut live.ops[op as usize - 1];
        state.start_us = now;
        let client = state.client;
        let wake = Arc::clone(&state.wake);
        live.log(
            Node::Client(client),
            EventKind::OpStart,
            op,
            0,
            0,
            None,
            Detail::None,
        );
        wake
    };
    let mut prev_backoff = policy.backoff_base.0;
    loop {
        if stopping(&shared) {
            return;
        }
        let attempt = send_attempt(&shared, op);
        // Wait for an accepted answer or the attempt's timeout.
        let deadline = tokio::time::sleep(Duration::from_micros(policy.timeout.0));
        tokio::pin!(deadline);
        let answer = loop {
            tokio::select! {
                () = stop_requested(&shared) => return,
                () = wake.notified() => {
                    let mut live = shared.lock();
                    if let Some(r) = live.ops[op as usize - 1].pending.take() {
                        break Some(r);
                    }
                }
                () = &mut deadline => {
                    let mut live = shared.lock();
                    let state = &mut live.ops[op as usize - 1];
                    if let Some(r) = state.pending.take() {
                        break Some(r);
                    }
                    state.waiting = false;
                    let client = state.client;
                    live.timeouts += 1;
                    let key = key_for(&shared, op, attempt).map(|k| k.1);
                    live.log(Node::Client(client), EventKind::Timeout, op, attempt, 0, key, Detail::None);
                    break None;
                }
            }
        };
        match answer {
            Some(r) if r.is_success() => return finish(&shared, op, Outcome::Succeeded),
            Some(r) if !r.is_retryable() => return finish(&shared, op, Outcome::Failed),
            _ => {}
        }
        if attempt >= policy.attempts_max {
            let mut live = shared.lock();
            let client = live.ops[op as usize - 1].client;
            let key = key_for(&shared, op, attempt).map(|k| k.1);
            live.log(
                Node::Client(client),
                EventKind::GiveUp,
                op,
                attempt,
                0,
                key,
                Detail::None,
            );
            drop(live);
            return finish(&shared, op, Outcome::InDoubt);
        }
        // The simulated client's rule, drawn from the same fates.
        let delay =
            crate::world::client::backoff_us(&policy, &shared.fates, op, attempt, prev_backoff);
        prev_backoff = delay;
        {
            let mut live = shared.lock();
            let client = live.ops[op as usize - 1].client;
            live.log(
                Node::Client(client),
                EventKind::Retry,
                op,
                attempt,
                0,
                None,
                Detail::Backoff { delay_us: delay },
            );
        }
        tokio::select! {
            () = stop_requested(&shared) => return,
            () = tokio::time::sleep(Duration::from_micros(delay)) => {}
        }
    }
}

/// True when the run must end now: a signal arrived, or the service died on its own.
pub(crate) fn stopping(shared: &Shared) -> bool {
    crate::signals::watch().raised() || shared.lock().died.is_some()
}

/// Completes once the run must end (polled every 20 ms: a signal is answered well within a
/// second, whatever the client is waiting for).
async fn stop_requested(shared: &Shared) {
    while !stopping(shared) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn finish(shared: &Shared, op: u32, outcome: Outcome) {
    let mut live = shared.lock();
    let now = live.now_us();
    let state = &mut live.ops[op as usize - 1];
    state.outcome = Some(outcome);
    state.end_us = Some(now);
    state.waiting = false;
    let (client, attempt) = (state.client, state.attempt);
    live.log(
        Node::Client(client),
        EventKind::Done,
        op,
        attempt,
        0,
        None,
        Detail::Outcome(outcome),
    );
}

/// Sends the next attempt of `op` (and the network's copy of it, if the plan duplicates it):
/// each an exchange of its own, in the background. Returns the attempt's number.
fn send_attempt(shared: &Arc<Shared>, op: u32) -> u32 {
    let mut live = shared.lock();
    let state = &mut live.ops[op as usize - 1];
    state.attempt += 1;
    state.waiting = true;
    let attempt = state.attempt;
    let client = state.client;
    let key = key_for(shared, op, attempt);
    live.log(
        Node::Client(client),
        EventKind::Send,
        op,
        attempt,
        0,
        key.as_ref().map(|k| k.1),
        Detail::None,
    );
    let message = MessageRef::request(op, attempt);
    let mut copies = vec![0];
    if crate::world::net::duplicates(
        &shared.scenario.network,
        &shared.plan,
        &shared.fates,
        message,
    ) {
        live.log(
            Node::Net,
            EventKind::Duplicate,
            op,
            attempt,
            0,
            key.as_ref().map(|k| k.1),
            Detail::None,
        );
        copies.push(1);
    }
    let now = live.now_us();
    for copy in copies {
        let msg = MessageRef { copy, ..message };
        if let Some(cause) = loss(shared, msg, now) {
            live.log(
                Node::Net,
                EventKind::Lost,
                op,
                attempt,
                copy,
                key.as_ref().map(|k| k.1),
                Detail::Lost {
                    request: true,
                    cause,
                },
            );
            continue;
        }
        live.ops[op as usize - 1].open.push((attempt, copy));
        live.sent += 1;
        let request = Outgoing {
            method: shared.config.method.clone(),
            path: shared.config.path.clone(),
            headers: key
                .as_ref()
                .map(|(k, _)| vec![(shared.config.header.clone(), k.clone())])
                .unwrap_or_default(),
            body: body_for(shared, op, key.as_ref().map_or("", |k| k.0.as_str())),
        };
        let delay = latency(shared, msg);
        let task = Arc::clone(shared);
        tokio::spawn(async move {
            exchange_task(task, op, attempt, copy, request, delay).await;
        });
    }
    attempt
}

/// Whether `msg` is lost, and why: the simulated network's rule (`world::net::loss_cause`).
fn loss(shared: &Shared, msg: MessageRef, now_us: u64) -> Option<LossCause> {
    crate::world::net::loss_cause(
        &shared.scenario.network,
        &shared.plan,
        &shared.fates,
        msg,
        SimTime(now_us),
    )
}

/// How long `msg` spends on the simulated wire, on top of loopback's own: the simulated
/// network's rule (`world::net::latency`).
fn latency(shared: &Shared, msg: MessageRef) -> SimDuration {
    crate::world::net::latency(&shared.scenario.network, &shared.plan, &shared.fates, msg)
}

/// How long one exchange may wait for its answer, past which it is given up as silent.
fn exchange_limit(policy: &RetryPolicy) -> Duration {
    let horizon = policy
        .timeout
        .0
        .saturating_add(policy.backoff_cap.0)
        .saturating_mul(u64::from(policy.attempts_max));
    Duration::from_micros(horizon.clamp(2_000_000, 30_000_000))
}

/// Records how an exchange ended; the answer the client will see and how long the plan holds
/// it, or `None` when none reaches the client.
fn settle(
    shared: &Shared,
    (op, attempt, copy): (u32, u32, u32),
    key: Option<IdemKey>,
    result: Result<(u16, Vec<u8>), Failure>,
) -> Option<(Response, SimDuration)> {
    let idx = op as usize - 1;
    let mut live = shared.lock();
    live.ops[idx]
        .open
        .retain(|&(a, c)| (a, c) != (attempt, copy));
    let (status, bytes) = match result {
        Ok(answer) => answer,
        Err(Failure::Refused) => {
            live.log(
                Node::Server(0),
                EventKind::Refused,
                op,
                attempt,
                copy,
                key,
                Detail::None,
            );
            return None;
        }
        Err(Failure::Garbage(what)) => {
            live.garbage.get_or_insert(what);
            return None;
        }
        Err(Failure::Broken | Failure::Silent) => return None,
    };
    live.answered += 1;
    live.delivered += 1;
    live.ops[idx].raw.push(RawAnswer {
        attempt,
        copy,
        status,
        body: bytes.clone(),
    });
    let response = Response {
        status,
        body: body_of(&bytes),
    };
    let msg = MessageRef {
        dir: Direction::Response,
        op,
        attempt,
        copy,
    };
    if let Some(cause) = loss(shared, msg, live.now_us()) {
        // The service applied it and answered; the answer is read and thrown away.
        live.log(
            Node::Net,
            EventKind::Lost,
            op,
            attempt,
            copy,
            key,
            Detail::Lost {
                request: false,
                cause,
            },
        );
        return None;
    }
    Some((response, latency(shared, msg)))
}

async fn exchange_task(
    shared: Arc<Shared>,
    op: u32,
    attempt: u32,
    copy: u32,
    request: Outgoing,
    delay: SimDuration,
) {
    if delay.0 > 0 {
        tokio::time::sleep(Duration::from_micros(delay.0)).await;
    }
    let result = http::exchange(
        shared.target,
        &request,
        exchange_limit(&shared.scenario.retry),
    )
    .await;
    let idx = op as usize - 1;
    let key = key_for(&shared, op, attempt).map(|k| k.1);
    let Some((response, hold)) = settle(&shared, (op, attempt, copy), key, result) else {
        return;
    };
    if hold.0 > 0 {
        tokio::time::sleep(Duration::from_micros(hold.0)).await;
    }
    let mut live = shared.lock();
    let now = live.now_us();
    let state = &mut live.ops[idx];
    let accepted = state.outcome.is_none() && state.waiting && attempt == state.attempt;
    state.received.push(Received {
        time_us: now,
        attempt,
        response,
        accepted,
    });
    if accepted {
        state.waiting = false;
        state.pending = Some(response);
        state.wake.notify_one();
    }
    let client = state.client;
    live.log(
        Node::Client(client),
        if accepted {
            EventKind::Receive
        } else {
            EventKind::Late
        },
        op,
        attempt,
        copy,
        key,
        Detail::Response(response),
    );
}

/// The operation a provider call is for, from the reference the service passed along: one of
/// the workload's (a reference naming operation 0, or one past the last, names none).
pub(crate) fn op_of_reference(shared: &Shared, reference: &str) -> Option<u32> {
    let prefix = format!("{}-op", shared.run_id);
    let op: u32 = reference.strip_prefix(&prefix)?.parse().ok()?;
    (1..=shared.scenario.workload.ops)
        .contains(&op)
        .then_some(op)
}

/// Answers a provider call the provider refuses, and counts it by `reason` (shown in every
/// report: a service whose calls are all refused must not pass for one that charges nothing).
pub(crate) fn reject(shared: &Shared, reason: String) -> hyper::Response<Full<Bytes>> {
    let mut live = shared.lock();
    live.provider_calls += 1;
    *live.rejected.entry(reason.clone()).or_insert(0) += 1;
    http::json(400, &serde_json::json!({ "error": reason }))
}

/// The largest body of a provider call the provider reads.
pub(crate) const PROVIDER_BODY_MAX: usize = 64 * 1024;

/// `text` cut to a length a message can quote.
pub(crate) fn clip(text: &str) -> String {
    const MAX: usize = 80;
    if text.chars().count() <= MAX {
        text.to_string()
    } else {
        format!("{}…", text.chars().take(MAX).collect::<String>())
    }
}

/// The fake payment provider: `POST /charge` with `amount`, the reference field and an
/// optional provider `key`. Charges, answers a receipt, and applies the plan's faults on the
/// provider: a stalled call (`slow … charge`), a 503 (`unavailable`), a crash of the service
/// just before or after the charge.
pub(crate) async fn provider(shared: Arc<Shared>, listener: tokio::net::TcpListener) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let task = Arc::clone(&shared);
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                let task = Arc::clone(&task);
                async move {
                    // Stripe's API (`/v1/...`, what the official SDKs call) or idemlab's own
                    // (`POST /charge`): the same provider behind both.
                    let response = if request.uri().path().starts_with("/v1/") {
                        super::stripe::handle(task, request).await
                    } else {
                        charge(task, request).await
                    };
                    Ok::<_, std::convert::Infallible>(response)
                }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

async fn charge(
    shared: Arc<Shared>,
    request: hyper::Request<hyper::body::Incoming>,
) -> hyper::Response<Full<Bytes>> {
    let limited = http_body_util::Limited::new(request.into_body(), PROVIDER_BODY_MAX);
    let Ok(bytes) = limited.collect().await.map(|b| b.to_bytes()) else {
        return reject(
            &shared,
            format!("a call's body is unreadable or larger than {PROVIDER_BODY_MAX} bytes"),
        );
    };
    let Ok(call) = serde_json::from_slice::<serde_json::Value>(&bytes) else {
        return reject(&shared, "a call's body is not JSON".to_string());
    };
    let field = shared.config.reference_field.as_str();
    let Some(amount) = call.get("amount").and_then(serde_json::Value::as_u64) else {
        return reject(
            &shared,
            format!(
                "`amount` is missing or not a whole number of cents (got {})",
                call.get("amount")
                    .map_or("nothing".to_string(), |a| clip(&a.to_string()))
            ),
        );
    };
    let Some(reference) = call.get(field).and_then(serde_json::Value::as_str) else {
        return reject(
            &shared,
            format!("the call has no `{field}` string (--reference-field names it)"),
        );
    };
    let reference = reference.to_string();
    let provider_key = call
        .get("key")
        .and_then(serde_json::Value::as_str)
        .map(str::to_string);
    let Some(op) = op_of_reference(&shared, &reference) else {
        return reject(
            &shared,
            format!("no operation has the reference {:?}", clip(&reference)),
        );
    };
    match make_charge(&shared, op, amount, provider_key.as_deref()).await {
        Ok(receipt) => http::json(200, &serde_json::json!({ "receipt": receipt })),
        Err(Refusal::Rejected(why)) => reject(&shared, why),
        Err(Refusal::Crashed) => {
            http::json(503, &serde_json::json!({ "error": "the service crashed" }))
        }
        Err(Refusal::Unavailable) => {
            http::json(503, &serde_json::json!({ "error": "unavailable" }))
        }
    }
}

/// Why the provider made no charge.
pub(crate) enum Refusal {
    /// The call is not one the provider accepts (said, and counted by `reject`).
    Rejected(String),
    /// The plan crashed the service just before the charge.
    Crashed,
    /// The plan or the fates made the provider answer 503.
    Unavailable,
}

/// The provider's one effect: charges `amount` for `op` (once per `dedupe` key, when the call
/// has one), with the plan's faults around it: a crash of the service just before or after,
/// a stall, a 503. Both APIs (idemlab's `/charge` and Stripe's) charge through it. The receipt.
pub(crate) async fn make_charge(
    shared: &Arc<Shared>,
    op: u32,
    amount: u64,
    dedupe: Option<&str>,
) -> Result<u64, Refusal> {
    {
        // The sum of every charge must be exact: a charge that would overflow it is refused.
        let live = shared.lock();
        let total = live
            .ledger
            .iter()
            .filter(|e| e.kind == EffectKind::Charge)
            .try_fold(amount, |acc, e| acc.checked_add(e.amount));
        if total.is_none() {
            drop(live);
            return Err(Refusal::Rejected(
                "a charge would take the total past 2^64 - 1 cents".to_string(),
            ));
        }
    }
    let (attempt, copy, latency, slow) = {
        let mut live = shared.lock();
        live.provider_calls += 1;
        let calls = live.calls.entry(op).or_insert(0);
        *calls += 1;
        let nth = *calls;
        let state = &live.ops[op as usize - 1];
        let (attempt, copy) = state
            .open
            .iter()
            .min()
            .copied()
            .unwrap_or((state.attempt.max(1), 0));
        let range = shared.scenario.external.latency;
        let latency = shared.fates.between(
            Decision::ExternalLatency,
            Identity::step(op, attempt, copy, nth),
            range.min.0,
            range.max.0,
        );
        let slow = shared.plan.atoms.iter().fold(0u64, |acc, a| match *a {
            FaultAtom::Slow {
                op: o,
                attempt: at,
                step: StepKind::Charge,
                by,
                copy: c,
                ..
            } if o == op && at == attempt && c.is_none_or(|c| c == copy) => acc + by.0,
            _ => acc,
        });
        (attempt, copy, latency, slow)
    };
    if crash_point(shared, op, attempt, When::Before) {
        return Err(Refusal::Crashed);
    }
    tokio::time::sleep(Duration::from_micros(latency + slow)).await;
    let unavailable = shared.plan.atoms.iter().any(|a| {
        matches!(*a, FaultAtom::Unavailable { op: o, attempt: at, copy: c, .. }
            if o == op && at.is_none_or(|x| x == attempt) && c.is_none_or(|c| c == copy))
    }) || shared.fates.chance(
        Decision::Unavailable,
        Identity::step(op, attempt, copy, 0),
        shared.scenario.external.unavailable,
    );
    if unavailable {
        return Err(Refusal::Unavailable);
    }
    let receipt = {
        let mut live = shared.lock();
        let existing = dedupe.and_then(|k| live.provider_keys.get(k).copied());
        match existing {
            Some(r) => r,
            None => {
                live.receipts += 1;
                let receipt = live.receipts;
                if let Some(k) = dedupe {
                    live.provider_keys.insert(k.to_string(), receipt);
                }
                let time_us = live.now_us();
                live.ledger.push(LedgerEntry {
                    time_us,
                    op,
                    kind: EffectKind::Charge,
                    amount,
                });
                let nth = live
                    .ledger
                    .iter()
                    .filter(|e| e.op == op && e.kind == EffectKind::Charge)
                    .count() as u32;
                live.log(
                    Node::Provider,
                    EventKind::Effect,
                    op,
                    attempt,
                    copy,
                    None,
                    Detail::Effect {
                        kind: EffectKind::Charge,
                        amount,
                        nth,
                    },
                );
                receipt
            }
        }
    };
    crash_point(shared, op, attempt, When::After);
    Ok(receipt)
}

/// Kills the service (SIGKILL) if the plan crashes it at this provider call of `op`'s
/// `attempt`, and starts it again after the restart delay. True if it did.
fn crash_point(shared: &Arc<Shared>, op: u32, attempt: u32, when: When) -> bool {
    let hit = {
        let mut live = shared.lock();
        let i = shared.plan.atoms.iter().enumerate().position(|(i, a)| {
            !live.fired[i]
                && matches!(*a, FaultAtom::CrashAtStep { op: o, attempt: at, when: w, step: StepKind::Charge, .. }
                    if o == op && at.is_none_or(|x| x == attempt) && w == when)
        });
        if let Some(i) = i {
            live.fired[i] = true;
            let cause = match when {
                When::Before => CrashCause::Before(StepKind::Charge),
                When::After => CrashCause::After(StepKind::Charge),
            };
            live.log(
                Node::Server(0),
                EventKind::Crash,
                op,
                attempt,
                0,
                None,
                Detail::Crash(cause),
            );
        }
        i.is_some()
    };
    if hit {
        crash_and_restart(shared);
    }
    hit
}

/// SIGKILL now; a restart after the scenario's restart delay, in the background.
pub(crate) fn crash_and_restart(shared: &Arc<Shared>) {
    let Some(served) = shared.served.clone() else {
        return;
    };
    served.kill();
    let delay = Duration::from_micros(shared.scenario.server.restart_delay.0);
    let task = Arc::clone(shared);
    tokio::spawn(async move {
        tokio::time::sleep(delay).await;
        let restarted = tokio::task::spawn_blocking(move || served.restart()).await;
        let mut live = task.lock();
        if matches!(restarted, Ok(Ok(()))) {
            live.log(
                Node::Server(0),
                EventKind::Restart,
                crate::trace::NO_OP,
                0,
                0,
                None,
                Detail::None,
            );
        }
    });
}
