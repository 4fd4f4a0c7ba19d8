//! The children of a node: the atoms at the fault points of its run after its last atom, with
//! delay and stall lengths taken from the run's own timing, and their refinement from the run a
//! delay makes.

use super::{Candidate, MAX_LENGTHS, Ordinal, REFINEMENTS, Timing, TreeNode};
use crate::check::{Checker, FaultKind};
use crate::fault::{Direction, FaultAtom, MessageRef, When};
use crate::time::SimDuration;
use crate::trace::{EventKind, NO_OP, Node};
use crate::world::{Exploration, Instant, Point, Run, StepId, StepKind};

impl Checker<'_> {
    /// The atoms that extend `plan` (whose run is `run`): at points after `last`, up to
    /// `limit`, of the checker's kinds, not dominated. Also how many were dominated.
    pub(super) fn candidates(
        &self,
        run: &Run,
        plan: &[FaultAtom],
        last: Option<Ordinal>,
        limit: Option<Ordinal>,
    ) -> (Vec<Candidate>, u64) {
        let Some(ex) = run.exploration.as_deref() else {
            return (Vec::new(), 0);
        };
        let timing = self.timing();
        let mut out = Vec::new();
        let mut dominated = 0u64;
        let wants = |k: FaultKind| self.kinds.contains(&k);
        let in_range = |at: Ordinal| last.is_none_or(|l| at > l) && limit.is_none_or(|m| at <= m);
        let mut push = |at: Ordinal, atom: FaultAtom, useful: bool| {
            if !in_range(at) {
                return;
            }
            if useful {
                out.push(Candidate {
                    at,
                    atom,
                    refined: 0,
                });
            } else {
                dominated += 1;
            }
        };
        for (i, point) in ex.points.iter().enumerate() {
            let point_no = i as u32;
            // Skip points wholly before the last atom's (and past the limit's) quickly.
            if last.is_some_and(|l| point_no < l.point) || limit.is_some_and(|m| point_no > m.point)
            {
                continue;
            }
            let at = |class: u8, param: u64| Ordinal {
                point: point_no,
                class,
                param,
            };
            match *point {
                Point::Message {
                    msg,
                    arrives_us,
                    dropped,
                    delayed_us,
                    duplicable,
                    duplicated,
                    sent_us,
                } => {
                    if wants(FaultKind::Drop) {
                        push(
                            at(0, 0),
                            FaultAtom::Drop(msg),
                            !dropped && arrives_us.is_some(),
                        );
                    }
                    if wants(FaultKind::Delay) {
                        match arrives_us {
                            Some(arrives) if !dropped && delayed_us == 0 => {
                                for by in delay_lengths(ex, msg, sent_us, arrives, &timing) {
                                    push(
                                        at(1, by),
                                        FaultAtom::Delay {
                                            msg,
                                            by: SimDuration(by),
                                        },
                                        true,
                                    );
                                }
                            }
                            _ => push(at(1, 0), FaultAtom::Drop(msg), false),
                        }
                    }
                    if wants(FaultKind::Duplicate) && duplicable {
                        push(at(2, 0), FaultAtom::Duplicate(msg), !duplicated);
                    }
                }
                Point::StepStart {
                    step,
                    done_us,
                    slowed_us,
                    ..
                } => {
                    if wants(FaultKind::Crash) {
                        push(at(0, 0), crash(step, When::Before), true);
                    }
                    if wants(FaultKind::Slow) {
                        let crashed = plan.contains(&crash(step, When::Before));
                        if slowed_us == 0 && !crashed {
                            for by in stall_lengths(ex, step, done_us, &timing) {
                                push(at(1, by), slow(step, by), true);
                            }
                        } else {
                            push(at(1, 0), slow(step, 0), false);
                        }
                    }
                }
                Point::StepDone {
                    step, unavailable, ..
                } => {
                    if wants(FaultKind::Unavailable) && step.kind == StepKind::Charge {
                        push(at(0, 0), provider_down(step), !unavailable);
                    }
                    if wants(FaultKind::Crash) {
                        push(at(1, 0), crash(step, When::After), true);
                    }
                }
            }
        }
        (out, dominated)
    }

    /// New lengths for a delay or a stall, from the instants of the run it made: where it may
    /// land now that the events it caused (a timeout, a retry) are in the run.
    pub(super) fn refinements(
        &self,
        run: &Run,
        node: &TreeNode,
        candidate: Candidate,
    ) -> Vec<Candidate> {
        if candidate.refined >= REFINEMENTS {
            return Vec::new();
        }
        let Some(ex) = run.exploration.as_deref() else {
            return Vec::new();
        };
        let timing = self.timing();
        let point = candidate.at.point;
        let lengths: Vec<u64> = match candidate.atom {
            FaultAtom::Delay { msg, by } => {
                let arrives = ex.points.get(point as usize).and_then(|p| match *p {
                    Point::Message {
                        arrives_us,
                        sent_us,
                        ..
                    } => arrives_us.map(|a| (sent_us, a)),
                    _ => None,
                });
                match arrives {
                    Some((sent, arrives)) => delay_lengths(ex, msg, sent, arrives, &timing)
                        .into_iter()
                        .filter(|&l| l > by.0)
                        .collect(),
                    None => Vec::new(),
                }
            }
            FaultAtom::Slow { by, .. } => {
                let done = ex.points.get(point as usize).and_then(|p| match *p {
                    Point::StepStart { step, done_us, .. } => Some((step, done_us)),
                    _ => None,
                });
                match done {
                    Some((step, done)) => stall_lengths(ex, step, done, &timing)
                        .into_iter()
                        .filter(|&l| l > by.0)
                        .collect(),
                    None => Vec::new(),
                }
            }
            _ => return Vec::new(),
        };
        let limit_ok =
            |at: Ordinal| node.last.is_none_or(|l| at > l) && node.limit.is_none_or(|m| at <= m);
        lengths
            .into_iter()
            .map(|by| {
                let at = Ordinal {
                    param: by,
                    ..candidate.at
                };
                let atom = match candidate.atom {
                    FaultAtom::Delay { msg, .. } => FaultAtom::Delay {
                        msg,
                        by: SimDuration(by),
                    },
                    FaultAtom::Slow {
                        op,
                        attempt,
                        step,
                        position,
                        copy,
                        ..
                    } => FaultAtom::Slow {
                        op,
                        attempt,
                        step,
                        by: SimDuration(by),
                        position,
                        copy,
                    },
                    other => other,
                };
                Candidate {
                    at,
                    atom,
                    refined: candidate.refined + 1,
                }
            })
            .filter(|c| limit_ok(c.at))
            .collect()
    }
}

