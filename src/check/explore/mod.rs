//! Bounded exhaustive search over the **tree of runs**.
//!
//! A run reaches its fault points ([`Point`](crate::world::Point)) one after another: messages put on the wire,
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
//!   Nor is a **crash before a step that begins as the step before it in the same handler
//!   ends** (the point just before it, in one poll): the crash after that step, its sibling
//!   just before it in the search's order, makes the same run but for the crash's label (which
//!   the fingerprint leaves out, and no built-in invariant reads; with an invariant of the
//!   user's own, both are tried). Every plan with it is the plan with its twin instead, which
//!   the tree has; `tests/explore.rs` runs each such pair of every bundled scenario × design.
//!   About a quarter of the crash points, and 28% of the runs of `default` at three faults.
//!   A node carries a weight, 2 to the number of its crashes with a twin not tried: its
//!   violating children are counted that many times, the counts of a search that tries both
//!   (the twin's subtree is the crash's, point for point, so every violation below one is
//!   below the other).
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
//! * **Plans of two independent faults are decided without a run** at the last depth
//!   (`independence`): when each of the two last atoms, alone, broke nothing, and they changed
//!   different operations (neither the other's own operation) whose store keys no other
//!   operation touches (with more conditions when a crash is in the plan: see
//!   `Family::independent`; a crash at a step of an operation the other atom only moves in
//!   time moves with it, `Family::crash_carried`), the plan of both breaks nothing either. It rests on one **premise**, stated here and nowhere else: *every invariant the
//!   search checks is decided by each operation on its own, on its own timeline* (its events,
//!   answers and effects, at times relative to its start), *and no design branches on the
//!   absolute time*. Then the operations of the combined run each behave as in one of the two
//!   single-fault runs, shifted in time, and every verdict is one of theirs. Where the premise
//!   fails, nothing is decided without a run, and the report says so:
//!   - an invariant that is not local (`Invariant::local`): the
//!     final state (`[oracle] exists`), read when the run ends, which every operation moves
//!     (two lost messages on two operations each push the end later, and together let a key
//!     expire that neither alone does); an invariant of the user's own unless it says it is
//!     local. The whole search then runs every plan (`ExploreReport::independence`);
//!   - a handler that read the clock (`Cx::now`) in the parent's run or either child's: it may
//!     compare the time with a constant, or with a time another operation wrote. Those plans
//!     are run (`DepthReport::clock_refused`). Store expiry (`Db::put_for`) needs no clock
//!     read: a key's life is counted from its write, by the operation that owns it.
//!
//! * **Plans of groups of faults** (`independence::Groups`), from three faults on, at the last
//!   depth: a plan the rule above cannot decide (its two last atoms share an operation) whose
//!   faults split into two groups, each a plan of fewer faults that ran clean, changing
//!   different operations in the fault-free run by the same conditions (with that run as the
//!   base, each group standing for an atom), breaks nothing either: the premise's argument is
//!   about which operations each side changed, not about how many atoms did it. Groups with a
//!   crash are not kept. A delay or a stall decided this way still has the children its own
//!   run would refine it to: the lengths its group's run refined it to, kept with the group
//!   when it was the group's last atom (else the plan is run). Its operation behaves as in
//!   that run, in its own time, and a length is counted from the message's arrival (or the
//!   step's end), so the lengths are the same; the verification checks that too. (14% fewer
//!   runs at three faults of `default`.) Counted in `DepthReport::composed`.
//!
//!   `Checker::verify_decisions` runs every decided plan after all, and
//!   `Checker::verify_sample` a deterministic sample of them; the tests do both, at two faults
//!   and at three, and fail on any decided plan that breaks an invariant, or whose run breaks
//!   the premise itself: an operation that behaved otherwise than in the run of the side that
//!   changed it (the atom on the parent's plan, for the pair rule; the group on the fault-free
//!   run, for groups), or of neither. That second check holds whatever the design, so it tests
//!   the reasoning even where every plan is clean. It found two holes, now closed: an atom
//!   that changed nothing its parent's run showed of its own operation (it delayed an answer
//!   the client ignored there) was taken as independent of an atom that changed that
//!   operation (after which the answer is the one the client takes); and a handler task a
//!   crash killed was taken to have left the server at its last step, so an operation moved
//!   by the other atom seemed clear of the downtime that changed it. (A task that acked and
//!   was killed before its next step is told from one that finished by the list of tasks each
//!   crash killed, `Exploration::killed`: its events alone look the same.)
//!
//! ## Work and budgets
//!
//! Runs are spread over a rayon pool (`Checker::jobs`) in batches of nodes; the report is
//! built from the batches in the search's order, so it is the same for any number of threads.
//! `Checker::max_runs` ends a batch between two of its nodes, before the first whose children
//! would pass the budget: the report counts whole nodes, the same for any number of threads.
//! The stop flag (Ctrl-C, SIGTERM, SIGHUP, `--time`) is polled before every run and within
//! one (`world::run_until`): the batch it interrupts is thrown away whole, so the report,
//! which says per depth what was covered, claims only whole batches. (A batch is 64 plans,
//! but one plan's children can be a whole depth: the root of a 2,000-operation scenario has
//! about 24,000 fault points.) A stop while the first violating plan is shrunk keeps what was shrunk so
//! far, which still breaks the invariant (`ExploreReport::shrink_stopped`).
//!
//! **Memory.** The depths go breadth first, so that a budget or a stop leaves every depth but
//! the last whole. What a depth holds for the next is its frontier (plans to extend) and the
//! set of runs seen; for the last depth, also every family of the depth before (each child's
//! `Effect`, about 1.5 KB). Up to `Checker::max_effects_held` effects those are held; past it,
//! they are dropped and made again at the last depth from the same runs, a batch of parents at
//! a time (`Checker::leaf_by_parents`): one run more per plan of the depth before, instead of
//! holding them all (11 GB at four faults of `default`). The report is the same either way.
//! The last depth's fingerprints, only counted, are kept coded (`leafset`): about 5 bytes a
//! run instead of 8, where four faults make 302 million (the whole search: 2.6 GB at peak).

mod candidates;
mod independence;
mod leafset;
mod report;

use std::collections::HashMap;
use std::collections::HashSet;
use std::fmt;

use rayon::prelude::*;

use super::{BuiltIn, Checker, Invariant, Violation};
use crate::fault::{FaultAtom, FaultPlan};
use crate::sim::LimitHit;
use crate::world::{Prefix, Recording, Run};

