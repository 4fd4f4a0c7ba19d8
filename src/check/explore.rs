//! Bounded exhaustive search over the **tree of runs**.
//!
//! A run reaches its fault points ([`Point`]) one after another: messages put on the wire,
//! handler steps beginning and completing. Number them in that order; a fault atom lives at
//! the point it changes, so it has an [`Ordinal`]: the point's number, then the kind of change
//! (drop before delay before duplicate; crash before a step before stalling it; a 503 before
//! a crash after the call), then the delay's length.
//!
//! The world is one sequential program, so an atom at ordinal `n` changes nothing the run did
//! before it reached `n`: the points before `n`, and their numbers, are those of the plan
//! without the atom. That gives the tree. Its root is the fault-free run; a node is a plan,
//! and its children are the plan plus one atom at a point *of its own run* that comes after
//! its last atom. Every plan whose atoms all take effect is then a node exactly once: sort its
//! atoms by their ordinals in its own run; each prefix's run reaches the next atom's point at
//! the same ordinal, so the sorted order is a path of the tree, and no other order is. Points
//! that exist only because of an earlier fault (a retry, the network's copy of a request, a
//! redelivery, a step after a restart) are reached by the plans that cause them.
//!
//! The search goes breadth first, by number of faults, and stops after the first depth at
//! which a plan breaks an invariant. **The search's order** within a depth: a node's children
//! in order of the kind of fault (drop, delay, duplicate, crash, stall, 503: plainer first),
//! then of ordinal, and the children of earlier nodes first; the first violating plan in that
//! order is the one shrunk into the counterexample.
//!
//! ## Pruning, and why it is sound
//!
//! * **Dominated atoms** are not tried: dropping a message the network loses anyway, delaying
//!   a dropped message or one already delayed, stalling a step the plan crashes before, a 503
//!   from a call already answered 503. Each changes nothing the plan did not already change.
//! * **Runs seen before are not extended twice.** Each run is fingerprinted by a 128-bit hash
//!   of every event it logged (the time of an answer the client ignores, or of a request a
//!   down server refuses, left out: nothing follows from it). Designs keep no state of their
//!   own (everything lives behind `Cx`, whose every step is an event), so two runs with the
//!   same events went through the same states, and one more atom after both their last atoms
//!   gives the same run again. So when a run repeats an earlier node's run (a node of a lower
//!   depth, or of the same depth earlier in the search's order), its subtree repeats the part of
//!   the earlier node's subtree that comes after both nodes' last atoms: only the children the
//!   earlier node cannot have (those between the two last atoms) are still searched, and when
//!   there are none, none is. An atom that changed nothing is the special case of a run equal
//!   to its parent's. The earlier twin comes first in the search's order, and so do its extensions, so the first violating
//!   plan is never one that was skipped, and the counterexample is the one the plain tree
//!   search finds; `tests/explore.rs` checks both on every bundled scenario small enough.
//!
//! ## Work and budgets
//!
//! Runs are spread over a rayon pool (`Checker::jobs`) in batches of nodes; the report is
//! built from the batches in the search's order, so it is the same for any number of threads.
//! `Checker::max_runs` stops the search after the batch that reaches it, and the stop flag
//! (Ctrl-C, `--time`) after the current batch: the report says, per depth, what was covered.

use std::collections::HashMap;
use std::collections::HashSet;
use std::fmt;

use rayon::prelude::*;

use super::{Checker, Counterexample, FaultKind, Violation};
use crate::fault::{Direction, FaultAtom, FaultPlan, MessageRef, When};
use crate::time::SimDuration;
use crate::trace::{EventKind, NO_OP, Node};
use crate::world::{Exploration, Instant, Point, Recording, Run, StepId, StepKind};

/// Where an atom sits in a run: its point's number, then the kind of change, then its length.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ordinal {
    /// The point's number in the run, from 0.
    pub point: u32,
    /// The kind of change at that point, in the order the world decides them.
    pub class: u8,
    /// A delay's or a stall's length in microseconds (0 for the other kinds).
    pub param: u64,
}

/// How many delay (or stall) lengths one point gets at most, from its run's timing.
pub const MAX_LENGTHS: usize = 8;

/// How many times a delay's length is refined from the run it made.
const REFINEMENTS: u8 = 1;

/// How many plans one batch extends: the unit of parallel work and of budget checks.
const BATCH: usize = 64;

/// Why a search ended before it had covered its depth.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    /// It made the most runs it was allowed (`Checker::max_runs`).
    MaxRuns(u64),
    /// Its stop flag was raised (Ctrl-C, or a time limit the caller keeps).
    Interrupted,
}

/// What a search covered at one depth (number of faults).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DepthReport {
    /// The number of faults in the plans of this depth.
    pub faults: usize,
    /// Plans of one fault fewer to extend (0 at depth 0).
    pub parents: u64,
    /// Of those, how many were extended.
    pub parents_done: u64,
    /// Runs made for plans of this depth.
    pub runs: u64,
    /// Of those, runs unlike every run made before in the search.
    pub distinct: u64,
    /// Of those, runs that repeat an earlier plan's run: their extensions are the earlier
    /// plan's, so they were not extended again (or only partly).
    pub merged: u64,
    /// Atoms not tried because the plan made them change nothing.
    pub dominated: u64,
    /// Plans decided without a run: two atoms on operations that cannot interact (each
    /// changed operations the other did not, all of them with store keys of their own, no
    /// crash), whose plans of one atom fewer broke nothing; see the module documentation.
    pub independent: u64,
    /// With `Checker::verify_decisions`: plans decided without a run that, run after all,
    /// broke an invariant. Always 0, or the reasoning is wrong.
    pub misjudged: u64,
    /// Runs that broke an invariant.
    pub violations: u64,
    /// Runs that hit a budget (events, time or trace) before they ended.
    pub stopped_runs: u64,
    /// True when every plan of this depth was tried.
    pub complete: bool,
}

