//! Proptest strategies for fault plans, to compose in `proptest!` blocks.

use proptest::prelude::*;

use super::{FaultKind, FaultSpace};
use crate::fault::{Direction, FaultAtom, FaultPlan, MessageRef, When};

fn message(space: &FaultSpace) -> impl Strategy<Value = MessageRef> + use<> {
    (
        prop_oneof![Just(Direction::Request), Just(Direction::Response)],
        1..=space.ops,
        1..=space.attempts,
    )
        .prop_map(|(dir, op, attempt)| MessageRef {
            dir,
            op,
            attempt,
            copy: 0,
        })
}

/// One fault atom from `space`: drop, duplicate or delay a message, or crash just after or
/// just before a step, among the kinds `space` allows. Shrinks toward earlier operations
/// and attempts and plainer faults.
pub fn atom(space: &FaultSpace) -> BoxedStrategy<FaultAtom> {
    let delays = space.delays.clone();
    let steps = space.steps.clone();
    let ops = space.ops;
    let attempts = space.attempts;
    let mut choices: Vec<BoxedStrategy<FaultAtom>> = Vec::new();
    for kind in &space.kinds {
        choices.push(match kind {
            FaultKind::Drop => message(space).prop_map(FaultAtom::Drop).boxed(),
            FaultKind::Duplicate => message(space).prop_map(FaultAtom::Duplicate).boxed(),
            FaultKind::Delay => {
                let delays = delays.clone();
                (message(space), 0..delays.len())
                    .prop_map(move |(msg, i)| FaultAtom::Delay { msg, by: delays[i] })
                    .boxed()
            }
            FaultKind::Crash => {
                let steps = steps.clone();
                (1..=ops, 1..=attempts, 0..steps.len(), any::<bool>())
                    .prop_map(move |(op, attempt, s, before)| FaultAtom::CrashAtStep {
                        op,
                        attempt: Some(attempt),
                        when: if before { When::Before } else { When::After },
                        step: steps[s],
                        position: None,
                        copy: None,
                    })
                    .boxed()
            }
            FaultKind::Slow => {
                let (steps, delays) = (steps.clone(), delays.clone());
                (1..=ops, 1..=attempts, 0..steps.len(), 0..delays.len())
                    .prop_map(move |(op, attempt, s, d)| FaultAtom::Slow {
                        op,
                        attempt,
                        step: steps[s],
                        by: delays[d],
                        position: None,
                        copy: None,
                    })
                    .boxed()
            }
            FaultKind::Unavailable => (1..=ops, 1..=attempts)
                .prop_map(|(op, attempt)| FaultAtom::Unavailable {
                    op,
                    attempt: Some(attempt),
                    position: None,
                    copy: None,
                })
                .boxed(),
        });
    }
    proptest::strategy::Union::new(choices).boxed()
}

/// A plan of up to `max_atoms` atoms from `space`.
pub fn fault_plan(
    space: &FaultSpace,
    max_atoms: usize,
) -> impl Strategy<Value = FaultPlan> + use<> {
    prop::collection::vec(atom(space), 0..=max_atoms).prop_map(FaultPlan::new)
}
