//! What a search reports: per depth, what it ran, pruned and decided, and the claim it makes
//! of it, in words and as the stable JSON of `idemlab explore --format json`.

use super::independence::Refusal;
use crate::check::{Counterexample, FaultKind};
use crate::fault::FaultPlan;

/// How `--shard` cuts the tree, as the JSON report names it (`partition`): the first depths
/// searched by every shard, the nodes of the last of them dealt every Nth (with nothing
/// shared, the root's children weighed by their subtrees): [`Checker::shard`](crate::check::Checker::shard).
/// Reports cut another way (every Nth child of the root, before the cut had a name) do not
/// merge with these.
const PARTITION: &str = "shared-top";

/// Why a search ended before it had covered its depth.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    /// It made the most runs it was allowed (`Checker::max_runs`).
    MaxRuns(u64),
    /// Its stop flag was raised (Ctrl-C, or a time limit the caller keeps).
    Interrupted,
    /// The plans to extend at the next depth would not fit the memory budget
    /// ([`MAX_FRONTIER`](super::MAX_FRONTIER) of them).
    MaxFrontier(u64),
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
    /// Of those, runs unlike every run made before in the search. At the last depth, counted
    /// from the low 64 bits of each run's fingerprint: one short, or more, only when two
    /// different runs share them, a chance of at most n²/2⁶⁵ for n runs (3·10⁻⁷ at the 3.4
    /// million of `default` at three faults).
    pub distinct: u64,
    /// Of those, runs that repeat an earlier plan's run: their extensions are the earlier
    /// plan's, so they were not extended again (or only partly).
    pub merged: u64,
    /// Atoms not tried because the plan made them change nothing, or because a sibling tried
    /// before makes the same run (a crash after a step, for the crash before the next one).
    pub dominated: u64,
    /// Plans decided without a run: two atoms on operations that cannot interact (each
    /// changed operations the other did not, all of them with store keys of their own, and,
    /// with a crash in the plan, none of them on the crashing server while it is down), whose
    /// plans of one atom fewer broke nothing; see the module documentation for the premise.
    pub independent: u64,
    /// Of `independent`, the plans decided by two groups of faults on operations that cannot
    /// interact, from the runs of the groups (three faults and more).
    pub composed: u64,
    /// Plans that would have been decided without a run, but a handler of one of the runs
    /// they rest on read the clock (`Cx::now`), so they were run.
    pub clock_refused: u64,
    /// With `Checker::verify_decisions` or `Checker::verify_sample`: plans decided without a
    /// run that were run after all, to check the reasoning.
    pub verified: u64,
    /// With `Checker::verify_decisions` or `Checker::verify_sample`: plans decided without a
    /// run that, run after all, broke an invariant, or had an operation behave otherwise than
    /// in the run of the side that changed it (the atom, for the pair rule; the group, for
    /// groups), or of neither, or, a delay or a stall that groups decided, whose own run
    /// refines it to other lengths than its group's run did. Always 0, or the reasoning is
    /// wrong.
    pub misjudged: u64,
    /// Plans that broke an invariant: each violating run counted once for its plan and once
    /// more for each plan with a crash's twin instead (a crash before the next step, not tried:
    /// see the module doc), as a search that tries both twins counts them.
    pub violations: u64,
    /// Runs that hit a budget (events, time or trace) before they ended.
    pub stopped_runs: u64,
    /// True when every plan of this depth was tried.
    pub complete: bool,
    /// Why the runs of this depth were made rather than decided without one, at the depth
    /// where plans are decided (the last, of two faults or more, unless
    /// [`ExploreReport::independence`] says none is): there they add up to [`Self::runs`].
    pub run_because: RunReasons,
}

/// Why each run of the depth where plans are decided was made: the first condition the pair
/// rule found broken for the plan's two last faults (groups, tried after it, did not decide
/// the plan either), or that the plan is one the decisions do not reach.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RunReasons {
    /// The last fault is at a point that only the fault before it makes (a retry's message,
    /// a step after a restart): there is no plan without that fault to pair it with.
    pub unpaired: u64,
    /// The two last faults changed one operation, or one is about an operation the other
    /// changed: they interact.
    pub same_operation: u64,
    /// The plan crashes a server, and an operation one fault changed or moved may meet a
    /// downtime where the other fault moves it (what is on a server when it goes down, or
    /// comes while it is down, is a matter of absolute time).
    pub crash: u64,
    /// A store key touched by two operations.
    pub shared_key: u64,
    /// A run the decision rests on broke an invariant or hit a budget, or the plan could
    /// pass a budget.
    pub unsound: u64,
    /// A handler of a run the decision rests on read the clock.
    pub clock: u64,
    /// A delay's or a stall's length refined from the run of the same fault at another
    /// length: run as it was found.
    pub refined: u64,
}

