//! Clients: each runs its share of the workload's logical operations one after another, sends
//! attempts, times them out, and retries with backoff and jitter, minting idempotency keys by the
//! scenario's key policy.
//!
//! A client accepts only the response to its *current* attempt; a response to an attempt it
//! timed out is late (its connection is gone), recorded but not acted on. When the attempts run
//! out without a final answer, the operation is **in doubt**: the client cannot know whether it
//! took effect.

use crate::fate::{Decision, Fates, Identity};
use crate::settings::{Backoff, Jitter, KeyPolicy, RetryPolicy, Scenario, Workload};
use crate::time::{SimDuration, SimTime};
use crate::trace::{Detail, EventKind, Node, Outcome};
use crate::vocab::{IdemKey, Request, Response};

use super::{Ev, OpRecord, Received, Responses, World};

/// A logical operation as its client sees it.
#[derive(Clone, Debug)]
pub(crate) struct OpState {
    pub op: u32,
    pub client: u16,
    pub amount: u64,
    pub start: SimTime,
    pub end: Option<SimTime>,
    pub attempt: u32,
    pub outcome: Option<Outcome>,
    pub received: Responses,
    /// The previous backoff, for decorrelated jitter.
    pub prev_backoff: SimDuration,
    /// Attempts before the current round: a redriven message gets `max_receives` again.
    pub base_attempt: u32,
    /// True once the operation first finished (the client has moved on to its next one).
    pub moved_on: bool,
    /// The first final answer a server sent, and whether a later one differed.
    pub answer: Option<Response>,
    pub answers_differ: bool,
    /// A hash of the free-form fields of the operation's payload (0: none).
    pub fields: u32,
    /// True while the client waits for the answer to its current attempt: from the send
    /// until the attempt times out or an answer is accepted. An answer that arrives after its
    /// attempt timed out (during the backoff, say) is late: the client has already decided to
    /// retry, and acting on it too would send a retry for an operation it reports done.
    pub waiting: bool,
}

impl OpState {
    /// Every operation of the workload, dealt to clients round-robin.
    pub fn plan(scenario: &Scenario) -> Vec<OpState> {
        let clients = u32::from(scenario.workload.clients);
        (0..scenario.workload.ops)
            .map(|i| OpState {
                op: i + 1,
                client: (i % clients) as u16,
                amount: scenario.workload.amount_of(i + 1),
                start: SimTime::ZERO,
                end: None,
                attempt: 0,
                outcome: None,
                received: Responses::new(),
                prev_backoff: scenario.retry.backoff_base,
                base_attempt: 0,
                moved_on: false,
                answer: None,
                answers_differ: false,
                waiting: false,
                fields: scenario.workload.fields_of(i + 1).map_or(0, fields_hash),
            })
            .collect()
    }

    /// The finished record. Taken by value so that collecting a run's records reuses the
    /// vector of states in place (a record is smaller than a state): no second allocation.
    pub fn into_record(self) -> OpRecord {
        OpRecord {
            op: self.op,
            amount: self.amount,
            start_us: self.start.0,
            end_us: self.end.map(|t| t.0),
            outcome: self.outcome.unwrap_or(Outcome::Unfinished),
            attempts: self.attempt,
            received: self.received,
            server_first_answer: self.answer,
            answers_differ: self.answers_differ,
        }
    }
}

