//! Crashes of the live service: SIGKILL at the plan's point around a provider call, or at a
//! time, and a start again after the scenario's restart delay.

use std::sync::Arc;
use std::time::Duration;

use crate::fault::{FaultAtom, When};
use crate::trace::{CrashCause, Detail, EventKind, Node};
use crate::vocab::StepKind;

use super::live::*;

/// Kills the service (SIGKILL) if the plan crashes it at this provider call of `op`'s
/// `attempt`, and starts it again after the restart delay. True if it did.
pub(super) fn crash_point(shared: &Arc<Shared>, op: u32, attempt: u32, when: When) -> bool {
    let hit = {
        let mut live = shared.lock();
        let i = shared.plan.atoms.iter().enumerate().position(|(i, a)| {
            !live.fired[i]
                && matches!(*a, FaultAtom::CrashAtStep { op: o, attempt: at, when: w, step: StepKind::Charge, .. }
                    if o == op && at.is_none_or(|x| x == attempt) && w == when)
        });
        if let Some(i) = i {
            live.fired[i] = true;
            let cause = match when {
                When::Before => CrashCause::Before(StepKind::Charge),
                When::After => CrashCause::After(StepKind::Charge),
            };
            live.log(
                Node::Server(0),
                EventKind::Crash,
                op,
                attempt,
                0,
                None,
                Detail::Crash(cause),
            );
        }
        i.is_some()
    };
    if hit {
        crash_and_restart(shared);
    }
    hit
}

/// SIGKILL now; a restart after the scenario's restart delay, in the background.
pub(crate) fn crash_and_restart(shared: &Arc<Shared>) {
    let Some(served) = shared.served.clone() else {
        return;
    };
    served.kill();
    let delay = Duration::from_micros(shared.scenario.server.restart_delay.0);
    let task = Arc::clone(shared);
    tokio::spawn(async move {
        tokio::time::sleep(delay).await;
        let restarted = tokio::task::spawn_blocking(move || served.restart()).await;
        let mut live = task.lock();
        if matches!(restarted, Ok(Ok(()))) {
            live.log(
                Node::Server(0),
                EventKind::Restart,
                crate::trace::NO_OP,
                0,
                0,
                None,
                Detail::None,
            );
        }
    });
}