/// What an exhaustive search found, and exactly what it covered.
#[derive(Clone, Debug)]
pub struct ExploreReport {
    /// The deepest plans it was asked for.
    pub max_faults: usize,
    /// The kinds of fault it tried.
    pub kinds: Vec<FaultKind>,
    /// Fault atoms the fault-free run offers (the children of the tree's root).
    pub points: usize,
    /// Per depth, from 0 (the fault-free run).
    pub depths: Vec<DepthReport>,
    /// The first plan that broke an invariant, at the lowest depth, in the search's order.
    pub first: Option<FaultPlan>,
    /// That plan shrunk to its fewest faults and operations, with its story.
    pub minimal: Option<Counterexample>,
    /// Why it stopped early, if it did.
    pub stopped: Option<Stop>,
    /// True when the tree ended before `max_faults`: no plan of more faults changes anything
    /// that a plan of fewer does not, so every plan of any size up to `max_faults` is covered.
    pub exhausted: bool,
    /// The fingerprints of the runs that broke an invariant at the depth of the first one, in
    /// the search's order (for tools and tests that compare two searches).
    pub violating_runs: Vec<u128>,
}

/// How far a search has got: given to the progress callback after every batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExploreProgress {
    /// The depth being searched.
    pub depth: usize,
    /// Plans of one fault fewer extended so far at this depth.
    pub parents_done: u64,
    /// Plans of one fault fewer to extend at this depth.
    pub parents: u64,
    /// Runs made so far in the whole search.
    pub runs: u64,
}

impl ExploreReport {
    /// Runs made in all.
    pub fn runs(&self) -> u64 {
        self.depths.iter().map(|d| d.runs).sum()
    }

    /// Distinct runs in all.
    pub fn distinct(&self) -> u64 {
        self.depths.iter().map(|d| d.distinct).sum()
    }

    /// Runs that broke an invariant, in all.
    pub fn violations(&self) -> u64 {
        self.depths.iter().map(|d| d.violations).sum()
    }

    /// The deepest depth covered completely (every plan of at most that many faults).
    pub fn complete_depth(&self) -> Option<usize> {
        if self.exhausted && self.stopped.is_none() {
            return Some(self.max_faults);
        }
        self.depths
            .iter()
            .take_while(|d| d.complete)
            .last()
            .map(|d| d.faults)
    }

    /// True when every plan of at most `max_faults` faults was searched, or a violation was
    /// found at a depth searched completely.
    pub fn complete(&self) -> bool {
        match self.complete_depth() {
            Some(d) => d == self.max_faults || (self.first.is_some() && d + 1 == self.depths.len()),
            None => false,
        }
    }

