//! The wire between the live client and the service: each attempt's exchange on a connection of
//! its own, the plan's and the network's losses and delays applied on idemlab's side (by the
//! simulator's own rules, `world::net`), and what an exchange that ends becomes in the trace: an
//! answer the client sees, one lost on the way back, a refusal, or nothing.

use std::sync::Arc;
use std::time::Duration;

use super::http::{self, Failure, Outgoing};
use crate::fault::{Direction, MessageRef};
use crate::settings::RetryPolicy;
use crate::time::{SimDuration, SimTime};
use crate::trace::{Detail, EventKind, LossCause, Node};
use crate::vocab::{IdemKey, Response};
use crate::world::Received;

use super::live::*;

/// Whether `msg` is lost, and why: the simulated network's rule (`world::net::loss_cause`).
pub(super) fn loss(shared: &Shared, msg: MessageRef, now_us: u64) -> Option<LossCause> {
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
pub(super) fn latency(shared: &Shared, msg: MessageRef) -> SimDuration {
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
        live.log_lost((op, attempt, copy), key, false, cause);
        return None;
    }
    Some((response, latency(shared, msg)))
}

pub(super) async fn exchange_task(
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
    // No broker stands before a live service.
    let accepted = state.attempts.receive(attempt, response, false);
    state.received.push(Received {
        time_us: now,
        attempt,
        response,
        accepted,
    });
    if accepted {
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
