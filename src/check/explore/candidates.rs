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
        let mut index = Index::new(ex);
        let mut out = Vec::new();
        let mut dominated = 0u64;
        // The crashes after a step whose twin is not tried, in the order of their points.
        let mut twins: Vec<Ordinal> = Vec::new();
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
                    twin: false,
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
                                for by in delay_lengths(&mut index, msg, sent_us, arrives, &timing)
                                {
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
                    server,
                    at_us,
                    done_us,
                    slowed_us,
                } => {
                    if wants(FaultKind::Crash) {
                        // A step that begins as the step before it in the same handler ends (the
                        // point just before, same instant: one poll) is crashed before the same
                        // way as that one is after: the same run but for the crash's label. The
                        // crash after, the earlier sibling, is tried; this one is not. (Not
                        // with invariants of the user's own, which may read the label.)
                        let twin = self.prune
                            && !self.custom_invariants
                            && i.checked_sub(1)
                                .and_then(|j| ex.points.get(j))
                                .is_some_and(|p| ends_before(p, step, server, at_us))
                            && in_range(Ordinal {
                                point: point_no - 1,
                                class: 1,
                                param: 0,
                            });
                        if twin {
                            twins.push(Ordinal {
                                point: point_no - 1,
                                class: 1,
                                param: 0,
                            });
                        }
                        push(at(0, 0), crash(step, When::Before), !twin);
                    }
                    if wants(FaultKind::Slow) {
                        let crashed = plan.contains(&crash(step, When::Before));
                        if slowed_us == 0 && !crashed {
                            for by in stall_lengths(&mut index, step, done_us, &timing) {
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
        if !twins.is_empty() {
            for c in &mut out {
                c.twin = twins.binary_search(&c.at).is_ok();
            }
        }
        (out, dominated)
    }

    /// New lengths for a delay or a stall, from the instants of the run it made: where it may
    /// land now that the events it caused (a timeout, a retry) are in the run. Empty for
    /// another atom, or one refined already.
    pub(super) fn refined_lengths(&self, run: &Run, candidate: Candidate) -> Vec<u64> {
        if candidate.refined >= REFINEMENTS {
            return Vec::new();
        }
        let Some(ex) = run.exploration.as_deref() else {
            return Vec::new();
        };
        let timing = self.timing();
        let mut index = Index::new(ex);
        let point = candidate.at.point;
        match candidate.atom {
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
                    Some((sent, arrives)) => delay_lengths(&mut index, msg, sent, arrives, &timing)
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
                    Some((step, done)) => stall_lengths(&mut index, step, done, &timing)
                        .into_iter()
                        .filter(|&l| l > by.0)
                        .collect(),
                    None => Vec::new(),
                }
            }
            _ => Vec::new(),
        }
    }

    /// The children of `node` that `lengths` ([`Checker::refined_lengths`]) make of
    /// `candidate`: the same atom at each new length, within the node's bounds.
    pub(super) fn refinements(
        &self,
        lengths: &[u64],
        node: &TreeNode,
        candidate: Candidate,
    ) -> Vec<Candidate> {
        let limit_ok =
            |at: Ordinal| node.last.is_none_or(|l| at > l) && node.limit.is_none_or(|m| at <= m);
        lengths
            .iter()
            .map(|&by| Candidate {
                at: Ordinal {
                    param: by,
                    ..candidate.at
                },
                atom: with_length(candidate.atom, by),
                refined: candidate.refined + 1,
                twin: false,
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

/// True when `point` is the completion of the step of the same handler (operation, attempt and
/// copy) just before `step`, on `server` at `at_us`: a crash after it and a crash before `step`
/// are one crash.
fn ends_before(point: &Point, step: StepId, server: u16, at_us: u64) -> bool {
    matches!(*point, Point::StepDone { step: prev, server: s, at_us: t, .. }
        if s == server
            && t == at_us
            && (prev.op, prev.attempt, prev.copy) == (step.op, step.attempt, step.copy)
            && prev.position.checked_add(1) == Some(step.position))
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

/// A run's instants indexed for choosing delay and stall lengths in time linear in the run
/// (each message's lengths used to scan every instant of the run: quadratic, 3 s on the
/// 2,000-operation scenario before a stop could even be looked at).
pub(super) struct Index<'a> {
    ex: &'a Exploration,
    /// The indices into `ex.instants` of each operation's events, in time order, one
    /// operation after another: operation `op`'s are `events[starts[op - 1]..starts[op]]`.
    /// Flat, so that an index costs a handful of allocations: one is built for every
    /// refinement of a delay, on runs of a few hundred events.
    events: Vec<u32>,
    starts: Vec<u32>,
    /// The indices of every server-side event of an operation, in time order.
    server: Vec<u32>,
    /// The times of every crash and restart, in order.
    crashes: Vec<u64>,
    /// `(op, key)` and `(key, op)` for every store key an operation touched, sorted.
    keys: Vec<(u32, u64)>,
    owners: Vec<(u64, u32)>,
    /// [`Index::sharing`], worked out once per operation.
    shared: Vec<Option<Vec<u32>>>,
}

fn is_server(n: Node) -> bool {
    matches!(n, Node::Server(_))
}

fn is_crash_or_restart(e: &Instant) -> bool {
    matches!(e.kind, EventKind::Crash | EventKind::Restart)
}

/// How many operations a message's own may share keys with before their events are found by
/// one scan of the server's events rather than one search per operation.
const FEW_SHARING: usize = 8;

impl<'a> Index<'a> {
    pub(super) fn new(ex: &'a Exploration) -> Self {
        let ops = ex.views.len();
        // Counting sort of the events by operation (stable: time order within each).
        let mut starts = vec![0u32; ops + 1];
        let mut server = Vec::new();
        let mut crashes = Vec::new();
        let op_of =
            |e: &Instant| (e.op != NO_OP && (e.op as usize) <= ops).then_some(e.op as usize);
        for e in &ex.instants {
            if is_crash_or_restart(e) {
                crashes.push(e.time_us);
            }
            if let Some(op) = op_of(e) {
                starts[op] += 1;
            }
        }
        for op in 1..=ops {
            starts[op] += starts[op - 1];
        }
        let mut next = starts.clone();
        let mut events = vec![0u32; starts[ops] as usize];
        for (i, e) in ex.instants.iter().enumerate() {
            let Some(op) = op_of(e) else {
                continue;
            };
            events[next[op - 1] as usize] = i as u32;
            next[op - 1] += 1;
            if is_server(e.node) {
                server.push(i as u32);
            }
        }
        let mut keys: Vec<(u32, u64)> = ex.touches.clone();
        keys.sort_unstable();
        keys.dedup();
        let mut owners: Vec<(u64, u32)> = keys.iter().map(|&(op, k)| (k, op)).collect();
        owners.sort_unstable();
        Index {
            ex,
            events,
            starts,
            server,
            crashes,
            keys,
            owners,
            shared: vec![None; ops],
        }
    }

    fn events_of(&self, op: u32) -> &[u32] {
        let op = op as usize;
        if op == 0 || op >= self.starts.len() {
            return &[];
        }
        &self.events[self.starts[op - 1] as usize..self.starts[op] as usize]
    }

    /// [`Index::nearest`] among `op`'s own events.
    fn nearest_of(
        &self,
        op: u32,
        from: u64,
        strict: bool,
        horizon: u64,
        keep: impl Fn(&Instant) -> bool,
        out: &mut Vec<u64>,
    ) {
        self.nearest(self.events_of(op), from, strict, horizon, keep, out);
    }

    /// When the client sent `attempt` of `op`.
    pub(super) fn sent_at(&self, op: u32, attempt: u32) -> Option<u64> {
        self.events_of(op)
            .iter()
            .map(|&i| &self.ex.instants[i as usize])
            .find(|e| e.kind == EventKind::Send && u32::from(e.attempt) == attempt)
            .map(|e| e.time_us)
    }

    /// The operations whose handlers touched a store key that `op`'s handlers touched,
    /// in order.
    pub(super) fn sharing(&mut self, op: u32) -> &[u32] {
        let i = (op as usize).wrapping_sub(1);
        if i >= self.shared.len() {
            return &[];
        }
        if self.shared[i].is_none() {
            let from = self.keys.partition_point(|&(o, _)| o < op);
            let mut ops: Vec<u32> = self.keys[from..]
                .iter()
                .take_while(|&&(o, _)| o == op)
                .flat_map(|&(_, k)| {
                    let at = self.owners.partition_point(|&(key, _)| key < k);
                    self.owners[at..]
                        .iter()
                        .take_while(move |&&(key, _)| key == k)
                })
                .map(|&(_, o)| o)
                .filter(|&o| o != op)
                .collect();
            ops.sort_unstable();
            ops.dedup();
            self.shared[i] = Some(ops);
        }
        self.shared[i].as_deref().unwrap_or(&[])
    }

    /// The first [`MAX_LENGTHS`] distinct times at or after `from` (after it, when `strict`)
    /// and at most `horizon` later among the events `list` indexes that `keep` keeps, pushed
    /// onto `out`. That is all [`lengths_after`] can take from one source.
    fn nearest(
        &self,
        list: &[u32],
        from: u64,
        strict: bool,
        horizon: u64,
        keep: impl Fn(&Instant) -> bool,
        out: &mut Vec<u64>,
    ) {
        let time = |i: u32| self.ex.instants[i as usize].time_us;
        let start = list.partition_point(|&i| time(i) < from || (strict && time(i) == from));
        let mut taken = 0;
        let mut last = None;
        for &i in &list[start..] {
            let e = &self.ex.instants[i as usize];
            if e.time_us - from > horizon {
                break;
            }
            if !keep(e) || last == Some(e.time_us) {
                continue;
            }
            out.push(e.time_us);
            last = Some(e.time_us);
            taken += 1;
            if taken == MAX_LENGTHS {
                break;
            }
        }
    }

    /// Crashes and restarts from `from` on, and server-side events of the operations `op`
    /// shares store keys with: the instants any request or step of `op` can be ordered
    /// against, whatever its attempt.
    fn crashes_and_sharers(&mut self, op: u32, from: u64, horizon: u64, out: &mut Vec<u64>) {
        let start = self.crashes.partition_point(|&t| t < from);
        out.extend(
            self.crashes[start..]
                .iter()
                .take_while(|&&t| t - from <= horizon),
        );
        self.sharing(op);
        let i = (op as usize).wrapping_sub(1);
        // Taken out for the search and put back: a copy would cost as much as the old scan
        // when one key is everyone's.
        let Some(shared) = self.shared.get_mut(i).and_then(Option::take) else {
            return;
        };
        if shared.len() <= FEW_SHARING {
            for &other in &shared {
                self.nearest_of(other, from, false, horizon, |e| is_server(e.node), out);
            }
        } else {
            self.nearest(
                &self.server,
                from,
                false,
                horizon,
                |e| shared.binary_search(&e.op).is_ok(),
                out,
            );
        }
        self.shared[i] = Some(shared);
    }
}

/// A delay or a stall with its length set to `by` (another atom as it is).
pub(super) fn with_length(mut atom: FaultAtom, by: u64) -> FaultAtom {
    if let FaultAtom::Delay { by: length, .. } | FaultAtom::Slow { by: length, .. } = &mut atom {
        *length = SimDuration(by);
    }
    atom
}

/// Delay lengths for `msg` (natural arrival `arrives`): to land just after each instant of
/// the run that its fate can be ordered against, within the retry horizon. A request: the
/// server-side events of its operation's other attempts and copies, of operations that share
/// its store keys, and crashes and restarts, and its attempt's timeout. A response: its
/// client's later events for the operation, and the timeout of the attempt it answers.
pub(super) fn delay_lengths(
    index: &mut Index<'_>,
    msg: MessageRef,
    sent: u64,
    arrives: u64,
    timing: &Timing,
) -> Vec<u64> {
    let own = |e: &Instant| u32::from(e.attempt) == msg.attempt && u32::from(e.copy) == msg.copy;
    let horizon = timing.horizon_us;
    let mut instants: Vec<u64> = Vec::new();
    match msg.dir {
        Direction::Request => {
            index.crashes_and_sharers(msg.op, arrives, horizon, &mut instants);
            let other = |e: &Instant| is_server(e.node) && !own(e);
            index.nearest_of(msg.op, arrives, false, horizon, other, &mut instants);
            instants.push(sent + timing.timeout_us);
        }
        Direction::Response => {
            let client = |e: &Instant| matches!(e.node, Node::Client(_));
            index.nearest_of(msg.op, arrives, true, horizon, client, &mut instants);
            if let Some(s) = index.sent_at(msg.op, msg.attempt) {
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
    index: &mut Index<'_>,
    step: StepId,
    done: u64,
    timing: &Timing,
) -> Vec<u64> {
    let horizon = timing.horizon_us;
    let mut instants: Vec<u64> = Vec::new();
    index.crashes_and_sharers(step.op, done, horizon, &mut instants);
    let other =
        |e: &Instant| u32::from(e.attempt) != step.attempt || u32::from(e.copy) != step.copy;
    index.nearest_of(step.op, done, false, horizon, other, &mut instants);
    if let Some(s) = index.sent_at(step.op, step.attempt) {
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
