//! The live client: each of the scenario's clients plays its operations against the service,
//! one after another, as the simulated client does (`world::client`): it sends an attempt (and
//! the network's copy, if the plan duplicates it), waits for the answer to that attempt or its
//! timeout, retries after the simulator's backoff, and gives up when the attempts run out. Every
//! one of those decisions is the simulator's state machine's (`world::client::Attempts`): this
//! file is only its transport (real sockets, real timers). A signal, or the service's death,
//! ends it within 20 ms.

use std::sync::Arc;
use std::time::Duration;

use super::http::Outgoing;
use crate::fault::MessageRef;
use crate::trace::{Detail, EventKind, Node, Outcome};
use crate::world::client::{Next, RetryCx};

use super::live::*;
use super::wire::{exchange_task, latency, loss};

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
    let cx = RetryCx {
        policy: &policy,
        fates: &shared.fates,
        op,
        behind_broker: false,
    };
    loop {
        if stopping(&shared) {
            return;
        }
        let attempt = send_attempt(&shared, op);
        // Wait for an accepted answer or the attempt's timeout; the simulator's state machine
        // decides what either leads to.
        let deadline = tokio::time::sleep(Duration::from_micros(policy.timeout.0));
        tokio::pin!(deadline);
        let next = loop {
            tokio::select! {
                () = stop_requested(&shared) => return,
                () = wake.notified() => {
                    let mut live = shared.lock();
                    let state = &mut live.ops[op as usize - 1];
                    if let Some(r) = state.pending.take() {
                        break state.attempts.decide(r, cx);
                    }
                }
                () = &mut deadline => {
                    let mut live = shared.lock();
                    let state = &mut live.ops[op as usize - 1];
                    if let Some(r) = state.pending.take() {
                        break state.attempts.decide(r, cx);
                    }
                    // Nothing accepted, so the client still waits for this attempt.
                    let counts = state.attempts.timeout(attempt);
                    debug_assert!(counts, "op {op}: a timeout with no answer taken must count");
                    let next = state.attempts.after_failure(cx);
                    let client = state.client;
                    live.timeouts += 1;
                    let key = key_for(&shared, op, attempt).map(|k| k.1);
                    live.log(Node::Client(client), EventKind::Timeout, op, attempt, 0, key, Detail::None);
                    break next;
                }
            }
        };
        let delay = match next {
            Next::Finish(outcome) => return finish(&shared, op, outcome),
            // No broker stands before a live service: the attempts running out is giving up.
            Next::GiveUp | Next::DeadLetter | Next::Wait => {
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
            Next::Retry { delay_us } => delay_us,
        };
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
    state.attempts.finish(outcome);
    state.end_us = Some(now);
    let (client, attempt) = (state.client, state.attempts.attempt);
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
    let attempt = state.attempts.send();
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
            live.log_lost((op, attempt, copy), key.as_ref().map(|k| k.1), true, cause);
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