    /// The kinds, comma-separated, as the command line names them.
    pub fn kind_names(&self) -> String {
        self.kinds
            .iter()
            .map(|k| k.name())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The report in words: one line per depth, then the claim, exact about what it covers.
    pub fn lines(&self, scenario: &str, design: &str) -> Vec<String> {
        let mut out = vec![format!(
            "explored `{design}` in {scenario}: plans of up to {} fault(s) of kinds {}, over the tree of runs ({} fault points in the fault-free run)",
            self.max_faults,
            self.kind_names(),
            self.points
        )];
        for d in &self.depths {
            let mut line = format!(
                "  {} fault(s): {} runs, {} distinct",
                d.faults,
                group(d.runs),
                group(d.distinct)
            );
            if d.merged > 0 {
                line.push_str(&format!(
                    "; {} not extended again (their run repeats an earlier plan's)",
                    group(d.merged)
                ));
            }
            if d.dominated > 0 {
                line.push_str(&format!(
                    "; {} atoms skipped (they change nothing the plan has not)",
                    group(d.dominated)
                ));
            }
            if d.independent > 0 {
                line.push_str(&format!(
                    "; {} plans decided without a run (two faults on operations that cannot interact)",
                    group(d.independent)
                ));
            }
            if d.stopped_runs > 0 {
                line.push_str(&format!("; {} hit a budget", group(d.stopped_runs)));
            }
            if d.violations > 0 {
                line.push_str(&format!("; {} violated an invariant", group(d.violations)));
            }
            if !d.complete && d.parents > 0 {
                line.push_str(&format!(
                    "; {}% of the tree ({} of {} plans of {} fault(s) extended)",
                    d.parents_done * 100 / d.parents,
                    group(d.parents_done),
                    group(d.parents),
                    d.faults - 1
                ));
            }
            out.push(line);
        }
        let runs = group(self.runs());
        let distinct = group(self.distinct());
        match (&self.first, self.complete_depth()) {
            (Some(plan), _) => out.push(format!(
                "violation: a plan of {} fault(s) breaks an invariant; no plan of fewer does",
                plan.atoms.len()
            )),
            (None, Some(d)) if d == self.max_faults => {
                out.push(format!(
                    "no violation in any plan of ≤ {d} fault(s) of kinds {} ({runs} runs, {distinct} distinct)",
                    self.kind_names()
                ));
                if self.exhausted {
                    out.push(format!(
                        "  (the tree ends at {} fault(s): no plan of more faults changes anything a smaller one does not)",
                        self.depths.len() - 1
                    ));
                }
            }
            (None, covered) => {
                let why = match self.stopped {
                    Some(Stop::MaxRuns(n)) => format!("stopped by --max-runs {n}"),
                    Some(Stop::Interrupted) => "stopped early".to_string(),
                    None => "stopped".to_string(),
                };
                match covered {
                    Some(d) => out.push(format!(
                        "complete for every plan of ≤ {d} fault(s) of kinds {}: no violation; deeper plans only in part, {why} ({runs} runs, {distinct} distinct)",
                        self.kind_names()
                    )),
                    None => out.push(format!("nothing covered completely, {why}")),
                }
            }
        }
        out
    }

    /// The stable JSON contract of `idemlab explore --format json`.
    pub fn to_json(&self, scenario: &str, design: &str) -> serde_json::Value {
        serde_json::json!({
            "scenario": scenario,
            "design": design,
            "max_faults": self.max_faults,
            "kinds": self.kinds.iter().map(|k| k.name()).collect::<Vec<_>>(),
            "points": self.points,
            "complete": self.complete(),
            "complete_depth": self.complete_depth(),
            "exhausted": self.exhausted,
            "runs": self.runs(),
            "distinct": self.distinct(),
            "violations": self.violations(),
            "stopped": self.stopped.map(|s| match s {
                Stop::MaxRuns(_) => "max-runs",
                Stop::Interrupted => "interrupted",
            }),
            "depths": self.depths.iter().map(|d| serde_json::json!({
                "faults": d.faults,
                "parents": d.parents,
                "parents_done": d.parents_done,
                "runs": d.runs,
                "distinct": d.distinct,
                "merged": d.merged,
                "dominated": d.dominated,
                "independent": d.independent,
                "violations": d.violations,
                "stopped_runs": d.stopped_runs,
                "complete": d.complete,
            })).collect::<Vec<_>>(),
            "first": self.first.as_ref().map(|p| p.atoms.iter().map(|a| a.to_string()).collect::<Vec<_>>()),
            "counterexample": self.minimal.as_ref().map(|c| serde_json::json!({
                "invariant": c.violation.invariant,
                "detail": c.violation.detail,
                "ops": c.scenario.workload.ops,
                "faults": c.plan.atoms.iter().map(|a| a.to_string()).collect::<Vec<_>>(),
            })),
        })
    }
}

/// `1234567` as `1,234,567`.
fn group(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A hasher for run fingerprints, which are already uniformly distributed: it keeps the low
/// 64 bits instead of hashing them again.
#[derive(Clone, Copy, Default)]
struct Fingerprints;

impl std::hash::BuildHasher for Fingerprints {
    type Hasher = FingerprintHasher;
    fn build_hasher(&self) -> FingerprintHasher {
        FingerprintHasher(0)
    }
}

/// See [`Fingerprints`].
struct FingerprintHasher(u64);

impl std::hash::Hasher for FingerprintHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // Only u128 keys are hashed here; this is the fallback for any other.
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    fn write_u128(&mut self, v: u128) {
        self.0 = v as u64;
    }
}

/// A plan to extend: its atoms in the order of their ordinals, its last atom's ordinal, and the last
/// ordinal its children may have (when an earlier twin covers the rest).
#[derive(Clone, Debug)]
struct TreeNode {
    plan: Vec<FaultAtom>,
    last: Option<Ordinal>,
    limit: Option<Ordinal>,
    /// The family of its parent's children, when the next depth is the last: for deciding
    /// plans of two independent atoms without running them.
    family: Option<u32>,
}

/// What one atom changed in the run of the plan it extends (its parent's).
#[derive(Clone, Debug)]
struct Effect {
    /// Operations whose own events changed, times taken from the operation's start.
    relative: Vec<u32>,
    /// `(key, op)` for every store key touched in this run by the operations whose events
    /// changed or moved in time (a superset of `relative`).
    touches: Vec<(u64, u32)>,
    /// No store key of this run was touched by two operations.
    private: bool,
    /// Operations whose events changed or moved in time (a superset of `relative`).
    absolute: Vec<u32>,
    /// Where the operations of `absolute` were on the servers: `(server, from, to)` for each
    /// handler task (its delivery to its last step or answer) and each refused request.
    activity: Vec<(u16, u64, u64)>,
    /// The run broke no invariant and hit no budget.
    clean: bool,
    /// For a crash atom: the server and the instant it crashes.
    crash: Option<(u16, u64)>,
    /// The operation the atom is about.
    op: u32,
    /// A handler of the run touched a volatile store.
    cache: bool,
    /// The run's end, events and logged events, for the budget of a combined run.
    end_us: u64,
    events: u64,
    logged: u64,
}

/// The children of one plan, with what each changed, and what the plan's own run was like.
#[derive(Debug, Default)]
struct Family {
    /// Each store key of the parent's run and the operation that touched it (`u32::MAX`: more
    /// than one).
    owners: HashMap<u64, u32>,
    /// The parent's run was private (no key touched by two operations) and clean.
    sound_base: bool,
    /// The parent's plan crashes a server.
    base_crash: bool,
    /// A handler of the parent's run touched a volatile store.
    cache: bool,
    /// How long a crashed server stays down.
    restart_us: u64,
    end_us: u64,
    events: u64,
    logged: u64,
    effects: HashMap<FaultAtom, Effect>,
    /// The delays and stalls among the children, by the message or step they lengthen: the
    /// lengths refined from their runs are the ones a child of the same atom would get.
    timed: HashMap<FaultAtom, Vec<(Ordinal, FaultAtom)>>,
}

/// A delay or a stall with its length set to zero: the key of the point it lengthens.
fn timed_key(atom: &FaultAtom) -> Option<FaultAtom> {
    match *atom {
        FaultAtom::Delay { msg, .. } => Some(FaultAtom::Delay {
            msg,
            by: SimDuration::ZERO,
        }),
        FaultAtom::Slow {
            op,
            attempt,
            step,
            position,
            copy,
            ..
        } => Some(FaultAtom::Slow {
            op,
            attempt,
            step,
            by: SimDuration::ZERO,
            position,
            copy,
        }),
        _ => None,
    }
}

impl Family {
    /// True when the plan `parent + x + y` breaks no invariant, known without running it: the
    /// family's base and both atoms' runs are clean, private and crash-free; the operations
    /// each atom changed (in their own time) are different ones; the operations either atom
    /// changed or moved touch store keys no other operation touches; and the budgets leave room
    /// for both. Then the operations of the combined run behave, each in its own time, as in
    /// one of the three runs, and every invariant is a property of each operation on its own.
    ///
    /// With a crash in the plan, time matters across operations (what is on the server when it
    /// goes down), so more must hold: no operation is moved by both atoms (each runs on the
    /// timeline of one of the three runs, where the crashes of the parent's plan met it as they
    /// meet it here); no operation the other atom changed or moved was on a crashing atom's
    /// server from the crash to the restart (killed, or refused) in its own run; a crashing
    /// atom's own operation is not moved by the other (so it crashes at the same instant); and
    /// no handler uses a volatile store (which a crash wipes for every operation at once).
    fn independent(&self, x: &Effect, y: &Effect, budget: &crate::sim::Budget) -> bool {
        let ok = |e: &Effect| e.clean && e.private;
        if !self.sound_base || !ok(x) || !ok(y) {
            return false;
        }
        if x.relative.iter().any(|op| y.relative.contains(op)) {
            return false;
        }
        if self.base_crash || x.crash.is_some() || y.crash.is_some() {
            if self.cache || x.cache || y.cache {
                return false;
            }
            if x.absolute.iter().any(|op| y.absolute.contains(op)) {
                return false;
            }
            let clear_of = |crash: Option<(u16, u64)>, crasher: &Effect, other: &Effect| {
                let Some((server, at)) = crash else {
                    return true;
                };
                let until = at.saturating_add(self.restart_us);
                !other.absolute.contains(&crasher.op)
                    && other
                        .activity
                        .iter()
                        .all(|&(s, from, to)| s != server || from > until || to < at)
            };
            if !clear_of(x.crash, x, y) || !clear_of(y.crash, y, x) {
                return false;
            }
        }
        let owned_by = |key: u64, op: u32, other: &Effect| {
            self.owners.get(&key).is_none_or(|&o| o == op)
                && other.touches.iter().all(|&(k, o)| k != key || o == op)
        };
        if !x.touches.iter().all(|&(k, op)| owned_by(k, op, y))
            || !y.touches.iter().all(|&(k, op)| owned_by(k, op, x))
        {
            return false;
        }
        let extra = |a: u64, b: u64, base: u64| a.saturating_add(b).saturating_sub(base);
        extra(x.end_us, y.end_us, self.end_us) < budget.max_time.0
            && extra(x.events, y.events, self.events) < budget.max_events
            && extra(x.logged, y.logged, self.logged) < budget.max_trace_events
    }
}

/// The operations whose views differ between `base` and `run`, by one of the two views.
fn changed(base: &Exploration, run: &Exploration, relative: bool) -> Vec<u32> {
    base.views
        .iter()
        .zip(&run.views)
        .enumerate()
        .filter(|(_, (a, b))| {
            if relative {
                a.relative != b.relative
            } else {
                a.absolute != b.absolute
            }
        })
        .map(|(i, _)| i as u32 + 1)
        .collect()
}

/// True when no store key of the run was touched by two operations.
fn private(ex: &Exploration) -> bool {
    let mut owners: HashMap<u64, u32> = HashMap::new();
    for &(op, k) in &ex.touches {
        if *owners.entry(k).or_insert(op) != op {
            return false;
        }
    }
    true
}

fn effect(base: &Run, run: &Run, candidate: &Candidate, clean: bool) -> Option<Effect> {
    let (b, r) = (base.exploration.as_deref()?, run.exploration.as_deref()?);
    let absolute = changed(b, r, false);
    let touches = r
        .touches
        .iter()
        .filter(|(op, _)| absolute.contains(op))
        .map(|&(op, k)| (k, op))
        .collect();
    // The point of a crash atom is in the parent's run, at the candidate's ordinal.
    let crash = match candidate.atom {
        FaultAtom::CrashAtStep { .. } => match b.points.get(candidate.at.point as usize) {
            Some(
                Point::StepStart { server, at_us, .. } | Point::StepDone { server, at_us, .. },
            ) => Some((*server, *at_us)),
            // A crash whose point cannot be found cannot be reasoned about: mark it so that
            // no plan with it is decided without a run.
            _ => Some((u16::MAX, 0)),
        },
        _ => None,
    };
    let crash_unknown = crash == Some((u16::MAX, 0));
    Some(Effect {
        relative: changed(b, r, true),
        activity: activity(r, &absolute),
        absolute,
        touches,
        private: private(r),
        clean: clean && run.stopped.is_none() && !crash_unknown,
        crash,
        op: atom_op(&candidate.atom),
        cache: r.cache,
        end_us: run.end_us,
        events: run.events,
        logged: run.logged,
    })
}

/// The operation an atom is about.
fn atom_op(atom: &FaultAtom) -> u32 {
    match *atom {
        FaultAtom::Drop(m) | FaultAtom::Duplicate(m) | FaultAtom::Delay { msg: m, .. } => m.op,
        FaultAtom::CrashAtStep { op, .. }
        | FaultAtom::Slow { op, .. }
        | FaultAtom::Unavailable { op, .. } => op,
        FaultAtom::CrashAt { .. } | FaultAtom::Partition { .. } => NO_OP,
    }
}

/// Where `ops` were on the servers in the run: `(server, from, to)` for each handler task,
/// from its delivery to its last event on that server (the run's end if it never had one),
/// and for each request a down server refused.
fn activity(ex: &Exploration, ops: &[u32]) -> Vec<(u16, u64, u64)> {
    // (operation, attempt, copy) of each task, and its (server, from, to).
    type Task = (u32, u16, u8);
    let mut open: Vec<(Task, (u16, u64, u64))> = Vec::new();
    let end = ex.instants.last().map_or(0, |e| e.time_us);
    let mut out = Vec::new();
    for e in &ex.instants {
        let Node::Server(server) = e.node else {
            continue;
        };
        if !ops.contains(&e.op) {
            continue;
        }
        let task = (e.op, e.attempt, e.copy);
        match e.kind {
            EventKind::Refused => out.push((server, e.time_us, e.time_us)),
            EventKind::Deliver => open.push((task, (server, e.time_us, end))),
            _ => {
                if let Some((_, span)) = open.iter_mut().rev().find(|(t, _)| *t == task) {
                    span.2 = e.time_us;
                }
            }
        }
    }
    // A task still running when the run ended keeps its span to the end; one that ended
    // has its last event as the span's end (set above, after its delivery).
    out.extend(open.into_iter().map(|(_, span)| span));
    out
}

fn family_of(base: &Run, plan: &[FaultAtom], clean: bool, restart_us: u64) -> Family {
    let Some(ex) = base.exploration.as_deref() else {
        return Family::default();
    };
    let mut owners: HashMap<u64, u32> = HashMap::new();
    for &(op, k) in &ex.touches {
        let o = owners.entry(k).or_insert(op);
        if *o != op {
            *o = u32::MAX;
        }
    }
    let base_crash = plan
        .iter()
        .any(|a| matches!(a, FaultAtom::CrashAtStep { .. } | FaultAtom::CrashAt { .. }));
    Family {
        sound_base: clean && base.stopped.is_none() && private(ex),
        base_crash,
        cache: ex.cache,
        restart_us,
        owners,
        end_us: base.end_us,
        events: base.events,
        logged: base.logged,
        effects: HashMap::new(),
        timed: HashMap::new(),
    }
}

/// One atom to try on a node.
#[derive(Clone, Copy, Debug)]
struct Candidate {
    at: Ordinal,
    atom: FaultAtom,
    /// For a delay or a stall: how many times its length has been refined; where it lands.
    refined: u8,
}

/// A run made for a plan of the current depth.
struct Child {
    node: usize,
    candidate: Candidate,
    hash: u128,
    violation: Option<Violation>,
    stopped: bool,
    /// What the atom changed, when the search keeps it (the depth before the last).
    effect: Option<Effect>,
}

/// What one batch made.
#[derive(Default)]
struct Batch {
    children: Vec<Child>,
    dominated: u64,
    independent: u64,
    /// Plans decided without a run, kept when the decisions are to be verified.
    decided: Vec<(usize, FaultAtom)>,
    /// With effects kept: the family of each node of the batch, by its number.
    families: Vec<(usize, Family)>,
}

/// The settings a candidate needs from the scenario.
struct Timing {
    timeout_us: u64,
    horizon_us: u64,
}

impl Checker<'_> {
    /// Runs `plan` for the search: no trace (unless a custom invariant may read one), with
    /// its fault points and fingerprints when it is to be `extended`, else its hash only.
    fn explore_run(&self, plan: &[FaultAtom], extended: bool) -> Run {
        let recording = match (extended, self.custom_invariants) {
            (true, false) => Recording::Explore,
            (true, true) => Recording::ExploreTraced,
            (false, false) => Recording::Fingerprint,
            (false, true) => Recording::FingerprintTraced,
        };
        crate::world::run_with(
            &self.scenario,
            self.design,
            self.scenario.seed,
            &FaultPlan::new(plan.to_vec()),
            recording,
        )
    }

