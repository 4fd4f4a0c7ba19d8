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
        }];
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
                let (children, dominated) = self.run_batch(batch, offset, &root_run);
                level.dominated += dominated;
                for child in children {
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
                    next.push(TreeNode { plan, last, limit });
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
        }
        report
    }

    /// Extends every node of `batch` (numbered from `offset` in the frontier): finds its
    /// children and runs them, spread over the pool. Returns the children in the search's order
    /// and how many atoms were dominated.
    fn run_batch(&self, batch: &[TreeNode], offset: usize, root: &Run) -> (Vec<Child>, u64) {
        // Each node's own run, for its points (the root's is at hand).
        let expanded: Vec<(Vec<Candidate>, u64)> = batch
            .par_iter()
            .map(|node| {
                if node.plan.is_empty() {
                    self.candidates(root, &node.plan, node.last, node.limit)
                } else {
                    let run = self.explore_run(&node.plan, true);
                    self.candidates(&run, &node.plan, node.last, node.limit)
                }
            })
            .collect();
        let dominated = expanded.iter().map(|(_, d)| d).sum();
        let mut work: Vec<(usize, Candidate)> = expanded
            .into_iter()
            .enumerate()
            .flat_map(|(i, (cands, _))| cands.into_iter().map(move |c| (offset + i, c)))
            .collect();
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
                    let run = self.explore_run(&plan, timed && round < REFINEMENTS);
                    let refined = if timed && round < REFINEMENTS {
                        self.refinements(&run, &batch[node - offset], candidate)
                    } else {
                        Vec::new()
                    };
                    let child = Child {
                        node,
                        candidate,
                        hash: run.exploration.as_ref().map_or(0, |e| e.hash),
                        violation: self.violation_of(&run),
                        stopped: run.stopped.is_some(),
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
        (children, dominated)
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