/// Plainer faults first: the order in which a node's children are searched, so that of two
/// counterexamples of the same size the one with the plainer faults is found first.
pub(super) fn rank(atom: &FaultAtom) -> u8 {
    match atom {
        FaultAtom::Drop(_) => 0,
        FaultAtom::Delay { .. } => 1,
        FaultAtom::Duplicate(_) => 2,
        FaultAtom::CrashAtStep { .. } | FaultAtom::CrashAt { .. } => 3,
        FaultAtom::Slow { .. } => 4,
        FaultAtom::Unavailable { .. } => 5,
        FaultAtom::Partition { .. } => 6,
    }
}

pub(super) fn crash(step: StepId, when: When) -> FaultAtom {
    FaultAtom::CrashAtStep {
        op: step.op,
        attempt: Some(step.attempt),
        when,
        step: step.kind,
        position: Some(step.position),
        copy: Some(step.copy),
    }
}

pub(super) fn slow(step: StepId, by: u64) -> FaultAtom {
    FaultAtom::Slow {
        op: step.op,
        attempt: step.attempt,
        step: step.kind,
        by: SimDuration(by),
        position: Some(step.position),
        copy: Some(step.copy),
    }
}

pub(super) fn provider_down(step: StepId) -> FaultAtom {
    FaultAtom::Unavailable {
        op: step.op,
        attempt: Some(step.attempt),
        position: Some(step.position),
        copy: Some(step.copy),
    }
}

