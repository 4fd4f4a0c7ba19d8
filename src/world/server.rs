//! Servers: each request that reaches a live server becomes a task (the design's handler
//! future), polled by the world's own executor. A crash drops every task of that server, loses
//! its volatile store and keeps the durable store and the outside world's effects; the server
//! refuses requests until it restarts.

use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use crate::fate::{Decision, Identity};
use crate::time::SimDuration;
use crate::trace::{CrashCause, Detail, EventKind, Node};
use crate::vocab::{Request, Response};
use crate::world::api::Cx;
use crate::world::design::TaskStore;

use super::{Ev, TaskInfo, World};

/// A server process's liveness.
#[derive(Clone, Debug)]
pub(crate) struct ServerState {
    pub up: bool,
}

impl Default for ServerState {
    fn default() -> Self {
        ServerState { up: true }
    }
}

/// The executor's tasks: what each slot serves, and the design's [`TaskStore`] holding the
/// futures. Slots are reused; a generation number per slot makes wake-ups meant for a dropped
/// task harmless.
pub(crate) struct Tasks<'a> {
    store: Box<dyn TaskStore + 'a>,
    infos: Vec<Option<TaskInfo>>,
    generations: Vec<u32>,
    free: Vec<u32>,
}

impl<'a> Tasks<'a> {
    pub(crate) fn new(store: Box<dyn TaskStore + 'a>) -> Self {
        Tasks {
            store,
            infos: Vec::new(),
            generations: Vec::new(),
            free: Vec::new(),
        }
    }

    fn reserve(&mut self) -> (u32, u32) {
        match self.free.pop() {
            Some(slot) => {
                let g = &mut self.generations[slot as usize];
                *g = g.wrapping_add(1);
                (slot, *g)
            }
            None => {
                self.infos.push(None);
                self.generations.push(0);
                ((self.infos.len() - 1) as u32, 0)
            }
        }
    }

    /// What the live task in `slot` of `generation` serves.
    fn live(&self, slot: u32, generation: u32) -> Option<TaskInfo> {
        if self.generations.get(slot as usize) != Some(&generation) {
            return None;
        }
        *self.infos.get(slot as usize)?
    }

    /// Drops the task in `slot` and frees the slot for reuse.
    fn remove(&mut self, slot: u32) {
        if let Some(entry) = self.infos.get_mut(slot as usize)
            && entry.take().is_some()
        {
            self.free.push(slot);
            self.store.remove(slot);
        }
    }

    /// Drops every task of `server`.
    fn remove_server(&mut self, server: u16) {
        for slot in 0..self.infos.len() as u32 {
            if self.infos[slot as usize].is_some_and(|t| t.server == server) {
                self.remove(slot);
            }
        }
    }

    /// True when no task is running: every slot is free.
    #[inline]
    pub(crate) fn idle(&self) -> bool {
        self.free.len() == self.infos.len()
    }

    /// How many tasks are running.
    #[inline]
    pub(crate) fn running(&self) -> usize {
        self.infos.len() - self.free.len()
    }

    /// The same slots, all free, over another store (a fork of an idle world: no future to
    /// carry over, and the slots and generations the next tasks take are the same).
    pub(crate) fn fork(&self, store: Box<dyn TaskStore + 'a>) -> Self {
        debug_assert!(self.idle(), "a world is forked only while no handler runs");
        Tasks {
            store,
            infos: self.infos.clone(),
            generations: self.generations.clone(),
            free: self.free.clone(),
        }
    }

    pub fn clear(&mut self) {
        self.store.clear();
        self.infos.clear();
        self.generations.clear();
        self.free.clear();
    }
}