/// FNV-1a over a payload's free-form fields, names and values: never 0 for a non-empty set.
fn fields_hash(fields: &std::collections::BTreeMap<String, String>) -> u32 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for (k, v) in fields {
        for b in k.bytes().chain([0xff]).chain(v.bytes()).chain([0xfe]) {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    ((h ^ (h >> 32)) as u32).max(1)
}

/// The idempotency key attempt `attempt` of `op` carries under `policy`. One of the client's
/// rules that the simulated client and the probe's live one share (the probe adds its run's
/// prefix to the text it sends): a change here changes both, never one.
#[inline]
pub fn key_for(policy: KeyPolicy, workload: &Workload, op: u32, attempt: u32) -> Option<IdemKey> {
    // A payload may make the client send another operation's key (a reused key).
    let op = workload.key_op_of(op);
    match policy {
        KeyPolicy::PerOperation => Some(IdemKey { op, attempt: 0 }),
        KeyPolicy::PerAttempt => Some(IdemKey { op, attempt }),
        KeyPolicy::None => None,
        KeyPolicy::Shared => Some(IdemKey { op: 1, attempt: 0 }),
        // Each client numbers its own operations: its k-th one is `k`, whoever else has
        // a `k` (operations are dealt to clients round-robin).
        KeyPolicy::PerClient => Some(IdemKey {
            op: (op - 1) / u32::from(workload.clients) + 1,
            attempt: 0,
        }),
    }
}

/// The backoff after `attempt` of `op`, in microseconds: the policy's ceiling with its jitter
/// drawn from the fates by the retry's identity (`prev_us`, the previous backoff, for
/// decorrelated jitter). Shared by the simulated and the live client, like [`key_for`].
#[inline]
pub fn backoff_us(policy: &RetryPolicy, fates: &Fates, op: u32, attempt: u32, prev_us: u64) -> u64 {
    let ceiling = backoff_ceiling(policy, attempt);
    let id = Identity::retry(op, attempt);
    let draw = |lo: u64, hi: u64| fates.between(Decision::Backoff, id, lo, hi);
    match policy.jitter {
        Jitter::None => ceiling,
        Jitter::Full => draw(0, ceiling),
        Jitter::Equal => ceiling / 2 + draw(0, ceiling - ceiling / 2),
        Jitter::Decorrelated => {
            let hi = prev_us.saturating_mul(3).max(policy.backoff_base.0);
            draw(policy.backoff_base.0, hi).min(policy.backoff_cap.0)
        }
    }
}

/// The delay before the attempt after `attempt` (from 1), before jitter is applied.
fn backoff_ceiling(policy: &RetryPolicy, attempt: u32) -> u64 {
    match policy.backoff {
        Backoff::Constant => policy.backoff_base.0,
        Backoff::Exponential => {
            let shift = (attempt.saturating_sub(1)).min(62);
            policy
                .backoff_base
                .0
                .saturating_mul(1u64 << shift)
                .min(policy.backoff_cap.0)
        }
    }
}

impl World<'_> {
    /// Schedules every client's first operation.
    pub(crate) fn start_clients(&mut self) {
        let clients = usize::from(self.scenario.workload.clients);
        let mut shared = self.shared.borrow_mut();
        for op in self.ops.iter().take(clients) {
            shared
                .kernel
                .schedule_at(SimTime::ZERO, Ev::OpStart { op: op.op });
        }
    }

    pub(crate) fn op_start(&mut self, op: u32) {
        let state = &mut self.ops[op as usize - 1];
        let mut shared = self.shared.borrow_mut();
        state.start = shared.now();
        shared.log_op(
            Node::Client(state.client),
            EventKind::OpStart,
            op,
            0,
            0,
            None,
            Detail::None,
        );
        drop(shared);
        self.send_attempt(op);
    }

    fn key_for(&self, op: u32, attempt: u32) -> Option<IdemKey> {
        key_for(self.key_policy, &self.scenario.workload, op, attempt)
    }

    pub(crate) fn send_attempt(&mut self, op: u32) {
        let attempt = self.ops[op as usize - 1].attempt + 1;
        self.ops[op as usize - 1].attempt = attempt;
        self.ops[op as usize - 1].waiting = true;
        let state = &self.ops[op as usize - 1];
        let w = &self.scenario.workload;
        let req = Request {
            op,
            attempt,
            copy: 0,
            key: self.key_for(op, attempt),
            amount: state.amount,
            resource: w.resource_of(op),
            client: state.client,
            item: w.item_of(op),
            version: w
                .version_of(op)
                .map_or(0, |v| u32::try_from(v).unwrap_or(u32::MAX - 1) + 1),
            fields: state.fields,
        };
        let server = ((op + attempt - 1) % u32::from(self.scenario.server.count)) as u16;
        {
            let mut shared = self.shared.borrow_mut();
            shared.log(
                Node::Client(state.client),
                EventKind::Send,
                Some(&req),
                Detail::None,
            );
            // Every timeout is "now + the same timeout": in order by construction.
            shared
                .kernel
                .schedule_in_order(self.scenario.retry.timeout, Ev::Timeout { op, attempt });
        }
        self.transmit(req, None, server);
    }

    pub(crate) fn response_arrives(&mut self, req: Request, response: Response) {
        let state = &mut self.ops[req.op as usize - 1];
        let accepted = state.outcome.is_none() && state.waiting && req.attempt == state.attempt;
        // Behind a broker, an answer that is not an ack leaves the message in flight until its
        // visibility timeout; every other accepted answer ends the wait.
        if accepted && (self.scenario.broker.is_none() || response.is_success()) {
            state.waiting = false;
        }
        let mut shared = self.shared.borrow_mut();
        state.received.push(Received {
            time_us: shared.now().0,
            attempt: req.attempt,
            response,
            accepted,
        });
        let kind = if accepted {
            EventKind::Receive
        } else {
            EventKind::Late
        };
        shared.log(
            Node::Client(state.client),
            kind,
            Some(&req),
            Detail::Response(response),
        );
        drop(shared);
        if !accepted {
            return;
        }
        if self.scenario.broker.is_some() {
            // An ack (2xx) settles the message; anything else is no ack: the message becomes
            // visible again when its visibility timeout runs out.
            if response.is_success() {
                self.finish_op(req.op, Outcome::Succeeded);
            }
            return;
        }
        if response.is_success() {
            self.finish_op(req.op, Outcome::Succeeded);
        } else if !response.is_retryable() {
            self.finish_op(req.op, Outcome::Failed);
        } else {
            self.retry_or_give_up(req.op);
        }
    }

    pub(crate) fn timeout(&mut self, op: u32, attempt: u32) {
        let state = &mut self.ops[op as usize - 1];
        if state.outcome.is_some() || state.attempt != attempt || !state.waiting {
            return;
        }
        state.waiting = false;
        let state = &self.ops[op as usize - 1];
        self.timeouts += 1;
        self.shared.borrow_mut().log_op(
            Node::Client(state.client),
            EventKind::Timeout,
            op,
            attempt as u16,
            0,
            self.key_for(op, attempt),
            Detail::None,
        );
        self.retry_or_give_up(op);
    }

    fn retry_or_give_up(&mut self, op: u32) {
        let policy = &self.scenario.retry;
        let attempt = self.ops[op as usize - 1].attempt;
        let round = attempt - self.ops[op as usize - 1].base_attempt;
        if round >= policy.attempts_max
            && let Some(broker) = &self.scenario.broker
        {
            let state = &self.ops[op as usize - 1];
            let mut shared = self.shared.borrow_mut();
            shared.log_op(
                Node::Net,
                EventKind::DeadLetter,
                op,
                attempt as u16,
                0,
                self.key_for(op, attempt),
                Detail::None,
            );
            // A message is redriven once: an operator's action, not a loop.
            if let Some(after) = broker.redrive_after
                && state.base_attempt == 0
            {
                shared.kernel.schedule_in(after, Ev::Redrive { op });
            }
            drop(shared);
            self.finish_op(op, Outcome::DeadLettered);
            return;
        }
        if round >= policy.attempts_max {
            let state = &self.ops[op as usize - 1];
            self.shared.borrow_mut().log_op(
                Node::Client(state.client),
                EventKind::GiveUp,
                op,
                attempt as u16,
                0,
                self.key_for(op, attempt),
                Detail::None,
            );
            self.finish_op(op, Outcome::InDoubt);
            return;
        }
        let delay = self.backoff(op, attempt);
        let state = &mut self.ops[op as usize - 1];
        state.prev_backoff = delay;
        let mut shared = self.shared.borrow_mut();
        shared.log_op(
            Node::Client(state.client),
            EventKind::Retry,
            op,
            attempt as u16,
            0,
            None,
            Detail::Backoff { delay_us: delay.0 },
        );
        shared.kernel.schedule_in(delay, Ev::Send { op });
    }

    /// The backoff after `attempt`, with the policy's jitter drawn from the fates.
    fn backoff(&self, op: u32, attempt: u32) -> SimDuration {
        let prev = self.ops[op as usize - 1].prev_backoff.0;
        let shared = self.shared.borrow();
        SimDuration(backoff_us(
            &self.scenario.retry,
            &shared.fates,
            op,
            attempt,
            prev,
        ))
    }

    /// The broker moves a dead-lettered message back to the queue: delivered again, with
    /// `max_receives` fresh receives.
    pub(crate) fn redrive(&mut self, op: u32) {
        let state = &mut self.ops[op as usize - 1];
        if state.outcome != Some(Outcome::DeadLettered) {
            return;
        }
        state.outcome = None;
        state.end = None;
        state.base_attempt = state.attempt;
        self.shared.borrow_mut().log_op(
            Node::Net,
            EventKind::Redrive,
            op,
            state.attempt as u16,
            0,
            None,
            Detail::None,
        );
        self.send_attempt(op);
    }

    fn finish_op(&mut self, op: u32, outcome: Outcome) {
        let state = &mut self.ops[op as usize - 1];
        let mut shared = self.shared.borrow_mut();
        let now = shared.now();
        state.outcome = Some(outcome);
        state.end = Some(now);
        shared.log_op(
            Node::Client(state.client),
            EventKind::Done,
            op,
            state.attempt as u16,
            0,
            None,
            Detail::Outcome(outcome),
        );
        let next = op + u32::from(self.scenario.workload.clients);
        if next > self.scenario.workload.ops || std::mem::replace(&mut state.moved_on, true) {
            return;
        }
        let interval = self.scenario.workload.interval;
        if interval == SimDuration::ZERO {
            // Back-to-back operations start at once, saving an event per operation.
            drop(shared);
            self.op_start(next);
        } else {
            shared
                .kernel
                .schedule_in(interval, Ev::OpStart { op: next });
        }
    }
}