    fn violation_of(&self, run: &Run) -> Option<Violation> {
        let metrics = crate::oracle::measure(run);
        self.invariants.iter().find_map(|inv| {
            inv.check(run, &metrics).map(|(detail, ops)| Violation {
                invariant: inv.name().to_string(),
                metric: inv.metric().map(str::to_string),
                detail,
                ops,
            })
        })
    }

    fn timing(&self) -> Timing {
        let s = &self.scenario;
        let r = &s.retry;
        let backoff = r.backoff_cap.0.max(r.backoff_base.0);
        let per_attempt = r.timeout.0.saturating_add(backoff);
        let horizon = per_attempt
            .saturating_mul(u64::from(r.attempts_max))
            .saturating_add(s.server.restart_delay.0)
            .saturating_add(s.network.latency.max.0.saturating_mul(2));
        Timing {
            timeout_us: r.timeout.0,
            horizon_us: horizon,
        }
    }

    /// Every fault atom the fault-free run offers (the tree's first level), in its order.
    pub fn fault_points(&self) -> Vec<FaultAtom> {
        let run = self.explore_run(&[], true);
        let (candidates, _) = self.candidates(&run, &[], None, None);
        candidates.into_iter().map(|c| c.atom).collect()
    }

    /// Bounded exhaustive search over the tree of runs: every plan of at most `max_faults`
    /// atoms of the checker's fault kinds, breadth first, pruned soundly; see the module
    /// documentation. Never refuses: budgets (`max_runs`, the stop flag) end it early, and
    /// the report says what was covered.
    pub fn explore(&self, max_faults: usize) -> ExploreReport {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(self.jobs)
            .build();
        match pool {
            Ok(pool) => pool.install(|| self.explore_in_pool(max_faults)),
            // No threads to be had: search on this one.
            Err(_) => self.explore_in_pool(max_faults),
        }
    }

