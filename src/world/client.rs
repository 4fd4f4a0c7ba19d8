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

use super::shared::About;
use super::{Ev, OpRecord, Received, Responses, Shared, World};

/// The client's decisions about one operation, as one pure state machine: which attempt is
/// current, whether an answer is accepted or late, what an accepted answer or a timeout leads
/// to (done, a retry after which backoff, giving up, the dead-letter queue). The simulated
/// client (`World`'s events below) and the probe's live one (`probe::client`) both drive it,
/// each with its own transport and clock: neither decides anything itself, so the two cannot
/// drift apart.
#[derive(Clone, Debug)]
pub struct Attempts {
    /// The current attempt, from 1 (0 before the first send).
    pub attempt: u32,
    /// Attempts before the current round: a redriven message gets `max_receives` again.
    pub base_attempt: u32,
    /// The previous backoff in microseconds, for decorrelated jitter.
    pub prev_backoff_us: u64,
    /// True while the client waits for the answer to its current attempt: from the send
    /// until the attempt times out or an answer is accepted. An answer that arrives after its
    /// attempt timed out (during the backoff, say) is late: the client has already decided to
    /// retry, and acting on it too would send a retry for an operation it reports done.
    pub waiting: bool,
    /// How the operation ended, once it has.
    pub outcome: Option<Outcome>,
}

/// What the client does after an accepted answer or a timeout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Next {
    /// Nothing yet: behind a broker, an answer that is not an ack leaves the message in flight
    /// until its visibility timeout.
    Wait,
    /// The operation is over: a success, or a final failure.
    Finish(Outcome),
    /// Send the next attempt after this backoff (µs).
    Retry {
        /// The backoff, jitter applied.
        delay_us: u64,
    },
    /// The attempts ran out: the client gives up, the operation in doubt.
    GiveUp,
    /// The receives ran out behind a broker: the message goes to the dead-letter queue.
    DeadLetter,
}

impl Attempts {
    /// An operation not yet sent.
    pub fn new(policy: &RetryPolicy) -> Self {
        Attempts {
            attempt: 0,
            base_attempt: 0,
            prev_backoff_us: policy.backoff_base.0,
            waiting: false,
            outcome: None,
        }
    }

    /// The next attempt goes out: its number.
    #[inline]
    pub fn send(&mut self) -> u32 {
        assert!(
            self.outcome.is_none(),
            "an operation that is over sends nothing"
        );
        self.attempt += 1;
        self.waiting = true;
        self.attempt
    }

    /// An answer to `attempt` arrived: true when the client accepts it (the operation is not
    /// over, the client waits, and it answers the current attempt), false when it is late.
    /// An accepted answer ends the wait, except a broker's non-ack (`behind_broker` and not a
    /// success), after which the message stays in flight until its visibility timeout.
    #[inline]
    pub fn receive(&mut self, attempt: u32, response: Response, behind_broker: bool) -> bool {
        let accepted = self.outcome.is_none() && self.waiting && attempt == self.attempt;
        if accepted && (!behind_broker || response.is_success()) {
            self.waiting = false;
        }
        accepted
    }

    /// What an accepted answer leads to. Behind a broker only an ack (2xx) settles the
    /// message; otherwise a 2xx succeeds, a final failure fails, and a retryable answer
    /// retries or gives up ([`Attempts::after_failure`]).
    #[inline]
    pub fn decide(&mut self, response: Response, ctx: RetryCx<'_>) -> Next {
        if response.is_success() {
            Next::Finish(Outcome::Succeeded)
        } else if ctx.behind_broker {
            Next::Wait
        } else if !response.is_retryable() {
            Next::Finish(Outcome::Failed)
        } else {
            self.after_failure(ctx)
        }
    }

    /// The timeout of `attempt` fired: true when it counts (the operation is not over and the
    /// client still waits for that attempt), which ends the wait; the caller then asks
    /// [`Attempts::after_failure`].
    #[inline]
    pub fn timeout(&mut self, attempt: u32) -> bool {
        let live = self.outcome.is_none() && self.attempt == attempt && self.waiting;
        if live {
            self.waiting = false;
        }
        live
    }