impl RunReasons {
    /// The reasons, each with its name in the JSON report and its words in the text one.
    pub fn named(&self) -> [(&'static str, &'static str, u64); 7] {
        [
            (
                "crash",
                "near a crash (an operation one fault changed or moved may meet the downtime where the other moves it)",
                self.crash,
            ),
            (
                "unpaired",
                "at a point only the fault before made (nothing to pair with)",
                self.unpaired,
            ),
            (
                "same_operation",
                "two faults on one operation",
                self.same_operation,
            ),
            (
                "shared_key",
                "a store key touched by two operations",
                self.shared_key,
            ),
            (
                "unsound",
                "resting on a run that broke an invariant or hit a budget",
                self.unsound,
            ),
            ("clock", "a handler read the clock", self.clock),
            (
                "refined",
                "a delay's length refined from its own run",
                self.refined,
            ),
        ]
    }

    /// The reasons as the JSON report has them (a depth's `run_because`); a reason it does not
    /// name counts 0.
    pub fn from_json(json: &serde_json::Value) -> RunReasons {
        let n = |name: &str| json[name].as_u64().unwrap_or(0);
        RunReasons {
            unpaired: n("unpaired"),
            same_operation: n("same_operation"),
            crash: n("crash"),
            shared_key: n("shared_key"),
            unsound: n("unsound"),
            clock: n("clock"),
            refined: n("refined"),
        }
    }

    /// The reasons as the JSON report has them: an object of each reason's count, by name.
    pub fn to_json(&self) -> serde_json::Value {
        self.named()
            .iter()
            .map(|(name, _, n)| (name.to_string(), serde_json::Value::from(*n)))
            .collect::<serde_json::Map<_, _>>()
            .into()
    }

    /// The report's line for them, largest first (ties in the order of [`Self::named`]);
    /// `None` when none was counted.
    pub fn line(&self) -> Option<String> {
        let mut reasons = self.named();
        reasons.sort_by_key(|r| std::cmp::Reverse(r.2));
        let reasons: Vec<String> = reasons
            .iter()
            .filter(|r| r.2 > 0)
            .map(|(_, words, n)| format!("{} {words}", group(*n)))
            .collect();
        (!reasons.is_empty()).then(|| {
            format!(
                "    why these were run, not decided: {}",
                reasons.join("; ")
            )
        })
    }

    /// All the runs counted.
    pub fn total(&self) -> u64 {
        self.named().iter().map(|r| r.2).sum()
    }

    /// Counts a plan the pair rule refused for `why`, and groups did not decide.
    pub(super) fn count(&mut self, why: Refusal) {
        *match why {
            Refusal::Unpaired => &mut self.unpaired,
            Refusal::Unsound => &mut self.unsound,
            Refusal::SharedKey => &mut self.shared_key,
            Refusal::Clock => &mut self.clock,
            Refusal::SameOperation => &mut self.same_operation,
            Refusal::Crash => &mut self.crash,
        } += 1;
    }