    fn explore_in_pool(&self, max_faults: usize) -> ExploreReport {
        let root_run = self.explore_run(&[], true);
        let root_exploration = root_run.exploration.as_deref().cloned().unwrap_or_default();
        let mut report = ExploreReport {
            max_faults,
            kinds: self.kinds.clone(),
            points: self.candidates(&root_run, &[], None, None).0.len(),
            depths: vec![DepthReport {
                faults: 0,
                runs: 1,
                distinct: 1,
                stopped_runs: u64::from(root_run.stopped.is_some()),
                complete: true,
                ..DepthReport::default()
            }],
            first: None,
            minimal: None,
            stopped: None,
            exhausted: false,
            violating_runs: Vec::new(),
        };
        if self.violation_of(&root_run).is_some() {
            report.depths[0].violations = 1;
            report.violating_runs.push(root_exploration.hash);
            report.first = Some(FaultPlan::default());
            report.minimal = self.shrink(FaultPlan::default());
            return report;
        }
        // Run fingerprint → the lowest last ordinal of a node with that run (its subtree
        // covers every child after it). The root covers everything.
        let mut seen: HashMap<u128, Option<Ordinal>, Fingerprints> =
            HashMap::with_hasher(Fingerprints);
        seen.insert(root_exploration.hash, None);
        let mut distinct: HashSet<u128, Fingerprints> = HashSet::with_hasher(Fingerprints);
        distinct.insert(root_exploration.hash);
        let mut frontier = vec![TreeNode {
            plan: Vec::new(),
            last: None,
            limit: None,
            family: None,
        }];
        // Deciding plans of two independent atoms without a run rests on the built-in
        // invariants being properties of each operation alone.
        let independence = self.prune && !self.custom_invariants;
        let mut families_prev: Vec<Family> = Vec::new();
        let mut families_next: Vec<Family> = Vec::new();
        let mut runs_total = 1u64;
        for depth in 1..=max_faults {
            if frontier.is_empty() {
                report.exhausted = true;
                break;
            }
            let leaf = depth == max_faults;
            let mut level = DepthReport {
                faults: depth,
                parents: frontier.len() as u64,
                complete: true,
                ..DepthReport::default()
            };
            let mut next = Vec::new();
            let mut first: Option<FaultPlan> = None;
            let mut violating = Vec::new();
            for (batch_index, batch) in frontier.chunks(BATCH).enumerate() {
                if self.stopped() {
                    report.stopped = Some(Stop::Interrupted);
                } else if let Some(max) = self.max_runs
                    && runs_total >= max
                {
                    report.stopped = Some(Stop::MaxRuns(max));
                }
                if report.stopped.is_some() {
                    level.complete = false;
                    break;
                }
                let offset = batch_index * BATCH;
                let keep_effects = independence && depth + 1 == max_faults;
                let made = self.run_batch(batch, offset, &root_run, keep_effects, &families_prev);
                level.dominated += made.dominated;
                level.independent += made.independent;
                level.misjudged += made
                    .decided
                    .par_iter()
                    .filter(|(node, atom)| {
                        let mut plan = frontier[*node].plan.clone();
                        plan.push(*atom);
                        self.violation_of(&self.explore_run(&plan, false)).is_some()
                    })
                    .count() as u64;
                // Each node's family, by the node's number in this frontier.
                let mut family_of_node: HashMap<usize, u32> = HashMap::new();
                for (node, family) in made.families {
                    family_of_node.insert(node, families_next.len() as u32);
                    families_next.push(family);
                }
                for child in made.children {
                    level.runs += 1;
                    runs_total += 1;
                    level.stopped_runs += u64::from(child.stopped);
                    if distinct.insert(child.hash) {
                        level.distinct += 1;
                    }
                    let node = &frontier[child.node];
                    if child.violation.is_some() {
                        level.violations += 1;
                        violating.push(child.hash);
                        if first.is_none() {
                            let mut plan = node.plan.clone();
                            plan.push(child.candidate.atom);
                            first = Some(FaultPlan::new(plan));
                        }
                        continue;
                    }
                    if leaf {
                        continue;
                    }
                    let last = Some(child.candidate.at);
                    let limit = if self.prune {
                        match seen.get(&child.hash).copied() {
                            Some(covered) if last >= covered => {
                                level.merged += 1;
                                continue;
                            }
                            Some(covered) => {
                                level.merged += 1;
                                seen.insert(child.hash, last);
                                // `covered` is `Some`: it is greater than `last`.
                                covered
                            }
                            None => {
                                seen.insert(child.hash, last);
                                None
                            }
                        }
                    } else {
                        None
                    };
                    let mut plan = node.plan.clone();
                    plan.push(child.candidate.atom);
                    next.push(TreeNode {
                        plan,
                        last,
                        limit,
                        family: family_of_node.get(&child.node).copied(),
                    });
                }
                level.parents_done += batch.len() as u64;
                if let Some(progress) = self.explore_progress {
                    progress(&ExploreProgress {
                        depth,
                        parents_done: level.parents_done,
                        parents: level.parents,
                        runs: runs_total,
                    });
                }
            }
            report.depths.push(level);
            if let Some(plan) = first {
                report.minimal = self.shrink(plan.clone());
                report.first = Some(plan);
                report.violating_runs = violating;
                return report;
            }
            if report.stopped.is_some() {
                break;
            }
            frontier = next;
            families_prev = std::mem::take(&mut families_next);
        }
        report
    }

