//! The network: every message's fate (lost, late, duplicated) is decided by the fates keyed by
//! the message's identity, then by the fault plan, then by partitions.
//!
//! Copies: a request may be duplicated once (copy 1). The response to copy `c` of a request is
//! response copy `c`; the network may duplicate the response to the original (copy 2). Copies are
//! never duplicated again, which keeps every run finite.

use crate::fate::{Decision, Fates, Identity};
use crate::fault::{Direction, FaultPlan, MessageRef};
use crate::settings::Network;
use crate::time::{SimDuration, SimTime};
use crate::trace::{Detail, EventKind, LossCause, Node};
use crate::vocab::{Request, Response};

use super::shared::PointMode;
use super::{Ev, InFlight, World};

/// Whether `msg`, put on the wire at `now`, is lost, and why: a partition of the plan's, a drop
/// of the plan's, or the network's own loss rate drawn from the fates by the message's
/// identity, in that order. One of the network's rules that the simulated world and the
/// probe's live wire share: a change here changes both, never one.
// Always inlined: in `transmit` the fates' hashing of the message's identity is shared
// between the loss, latency and duplicate draws (3.5% of W's instructions when it is not).
#[inline(always)]
pub fn loss_cause(
    net: &Network,
    plan: &FaultPlan,
    fates: &Fates,
    msg: MessageRef,
    now: SimTime,
) -> Option<LossCause> {
    let is_request = msg.dir == Direction::Request;
    let rate = if is_request {
        net.loss_request
    } else {
        net.loss_response
    };
    if plan.partitioned(now) {
        Some(LossCause::Partition)
    } else if plan.drops(msg) {
        Some(LossCause::Plan)
    } else if fates.chance(Decision::Loss, identity(msg), rate) {
        Some(LossCause::Random)
    } else {
        None
    }
}

/// How long `msg` spends on the wire: the network's latency drawn from the fates by the
/// message's identity, plus the plan's delay of it. Shared like [`loss_cause`].
// Always inlined: in `transmit` the fates' hashing of the message's identity is shared
// between the loss, latency and duplicate draws (3.5% of W's instructions when it is not).
#[inline(always)]
pub fn latency(net: &Network, plan: &FaultPlan, fates: &Fates, msg: MessageRef) -> SimDuration {
    SimDuration(fates.between(
        Decision::Latency,
        identity(msg),
        net.latency.min.0,
        net.latency.max.0,
    )) + plan.delay(msg)
}

/// True when the network delivers `msg` twice (the plan's duplicate, or the network's rate).
/// Shared like [`loss_cause`].
// Always inlined: in `transmit` the fates' hashing of the message's identity is shared
// between the loss, latency and duplicate draws (3.5% of W's instructions when it is not).
#[inline(always)]
pub fn duplicates(net: &Network, plan: &FaultPlan, fates: &Fates, msg: MessageRef) -> bool {
    plan.duplicates(msg) || fates.chance(Decision::Duplicate, identity(msg), net.duplicate)
}

/// The identity the fates know `msg` by.
#[inline]
fn identity(msg: MessageRef) -> Identity {
    Identity::message(msg.dir == Direction::Request, msg.op, msg.attempt, msg.copy)
}

/// The copy number the network gives to a duplicated message.
fn duplicate_copy(dir: Direction, copy: u32) -> Option<u32> {
    match (dir, copy) {
        (Direction::Request, 0) => Some(1),
        (Direction::Response, 0) => Some(2),
        _ => None,
    }
}

impl World<'_> {
    /// Puts a message on the wire: decides its fate and schedules its arrival, or logs its loss.
    /// `req.copy` is this message's copy number; `response` is `None` for a request.
    pub(crate) fn transmit(&mut self, req: Request, response: Option<Response>, server: u16) {
        let dir = if response.is_some() {
            Direction::Response
        } else {
            Direction::Request
        };
        let is_request = dir == Direction::Request;
        let msg = MessageRef {
            dir,
            op: req.op,
            attempt: req.attempt,
            copy: req.copy,
        };
        let identity = Identity::message(is_request, req.op, req.attempt, req.copy);
        let net = &self.scenario.network;
        let loss = if is_request {
            net.loss_request
        } else {
            net.loss_response
        };
        let mut shared = self.shared.borrow_mut();
        let now = shared.now();
        let fifo_dedup = self.scenario.broker.as_ref().is_some_and(|b| b.fifo_dedup);
        let cause = if is_request && req.copy == 1 && fifo_dedup {
            // Behind a broker, a request copy is the producer sending twice: a FIFO queue's
            // deduplication id drops it. Redeliveries (later attempts) are not sends.
            Some(LossCause::Deduplicated)
        } else {
            loss_cause(net, &shared.plan, &shared.fates, msg, now)
        };
        let mode = shared.point_mode();
        if mode == PointMode::Count {
            shared.pass_point();
        }
        if mode == PointMode::Record {
            // Lost whatever the plan says: by the network's own fates, a partition or FIFO
            // deduplication. Then no delay or drop of the plan's can change its fate.
            let lost_anyway = matches!(
                cause,
                Some(LossCause::Deduplicated | LossCause::Partition | LossCause::Random)
            ) || (cause == Some(LossCause::Plan)
                && shared.fates.chance(Decision::Loss, identity, loss));
            let natural = shared.fates.between(
                Decision::Latency,
                identity,
                net.latency.min.0,
                net.latency.max.0,
            );
            let point = crate::world::Point::Message {
                msg,
                sent_us: now.0,
                arrives_us: (!lost_anyway).then_some(now.0 + natural),
                dropped: cause == Some(LossCause::Plan),
                delayed_us: shared.plan.delay(msg).0,
                duplicable: duplicate_copy(dir, req.copy).is_some(),
                duplicated: shared.plan.duplicates(msg),
            };
            shared.point(|| point);
        }
        if let Some(cause) = cause {
            shared.log(
                Node::Net,
                EventKind::Lost,
                Some(&req),
                Detail::Lost {
                    request: is_request,
                    cause,
                },
            );
        } else {
            let latency = latency(net, &shared.plan, &shared.fates, msg);
            let msg = match response {
                None => InFlight::Request { req, server },
                Some(response) => InFlight::Response { req, response },
            };
            let slot = shared.in_flight.put(msg);
            shared.kernel.schedule_in(latency, Ev::Arrives { slot });
        }
        let Some(dup_copy) = duplicate_copy(dir, req.copy) else {
            return;
        };
        if !duplicates(net, &shared.plan, &shared.fates, msg) {
            return;
        }
        shared.log(Node::Net, EventKind::Duplicate, Some(&req), Detail::None);
        drop(shared);
        let copy = Request {
            copy: dup_copy,
            ..req
        };
        self.transmit(copy, response, server);
    }
}