use candidates::rank;
use independence::{Effect, Family, Groups, Refusal, effect, family_of, timed_key};
use leafset::LeafSet;
pub(crate) use report::group;
pub use report::{DepthReport, ExploreProgress, ExploreReport, RunReasons, Stop};

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
pub(super) const REFINEMENTS: u8 = 1;

/// The most plans one depth keeps to extend at the next: a plan, its ordinals and its
/// fingerprint in the set of runs seen take a few hundred bytes, so this bounds a depth's
/// frontier near 3 GB. `default` at four faults keeps 7.2 million.
pub const MAX_FRONTIER: usize = 10_000_000;

/// The most faults in a group kept for deciding plans by groups ([`Groups`]).
const MAX_GROUP: usize = 2;

/// The most effects the families of the depth before the last may hold by default (about
/// 1.5 KB each; [`Checker::max_effects_held`]): past it, they are dropped, and at the last
/// depth each parent's children are run again for their family, a batch of parents at a time.
/// `default` at three faults holds 62,000 (about 100 MB); at four, 7.8 million (about 11 GB)
/// were held before.
pub const MAX_EFFECTS_HELD: usize = 1 << 17;

/// How many plans one batch extends: the unit of parallel work and of budget checks.
const BATCH: usize = 64;

/// How a child's run is recorded, and where it is forked from its node's run, if it is: the
/// last moment (events handled) before its atom's point that no handler ran.
type Fork = (Recording, Option<u64>);

/// The most children of one node forked from one [`Prefix`]: a node with more
/// (the root has hundreds) is split, so that its children still spread over the pool.
const FORKS: usize = 128;

/// The most items of a batch's parallel step one task takes: one. Rayon otherwise splits a
/// step only as often as it has threads (and again when a part is stolen), so a thread that
/// ran out could wait for the other to finish a run of 16 nodes or slices, items whose cost
/// varies tenfold: the two cores were 90% busy in a batch's forks at three faults of `default`,
/// 95% with this (timers since removed), and the search took 14.45 s instead of 15.6 s.
const SPLIT_ALL: usize = 1;

/// How many depths every shard of a search of `max_faults` faults searches whole before it
/// keeps only its own subtrees: all but the last two. They are a small part of the search (at
/// four faults of `default`, the first two depths are 62,000 runs of 198 million), and with
/// them every shard prunes those depths as the whole search does (runs seen before, at any
/// first fault) and keeps every group of one or two faults to decide plans by: three shards
/// of `default` at three faults ran 3.09 million runs in all when split at the root, 3.01
/// million split after the first depth, against the whole search's 2.86 million.
fn shared_depths(max_faults: usize) -> usize {
    max_faults.saturating_sub(2)
}

/// Deals items of these `weights` to `count` shards, largest first to the shard with the
/// least weight so far (ties to the earlier item, then the lower shard): the shard of each
/// item. Every shard of a search deals the same weights, so they agree on who has what.
fn deal(weights: &[u64], count: u64) -> Vec<u64> {
    let mut order: Vec<usize> = (0..weights.len()).collect();
    order.sort_by_key(|&i| (std::cmp::Reverse(weights[i]), i));
    let mut load = vec![0u64; count as usize];
    let mut owners = vec![0u64; weights.len()];
    for i in order {
        let (shard, _) = load
            .iter()
            .enumerate()
            .min_by_key(|&(j, &l)| (l, j))
            .unwrap_or((0, &0));
        load[shard] = load[shard].saturating_add(weights[i].max(1));
        owners[i] = shard as u64;
    }
    owners
}

/// The most children of the root that `--shard` weighs by their runs ([`Checker::root_owners`]);
/// past it they are dealt by number.
const MAX_WEIGHED: usize = 1 << 14;

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
pub(super) struct TreeNode {
    plan: Vec<FaultAtom>,
    last: Option<Ordinal>,
    limit: Option<Ordinal>,
    /// The family of its parent's children, when the next depth is the last: for deciding
    /// plans of two independent atoms without running them.
    family: Option<u32>,
    /// Its parent's number in the frontier before.
    parent: u32,
    /// How many plans of the plain tree it stands for: 2 to the number of its crashes whose
    /// twin (the crash before the next step, the same run) is not tried. Its violating
    /// descendants are counted that many times, as the plain search counts them.
    weight: u64,
}

impl TreeNode {
    /// The root: the fault-free plan, which stands for itself alone.
    fn root() -> Self {
        TreeNode {
            plan: Vec::new(),
            last: None,
            limit: None,
            family: None,
            parent: 0,
            weight: 1,
        }
    }
}

/// One atom to try on a node.
#[derive(Clone, Copy, Debug)]
pub(super) struct Candidate {
    at: Ordinal,
    atom: FaultAtom,
    /// For a delay or a stall: how many times its length has been refined; where it lands.
    refined: u8,
    /// A crash after a step whose twin, the crash before the next step, is not tried.
    twin: bool,
}

impl Candidate {
    /// A delay or a stall not refined yet: its own run would refine its length.
    fn unrefined(&self) -> bool {
        matches!(self.atom, FaultAtom::Delay { .. } | FaultAtom::Slow { .. })
            && self.refined < REFINEMENTS
    }
}

/// A run made for a plan of the current depth.
pub(super) struct Child {
    node: usize,
    candidate: Candidate,
    hash: u128,
    violation: Option<Violation>,
    stopped: bool,
    /// What the atom changed, when the search keeps it (the depth before the last).
    effect: Option<Box<Effect>>,
    /// What the plan changed in the fault-free run, when the search keeps it (the depths
    /// before the last, for deciding plans by groups: [`Groups`]).
    root_effect: Option<Box<Effect>>,
    /// With `root_effect`, for a delay or a stall not refined yet: the lengths refined from
    /// this run ([`Checker::refined_lengths`]).
    root_refined: Option<Box<[u64]>>,
}

/// What one batch made.
#[derive(Default)]
pub(super) struct Batch {
    children: Vec<Child>,
    dominated: u64,
    independent: u64,
    /// Plans that independence would have decided but for a handler reading the clock.
    clock_refused: u64,
    /// Of `independent`, those decided by two groups of faults ([`Groups`]).
    composed: u64,
    /// Why the runs made were not decided, where plans are decided.
    run_because: RunReasons,
    /// Plans decided without a run, kept when the decisions are to be verified.
    decided: Vec<Decided>,
    /// With effects kept: the family of each node of the batch, by its number.
    families: Vec<(usize, Family)>,
    /// The stop flag was raised while the batch ran: what it made is thrown away whole (the
    /// report claims only whole batches), so that a stop is honoured within a run, not a
    /// batch (one node's children can be a whole depth: 37,000 runs of a 2,000-operation
    /// scenario).
    interrupted: bool,
    /// How many of the batch's nodes were extended whole: all of them, unless the run budget
    /// (`budget_hit`) ended the batch before one.
    nodes_done: usize,
    budget_hit: bool,
}