    /// Extends every node of `batch` (numbered from `offset` in the frontier): finds its
    /// children and runs them, spread over the pool, in the search's order. With
    /// `keep_effects`, also what each child's atom changed, gathered into one family per node;
    /// with `families`, children that two independent atoms make are decided without a run.
    fn run_batch(
        &self,
        batch: &[TreeNode],
        offset: usize,
        root: &Run,
        keep_effects: bool,
        families: &[Family],
    ) -> Batch {
        // Each node's own run, for its points (the root's is at hand).
        let expanded: Vec<(Option<Run>, Vec<Candidate>, u64)> = batch
            .par_iter()
            .map(|node| {
                if node.plan.is_empty() {
                    let (c, d) = self.candidates(root, &node.plan, node.last, node.limit);
                    (None, c, d)
                } else {
                    let run = self.explore_run(&node.plan, true);
                    let (c, d) = self.candidates(&run, &node.plan, node.last, node.limit);
                    (keep_effects.then_some(run), c, d)
                }
            })
            .collect();
        let mut out = Batch::default();
        let parents: Vec<Option<Run>> = expanded.iter().map(|_| None).collect();
        let mut parents = parents;
        let mut work: Vec<(usize, Candidate)> = Vec::new();
        for (i, (run, cands, dominated)) in expanded.into_iter().enumerate() {
            out.dominated += dominated;
            parents[i] = run;
            let node = &batch[i];
            let family = node.family.and_then(|f| families.get(f as usize));
            let mine = family
                .zip(node.plan.last())
                .and_then(|(f, x)| f.effects.get(x));
            let decide = |atom: &FaultAtom| match (family, mine) {
                (Some(f), Some(x)) => f
                    .effects
                    .get(atom)
                    .is_some_and(|y| f.independent(x, y, &self.scenario.limits)),
                _ => false,
            };
            let mut tried: Vec<Ordinal> = cands.iter().map(|c| c.at).collect();
            for c in cands {
                if !decide(&c.atom) {
                    work.push((offset + i, c));
                    continue;
                }
                out.independent += 1;
                if self.verify {
                    out.decided.push((offset + i, c.atom));
                }
                // A delay or stall decided without a run is not refined from a run of its
                // own: its refined lengths are those its sibling's run gave (the operation
                // behaves as there, in its own time). They are plans of the tree too.
                let Some(siblings) = family
                    .zip(timed_key(&c.atom))
                    .and_then(|(f, k)| f.timed.get(&k))
                else {
                    continue;
                };
                for &(at, atom) in siblings {
                    let at = Ordinal {
                        point: c.at.point,
                        ..at
                    };
                    if tried.contains(&at) || node.limit.is_some_and(|m| at > m) {
                        continue;
                    }
                    tried.push(at);
                    let refined = Candidate {
                        at,
                        atom,
                        refined: REFINEMENTS,
                    };
                    if decide(&atom) {
                        out.independent += 1;
                        if self.verify {
                            out.decided.push((offset + i, atom));
                        }
                    } else {
                        work.push((offset + i, refined));
                    }
                }
            }
        }
        let base = |node: usize| -> &Run { parents[node - offset].as_ref().unwrap_or(root) };
        let mut children = Vec::with_capacity(work.len());
        // Delays and stalls whose runs show new instants to land after: refined once.
        for round in 0..=REFINEMENTS {
            let made: Vec<(Child, Vec<Candidate>)> = work
                .par_iter()
                .map(|&(node, candidate)| {
                    let mut plan = batch[node - offset].plan.clone();
                    plan.push(candidate.atom);
                    // A delay or a stall is refined from the instants of its own run.
                    let timed = matches!(
                        candidate.atom,
                        FaultAtom::Delay { .. } | FaultAtom::Slow { .. }
                    );
                    let refine = timed && round < REFINEMENTS;
                    let run = self.explore_run(&plan, refine || keep_effects);
                    let refined = if refine {
                        self.refinements(&run, &batch[node - offset], candidate)
                    } else {
                        Vec::new()
                    };
                    let violation = self.violation_of(&run);
                    let effect = if keep_effects {
                        effect(base(node), &run, &candidate, violation.is_none())
                    } else {
                        None
                    };
                    let child = Child {
                        node,
                        candidate,
                        hash: run.exploration.as_ref().map_or(0, |e| e.hash),
                        violation,
                        stopped: run.stopped.is_some(),
                        effect,
                    };
                    (child, refined)
                })
                .collect();
            work.clear();
            for (child, refined) in made {
                let node = child.node;
                children.push(child);
                work.extend(refined.into_iter().map(|c| (node, c)));
            }
            // A refined length already tried on the same node (from its own run's timing, or
            // another refinement) is not tried again.
            work.sort_by_key(|&(n, c)| (n, c.at));
            work.dedup_by_key(|&mut (n, c)| (n, c.at));
            if !work.is_empty() {
                let tried: std::collections::BTreeSet<(usize, Ordinal)> = children
                    .iter()
                    .map(|ch| (ch.node, ch.candidate.at))
                    .collect();
                work.retain(|&(n, c)| !tried.contains(&(n, c.at)));
            }
            if work.is_empty() {
                break;
            }
        }
        // The search's order: by node, then by kind of fault (plainer first), then by ordinal.
        children.sort_by_key(|c| (c.node, rank(&c.candidate.atom), c.candidate.at));
        if keep_effects {
            for (i, node) in batch.iter().enumerate() {
                let parent = parents[i].as_ref().unwrap_or(root);
                let mut family = family_of(
                    parent,
                    &node.plan,
                    self.violation_of(parent).is_none(),
                    self.scenario.server.restart_delay.0,
                );
                for child in children.iter_mut().filter(|c| c.node == offset + i) {
                    if let Some(e) = child.effect.take() {
                        family.effects.insert(child.candidate.atom, e);
                    }
                    if let Some(key) = timed_key(&child.candidate.atom) {
                        family
                            .timed
                            .entry(key)
                            .or_default()
                            .push((child.candidate.at, child.candidate.atom));
                    }
                }
                out.families.push((offset + i, family));
            }
        }
        out.children = children;
        out
    }