    /// After a timeout or a retryable answer: retry after the backoff (drawn from the fates by
    /// the retry's identity), or, once this round's attempts are spent, give up (or, behind a
    /// broker, dead-letter the message).
    #[inline]
    pub fn after_failure(&mut self, ctx: RetryCx<'_>) -> Next {
        let round = self.attempt - self.base_attempt;
        if round >= ctx.policy.attempts_max {
            return if ctx.behind_broker {
                Next::DeadLetter
            } else {
                Next::GiveUp
            };
        }
        let delay_us = backoff_us(
            ctx.policy,
            ctx.fates,
            ctx.op,
            self.attempt,
            self.prev_backoff_us,
        );
        self.prev_backoff_us = delay_us;
        Next::Retry { delay_us }
    }

    /// The operation ended with `outcome`.
    #[inline]
    pub fn finish(&mut self, outcome: Outcome) {
        assert!(
            self.outcome.is_none(),
            "an operation finishes once (a redrive starts it over)"
        );
        self.outcome = Some(outcome);
        self.waiting = false;
    }

    /// The broker moves a dead-lettered message back to the queue: true when it was dead-
    /// lettered, and a new round of receives begins (the caller sends the next attempt).
    pub fn redrive(&mut self) -> bool {
        if self.outcome != Some(Outcome::DeadLettered) {
            return false;
        }
        self.outcome = None;
        self.base_attempt = self.attempt;
        true
    }
}

/// What [`Attempts`] needs to decide a retry: the policy, the fates its jitter is drawn from,
/// the operation, and whether a broker stands between the client and the server.
#[derive(Clone, Copy)]
pub struct RetryCx<'a> {
    /// The scenario's retry policy.
    pub policy: &'a RetryPolicy,
    /// The run's fates.
    pub fates: &'a Fates,
    /// The operation.
    pub op: u32,
    /// True when a broker delivers the operation (its receives, not the client's attempts).
    pub behind_broker: bool,
}