/// One node's share of a batch ([`Checker::node_work`]).
#[derive(Default)]
pub(super) struct NodeWork {
    work: Vec<(usize, Candidate)>,
    dominated: u64,
    independent: u64,
    clock_refused: u64,
    composed: u64,
    run_because: RunReasons,
    decided: Vec<Decided>,
}

/// A plan decided without a run, kept to be verified: the node's number, the child, the rule
/// that decided it, and, decided by groups, the lengths the child was refined to without its
/// own run (which the run must give).
type Decided = (usize, Candidate, Rule, Box<[u64]>);

/// What the search does with one child of a node: run it, or decide it without a run by one
/// of the rules of `independence`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Rule {
    /// Not decided: run it.
    Run,
    /// The pair rule (`Family::independent`): its two last atoms cannot interact.
    Pair,
    /// Groups (`Groups::split`): its faults split into two groups that cannot interact.
    Groups,
}

/// What the search keeps across depths while it joins the batches.
struct Search {
    /// Run fingerprint → the lowest last ordinal of a node with that run.
    seen: HashMap<u128, Option<Ordinal>, Fingerprints>,
    /// Every run made before the last depth.
    distinct: HashSet<u128, Fingerprints>,
    groups: Groups,
    /// Runs made in the depths reported, for `--max-runs`.
    runs_total: u64,
    /// Why the search stopped early, once it has.
    stopped: Option<Stop>,
}

impl Search {
    /// At the last depth nothing is extended, so the runs seen are not looked up again: they
    /// are freed, and the low 64 bits of every run made so far are kept, sorted, to count the
    /// last depth's distinct runs ([`Tally::count_leaf`]).
    fn before_leaf(&mut self) -> Vec<u64> {
        self.seen = HashMap::with_hasher(Fingerprints);
        let distinct = std::mem::replace(&mut self.distinct, HashSet::with_hasher(Fingerprints));
        let mut before: Vec<u64> = distinct.into_iter().map(|h| h as u64).collect();
        before.par_sort_unstable();
        before
    }
}

/// One depth's count, joined from its batches in the search's order.
struct Tally {
    level: DepthReport,
    /// The plans to extend at the next depth.
    next: Vec<TreeNode>,
    /// The last depth's fingerprints, their low 64 bits, counted when the depth ends
    /// ([`Tally::count_leaf`]); `None` before the last depth.
    leaf: Option<LeafSet>,
    first: Option<FaultPlan>,
    violating: Vec<u128>,
}

impl Tally {
    /// `before`: at the last depth, the low 64 bits of every run before, sorted
    /// ([`Search::before_leaf`]).
    fn new(depth: usize, parents: u64, before: Option<Vec<u64>>) -> Self {
        Tally {
            level: DepthReport {
                faults: depth,
                parents,
                complete: true,
                ..DepthReport::default()
            },
            next: Vec::new(),
            leaf: before.map(|before| LeafSet::new(before, leafset::BUFFER)),
            first: None,
            violating: Vec::new(),
        }
    }

    /// The last depth's distinct runs: its fingerprints unlike each other and every run
    /// before, counted over the pool ([`LeafSet::count`]).
    fn count_leaf(&mut self) {
        if let Some(set) = self.leaf.take() {
            self.level.distinct = set.count();
        }
    }
}

/// What the batches of one depth are run with.
#[derive(Clone, Copy)]
pub(super) struct Settings<'a> {
    /// Keep what each child's atom changed in its parent's run (the depth before the last).
    keep_effects: bool,
    /// The families of the depth before, for the pair rule.
    families: &'a [Family],
    /// The runs `--max-runs` leaves.
    budget: Option<u64>,
    /// Keep what each child's plan changed in the fault-free run (depths before the last).
    keep_groups: bool,
    /// The groups to decide plans by (the last depth).
    groups: Option<&'a Groups>,
}

/// The settings a candidate needs from the scenario.
pub(super) struct Timing {
    timeout_us: u64,
    horizon_us: u64,
}

