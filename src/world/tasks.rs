//! The server's tasks as `Cx` sees them: step and id counters per executor slot, the acks sent
//! during a poll, the crash a step asked for, and whether the last claim won.

use super::TaskInfo;
use crate::trace::CrashCause;

/// Per-task state the executor and `Cx` share.
#[derive(Clone, Default)]
pub(crate) struct Tasks {
    /// The next step index of the task in each executor slot.
    pub(crate) task_steps: Vec<u32>,
    /// Ids handed out by `Cx::unique_id` per task slot, counting from 0 for each new task.
    pub(crate) task_ids: Vec<u32>,
    /// Set by a step that hit a crash point; the executor crashes the server after the poll.
    pub(crate) crash_requested: Option<(u16, CrashCause)>,
    /// Tasks that called `cx.ack()` during the current poll: the executor sends their acks.
    pub(crate) pending_acks: Vec<TaskInfo>,
    /// Whether the task in each executor slot has acked (its return value is then not sent).
    pub(crate) acked: Vec<bool>,
    /// Whether the atomic claim the current step made won (set by the step, read when it is
    /// traced).
    pub(crate) claim_won: Option<bool>,
}

impl Tasks {
    /// The number of the task's next `Cx::unique_id`, counting from 0 for each new task.
    pub(crate) fn next_id_index(&mut self, task: &TaskInfo) -> u32 {
        next_of_slot(&mut self.task_ids, task.slot)
    }

    /// The index of the task's next step, counting from 0 for each new task in the slot.
    #[inline]
    pub(crate) fn next_step_index(&mut self, task: &TaskInfo) -> u32 {
        next_of_slot(&mut self.task_steps, task.slot)
    }
}

/// The count kept for task slot `slot` in `counts`, then one more for next time.
#[inline]
fn next_of_slot(counts: &mut Vec<u32>, slot: u32) -> u32 {
    let slot = slot as usize;
    if counts.len() <= slot {
        counts.resize(slot + 1, 0);
    }
    let index = counts[slot];
    counts[slot] += 1;
    index
}