/// When the client sent `attempt` of `op`, from the run's instants.
pub(super) fn sent_at(ex: &Exploration, op: u32, attempt: u32) -> Option<u64> {
    ex.instants
        .iter()
        .find(|e| e.kind == EventKind::Send && e.op == op && u32::from(e.attempt) == attempt)
        .map(|e| e.time_us)
}

/// The operations whose handlers touched a store key that `op`'s handlers touched.
pub(super) fn sharing(ex: &Exploration, op: u32) -> Vec<u32> {
    let mine: Vec<u64> = ex
        .touches
        .iter()
        .filter(|(o, _)| *o == op)
        .map(|(_, k)| *k)
        .collect();
    let mut ops: Vec<u32> = ex
        .touches
        .iter()
        .filter(|(o, k)| *o != op && mine.contains(k))
        .map(|(o, _)| *o)
        .collect();
    ops.sort_unstable();
    ops.dedup();
    ops
}

pub(super) fn is_server(n: Node) -> bool {
    matches!(n, Node::Server(_))
}

pub(super) fn is_crash_or_restart(e: &Instant) -> bool {
    matches!(e.kind, EventKind::Crash | EventKind::Restart)
}

/// Delay lengths for `msg` (natural arrival `arrives`): to land just after each instant of
/// the run that its fate can be ordered against, within the retry horizon. A request: the
/// server-side events of its operation's other attempts and copies, of operations that share
/// its store keys, and crashes and restarts, and its attempt's timeout. A response: its
/// client's later events for the operation, and the timeout of the attempt it answers.
pub(super) fn delay_lengths(
    ex: &Exploration,
    msg: MessageRef,
    sent: u64,
    arrives: u64,
    timing: &Timing,
) -> Vec<u64> {
    let own = |e: &Instant| u32::from(e.attempt) == msg.attempt && u32::from(e.copy) == msg.copy;
    let mut instants: Vec<u64> = Vec::new();
    match msg.dir {
        Direction::Request => {
            let shared = sharing(ex, msg.op);
            for e in &ex.instants {
                let relevant = is_crash_or_restart(e)
                    || (is_server(e.node) && e.op == msg.op && !own(e))
                    || (is_server(e.node) && e.op != NO_OP && shared.contains(&e.op));
                if relevant {
                    instants.push(e.time_us);
                }
            }
            instants.push(sent + timing.timeout_us);
        }
        Direction::Response => {
            for e in &ex.instants {
                if matches!(e.node, Node::Client(_)) && e.op == msg.op && e.time_us > arrives {
                    instants.push(e.time_us);
                }
            }
            if let Some(s) = sent_at(ex, msg.op, msg.attempt) {
                instants.push(s + timing.timeout_us);
            }
        }
    }
    lengths_after(instants, arrives, timing)
}

/// Stall lengths for `step` (natural completion `done`): to complete just after each event of
/// its operation's other attempts and copies, of operations sharing its keys, each crash and
/// restart, and its attempt's timeout.
pub(super) fn stall_lengths(
    ex: &Exploration,
    step: StepId,
    done: u64,
    timing: &Timing,
) -> Vec<u64> {
    let shared = sharing(ex, step.op);
    let mut instants: Vec<u64> = ex
        .instants
        .iter()
        .filter(|e| {
            is_crash_or_restart(e)
                || (e.op == step.op
                    && (u32::from(e.attempt) != step.attempt || u32::from(e.copy) != step.copy))
                || (is_server(e.node) && e.op != NO_OP && shared.contains(&e.op))
        })
        .map(|e| e.time_us)
        .collect();
    if let Some(s) = sent_at(ex, step.op, step.attempt) {
        instants.push(s + timing.timeout_us);
    }
    lengths_after(instants, done, timing)
}

/// From instants to lengths: land 1µs after each instant at or after `from`, within the
/// horizon, the nearest [`MAX_LENGTHS`].
pub(super) fn lengths_after(mut instants: Vec<u64>, from: u64, timing: &Timing) -> Vec<u64> {
    instants.retain(|&t| t >= from && t - from <= timing.horizon_us);
    instants.sort_unstable();
    instants.dedup();
    instants.truncate(MAX_LENGTHS);
    instants.into_iter().map(|t| t + 1 - from).collect()
}