impl Checker<'_> {
    /// Runs `plan` for the search: no trace (unless a custom invariant may read one), with
    /// its fault points and fingerprints when it is to be `extended`, else its hash only.
    fn explore_run(&self, plan: &[FaultAtom], extended: bool) -> Run {
        self.run_recorded(plan, self.recording(extended))
    }

    /// What a run of the search records when it is to be `extended` (its points and
    /// fingerprints) or not (its hash), with the trace when a custom invariant may read it.
    fn recording(&self, extended: bool) -> Recording {
        match (extended, self.custom_invariants) {
            (true, false) => Recording::Explore,
            (true, true) => Recording::ExploreTraced,
            (false, false) => Recording::Fingerprint,
            (false, true) => Recording::FingerprintTraced,
        }
    }

    /// The flag a search's runs read to stop: the checker's, or one never raised.
    ///
    /// A run is cut when the stop comes, not finished first: one run of a large scenario can
    /// take longer than the second a stop is to be honoured in. Without a flag, one never
    /// raised (the kernel's pause every 4,096 events costs nothing worth measuring).
    fn stop_flag(&self) -> &std::sync::atomic::AtomicBool {
        static NEVER: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
        self.stop.unwrap_or(&NEVER)
    }

    /// Runs `plan` for the search, keeping what `recording` says.
    fn run_recorded(&self, plan: &[FaultAtom], recording: Recording) -> Run {
        crate::world::run_until(
            &self.scenario,
            self.design,
            self.scenario.seed,
            &FaultPlan::new(plan.to_vec()),
            recording,
            self.stop_flag(),
        )
    }

    fn violation_of(&self, run: &Run) -> Option<Violation> {
        self.first_violation(&self.scenario, run)
    }

    /// Why plans of two independent faults may not be decided without a run in this search,
    /// if they may not: an invariant that is not a property of each operation on its own.
    fn independence_off(&self) -> Option<String> {
        let global = self
            .invariants
            .iter()
            .find(|inv| !inv.local(&self.scenario))?;
        Some(if global.name() == BuiltIn::FinalState.name() {
            "the scenario checks the final state (`[oracle] exists`), and when a run ends depends on every operation".to_string()
        } else {
            format!(
                "\"{}\" is not a property of each operation on its own (`Invariant::local`)",
                global.name()
            )
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

    /// Which of `count` shards searches each of the root's `children`, when a search of one or
    /// two faults is split at the root: each child is weighed by how many children its run has,
    /// and its refinements' (a delay's other lengths, its siblings in the search, which go
    /// with it), one run per child that every shard makes alike, and dealt ([`deal`]). These
    /// runs are not the search's (a shard runs its own children again): the report does not
    /// count them. A root with more than [`MAX_WEIGHED`] children (each run as long as the
    /// scenario) is dealt every `count`th child.
    fn root_owners(&self, children: &[Candidate], count: u64) -> Vec<u64> {
        if children.len() > MAX_WEIGHED {
            return (0..children.len() as u64).map(|i| i % count).collect();
        }
        let root = TreeNode::root();
        let weights: Vec<u64> = children
            .par_iter()
            .with_max_len(SPLIT_ALL)
            .map(|&c| self.subtree_weight(&root, c))
            .collect();
        deal(&weights, count)
    }

    /// What [`Checker::root_owners`] weighs the root's child `c` by: how many children its
    /// run has, and its refinements'. 0 once a stop came.
    fn subtree_weight(&self, root: &TreeNode, c: Candidate) -> u64 {
        if self.stopped() {
            return 0;
        }
        let plan = [c.atom];
        let run = self.explore_run(&plan, true);
        if run.stopped.is_some() {
            return 0;
        }
        let own = self.candidates(&run, &plan, Some(c.at), None).0.len() as u64;
        self.refinements(&self.refined_lengths(&run, c), root, c)
            .into_iter()
            .fold(own, |w, r| w.saturating_add(self.subtree_weight(root, r)))
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
        // A stop during the fault-free run: nothing was covered, not even it.
        let stopped_at_root = matches!(root_run.stopped, Some(LimitHit::Interrupted { .. }));
        // The root's children, worked out once (a 1e6-operation scenario has millions).
        let root_children = if stopped_at_root {
            (Vec::new(), 0)
        } else {
            self.candidates(&root_run, &[], None, None)
        };
        let points = root_children.0.len();
        // A shard searches the plans of up to `shared` faults whole, as every shard does, and
        // deeper only the subtrees dealt to it. With none shared, it keeps its share of the
        // root's children (the dominated ones are counted by shard 0 alone, so that the
        // shards' counts add up).
        let shared = self.shard.map_or(0, |_| shared_depths(max_faults));
        let root_children = match self.shard {
            Some((index, count)) if shared == 0 => {
                let owners = self.root_owners(&root_children.0, count);
                (
                    root_children
                        .0
                        .into_iter()
                        .zip(owners)
                        .filter(|&(_, owner)| owner == index)
                        .map(|(c, _)| c)
                        .collect(),
                    if index == 0 { root_children.1 } else { 0 },
                )
            }
            _ => root_children,
        };
        let mut report = ExploreReport {
            max_faults,
            kinds: self.kinds.clone(),
            points,
            shard: self.shard,
            shared_depths: shared,
            root: root_exploration.hash,
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
            independence: None,
            shrink_stopped: false,
        };
        if stopped_at_root {
            report.depths[0] = DepthReport {
                faults: 0,
                parents: 1,
                ..DepthReport::default()
            };
            report.stopped = Some(Stop::Interrupted);
            return report;
        }
        if self.violation_of(&root_run).is_some() {
            report.depths[0].violations = 1;
            report.violating_runs.push(root_exploration.hash);
            report.first = Some(FaultPlan::default());
            report.minimal = self.shrink(FaultPlan::default());
            report.shrink_stopped = self.stopped();
            return report;
        }
        // Run fingerprint → the lowest last ordinal of a node with that run (its subtree
        // covers every child after it). The root covers everything.
        let mut seen: HashMap<u128, Option<Ordinal>, Fingerprints> =
            HashMap::with_hasher(Fingerprints);
        seen.insert(root_exploration.hash, None);
        let mut distinct: HashSet<u128, Fingerprints> = HashSet::with_hasher(Fingerprints);
        distinct.insert(root_exploration.hash);
        let mut frontier = vec![TreeNode::root()];
        // Deciding plans of two independent atoms without a run rests on every invariant
        // being a property of each operation alone (the module doc's premise).
        report.independence = self.prune.then(|| self.independence_off()).flatten();
        let independence = self.prune && report.independence.is_none();
        // Plans decided by groups of faults: from three faults on.
        let compose = independence && max_faults >= 3;
        let mut search = Search {
            seen,
            distinct,
            groups: Groups {
                root: family_of(&root_run, &[], true, self.scenario.server.restart_delay.0),
                ..Groups::default()
            },
            runs_total: 1,
            stopped: None,
        };
        let roots = (&root_run, &root_children);
        // The families of the depth before the last (each node's children with what each
        // changed), while they are held; past `MAX_EFFECTS_HELD` they are dropped and each
        // is made again by running its children again when the last depth needs it.
        let mut families: Vec<Family> = Vec::new();
        let mut held = 0usize;
        let mut remake = false;
        // The plans the frontier's nodes extend (their parents), for remaking families.
        let mut parents: Vec<TreeNode> = Vec::new();
        for depth in 1..=max_faults {
            if let Some((index, count)) = self.shard
                && shared > 0
                && depth == shared + 1
            {
                // Past the depths every shard searches: this shard's subtrees only, every
                // `count`th node (siblings, whose subtrees are alike, go to different shards;
                // dealt by their runs' children instead, the shards of `default` at three
                // faults were no closer: 1.009, 1.001 and 1.002 million runs, against 0.986,
                // 0.995 and 0.984 by number).
                frontier = std::mem::take(&mut frontier)
                    .into_iter()
                    .enumerate()
                    .filter(|&(i, _)| i as u64 % count == index)
                    .map(|(_, node)| node)
                    .collect();
            }
            if frontier.is_empty() {
                report.exhausted = true;
                break;
            }
            let leaf = depth == max_faults;
            let before_leaf = depth + 1 == max_faults;
            let before = leaf.then(|| search.before_leaf());
            let mut tally = Tally::new(depth, frontier.len() as u64, before);
            if leaf && remake {
                self.leaf_by_parents(
                    &parents,
                    &mut frontier,
                    roots,
                    compose,
                    &mut tally,
                    &mut search,
                );
            } else {
                for (batch_index, batch) in frontier.chunks(BATCH).enumerate() {
                    if self.stopped() {
                        search.stopped = Some(Stop::Interrupted);
                        break;
                    }
                    let offset = batch_index * BATCH;
                    let budget = self
                        .max_runs
                        .map(|max| max.saturating_sub(search.runs_total));
                    let made = self.run_batch(
                        batch,
                        offset,
                        roots,
                        &Settings {
                            keep_effects: independence && before_leaf && !remake,
                            families: &families,
                            budget,
                            // Groups of one or two faults only: every plan of three kept with its
                            // effect would hold millions at four faults (7 GB at a quarter of the
                            // third depth), and a four-fault plan still splits two and two.
                            keep_groups: compose && !leaf && depth <= MAX_GROUP,
                            groups: (compose && leaf).then_some(&search.groups),
                        },
                    );
                    if made.interrupted {
                        search.stopped = Some(Stop::Interrupted);
                        break;
                    }
                    let budget_hit = made.budget_hit;
                    held += made
                        .families
                        .iter()
                        .map(|(_, f)| f.effects.len())
                        .sum::<usize>();
                    self.absorb(
                        made,
                        &frontier,
                        leaf,
                        &mut tally,
                        &mut search,
                        &mut families,
                    );
                    if held > self.effects_held && !remake {
                        // Too many to hold: made again, a parent at a time, at the last depth.
                        remake = true;
                        families = Vec::new();
                        for node in &mut tally.next {
                            node.family = None;
                        }
                    }
                    if let Some(progress) = self.explore_progress {
                        progress(&ExploreProgress {
                            depth,
                            parents_done: tally.level.parents_done,
                            parents: tally.level.parents,
                            runs: search.runs_total,
                        });
                    }
                    if budget_hit {
                        search.stopped = self.max_runs.map(Stop::MaxRuns);
                    }
                    if search.stopped.is_some() {
                        break;
                    }
                }
            }
            tally.level.complete = tally.level.parents_done == tally.level.parents;
            tally.count_leaf();
            report.depths.push(tally.level);
            if let Some(plan) = tally.first {
                report.minimal = self.shrink(plan.clone());
                report.shrink_stopped = self.stopped();
                report.first = Some(plan);
                report.violating_runs = tally.violating;
                report.stopped = search.stopped;
                return report;
            }
            if search.stopped.is_some() {
                report.stopped = search.stopped;
                // Millions of nodes take seconds to free (5 s of a four-fault search stopped
                // by --time): the stop is answered first, and they are freed beside it.
                let left = (frontier, tally.next, parents, families, search);
                std::thread::spawn(move || drop(left));
                return report;
            }
            let extended = std::mem::replace(&mut frontier, tally.next);
            if before_leaf && remake {
                parents = extended;
            }
        }
        report
    }

    /// The last depth when its families were too many to hold: for each batch of `parents`
    /// (the nodes of two depths up), runs their children again, as the depth before did,
    /// for their families, then extends those children (`leaves`, the frontier, which are
    /// in the order of their parents) with them, and drops them.
    fn leaf_by_parents(
        &self,
        parents: &[TreeNode],
        leaves: &mut [TreeNode],
        roots: (&Run, &(Vec<Candidate>, u64)),
        compose: bool,
        tally: &mut Tally,
        search: &mut Search,
    ) {
        let mut start = 0;
        for (batch_index, batch) in parents.chunks(BATCH).enumerate() {
            let offset = batch_index * BATCH;
            let mut end = start;
            while end < leaves.len() && (leaves[end].parent as usize) < offset + batch.len() {
                end += 1;
            }
            if end == start {
                continue;
            }
            if self.stopped() {
                search.stopped = Some(Stop::Interrupted);
                return;
            }
            // The same runs as the depth before made (not counted again), for their effects.
            let again = self.run_batch(
                batch,
                offset,
                roots,
                &Settings {
                    keep_effects: true,
                    families: &[],
                    budget: None,
                    keep_groups: false,
                    groups: None,
                },
            );
            if again.interrupted {
                search.stopped = Some(Stop::Interrupted);
                return;
            }
            let mut local = Vec::with_capacity(again.families.len());
            let mut index = vec![None; batch.len()];
            for (node, family) in again.families {
                index[node - offset] = Some(local.len() as u32);
                local.push(family);
            }
            drop(again.children);
            for node in &mut leaves[start..end] {
                node.family = index[node.parent as usize - offset];
            }
            let nodes = &*leaves;
            for (i, chunk) in nodes[start..end].chunks(BATCH).enumerate() {
                if self.stopped() {
                    search.stopped = Some(Stop::Interrupted);
                    return;
                }
                let budget = self
                    .max_runs
                    .map(|max| max.saturating_sub(search.runs_total));
                let made = self.run_batch(
                    chunk,
                    start + i * BATCH,
                    roots,
                    &Settings {
                        keep_effects: false,
                        families: &local,
                        budget,
                        keep_groups: false,
                        groups: compose.then_some(&search.groups),
                    },
                );
                if made.interrupted {
                    search.stopped = Some(Stop::Interrupted);
                    return;
                }
                let budget_hit = made.budget_hit;
                self.absorb(made, nodes, true, tally, search, &mut Vec::new());
                if let Some(progress) = self.explore_progress {
                    progress(&ExploreProgress {
                        depth: tally.level.faults,
                        parents_done: tally.level.parents_done,
                        parents: tally.level.parents,
                        runs: search.runs_total,
                    });
                }
                if budget_hit {
                    search.stopped = self.max_runs.map(Stop::MaxRuns);
                    return;
                }
            }
            // Extended: their plans are not read again (at four faults, 400 MB by the end).
            for node in &mut leaves[start..end] {
                node.plan = Vec::new();
            }
            start = end;
        }
    }

    /// Joins one batch's runs into its depth's tally, in the search's order: counts, the
    /// first violating plan, and the plans to extend at the next depth (with `families`, the
    /// families the batch gathered, numbered from the vector's length). `nodes` are the plans
    /// the batch extended, numbered as the batch numbers them.
    fn absorb(
        &self,
        made: Batch,
        nodes: &[TreeNode],
        leaf: bool,
        tally: &mut Tally,
        search: &mut Search,
        families: &mut Vec<Family>,
    ) {
        let level = &mut tally.level;
        level.dominated += made.dominated;
        level.independent += made.independent;
        level.composed += made.composed;
        level.clock_refused += made.clock_refused;
        level.run_because.add(&made.run_because);
        level.verified += made.decided.len() as u64;
        let groups = &search.groups;
        level.misjudged += made
            .decided
            .par_iter()
            .filter(|(node, candidate, rule, lengths)| {
                let atom = &candidate.atom;
                let both = &nodes[*node].plan;
                let mut plan = both.clone();
                plan.push(*atom);
                let run = self.explore_run(&plan, true);
                // A run cut by a stop is a verdict of nothing.
                if matches!(run.stopped, Some(LimitHit::Interrupted { .. })) {
                    return false;
                }
                if self.violation_of(&run).is_some() {
                    return true;
                }
                // A delay or a stall that groups decided and refined from its group's run:
                // its own run refines it to the same lengths, or the search missed plans.
                if *rule == Rule::Groups
                    && candidate.unrefined()
                    && self.refined_lengths(&run, *candidate)[..] != lengths[..]
                {
                    return true;
                }
                // The rule's premise, checked as well: every operation behaved as in the run
                // of the side that changed it, or of neither. The pair rule's sides are the
                // two last atoms, each on the parent's plan; groups' are the two groups, each
                // on the fault-free run.
                let sides = match rule {
                    Rule::Pair => both.split_last().map(|(_, parent)| {
                        let mut other = parent.to_vec();
                        other.push(*atom);
                        [parent.to_vec(), both.clone(), other]
                    }),
                    Rule::Groups => groups
                        .split(both, atom, &self.scenario.limits)
                        .map(|(a, b)| [Vec::new(), a, b]),
                    Rule::Run => None,
                };
                // A plan groups decided whose groups are no longer both kept cannot be
                // checked against them: counted as misjudged, never passed over.
                let Some(sides) = sides else {
                    return true;
                };
                let runs = sides.map(|p| self.explore_run(&p, true));
                !behaves_as_decided(&runs[0], &runs[1], &runs[2], &run)
            })
            .count() as u64;
        // Each node's family, by the node's number.
        let mut family_of_node: HashMap<usize, u32> = HashMap::new();
        for (node, family) in made.families {
            family_of_node.insert(node, families.len() as u32);
            families.push(family);
        }
        for child in made.children {
            level.runs += 1;
            search.runs_total += 1;
            level.stopped_runs += u64::from(child.stopped);
            if let Some(set) = &mut tally.leaf {
                // The last depth: counted when it ends, over the pool (`Tally::count_leaf`).
                set.push(child.hash as u64);
            } else if search.distinct.insert(child.hash) {
                level.distinct += 1;
            }
            let node = &nodes[child.node];
            if let Some(e) = child.root_effect {
                let mut plan = node.plan.clone();
                plan.push(child.candidate.atom);
                let refined = child.root_refined.map(|l| (child.candidate.atom, l));
                search.groups.keep(&plan, *e, refined);
            }
            // The plain tree has the plan with its twin as well: counted for both.
            let weight = node
                .weight
                .saturating_mul(1 + u64::from(child.candidate.twin));
            if child.violation.is_some() {
                level.violations = level.violations.saturating_add(weight);
                tally.violating.push(child.hash);
                if tally.first.is_none() {
                    let mut plan = node.plan.clone();
                    plan.push(child.candidate.atom);
                    tally.first = Some(FaultPlan::new(plan));
                }
                continue;
            }
            if leaf {
                continue;
            }
            let last = Some(child.candidate.at);
            let limit = if self.prune {
                match search.seen.get(&child.hash).copied() {
                    Some(covered) if last >= covered => {
                        level.merged += 1;
                        continue;
                    }
                    Some(covered) => {
                        level.merged += 1;
                        search.seen.insert(child.hash, last);
                        // `covered` is `Some`: it is greater than `last`.
                        covered
                    }
                    None => {
                        search.seen.insert(child.hash, last);
                        None
                    }
                }
            } else {
                None
            };
            if tally.next.len() >= MAX_FRONTIER {
                // This depth is still run whole; the next one cannot be kept.
                search.stopped = Some(Stop::MaxFrontier(MAX_FRONTIER as u64));
                continue;
            }
            let mut plan = node.plan.clone();
            plan.push(child.candidate.atom);
            tally.next.push(TreeNode {
                plan,
                last,
                limit,
                family: family_of_node.get(&child.node).copied(),
                parent: child.node as u32,
                weight,
            });
        }
        level.parents_done += made.nodes_done as u64;
    }

    /// Extends every node of `batch` (numbered from `offset` in the frontier): finds its
    /// children and runs them, spread over the pool, in the search's order. With
    /// `keep_effects`, also what each child's atom changed, gathered into one family per node;
    /// with `families`, children that two independent atoms make are decided without a run.
    fn run_batch(
        &self,
        batch: &[TreeNode],
        offset: usize,
        (root, root_children): (&Run, &(Vec<Candidate>, u64)),
        settings: &Settings<'_>,
    ) -> Batch {
        let Settings {
            keep_effects,
            families,
            budget,
            keep_groups,
            groups,
        } = *settings;
        // Each node's own run, for its points (the root's is at hand). One node per task
        // (`SPLIT_ALL`), as in every parallel step of a batch.
        let expanded: Vec<(Option<Run>, Vec<Candidate>, u64)> = batch
            .par_iter()
            .with_max_len(SPLIT_ALL)
            .map(|node| {
                if self.stopped() {
                    return (None, Vec::new(), 0);
                }
                if node.plan.is_empty() {
                    (None, root_children.0.clone(), root_children.1)
                } else {
                    let run = self.explore_run(&node.plan, true);
                    let (c, d) = self.candidates(&run, &node.plan, node.last, node.limit);
                    // Kept for the batch: its children resume hashing from it, and with
                    // `keep_effects`, their effects are taken against it.
                    (Some(run), c, d)
                }
            })
            .collect();
        let mut out = Batch::default();
        if self.stopped() {
            out.interrupted = true;
            return out;
        }
        // Each node's children: those decided without a run, and the rest to run. Worked out
        // for every node at once, over the pool (4 million decisions at three faults of
        // `default`: on one thread they left the other core idle between the batches' runs).
        let decided: Vec<(Option<Run>, NodeWork)> = expanded
            .into_par_iter()
            .with_max_len(SPLIT_ALL)
            .enumerate()
            .map(|(i, (run, cands, dominated))| {
                let work =
                    self.node_work(&batch[i], offset + i, cands, dominated, families, groups);
                (run, work)
            })
            .collect();
        let mut parents: Vec<Option<Run>> = Vec::with_capacity(decided.len());
        let mut work: Vec<(usize, Candidate)> = Vec::new();
        out.nodes_done = batch.len();
        for (i, (run, node)) in decided.into_iter().enumerate() {
            // `--max-runs`: the batch ends before the first node whose children would pass
            // the budget, so the report counts whole nodes, the same for any `--jobs`.
            if budget.is_some_and(|b| (work.len() + node.work.len()) as u64 > b) {
                out.nodes_done = i;
                out.budget_hit = true;
                break;
            }
            parents.push(run);
            work.extend(node.work);
            out.dominated += node.dominated;
            out.independent += node.independent;
            out.clock_refused += node.clock_refused;
            out.composed += node.composed;
            out.run_because.add(&node.run_because);
            out.decided.extend(node.decided);
        }
        let base = |node: usize| -> &Run { parents[node - offset].as_ref().unwrap_or(root) };
        let mut children = Vec::with_capacity(work.len());
        // Delays and stalls whose runs show new instants to land after: refined once.
        for round in 0..=REFINEMENTS {
            // A delay or a stall is refined from the instants of its own run.
            let refines = |candidate: &Candidate| {
                let timed = matches!(
                    candidate.atom,
                    FaultAtom::Delay { .. } | FaultAtom::Slow { .. }
                );
                timed && round < REFINEMENTS
            };
            // A run only fingerprinted hashes from its atom's point on: before it, it is its
            // parent's run (not with a trace kept for the user's invariants). It is forked
            // from its parent's run at the last moment before that point no handler ran.
            let resume = |node: usize, candidate: &Candidate| {
                let extended = refines(candidate) || keep_effects || keep_groups;
                let point = candidate.at.point;
                let parent = base(node).exploration.as_deref();
                let recording = match parent.and_then(|e| e.hash_at(point)) {
                    Some(from) if !extended && !self.custom_invariants => {
                        Recording::FingerprintFrom(from)
                    }
                    _ => self.recording(extended),
                };
                (recording, parent.and_then(|e| e.quiet_before(point)))
            };
            let plan_of = |node: usize| batch[node - offset].plan.as_slice();
            let made = self.run_children(&work, plan_of, resume, |node, candidate, run| {
                let lengths = if refines(&candidate) {
                    self.refined_lengths(&run, candidate)
                } else {
                    Vec::new()
                };
                let refined = self.refinements(&lengths, &batch[node - offset], candidate);
                let violation = self.violation_of(&run);
                let effect = if keep_effects {
                    effect(base(node), &run, &candidate, violation.is_none()).map(Box::new)
                } else {
                    None
                };
                let groupable = plan_of(node)
                    .iter()
                    .chain([&candidate.atom])
                    .all(independence::groupable);
                let root_effect = if keep_groups && groupable {
                    independence::effect(root, &run, &candidate, violation.is_none()).map(Box::new)
                } else {
                    None
                };
                // A delay or stall's lengths refined from its own run, kept with the group,
                // whatever the node's bounds: those a plan decided by this group gets.
                let root_refined =
                    (root_effect.is_some() && refines(&candidate) && candidate.unrefined())
                        .then(|| lengths.into_boxed_slice());
                let child = Child {
                    node,
                    candidate,
                    hash: run.exploration.as_ref().map_or(0, |e| e.hash),
                    violation,
                    stopped: run.stopped.is_some(),
                    effect,
                    root_effect,
                    root_refined,
                };
                (child, refined)
            });
            if self.stopped() || made.iter().any(Option::is_none) {
                out.interrupted = true;
                return out;
            }
            work.clear();
            for (child, refined) in made.into_iter().flatten() {
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
            // Where plans are decided, a refined length is run as found: counted so.
            out.run_because.refined += work
                .iter()
                .filter(|&&(n, _)| {
                    batch[n - offset]
                        .family
                        .is_some_and(|f| (f as usize) < families.len())
                })
                .count() as u64;
            if work.is_empty() {
                break;
            }
        }
        // The search's order: by node, then by kind of fault (plainer first), then by ordinal.
        children.sort_by_key(|c| (c.node, rank(&c.candidate.atom), c.candidate.at));
        if keep_effects {
            for (i, node) in batch.iter().enumerate().take(out.nodes_done) {
                let parent = parents[i].as_ref().unwrap_or(root);
                let mut family = family_of(
                    parent,
                    &node.plan,
                    self.violation_of(parent).is_none(),
                    self.scenario.server.restart_delay.0,
                );
                for child in children.iter_mut().filter(|c| c.node == offset + i) {
                    if let Some(e) = child.effect.take() {
                        family.effects.insert(child.candidate.atom, *e);
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

    /// Runs every `(node, candidate)` of `work`, the node's plan (`plan_of`) plus the
    /// candidate's atom, and makes each run into what `made` says, in `work`'s order; `None`
    /// for those a stop cut (the caller throws the batch away).
    ///
    /// `resume` says how each is recorded, and the last moment before its atom's point that
    /// no handler ran in the node's run, if that run knows it. A run recorded for the search
    /// (`Explore`) or hash-only from the node's run's hash at the atom's point
    /// (`FingerprintFrom`) is forked from a [`Prefix`] of the node's run at that moment instead
    /// of being run from the start: the same run, without simulating again what the node's
    /// run did up to there (a child's atom sits on average three quarters into its node's
    /// points at the last depth of `default`). Each node's candidates are taken in the order
    /// of their moments, so that one prefix serves them all, in slices of [`FORKS`] so that a
    /// node with many children (the root) still spreads over the pool.
    fn run_children<'p, T: Send>(
        &self,
        work: &[(usize, Candidate)],
        plan_of: impl Fn(usize) -> &'p [FaultAtom] + Sync,
        resume: impl Fn(usize, &Candidate) -> Fork + Sync,
        made: impl Fn(usize, Candidate, Run) -> T + Sync,
    ) -> Vec<Option<T>> {
        // Each item with its recording and fork moment, by node, then by moment (those not
        // forked last).
        let mut order: Vec<(usize, Fork)> = work
            .iter()
            .enumerate()
            .map(|(i, (node, c))| {
                let (recording, quiet) = resume(*node, c);
                let forks = matches!(
                    recording,
                    Recording::Explore | Recording::FingerprintFrom(_)
                );
                (i, (recording, quiet.filter(|_| forks)))
            })
            .collect();
        order.sort_by_key(|&(i, (_, quiet))| (work[i].0, quiet.unwrap_or(u64::MAX)));
        let mut slices: Vec<&[(usize, Fork)]> = Vec::new();
        let mut rest = order.as_slice();
        while let Some(&(first, _)) = rest.first() {
            let node = work[first].0;
            let len = rest
                .iter()
                .take(FORKS)
                .take_while(|&&(i, _)| work[i].0 == node)
                .count();
            let (slice, tail) = rest.split_at(len);
            slices.push(slice);
            rest = tail;
        }
        let stop = self.stop_flag();
        let done: Vec<Vec<(usize, T)>> = slices
            .par_iter()
            .with_max_len(SPLIT_ALL)
            .map(|slice| {
                let mut prefix: Option<Prefix<'_>> = None;
                // A run recorded for the search is forked with the prefix's recorder: one that
                // records everything, when any of the slice is.
                let full = slice
                    .iter()
                    .any(|(_, (r, q))| q.is_some() && *r == Recording::Explore);
                let mut out = Vec::with_capacity(slice.len());
                for &(i, (recording, quiet)) in *slice {
                    // Raised while the batch runs: the rest of it is skipped, and the batch
                    // thrown away by the caller.
                    if self.stopped() {
                        break;
                    }
                    let (node, candidate) = work[i];
                    let forked = quiet.and_then(|quiet| {
                        let prefix = prefix.get_or_insert_with(|| {
                            Prefix::new(
                                &self.scenario,
                                self.design,
                                self.scenario.seed,
                                &FaultPlan::new(plan_of(node).to_vec()),
                                full,
                                stop,
                            )
                        });
                        if !prefix.advance_to(quiet) {
                            return None;
                        }
                        prefix.fork(candidate.atom, recording)
                    });
                    let run = forked.unwrap_or_else(|| {
                        let mut plan = plan_of(node).to_vec();
                        plan.push(candidate.atom);
                        self.run_recorded(&plan, recording)
                    });
                    out.push((i, made(node, candidate, run)));
                }
                out
            })
            .collect();
        let mut results: Vec<Option<T>> =
            std::iter::repeat_with(|| None).take(work.len()).collect();
        for (i, t) in done.into_iter().flatten() {
            results[i] = Some(t);
        }
        results
    }

    /// One node's children in the search's order, split: `work`, the candidates to run (as
    /// `(node number, candidate)`), and those decided without a run by the pair rule or by
    /// groups, counted, with the ones to verify. `number` is the node's in the frontier.
    fn node_work(
        &self,
        node: &TreeNode,
        number: usize,
        cands: Vec<Candidate>,
        dominated: u64,
        families: &[Family],
        groups: Option<&Groups>,
    ) -> NodeWork {
        let mut out = NodeWork {
            dominated,
            ..NodeWork::default()
        };
        let family = node.family.and_then(|f| families.get(f as usize));
        let mine = family
            .zip(node.plan.last())
            .and_then(|(f, x)| f.effects.get(x));
        let clock_refused = std::cell::Cell::new(0u64);
        let composed = std::cell::Cell::new(0u64);
        let because = std::cell::Cell::new(RunReasons::default());
        // The rule that decides `atom` (`refines`: a delay or a stall not refined yet), and,
        // decided by groups, the lengths its own run would have refined it to.
        let decide = |atom: &FaultAtom, refines: bool| -> (Rule, Box<[u64]>) {
            // Why the pair rule does not decide it; `None` where it does, or where no plan
            // is decided by it (no family: not the last depth).
            let refusal = match (family, mine) {
                (Some(f), Some(x)) => match f.effects.get(atom) {
                    Some(y) => {
                        let refusal = f.refusal(x, y, &self.scenario.limits);
                        if refusal.is_none() {
                            return (Rule::Pair, Box::new([]));
                        }
                        if f.reads_clock(x, y) {
                            clock_refused.set(clock_refused.get() + 1);
                        }
                        refusal
                    }
                    None => Some(Refusal::Unpaired),
                },
                (Some(_), None) => Some(Refusal::Unpaired),
                (None, _) => None,
            };
            // By groups: a delay or a stall to refine only with the lengths its group's run
            // gave it (the pair rule takes them from a sibling's run).
            match groups.and_then(|g| g.decide(&node.plan, atom, refines, &self.scenario.limits)) {
                Some(lengths) => {
                    composed.set(composed.get() + 1);
                    (Rule::Groups, lengths)
                }
                None => {
                    if let Some(why) = refusal {
                        let mut b = because.get();
                        b.count(why);
                        because.set(b);
                    }
                    (Rule::Run, Box::new([]))
                }
            }
        };
        let mut tried: Vec<Ordinal> = cands.iter().map(|c| c.at).collect();
        for c in cands {
            let refines = c.unrefined();
            let (rule, lengths) = decide(&c.atom, refines);
            if rule == Rule::Run {
                out.work.push((number, c));
                continue;
            }
            out.independent += 1;
            if self.verifies(&node.plan, &c.atom) {
                // Empty unless groups decided an atom to refine.
                out.decided.push((number, c, rule, lengths.clone()));
            }
            if !refines {
                continue;
            }
            // A delay or stall decided without a run is not refined from a run of its
            // own: its refined lengths are those its sibling's run gave (the operation
            // behaves as there, in its own time), or, decided by groups, its group's run.
            // They are plans of the tree too.
            let siblings: Vec<(Ordinal, FaultAtom)> = match rule {
                Rule::Pair => family
                    .zip(timed_key(&c.atom))
                    .and_then(|(f, k)| f.timed.get(&k))
                    .map(|s| {
                        s.iter()
                            .map(|&(at, atom)| {
                                let at = Ordinal {
                                    point: c.at.point,
                                    ..at
                                };
                                (at, atom)
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
                _ => self
                    .refinements(&lengths, node, c)
                    .into_iter()
                    .map(|r| (r.at, r.atom))
                    .collect(),
            };
            for (at, atom) in siblings {
                if tried.contains(&at) || node.limit.is_some_and(|m| at > m) {
                    continue;
                }
                tried.push(at);
                let refined = Candidate {
                    at,
                    atom,
                    refined: REFINEMENTS,
                    twin: false,
                };
                let (rule, _) = decide(&atom, false);
                if rule != Rule::Run {
                    out.independent += 1;
                    if self.verifies(&node.plan, &atom) {
                        out.decided.push((number, refined, rule, Box::new([])));
                    }
                } else {
                    out.work.push((number, refined));
                }
            }
        }
        out.clock_refused = clock_refused.get();
        out.composed = composed.get();
        out.run_because = because.get();
        out
    }
}

/// True when each operation of `both`, the run of a plan decided by the pair rule, behaved
/// (in its own time) as in the run of the atom that changed it, `x` or `y`, or as in `base`
/// when neither did: the premise the rule rests on, which holds whatever the design.
fn behaves_as_decided(base: &Run, x: &Run, y: &Run, both: &Run) -> bool {
    fn views(r: &Run) -> Option<&[crate::world::OpView]> {
        r.exploration.as_deref().map(|e| e.views.as_slice())
    }
    let (Some(b), Some(x), Some(y), Some(xy)) = (views(base), views(x), views(y), views(both))
    else {
        return false;
    };
    b.len() == xy.len()
        && b.iter().zip(x).zip(y).zip(xy).all(|(((b, x), y), xy)| {
            match (x.relative != b.relative, y.relative != b.relative) {
                (true, true) => false,
                (true, false) => xy.relative == x.relative,
                (false, true) => xy.relative == y.relative,
                (false, false) => xy.relative == b.relative,
            }
        })
}

impl fmt::Display for Ordinal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.point, self.class, self.param)
    }
}