    /// The atoms that extend `plan` (whose run is `run`): at points after `last`, up to
    /// `limit`, of the checker's kinds, not dominated. Also how many were dominated.
    fn candidates(
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
    fn refinements(&self, run: &Run, node: &TreeNode, candidate: Candidate) -> Vec<Candidate> {
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
fn rank(atom: &FaultAtom) -> u8 {
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

fn crash(step: StepId, when: When) -> FaultAtom {
    FaultAtom::CrashAtStep {
        op: step.op,
        attempt: Some(step.attempt),
        when,
        step: step.kind,
        position: Some(step.position),
        copy: Some(step.copy),
    }
}

fn slow(step: StepId, by: u64) -> FaultAtom {
    FaultAtom::Slow {
        op: step.op,
        attempt: step.attempt,
        step: step.kind,
        by: SimDuration(by),
        position: Some(step.position),
        copy: Some(step.copy),
    }
}

fn provider_down(step: StepId) -> FaultAtom {
    FaultAtom::Unavailable {
        op: step.op,
        attempt: Some(step.attempt),
        position: Some(step.position),
        copy: Some(step.copy),
    }
}

/// When the client sent `attempt` of `op`, from the run's instants.
fn sent_at(ex: &Exploration, op: u32, attempt: u32) -> Option<u64> {
    ex.instants
        .iter()
        .find(|e| e.kind == EventKind::Send && e.op == op && u32::from(e.attempt) == attempt)
        .map(|e| e.time_us)
}

/// The operations whose handlers touched a store key that `op`'s handlers touched.
fn sharing(ex: &Exploration, op: u32) -> Vec<u32> {
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

fn is_server(n: Node) -> bool {
    matches!(n, Node::Server(_))
}

fn is_crash_or_restart(e: &Instant) -> bool {
    matches!(e.kind, EventKind::Crash | EventKind::Restart)
}

/// Delay lengths for `msg` (natural arrival `arrives`): to land just after each instant of
/// the run that its fate can be ordered against, within the retry horizon. A request: the
/// server-side events of its operation's other attempts and copies, of operations that share
/// its store keys, and crashes and restarts, and its attempt's timeout. A response: its
/// client's later events for the operation, and the timeout of the attempt it answers.
fn delay_lengths(
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
fn stall_lengths(ex: &Exploration, step: StepId, done: u64, timing: &Timing) -> Vec<u64> {
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
fn lengths_after(mut instants: Vec<u64>, from: u64, timing: &Timing) -> Vec<u64> {
    instants.retain(|&t| t >= from && t - from <= timing.horizon_us);
    instants.sort_unstable();
    instants.dedup();
    instants.truncate(MAX_LENGTHS);
    instants.into_iter().map(|t| t + 1 - from).collect()
}

impl fmt::Display for Ordinal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.point, self.class, self.param)
    }
}