/// A logical operation as its client sees it.
#[derive(Clone, Debug)]
pub(crate) struct OpState {
    pub op: u32,
    pub client: u16,
    pub amount: u64,
    pub start: SimTime,
    pub end: Option<SimTime>,
    /// The client's decisions about it.
    pub attempts: Attempts,
    pub received: Responses,
    /// True once the operation first finished (the client has moved on to its next one).
    pub moved_on: bool,
    /// The first final answer a server sent, and whether a later one differed.
    pub answer: Option<Response>,
    pub answers_differ: bool,
    /// A hash of the free-form fields of the operation's payload (0: none).
    pub fields: u32,
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
                attempts: Attempts::new(&scenario.retry),
                received: Responses::new(),
                moved_on: false,
                answer: None,
                answers_differ: false,
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
            outcome: self.attempts.outcome.unwrap_or(Outcome::Unfinished),
            attempts: self.attempts.attempt,
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
// Forced inline: as an outlined call from `Attempts::after_failure` it cost W 0.2%.
#[inline(always)]
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
            About::attempt(op, 0),
            Detail::None,
        );
        drop(shared);
        self.send_attempt(op);
    }

    fn key_for(&self, op: u32, attempt: u32) -> Option<IdemKey> {
        key_for(self.key_policy, &self.scenario.workload, op, attempt)
    }

    pub(crate) fn send_attempt(&mut self, op: u32) {
        let attempt = self.ops[op as usize - 1].attempts.send();
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
        let behind_broker = self.scenario.broker.is_some();
        let state = &mut self.ops[req.op as usize - 1];
        let accepted = state.attempts.receive(req.attempt, response, behind_broker);
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
        if !accepted {
            return;
        }
        let next = {
            let cx = retry_cx(self.scenario, &shared, req.op);
            self.ops[req.op as usize - 1].attempts.decide(response, cx)
        };
        drop(shared);
        // The common end of an operation, kept off `follow`'s path (1.5% of W when it was not).
        match next {
            Next::Finish(outcome) => self.finish_op(req.op, outcome),
            Next::Wait => {}
            next => self.follow(req.op, next),
        }
    }

    pub(crate) fn timeout(&mut self, op: u32, attempt: u32) {
        let state = &mut self.ops[op as usize - 1];
        if !state.attempts.timeout(attempt) {
            return;
        }
        let client = state.client;
        self.timeouts += 1;
        let mut shared = self.shared.borrow_mut();
        shared.log_op(
            Node::Client(client),
            EventKind::Timeout,
            About::attempt(op, attempt).with_key(self.key_for(op, attempt)),
            Detail::None,
        );
        let next = {
            let cx = retry_cx(self.scenario, &shared, op);
            self.ops[op as usize - 1].attempts.after_failure(cx)
        };
        drop(shared);
        self.follow(op, next);
    }

    /// Carries out the client's decision about `op`: the simulated transport of [`Next`].
    fn follow(&mut self, op: u32, next: Next) {
        let state = &self.ops[op as usize - 1];
        let (client, attempt) = (state.client, state.attempts.attempt);
        let redriven = state.attempts.base_attempt > 0;
        match next {
            Next::Wait => {}
            Next::Finish(outcome) => self.finish_op(op, outcome),
            Next::DeadLetter => {
                let mut shared = self.shared.borrow_mut();
                shared.log_op(
                    Node::Net,
                    EventKind::DeadLetter,
                    About::attempt(op, attempt).with_key(self.key_for(op, attempt)),
                    Detail::None,
                );
                // A message is redriven once: an operator's action, not a loop.
                if let Some(after) = self.scenario.broker.as_ref().and_then(|b| b.redrive_after)
                    && !redriven
                {
                    shared.kernel.schedule_in(after, Ev::Redrive { op });
                }
                drop(shared);
                self.finish_op(op, Outcome::DeadLettered);
            }
            Next::GiveUp => {
                self.shared.borrow_mut().log_op(
                    Node::Client(client),
                    EventKind::GiveUp,
                    About::attempt(op, attempt).with_key(self.key_for(op, attempt)),
                    Detail::None,
                );
                self.finish_op(op, Outcome::InDoubt);
            }
            Next::Retry { delay_us } => {
                let mut shared = self.shared.borrow_mut();
                shared.log_op(
                    Node::Client(client),
                    EventKind::Retry,
                    About::attempt(op, attempt),
                    Detail::Backoff { delay_us },
                );
                shared
                    .kernel
                    .schedule_in(SimDuration(delay_us), Ev::Send { op });
            }
        }
    }

    /// The broker moves a dead-lettered message back to the queue: delivered again, with
    /// `max_receives` fresh receives.
    pub(crate) fn redrive(&mut self, op: u32) {
        let state = &mut self.ops[op as usize - 1];
        if !state.attempts.redrive() {
            return;
        }
        state.end = None;
        self.shared.borrow_mut().log_op(
            Node::Net,
            EventKind::Redrive,
            About::attempt(op, state.attempts.attempt),
            Detail::None,
        );
        self.send_attempt(op);
    }

    fn finish_op(&mut self, op: u32, outcome: Outcome) {
        let state = &mut self.ops[op as usize - 1];
        let mut shared = self.shared.borrow_mut();
        let now = shared.now();
        state.attempts.finish(outcome);
        state.end = Some(now);
        shared.log_op(
            Node::Client(state.client),
            EventKind::Done,
            About::attempt(op, state.attempts.attempt),
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

/// What the client's state machine needs to decide a retry of `op` in a simulated run.
#[inline]
fn retry_cx<'a>(scenario: &'a Scenario, shared: &'a Shared, op: u32) -> RetryCx<'a> {
    RetryCx {
        policy: &scenario.retry,
        fates: &shared.fates,
        op,
        behind_broker: scenario.broker.is_some(),
    }
}