    /// Adds `other`'s counts.
    pub fn add(&mut self, other: &RunReasons) {
        self.unpaired += other.unpaired;
        self.same_operation += other.same_operation;
        self.crash += other.crash;
        self.shared_key += other.shared_key;
        self.unsound += other.unsound;
        self.clock += other.clock;
        self.refined += other.refined;
    }
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
    /// `Some(why)` when no plan was decided without a run because an invariant the search
    /// checks is not a property of each operation on its own (the final state, say).
    pub independence: Option<String>,
    /// The shard searched (`index`, `count`), if the search was one ([`Checker::shard`]).
    ///
    /// [`Checker::shard`]: crate::check::Checker::shard
    pub shard: Option<(u64, u64)>,
    /// With a shard: how many depths from the first it searched whole, as every shard of the
    /// search does (`explore-merge` takes them from one shard); deeper, only its subtrees.
    pub shared_depths: usize,
    /// The fault-free run's fingerprint: shards of one search have the same.
    pub root: u128,
    /// A stop came while the first violating plan was being shrunk: [`Self::minimal`] still
    /// breaks the invariant, but may not be the smallest plan that does.
    pub shrink_stopped: bool,
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
        if let Some((index, count)) = self.shard {
            let share = match self.shared_depths {
                0 => format!(
                    "only the plans whose first fault is one of the fault-free run's fault atoms dealt to this shard (weighed by their subtrees, so that the {count} shards are about the same size)"
                ),
                n => format!(
                    "every plan of up to {n} fault(s), as every shard; deeper, only the plans that extend its share of those of {n} (one in {count})"
                ),
            };
            out.push(format!(
                "  shard {index}/{count}: {share}; `idemlab explore-merge` joins the {count} shards' --format json reports into the claim for every plan"
            ));
        }
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
                    "; {} atoms skipped (they change nothing the plan has not, or the same as another)",
                    group(d.dominated)
                ));
            }
            if d.independent > 0 {
                line.push_str(&format!(
                    "; {} plans decided without a run (two faults on operations that cannot interact",
                    group(d.independent)
                ));
                if d.composed > 0 {
                    line.push_str(&format!(
                        ", or, for {}, two groups of faults",
                        group(d.composed)
                    ));
                }
                line.push(')');
            }
            // The reasons, when counted, say it with the rest.
            let because = d.run_because.total() > 0;
            if d.clock_refused > 0 && !because {
                line.push_str(&format!(
                    "; {} plans run, not decided, because a handler read the clock",
                    group(d.clock_refused)
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
            out.extend(d.run_because.line());
        }
        if let Some(why) = &self.independence {
            out.push(format!(
                "  no plan decided without a run (every plan run): {why}"
            ));
        }
        let runs = group(self.runs());
        let distinct = group(self.distinct());
        match (&self.first, self.complete_depth()) {
            (Some(plan), _) => {
                out.push(format!(
                    "violation: a plan of {} fault(s) breaks an invariant; no plan of fewer{} does",
                    plan.atoms.len(),
                    if self.shard.is_some() {
                        " in this shard"
                    } else {
                        ""
                    }
                ));
                if self.shrink_stopped {
                    out.push(
                        "  (shrinking was stopped early: the counterexample still breaks it, but may not be the smallest)"
                            .to_string(),
                    );
                }
            }
            (None, Some(d)) if d == self.max_faults => {
                let of_shard = self
                    .shard
                    .map_or(String::new(), |(i, n)| format!(" of shard {i}/{n}"));
                out.push(format!(
                    "no violation in any plan{of_shard} of ≤ {d} fault(s) of kinds {} ({runs} runs, {distinct} distinct)",
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
                    Some(Stop::MaxFrontier(n)) => format!(
                        "stopped: the next depth has more than {n} plans to extend, more than the search keeps in memory"
                    ),
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
            "independence_off": self.independence,
            "shard": self.shard.map(|(i, n)| format!("{i}/{n}")),
            // How the tree was cut into shards: a merge refuses reports whose shards were
            // cut another way (they would miss or repeat subtrees).
            "partition": self.shard.map(|_| PARTITION),
            "shared_depths": self.shard.map(|_| self.shared_depths),
            "root": format!("{:032x}", self.root),
            "stopped": self.stopped.map(|s| match s {
                Stop::MaxRuns(_) => "max-runs",
                Stop::MaxFrontier(_) => "max-frontier",
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
                "composed": d.composed,
                "clock_refused": d.clock_refused,
                "violations": d.violations,
                "stopped_runs": d.stopped_runs,
                "complete": d.complete,
                "run_because": d.run_because.to_json(),
            })).collect::<Vec<_>>(),
            "first": self.first.as_ref().map(|p| p.atoms.iter().map(|a| a.to_string()).collect::<Vec<_>>()),
            "counterexample": self.minimal.as_ref().map(|c| serde_json::json!({
                "invariant": c.violation.invariant,
                "detail": c.violation.detail,
                "ops": c.scenario.workload.ops,
                "faults": c.plan.atoms.iter().map(|a| a.to_string()).collect::<Vec<_>>(),
                "liveness": c.violation.liveness,
                "shrink_stopped": self.shrink_stopped,
            })),
        })
    }
}

/// `1234567` as `1,234,567`.
pub(crate) fn group(n: u64) -> String {
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