impl World<'_> {
    pub(crate) fn request_arrives(&mut self, req: Request, server: u16) {
        let mut shared = self.shared.borrow_mut();
        if !self.servers[usize::from(server)].up {
            shared.log(
                Node::Server(server),
                EventKind::Refused,
                Some(&req),
                Detail::None,
            );
            return;
        }
        self.delivered += 1;
        shared.log(
            Node::Server(server),
            EventKind::Deliver,
            Some(&req),
            Detail::None,
        );
        let (slot, generation) = self.tasks.reserve();
        shared.note_busy(|| self.tasks.running() == 1);
        let info = TaskInfo {
            slot,
            generation,
            server,
            req,
        };
        if let Some(steps) = shared.tasks.task_steps.get_mut(slot as usize) {
            *steps = 0;
        }
        if let Some(ids) = shared.tasks.task_ids.get_mut(slot as usize) {
            *ids = 0;
        }
        if let Some(acked) = shared.tasks.acked.get_mut(slot as usize) {
            *acked = false;
        }
        let range = self.scenario.server.processing;
        let processing = SimDuration(shared.fates.between(
            Decision::Processing,
            Identity::step(req.op, req.attempt, req.copy, u32::MAX),
            range.min.0,
            range.max.0,
        ));
        // With no processing delay the handler starts at once, saving an event per request.
        let start_now = processing == SimDuration::ZERO;
        if !start_now {
            shared
                .kernel
                .schedule_in(processing, Ev::Start { slot, generation });
        }
        drop(shared);
        let cx = Cx {
            shared: Rc::clone(&self.shared),
            task: info,
        };
        self.tasks.infos[slot as usize] = Some(info);
        self.tasks.store.spawn(slot, cx, req);
        if start_now {
            self.poll_task(slot, generation);
        }
    }

    pub(crate) fn poll_task(&mut self, slot: u32, generation: u32) {
        // Polled in place: the task stays in its slot unless it finished or crashed.
        let Some(info) = self.tasks.live(slot, generation) else {
            return; // The task was dropped by a crash; this wake-up is stale.
        };
        let mut context = Context::from_waker(Waker::noop());
        let Some(poll) = self.tasks.store.poll(slot, &mut context) else {
            return;
        };
        let (crash, acks) = {
            let mut shared = self.shared.borrow_mut();
            let acks = if shared.tasks.pending_acks.is_empty() {
                Vec::new()
            } else {
                std::mem::take(&mut shared.tasks.pending_acks)
            };
            (shared.tasks.crash_requested.take(), acks)
        };
        for ack in acks {
            self.send_ack(ack);
        }
        if crash.is_none() && poll.is_pending() {
            return;
        }
        // The task is done (or its server crashed): free the slot, drop the future.
        self.tasks.remove(slot);
        let acked = {
            let mut shared = self.shared.borrow_mut();
            shared.note_idle(|| self.tasks.idle());
            shared.store.release_locks(slot, info.generation);
            shared
                .tasks
                .acked
                .get(slot as usize)
                .copied()
                .unwrap_or(false)
        };
        if let Some((server, cause)) = crash {
            self.crash(server, cause, Some(info.req));
            return;
        }
        let Poll::Ready(response) = poll else {
            return;
        };
        if acked {
            return; // The ack was the answer; the return value goes nowhere.
        }
        self.respond(info, response);
    }

    /// Sends the ack of a task that called `cx.ack()`: a 200 response on the wire.
    fn send_ack(&mut self, info: TaskInfo) {
        self.respond(info, Response::ok(crate::vocab::Body::Empty));
    }

    /// Logs `response` as the server's answer to the task's request and puts it on the wire.
    fn respond(&mut self, info: TaskInfo, response: Response) {
        if !response.is_retryable()
            && let Some(op) = self.ops.get_mut((info.req.op as usize).wrapping_sub(1))
        {
            match op.answer {
                None => op.answer = Some(response),
                Some(first) => op.answers_differ |= first != response,
            }
        }
        self.shared.borrow_mut().log(
            Node::Server(info.server),
            EventKind::Respond,
            Some(&info.req),
            Detail::Response(response),
        );
        self.transmit(info.req, Some(response), info.server);
    }

    /// Crashes `server`: drops its tasks, loses its volatile store, schedules its restart.
    pub(crate) fn crash(&mut self, server: u16, cause: CrashCause, req: Option<Request>) {
        let Some(state) = self.servers.get_mut(usize::from(server)) else {
            return;
        };
        if !state.up {
            return;
        }
        state.up = false;
        // The tasks it kills: those on the server, and the one whose step asked for the crash
        // (already out of its slot).
        self.shared.borrow_mut().note_killed(
            server,
            req.iter().chain(
                self.tasks
                    .infos
                    .iter()
                    .flatten()
                    .filter(|t| t.server == server)
                    .map(|t| &t.req),
            ),
        );
        self.tasks.remove_server(server);
        {
            let mut shared = self.shared.borrow_mut();
            shared.note_idle(|| self.tasks.idle());
            shared.log(
                Node::Server(server),
                EventKind::Crash,
                req.as_ref(),
                Detail::Crash(cause),
            );
            shared.store.volatile[usize::from(server)].clear();
            shared.store.release_server_locks(server);
            shared
                .kernel
                .schedule_in(self.scenario.server.restart_delay, Ev::Restart { server });
        }
    }

    pub(crate) fn restart(&mut self, server: u16) {
        self.servers[usize::from(server)].up = true;
        self.shared
            .borrow_mut()
            .log(Node::Server(server), EventKind::Restart, None, Detail::None);
    }
}
