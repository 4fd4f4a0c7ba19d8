//! Shrinking: from a failing plan to the fewest faults and operations that still fail.

use super::{Checker, Counterexample};
use crate::fault::{FaultAtom, FaultPlan, MessageRef};
use crate::scenario::{Comparison, Expectation};

impl Checker<'_> {
    /// Shrinks a failing plan: remove atoms while it still fails (also trying, when an atom
    /// goes, its operation's later attempts one lower, since the retry it caused is gone), then
    /// move atoms to earlier attempts, then cut the workload to the fewest operations.
    ///
    /// A stop (the checker's flag) ends the shrinking where it is: every step taken was a plan
    /// that fails, so what is left still fails, only perhaps not minimally
    /// (`ExploreReport::shrink_stopped` says so).
    pub(super) fn shrink(&self, plan: FaultPlan) -> Option<Counterexample> {
        // Once stopped, no smaller plan is tried: each counts as not failing.
        let fails = |p: &FaultPlan| !self.stopped() && self.evaluate(&self.scenario, p).0.is_some();
        let mut plan = plan;
        loop {
            let mut changed = false;
            let mut i = 0;
            while i < plan.atoms.len() {
                let mut removed = plan.clone();
                let atom = removed.atoms.remove(i);
                let shifted = shift_later_attempts(&removed, &atom);
                if fails(&removed) {
                    plan = removed;
                    changed = true;
                } else if shifted.as_ref().is_some_and(&fails) {
                    plan = shifted.unwrap_or_default();
                    changed = true;
                } else {
                    i += 1;
                }
            }
            for i in 0..plan.atoms.len() {
                while let Some(earlier) = with_attempt_lowered(&plan, i) {
                    if !fails(&earlier) {
                        break;
                    }
                    plan = earlier;
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
        let mut scenario = self.scenario.clone();
        let (violation, _) = self.evaluate(&scenario, &plan);
        let violation = violation?;
        // Fewer operations: those the plan names must stay, and one that broke the invariant.
        let needed = plan
            .atoms
            .iter()
            .filter_map(|a| match a {
                FaultAtom::Drop(m) | FaultAtom::Duplicate(m) | FaultAtom::Delay { msg: m, .. } => {
                    Some(m.op)
                }
                FaultAtom::CrashAtStep { op, .. }
                | FaultAtom::Slow { op, .. }
                | FaultAtom::Unavailable { op, .. } => Some(*op),
                _ => None,
            })
            .chain(violation.ops.iter().copied().min())
            .max()
            .unwrap_or(1);
        for ops in 1..scenario.workload.ops {
            if ops < needed {
                continue;
            }
            if self.stopped() {
                break;
            }
            let Some(smaller) = with_ops(&scenario, ops) else {
                continue;
            };
            if self.evaluate(&smaller, &plan).0.is_some() {
                scenario = smaller;
                break;
            }
        }
        let (violation, run) = self.evaluate(&scenario, &plan);
        let violation = violation?;
        let design = self.design.name().to_string();
        scenario.name = format!("{}-counterexample-{design}", self.scenario.name);
        scenario.description = format!("{design}: {}", violation.detail);
        scenario.designs = vec![design.clone()];
        // A design of the user's own is declared so, and the file parses.
        scenario.own_designs = if crate::handlers::entry(&design).is_ok() {
            Vec::new()
        } else {
            vec![design.clone()]
        };
        // Options of the designs the replay no longer runs would make it an invalid file.
        scenario.design_options.retain(|name, _| *name == design);
        scenario.faults = plan.clone();
        scenario.expect.clear();
        if let Some(metric) = &violation.metric {
            scenario.expect.insert(
                design.clone(),
                vec![Expectation {
                    metric: metric.clone(),
                    comparison: Comparison::Eq(0),
                }],
            );
        }
        Some(Counterexample {
            design,
            scenario,
            plan,
            violation,
            run,
        })
    }
}

/// `scenario` cut to its first `ops` operations, with the payloads of the others (their
/// `[[workload.op]]` tables) gone, so that the file it is written as reads back; `None` when
/// a payload that stays reuses the key of an operation that goes (`key_of`).
fn with_ops(scenario: &crate::scenario::Scenario, ops: u32) -> Option<crate::scenario::Scenario> {
    let mut smaller = scenario.clone();
    let w = &mut smaller.workload;
    w.ops = ops;
    w.clients = w.clients.min(ops as u16);
    w.payloads.retain(|&op, _| op <= ops);
    w.payloads
        .values()
        .all(|p| p.key_of.is_none_or(|k| k <= ops))
        .then_some(smaller)
}

/// The operation and attempt an atom is about, if it is about one.
fn op_attempt(atom: &FaultAtom) -> Option<(u32, u32)> {
    match atom {
        FaultAtom::Drop(m) | FaultAtom::Duplicate(m) | FaultAtom::Delay { msg: m, .. } => {
            Some((m.op, m.attempt))
        }
        FaultAtom::CrashAtStep {
            op,
            attempt: Some(a),
            ..
        }
        | FaultAtom::Unavailable {
            op,
            attempt: Some(a),
            ..
        }
        | FaultAtom::Slow { op, attempt: a, .. } => Some((*op, *a)),
        _ => None,
    }
}

/// `atom` moved to attempt `attempt`.
fn at_attempt(atom: &FaultAtom, attempt: u32) -> FaultAtom {
    match *atom {
        FaultAtom::Drop(m) => FaultAtom::Drop(MessageRef { attempt, ..m }),
        FaultAtom::Duplicate(m) => FaultAtom::Duplicate(MessageRef { attempt, ..m }),
        FaultAtom::Delay { msg, by } => FaultAtom::Delay {
            msg: MessageRef { attempt, ..msg },
            by,
        },
        FaultAtom::CrashAtStep {
            op,
            when,
            step,
            position,
            copy,
            ..
        } => FaultAtom::CrashAtStep {
            op,
            attempt: Some(attempt),
            when,
            step,
            position,
            copy,
        },
        FaultAtom::Slow {
            op,
            step,
            by,
            position,
            copy,
            ..
        } => FaultAtom::Slow {
            op,
            attempt,
            step,
            by,
            position,
            copy,
        },
        FaultAtom::Unavailable {
            op, position, copy, ..
        } => FaultAtom::Unavailable {
            op,
            attempt: Some(attempt),
            position,
            copy,
        },
        other => other,
    }
}

/// `plan` with the atoms of `removed`'s operation that come after its attempt moved one
/// attempt earlier; `None` when there are none.
fn shift_later_attempts(plan: &FaultPlan, removed: &FaultAtom) -> Option<FaultPlan> {
    let (op, attempt) = op_attempt(removed)?;
    let mut moved = false;
    let atoms = plan
        .atoms
        .iter()
        .map(|a| match op_attempt(a) {
            Some((o, n)) if o == op && n > attempt => {
                moved = true;
                at_attempt(a, n - 1)
            }
            _ => *a,
        })
        .collect();
    moved.then(|| FaultPlan::new(atoms))
}

/// `plan` with atom `i` one attempt earlier; `None` at attempt 1.
fn with_attempt_lowered(plan: &FaultPlan, i: usize) -> Option<FaultPlan> {
    let (_, attempt) = op_attempt(&plan.atoms[i])?;
    if attempt <= 1 {
        return None;
    }
    let mut atoms = plan.atoms.clone();
    atoms[i] = at_attempt(&atoms[i], attempt - 1);
    Some(FaultPlan::new(atoms))
}
