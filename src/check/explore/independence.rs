//! Deciding a plan of two independent faults without running it: what each of the two last
//! atoms changed in its parent's run ([`Effect`]), the children of one parent gathered with
//! their effects ([`Family`]), and the conditions under which the plan of both breaks an
//! invariant only if a plan of one of them does.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use super::{Candidate, Ordinal};
use crate::fault::FaultAtom;
use crate::trace::{EventKind, NO_OP, Node};
use crate::world::{Exploration, Point, Run};

/// A hash map with [`FastHasher`]: the maps here are looked up millions of times a search (each
/// plan decided without a run looks up both atoms' effects and every key they touched), never
/// iterated, and their keys are not an adversary's: SipHash's protection was 3% of a search.
pub(super) type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<FastHasher>>;

/// FxHash's word step (a rotate, an xor and a multiply per word), as rustc hashes its own
/// tables. Not for keys an adversary chooses.
#[derive(Default)]
pub(super) struct FastHasher(u64);

impl Hasher for FastHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(word));
        }
    }
    fn write_u8(&mut self, i: u8) {
        self.write_u64(u64::from(i));
    }
    fn write_u16(&mut self, i: u16) {
        self.write_u64(u64::from(i));
    }
    fn write_u32(&mut self, i: u32) {
        self.write_u64(u64::from(i));
    }
    fn write_usize(&mut self, i: usize) {
        self.write_u64(i as u64);
    }
    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.0 = (self.0.rotate_left(5) ^ i).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

/// What one atom changed in the run of the plan it extends (its parent's).
#[derive(Clone, Debug)]
pub(super) struct Effect {
    /// Operations whose own events changed, times taken from the operation's start.
    pub(super) relative: Box<[u32]>,
    /// `(key, op)` for every store key touched in this run by the operations whose events
    /// changed or moved in time (a superset of `relative`), sorted, each once.
    pub(super) touches: Box<[(u64, u32)]>,
    /// No store key of this run was touched by two operations.
    pub(super) private: bool,
    /// Operations whose events changed or moved in time (a superset of `relative`).
    pub(super) absolute: Box<[u32]>,
    /// How much later each operation of `absolute` started than in the parent's run
    /// (microseconds, negative for earlier), in `absolute`'s order.
    pub(super) shifts: Box<[i64]>,
    /// Where the operations of `absolute` were on the servers: `(op, server, from, to)` for
    /// each handler task (its delivery to its last step or answer) and each refused request.
    pub(super) activity: Box<[(u32, u16, u64, u64)]>,
    /// The run broke no invariant and hit no budget.
    pub(super) clean: bool,
    /// For a crash atom: the server and the instant it crashes.
    pub(super) crash: Option<(u16, u64)>,
    /// The operation the atom is about.
    pub(super) op: u32,
    /// A handler of the run touched a volatile store.
    pub(super) cache: bool,
    /// A handler of the run read the clock.
    pub(super) clock: bool,
    /// The run's end, events and logged events, for the budget of a combined run.
    pub(super) end_us: u64,
    pub(super) events: u64,
    pub(super) logged: u64,
}

/// The children of one plan, with what each changed, and what the plan's own run was like.
#[derive(Debug, Default)]
pub(super) struct Family {
    /// Each store key of the parent's run and the operation that touched it (`u32::MAX`: more
    /// than one).
    pub(super) owners: FastMap<u64, u32>,
    /// The parent's run was private (no key touched by two operations) and clean.
    pub(super) sound_base: bool,
    /// The parent's run was private.
    pub(super) base_private: bool,
    /// The parent's plan crashes a server.
    pub(super) base_crash: bool,
    /// The parent's run's crashes: `(server, instant)`.
    pub(super) crashes: Box<[(u16, u64)]>,
    /// A handler of the parent's run touched a volatile store.
    pub(super) cache: bool,
    /// A handler of the parent's run read the clock.
    pub(super) clock: bool,
    /// How long a crashed server stays down.
    pub(super) restart_us: u64,
    /// Where every operation was on the servers in the parent's run (see [`activity`]).
    pub(super) activity: Box<[(u32, u16, u64, u64)]>,
    pub(super) end_us: u64,
    pub(super) events: u64,
    pub(super) logged: u64,
    pub(super) effects: FastMap<FaultAtom, Effect>,
    /// The delays and stalls among the children, by the message or step they lengthen: the
    /// lengths refined from their runs are the ones a child of the same atom would get.
    pub(super) timed: FastMap<FaultAtom, Vec<(Ordinal, FaultAtom)>>,
}

/// Why two atoms' plan is not decided without a run ([`Family::refusal`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Refusal {
    /// The last atom has no sibling to pair with: it is at a point only the atom before it
    /// makes (never given by [`Family::refusal`], which has both).
    Unpaired,
    /// A run it rests on broke an invariant or hit a budget, or the plan of both could pass
    /// a budget.
    Unsound,
    /// A store key was touched by two operations, in a run it rests on or across the two.
    SharedKey,
    /// A handler of a run it rests on read the clock.
    Clock,
    /// Both atoms changed one operation, or one is about an operation the other changed.
    SameOperation,
    /// The plan crashes a server, and an operation one atom changed or moved may meet the
    /// downtime where the other moves it (or the crash cannot be carried along, or a handler
    /// keeps a volatile store the crash wipes).
    Crash,
}

/// A delay or a stall with its length set to zero: the key of the point it lengthens.
pub(super) fn timed_key(atom: &FaultAtom) -> Option<FaultAtom> {
    matches!(atom, FaultAtom::Delay { .. } | FaultAtom::Slow { .. })
        .then(|| super::candidates::with_length(*atom, 0))
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
    /// goes down), so more must hold: an operation moved by both atoms (started later by each,
    /// as a client's later operations are when an earlier one takes longer) is nowhere near a
    /// crash's downtime, neither one of its own run's where that run has it nor any where the
    /// other's shift moves it, which is where the run of both has it
    /// ([`Family::shifts_compose`]; every other operation runs on the timeline of one of the
    /// three runs, where the crashes of the parent's plan met it as they meet it here); no
    /// operation the other atom changed or moved, and the crashing atom did not move, was on
    /// the crashing atom's server from the crash to the restart (killed, or refused) in its
    /// own run (one the crashing atom moved too is where `shifts_compose` put it); a crashing
    /// atom's own operation is not moved by the other (so it crashes at the same instant), or,
    /// when it is, the crash moves with it ([`Family::crash_carried`]); and no handler uses a
    /// volatile store (which a crash wipes for every operation at once).
    ///
    /// Neither atom may be about an operation the other changed, even when it changed nothing
    /// of it in its own run: a delay of an answer the client ignores changes nothing there, and
    /// everything once the other atom has lost the answer the client took.
    pub(super) fn independent(&self, x: &Effect, y: &Effect, budget: &crate::sim::Budget) -> bool {
        self.refusal(x, y, budget).is_none()
    }

    /// Why [`Family::independent`] is false for `x` and `y`: the first condition it finds
    /// broken, in the order the doc of `independent` gives them. `None`: independent.
    pub(super) fn refusal(
        &self,
        x: &Effect,
        y: &Effect,
        budget: &crate::sim::Budget,
    ) -> Option<Refusal> {
        if !self.sound_base || !x.clean || !y.clean {
            return Some(if self.base_private {
                Refusal::Unsound
            } else {
                Refusal::SharedKey
            });
        }
        if !x.private || !y.private {
            return Some(Refusal::SharedKey);
        }
        if self.reads_clock(x, y) {
            return Some(Refusal::Clock);
        }
        if x.relative.iter().any(|op| y.relative.contains(op)) {
            return Some(Refusal::SameOperation);
        }
        // An atom may change nothing its parent's run shows of its operation (it delays an
        // answer the client ignores there) and still change it where the other atom changed
        // that operation (the ignored answer is now the one the client takes).
        if x.relative.contains(&y.op) || y.relative.contains(&x.op) {
            return Some(Refusal::SameOperation);
        }
        if self.base_crash || x.crash.is_some() || y.crash.is_some() {
            if self.cache || x.cache || y.cache {
                return Some(Refusal::Crash);
            }
            // A crash at a step of an operation the other atom only starts later.
            let carried = match (x.crash, y.crash) {
                (Some(_), None) if y.absolute.contains(&x.op) => Some((x, y)),
                (None, Some(_)) if x.absolute.contains(&y.op) => Some((y, x)),
                _ => None,
            };
            if let Some((c, d)) = carried {
                if !self.crash_carried(c, d, budget) {
                    return Some(Refusal::Crash);
                }
            } else if !self.shifts_compose(x, y) {
                return Some(Refusal::Crash);
            }
            let clear_of = |crash: Option<(u16, u64)>, crasher: &Effect, other: &Effect| {
                let Some((server, at)) = crash else {
                    return true;
                };
                // An operation the crashing atom moved too is where `shifts_compose` put it.
                !other.absolute.contains(&crasher.op)
                    && !other.activity.iter().any(|&(op, s, from, to)| {
                        !crasher.absolute.contains(&op)
                            && self.in_downtime((server, at), s, from, to)
                    })
            };
            if carried.is_none() && (!clear_of(x.crash, x, y) || !clear_of(y.crash, y, x)) {
                return Some(Refusal::Crash);
            }
        }
        // Every key either touched is its toucher's alone in the parent's run, and no key is
        // touched by one operation in one run and by another in the other.
        let owned = |e: &Effect| {
            e.touches
                .iter()
                .all(|&(k, op)| self.owners.get(&k).is_none_or(|&o| o == op))
        };
        if !owned(x) || !owned(y) || shared_by_two(&x.touches, &y.touches) {
            return Some(Refusal::SharedKey);
        }
        let extra = |a: u64, b: u64, base: u64| a.saturating_add(b).saturating_sub(base);
        let fits = extra(x.end_us, y.end_us, self.end_us) < budget.max_time.0
            && extra(x.events, y.events, self.events) < budget.max_events
            && extra(x.logged, y.logged, self.logged) < budget.max_trace_events;
        (!fits).then_some(Refusal::Unsound)
    }
}

impl Family {
    /// For a crash `c` at a step of an operation the other atom `d` only moves in time (starts
    /// later, or earlier, by `s`): true when the crash can be carried along with it. In the run
    /// of both, the operation reaches its step `s` later, so the crash, and the downtime after
    /// it, come `s` later than in `c`'s run. That run is then `c`'s, moved by `s`, for every
    /// operation `c` changed or moved, when `d` moves each of them by the same `s` and changes
    /// none (they keep their places to the crash) and none of them meets a downtime of the
    /// parent's plan, which stays where it was, in `c`'s run or moved by `s`. Every other
    /// operation must be away from the moved downtime: those `d` changed or moved where `d`'s
    /// run has them, the rest where the parent's run has them.
    fn crash_carried(&self, c: &Effect, d: &Effect, budget: &crate::sim::Budget) -> bool {
        let Some((server, at)) = c.crash else {
            return false;
        };
        let Some(i) = d.absolute.iter().position(|&o| o == c.op) else {
            return false;
        };
        let s = d.shifts[i];
        // The crash's operation reaches its step as before (`independent` has made sure `d`
        // changed nothing of it), only later.
        if s == 0 || server == u16::MAX {
            return false;
        }
        for &op in c.absolute.iter() {
            if d.relative.contains(&op) {
                return false;
            }
            match d.absolute.iter().position(|&o| o == op) {
                Some(k) if d.shifts[k] == s => {}
                _ => return false,
            }
        }
        let base_hit = |srv: u16, from: u64, to: u64| {
            self.crashes
                .iter()
                .any(|&crash| self.in_downtime(crash, srv, from, to))
        };
        let moved = |t: u64| t.saturating_add_signed(s);
        if c.activity.iter().any(|&(_, srv, from, to)| {
            base_hit(srv, from, to) || base_hit(srv, moved(from), moved(to))
        }) {
            return false;
        }
        let meets =
            |srv: u16, from: u64, to: u64| self.in_downtime((server, moved(at)), srv, from, to);
        let of_d = d.activity.iter().filter(|a| !c.absolute.contains(&a.0));
        let of_neither = self
            .activity
            .iter()
            .filter(|a| !c.absolute.contains(&a.0) && !d.absolute.contains(&a.0));
        if of_d
            .chain(of_neither)
            .any(|&(_, srv, from, to)| meets(srv, from, to))
        {
            return false;
        }
        // The run of both ends as late as `c`'s moved by `s`, or `d`'s.
        c.end_us.saturating_add(s.unsigned_abs()).max(d.end_us) < budget.max_time.0
    }

    /// True when `[from, to]` on `server` meets the downtime of `crash` (a server and the
    /// instant it went down, until it restarts).
    fn in_downtime(&self, crash: (u16, u64), server: u16, from: u64, to: u64) -> bool {
        let (crashed, down) = crash;
        crashed == server && from <= down.saturating_add(self.restart_us) && to >= down
    }

    /// With a crash in the plan: true when every operation that both atoms moved in time is
    /// where the crashes cannot see the difference.
    ///
    /// An operation's start follows its client's previous operation's end (or is fixed), so
    /// in the run of both atoms an operation whose events only one atom changed (the other
    /// only moved it, by starting it later) has that one's events moved by the other's
    /// shift: the shifts add up along each client's operations. Nothing else of an
    /// operation depends on absolute time but a crash: whether it is on the crashed server
    /// while the server is down. So it is the same operation, only moved, when none of its
    /// time on a server meets a crash's downtime (the parent's crashes and either atom's,
    /// which start before either atom's point, or at the crashing atom's own operation,
    /// which `independent` requires the other atom not to move): neither where its own run
    /// had it nor where the other atom moves it. Operations moved by one atom only are not
    /// moved by the other; `independent`'s `clear_of` keeps them away from the other's
    /// crash.
    fn shifts_compose(&self, x: &Effect, y: &Effect) -> bool {
        // True when `[from, to]` on `server` meets the downtime of a crash of `runs` (the
        // parent's, and those of the atoms given).
        let hit = |runs: &[&Effect], server: u16, from: u64, to: u64| {
            self.crashes
                .iter()
                .chain(runs.iter().filter_map(|e| e.crash.as_ref()))
                .any(|&crash| self.in_downtime(crash, server, from, to))
        };
        for (i, &op) in x.absolute.iter().enumerate() {
            let Some(j) = y.absolute.iter().position(|&o| o == op) else {
                continue;
            };
            // Its events are those of the run that changed them (x's when neither did,
            // which then only moved it), moved by the other's shift.
            let (own, shift) = if y.relative.contains(&op) {
                (y, x.shifts[i])
            } else {
                (x, y.shifts[j])
            };
            if shift == 0 {
                // Moved, yet started as before: not a shift; nothing to reason with.
                return false;
            }
            let moved = |t: u64| t.saturating_add_signed(shift);
            // Where its own run has it, the crashes of that run shaped it; where the other
            // moves it, the crashes of both meet it.
            let near = own.activity.iter().any(|&(o, server, from, to)| {
                o == op
                    && (hit(&[own], server, from, to)
                        || hit(&[x, y], server, moved(from), moved(to)))
            });
            if near {
                return false;
            }
        }
        true
    }

    /// True when a handler of the parent's run or of either child's read the clock: it may
    /// have branched on absolute time, which the other atom moves.
    pub(super) fn reads_clock(&self, x: &Effect, y: &Effect) -> bool {
        self.clock || x.clock || y.clock
    }
}

/// The operations whose views differ between `base` and `run`, by one of the two views.
pub(super) fn changed(base: &Exploration, run: &Exploration, relative: bool) -> Vec<u32> {
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
pub(super) fn private(ex: &Exploration) -> bool {
    let mut owners: FastMap<u64, u32> = FastMap::default();
    for &(op, k) in &ex.touches {
        if *owners.entry(k).or_insert(op) != op {
            return false;
        }
    }
    true
}

pub(super) fn effect(base: &Run, run: &Run, candidate: &Candidate, clean: bool) -> Option<Effect> {
    let (b, r) = (base.exploration.as_deref()?, run.exploration.as_deref()?);
    let absolute = changed(b, r, false);
    // Sorted and each once (a handler touches its key several times): the pair rule compares
    // two effects' touches by merging them.
    let mut touches: Vec<(u64, u32)> = r
        .touches
        .iter()
        .filter(|(op, _)| absolute.contains(op))
        .map(|&(op, k)| (k, op))
        .collect();
    touches.sort_unstable();
    touches.dedup();
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
    let start = |ex: &Exploration, op: u32| {
        (op as usize)
            .checked_sub(1)
            .and_then(|i| ex.starts.get(i))
            .copied()
            .unwrap_or(0)
    };
    let shifts: Vec<i64> = absolute
        .iter()
        .map(|&op| start(r, op) as i64 - start(b, op) as i64)
        .collect();
    // Boxed slices, not vectors: millions of effects are held at once (every child of the
    // depth before the last), and a vector collected from a filter keeps up to twice its room.
    Some(Effect {
        relative: changed(b, r, true).into_boxed_slice(),
        activity: activity(r, Some(&absolute)).into_boxed_slice(),
        shifts: shifts.into_boxed_slice(),
        absolute: absolute.into_boxed_slice(),
        touches: touches.into_boxed_slice(),
        private: private(r),
        clean: clean && run.stopped.is_none() && !crash_unknown,
        crash,
        op: atom_op(&candidate.atom),
        cache: r.cache,
        clock: r.clock,
        end_us: run.end_us,
        events: run.events,
        logged: run.logged,
    })
}

/// True when a key of `a` is also in `b` with another operation: two sorted lists of
/// `(key, op)`, merged.
fn shared_by_two(a: &[(u64, u32)], b: &[(u64, u32)]) -> bool {
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        let key = a[i].0;
        match key.cmp(&b[j].0) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                let ours = a[i..].iter().take_while(|t| t.0 == key);
                let theirs = || b[j..].iter().take_while(|t| t.0 == key);
                if ours.clone().any(|x| theirs().any(|y| y.1 != x.1)) {
                    return true;
                }
                i += ours.count();
                j += theirs().count();
            }
        }
    }
    false
}

/// The operation an atom is about.
pub(super) fn atom_op(atom: &FaultAtom) -> u32 {
    match *atom {
        FaultAtom::Drop(m) | FaultAtom::Duplicate(m) | FaultAtom::Delay { msg: m, .. } => m.op,
        FaultAtom::CrashAtStep { op, .. }
        | FaultAtom::Slow { op, .. }
        | FaultAtom::Unavailable { op, .. } => op,
        FaultAtom::CrashAt { .. } | FaultAtom::Partition { .. } => NO_OP,
    }
}

/// Where `ops` (all operations, with `None`) were on the servers in the run: `(op, server,
/// from, to)` for each handler task, from its delivery to its last event there, and for each
/// request a down server refused. A task a crash killed ([`Exploration::killed`]) was there
/// until the crash: its last step may be long before it, and its last event may be an ack
/// (which the events do not tell from a last answer). One never answered when the run ended,
/// until the end.
pub(super) fn activity(ex: &Exploration, ops: Option<&[u32]>) -> Vec<(u32, u16, u64, u64)> {
    /// A task: `(op, attempt, copy)`, `(server, from, to)`, and whether its last event so far
    /// is its answer.
    type Open = ((u32, u16, u8), (u16, u64, u64), bool);
    let mut open: Vec<Open> = Vec::new();
    let end = ex.instants.last().map_or(0, |e| e.time_us);
    let mut out = Vec::new();
    for e in &ex.instants {
        let Node::Server(server) = e.node else {
            continue;
        };
        if e.kind == EventKind::Crash {
            // Every task on the server ends here; those it killed were there until now.
            let (ended, kept) = open.into_iter().partition(|(_, span, _)| span.0 == server);
            open = kept;
            let killed = |(op, attempt, copy): (u32, u16, u8)| {
                ex.killed.iter().any(|k| {
                    (k.time_us, k.server, k.op, k.attempt, k.copy)
                        == (e.time_us, server, op, attempt, copy)
                })
            };
            out.extend(ended.into_iter().map(|(task, (server, from, to), _)| {
                (
                    task.0,
                    server,
                    from,
                    if killed(task) { e.time_us } else { to },
                )
            }));
            continue;
        }
        if ops.is_some_and(|ops| !ops.contains(&e.op)) {
            continue;
        }
        let task = (e.op, e.attempt, e.copy);
        match e.kind {
            EventKind::Refused => out.push((e.op, server, e.time_us, e.time_us)),
            EventKind::Deliver => open.push((task, (server, e.time_us, e.time_us), false)),
            kind => {
                if let Some((_, span, done)) = open.iter_mut().rev().find(|(t, _, _)| *t == task) {
                    span.2 = e.time_us;
                    *done = kind == EventKind::Respond;
                }
            }
        }
    }
    // A task whose last event is not an answer ran, for all we know, to the end.
    out.extend(
        open.into_iter()
            .map(|((op, _, _), (server, from, to), done)| {
                (op, server, from, if done { to } else { end })
            }),
    );
    out
}

pub(super) fn family_of(base: &Run, plan: &[FaultAtom], clean: bool, restart_us: u64) -> Family {
    let Some(ex) = base.exploration.as_deref() else {
        return Family::default();
    };
    let mut owners: FastMap<u64, u32> = FastMap::default();
    for &(op, k) in &ex.touches {
        let o = owners.entry(k).or_insert(op);
        if *o != op {
            *o = u32::MAX;
        }
    }
    let base_crash = plan
        .iter()
        .any(|a| matches!(a, FaultAtom::CrashAtStep { .. } | FaultAtom::CrashAt { .. }));
    let crashes: Vec<(u16, u64)> = ex
        .instants
        .iter()
        .filter_map(|e| match (e.kind, e.node) {
            (EventKind::Crash, Node::Server(server)) => Some((server, e.time_us)),
            _ => None,
        })
        .collect();
    let base_private = private(ex);
    Family {
        sound_base: clean && base.stopped.is_none() && base_private,
        base_private,
        base_crash,
        crashes: crashes.into_boxed_slice(),
        cache: ex.cache,
        clock: ex.clock,
        restart_us,
        activity: activity(ex, None).into_boxed_slice(),
        owners,
        end_us: base.end_us,
        events: base.events,
        logged: base.logged,
        effects: FastMap::default(),
        timed: FastMap::default(),
    }
}

/// Plans of fewer faults than the search's depth that broke nothing, each with what it changed
/// in the fault-free run: for deciding, at the last depth, a plan whose faults split into two
/// groups on operations that cannot interact (**compositional**). The rule is the one for two
/// atoms ([`Family::independent`] with the fault-free run as the base), each group standing
/// for an atom: the premise's argument never used that a change is one atom, only that each
/// operation of the combined run was changed by one side. So a plan `{a, x, y}` whose `x` and
/// `y` share an operation, which the rule for its two last atoms cannot decide, is decided
/// from the runs of `{a}` and `{x, y}` when those changed different operations.
///
/// Crashes are left out (a group with one is not kept): a crash's reach is the server's, and
/// its effect names one crash instant, not a group's.
#[derive(Debug, Default)]
pub(super) struct Groups {
    pub(super) root: Family,
    pub(super) effects: FastMap<Box<[FaultAtom]>, Effect>,
    /// For a kept group whose last atom was a delay or a stall not refined yet: that atom,
    /// and the lengths its run refined it to. A plan this group decides with that atom last
    /// gets the same refinements (the group's operations behave as in its run, in their own
    /// time, and a delay's lengths are counted from its message's arrival).
    pub(super) refined: FastMap<Box<[FaultAtom]>, Refined>,
}

/// A group's last atom, a delay or a stall, and the lengths its run refined it to.
pub(super) type Refined = (FaultAtom, Box<[u64]>);

/// True for the atoms a group may hold: no crash (see [`Groups`]).
pub(super) fn groupable(atom: &FaultAtom) -> bool {
    !matches!(
        atom,
        FaultAtom::CrashAtStep { .. } | FaultAtom::CrashAt { .. } | FaultAtom::Partition { .. }
    )
}

impl Groups {
    /// Keeps a plan's effect on the fault-free run, when it is a group, with its last atom's
    /// refined lengths when that is a delay or a stall refined from this run.
    pub(super) fn keep(&mut self, plan: &[FaultAtom], effect: Effect, refined: Option<Refined>) {
        if plan.iter().all(groupable) && effect.clean && effect.private {
            let mut key = plan.to_vec();
            key.sort_unstable();
            let key = key.into_boxed_slice();
            if let Some(refined) = refined {
                self.refined.insert(key.clone(), refined);
            }
            self.effects.insert(key, effect);
        }
    }

    /// Whether `plan + atom` is decided by two groups, for an atom that a run of its own would
    /// refine (`refines`: a delay or a stall not refined yet). `None`: not decided. Else the
    /// lengths its run would have refined it to: none for an atom not to refine; for one to
    /// refine, those of the run of its group, which must have had it last (else, not decided).
    pub(super) fn decide(
        &self,
        plan: &[FaultAtom],
        atom: &FaultAtom,
        refines: bool,
        budget: &crate::sim::Budget,
    ) -> Option<Box<[u64]>> {
        let (a, b) = self.split(plan, atom, budget)?;
        if !refines {
            return Some(Box::new([]));
        }
        let mine = if a.contains(atom) { a } else { b };
        match self.refined.get(&mine[..]) {
            Some((last, lengths)) if last == atom => Some(lengths.clone()),
            _ => None,
        }
    }

    /// The first split of `plan + atom` into two kept groups that cannot interact (each
    /// sorted), if there is one.
    pub(super) fn split(
        &self,
        plan: &[FaultAtom],
        atom: &FaultAtom,
        budget: &crate::sim::Budget,
    ) -> Option<(Vec<FaultAtom>, Vec<FaultAtom>)> {
        let n = plan.len() + 1;
        // Two atoms are the pair rule's; past 12, the partitions are too many to try.
        if !(3..=12).contains(&n) || !groupable(atom) || !plan.iter().all(groupable) {
            return None;
        }
        let all = |i: usize| if i < plan.len() { plan[i] } else { *atom };
        let ops: Vec<u32> = (0..n).map(|i| atom_op(&all(i))).collect();
        // The first atom is always in group `a`; every other way of splitting the rest, but
        // only those that split by operation: two groups changing one operation's are never
        // independent, so they are not looked up (the plans of one operation are most).
        let mut a = Vec::with_capacity(n);
        let mut b = Vec::with_capacity(n);
        for mask in 1u32..(1 << (n - 1)) {
            let in_b = |i: usize| i > 0 && mask & (1 << (i - 1)) != 0;
            let shared = (0..n).any(|i| (0..n).any(|j| in_b(i) != in_b(j) && ops[i] == ops[j]));
            if shared {
                continue;
            }
            a.clear();
            b.clear();
            for i in 0..n {
                if in_b(i) {
                    b.push(all(i));
                } else {
                    a.push(all(i));
                }
            }
            a.sort_unstable();
            b.sort_unstable();
            // `independent` keeps each side's atom off the operations the other changed, by
            // the one operation an effect names (its last atom's): every atom of a group is.
            let clear = |group: &[FaultAtom], other: &Effect| {
                group.iter().all(|g| !other.relative.contains(&atom_op(g)))
            };
            if let (Some(x), Some(y)) = (self.effects.get(&a[..]), self.effects.get(&b[..]))
                && clear(&a, y)
                && clear(&b, x)
                && self.root.independent(x, y, budget)
            {
                return Some((a, b));
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::Budget;
    use crate::time::SimDuration;

    /// An atom's effect that changed `changed` and moved `moved` (each `(op, shift, from,
    /// to)`: started `shift` later, on server 0 from `from` to `to`), crashing server 0 at
    /// `crash`.
    fn effect(
        op: u32,
        changed: &[u32],
        moved: &[(u32, i64, u64, u64)],
        crash: Option<u64>,
    ) -> Effect {
        Effect {
            relative: changed.into(),
            touches: Box::new([]),
            private: true,
            absolute: moved.iter().map(|m| m.0).collect(),
            shifts: moved.iter().map(|m| m.1).collect(),
            activity: moved
                .iter()
                .map(|&(o, _, from, to)| (o, 0, from, to))
                .collect(),
            clean: true,
            crash: crash.map(|at| (0, at)),
            op,
            cache: false,
            clock: false,
            end_us: 1_000,
            events: 10,
            logged: 10,
        }
    }

    fn family() -> Family {
        Family {
            sound_base: true,
            base_private: true,
            restart_us: 50,
            end_us: 1_000,
            events: 10,
            logged: 10,
            ..Family::default()
        }
    }

    /// Two groups decide a plan only when no atom of either is about an operation the other
    /// group changed, not only the last atom of each (the one its effect names).
    #[test]
    fn no_atom_of_a_group_is_about_an_operation_the_other_group_changed() {
        use crate::fault::{Direction, MessageRef};
        let drop = |op: u32| {
            FaultAtom::Drop(MessageRef {
                dir: Direction::Response,
                op,
                attempt: 1,
                copy: 0,
            })
        };
        let budget = Budget::default();
        let groups = |x_changed: &[u32]| {
            let mut g = Groups {
                root: family(),
                ..Groups::default()
            };
            let mut a = vec![drop(3), drop(1)];
            a.sort_unstable();
            // The group {3, 1} changed operation 1 only (its drop on 3 changed nothing seen).
            g.effects.insert(
                a.into_boxed_slice(),
                effect(1, &[1], &[(1, 0, 10, 20)], None),
            );
            g.effects.insert(
                vec![drop(2)].into_boxed_slice(),
                effect(2, x_changed, &[(2, 0, 30, 40)], None),
            );
            g
        };
        let plan = [drop(3), drop(1)];
        assert!(groups(&[2]).split(&plan, &drop(2), &budget).is_some());
        // The other group changed operation 3, which the first group's drop is about.
        assert!(groups(&[2, 3]).split(&plan, &drop(2), &budget).is_none());
    }

    /// Groups decide a delay that a run of its own would refine only with the lengths its
    /// group's run refined it to, kept when that run had it last; without them, not at all.
    #[test]
    fn groups_decide_a_delay_to_refine_only_with_its_groups_lengths() {
        use crate::fault::{Direction, MessageRef};
        let msg = |op: u32| MessageRef {
            dir: Direction::Request,
            op,
            attempt: 1,
            copy: 0,
        };
        let delay = FaultAtom::Delay {
            msg: msg(2),
            by: SimDuration(5_000),
        };
        let budget = Budget::default();
        let groups = |refined: Option<Refined>| {
            let mut g = Groups {
                root: family(),
                ..Groups::default()
            };
            g.keep(
                &[FaultAtom::Drop(msg(1))],
                effect(1, &[1], &[(1, 0, 10, 20)], None),
                None,
            );
            g.keep(
                &[FaultAtom::Duplicate(msg(2)), delay],
                effect(2, &[2], &[(2, 0, 30, 40)], None),
                refined,
            );
            g
        };
        let plan = [FaultAtom::Drop(msg(1)), FaultAtom::Duplicate(msg(2))];
        let lengths: Box<[u64]> = Box::new([7_001, 9_001]);
        let kept = groups(Some((delay, lengths.clone())));
        assert_eq!(kept.decide(&plan, &delay, true, &budget), Some(lengths));
        // Not to refine (a refined length already): decided, nothing more to try.
        assert_eq!(
            kept.decide(&plan, &delay, false, &budget).as_deref(),
            Some(&[][..])
        );
        // The group's run had another atom last: its lengths were never made.
        let other_last = groups(Some((FaultAtom::Duplicate(msg(2)), Box::new([1]))));
        assert_eq!(other_last.decide(&plan, &delay, true, &budget), None);
        assert_eq!(groups(None).decide(&plan, &delay, true, &budget), None);
    }

    /// An atom that changed nothing of its own operation (it delayed an answer the client
    /// ignored) is not independent of one that changed that operation.
    #[test]
    fn an_atom_is_never_independent_of_one_that_changed_its_operation() {
        let f = family();
        let budget = Budget::default();
        let lost_answer = effect(1, &[1], &[(1, 0, 10, 20)], None);
        let delayed_copy = effect(1, &[], &[], None);
        assert!(!f.independent(&lost_answer, &delayed_copy, &budget));
        assert!(!f.independent(&delayed_copy, &lost_answer, &budget));
        // About another operation, it is.
        let elsewhere = effect(2, &[], &[], None);
        assert!(f.independent(&lost_answer, &elsewhere, &budget));
    }

    /// A crash at a step of operation 3 (at 100, down until 150), and a drop on operation 1 of
    /// the same client that starts operations 3 and 5 later by 400: the crash comes 400 later
    /// with operation 3, and the plan is decided unless something else meets the moved
    /// downtime (500 to 550) or the crash reached an operation the drop does not move.
    #[test]
    fn a_crash_moves_with_the_operation_it_is_at() {
        let budget = Budget::default();
        let crash = |moved: &[(u32, i64, u64, u64)]| effect(3, &[3], moved, Some(100));
        let drop = effect(
            1,
            &[1],
            &[(1, 0, 0, 40), (3, 400, 480, 520), (5, 400, 600, 640)],
            None,
        );
        let base = |activity: &[(u32, u16, u64, u64)]| Family {
            activity: activity.into(),
            ..family()
        };
        let quiet = base(&[
            (1, 0, 0, 10),
            (2, 0, 20, 30),
            (3, 0, 80, 120),
            (5, 0, 200, 240),
        ]);
        let with_5 = [(3, 0, 80, 100), (5, 30, 230, 270)];
        assert!(quiet.independent(&crash(&with_5), &drop, &budget));
        assert!(quiet.independent(&drop, &crash(&with_5), &budget));
        // Operation 2, which neither atom moves, is on the server when the crash now comes.
        let busy = base(&[(2, 0, 510, 520)]);
        assert!(!busy.independent(&crash(&with_5), &drop, &budget));
        // The crash reached operation 4, of another client, which the drop does not move.
        let reached_4 = [(3, 0, 80, 100), (4, 10, 140, 160)];
        assert!(!quiet.independent(&crash(&reached_4), &drop, &budget));
        // Operation 5 moved by the crash but by another shift under the drop: not carried.
        let other_shift = effect(
            1,
            &[1],
            &[(1, 0, 0, 40), (3, 400, 480, 520), (5, 300, 500, 540)],
            None,
        );
        assert!(!quiet.independent(&crash(&with_5), &other_shift, &budget));
        // The drop changes operation 3 itself: the crash's step may not come as before.
        let changes_3 = effect(1, &[1, 3], &[(1, 0, 0, 40), (3, 400, 480, 520)], None);
        assert!(!quiet.independent(&crash(&[(3, 0, 80, 100)]), &changes_3, &budget));
    }

    /// A task a crash killed was on the server until the crash, not until its last step, and
    /// so was one that acked and was killed before its next step; one that answered and
    /// stopped, or acked and finished its work before the crash, until its last event; one
    /// never answered, until the run's end.
    #[test]
    fn a_killed_task_is_on_the_server_until_the_crash() {
        use crate::world::{Instant, Killed};
        let at = |time_us: u64, op: u32, kind: EventKind| Instant {
            time_us,
            op,
            attempt: 1,
            copy: 0,
            kind,
            node: Node::Server(0),
        };
        let ex = Exploration {
            instants: vec![
                at(10, 1, EventKind::Deliver),
                at(12, 1, EventKind::Step),
                at(15, 2, EventKind::Deliver),
                at(18, 2, EventKind::Step),
                at(19, 2, EventKind::Respond),
                at(20, 3, EventKind::Deliver),
                at(30, NO_OP, EventKind::Crash),
                at(40, 4, EventKind::Refused),
                at(200, 5, EventKind::Deliver),
                at(210, 5, EventKind::Step),
                at(220, 6, EventKind::Deliver),
                at(221, 6, EventKind::Respond),
                at(225, 6, EventKind::Step),
                at(230, 7, EventKind::Deliver),
                at(231, 7, EventKind::Respond),
                at(250, NO_OP, EventKind::Crash),
                at(260, 8, EventKind::Deliver),
                at(270, 8, EventKind::Step),
                at(300, NO_OP, EventKind::Restart),
            ],
            // Operation 6 acked, took its last step at 225 and ended before the crash at
            // 250; operation 7 acked at 231 and was killed at 250 before its next step.
            killed: [(30, 1), (30, 3), (250, 5), (250, 7)]
                .map(|(time_us, op)| Killed {
                    time_us,
                    server: 0,
                    op,
                    attempt: 1,
                    copy: 0,
                })
                .to_vec(),
            ..Exploration::default()
        };
        let mut all = activity(&ex, None);
        all.sort_unstable();
        assert_eq!(
            all,
            [
                (1, 0, 10, 30),
                (2, 0, 15, 19),
                (3, 0, 20, 30),
                (4, 0, 40, 40),
                (5, 0, 200, 250),
                (6, 0, 220, 225),
                (7, 0, 230, 250),
                (8, 0, 260, 300)
            ]
        );
        assert_eq!(activity(&ex, Some(&[1])), [(1, 0, 10, 30)]);
    }

    /// A crash of operation 1 at 100 (down until 150), and a drop on operation 2; both make
    /// operation 4, of the same client as 2, start later. Where operation 4 was decides.
    #[test]
    fn an_operation_both_atoms_start_later_is_independent_only_away_from_every_downtime() {
        let f = family();
        let budget = Budget::default();
        let crash = |op4: (i64, u64, u64)| {
            effect(
                1,
                &[1],
                &[(1, 5, 90, 110), (4, op4.0, op4.1, op4.2)],
                Some(100),
            )
        };
        let drop = |op4: (i64, u64, u64)| {
            effect(2, &[2], &[(2, 7, 300, 320), (4, op4.0, op4.1, op4.2)], None)
        };
        // Far from the downtime in either run, and moved by the other's shift: decided.
        assert!(f.independent(&crash((20, 500, 520)), &drop((30, 510, 530)), &budget));
        // In the downtime where the crash's run had it: the crash changed what it did.
        assert!(!f.independent(&crash((20, 120, 130)), &drop((30, 510, 530)), &budget));
        // Clear of it there, but the drop's shift moves it into it.
        assert!(!f.independent(&crash((20, 60, 80)), &drop((30, 510, 530)), &budget));
        // Moved without starting later: not a shift.
        assert!(!f.independent(&crash((20, 500, 520)), &drop((0, 510, 530)), &budget));
        // The parent's own crash counts too: operation 4 moved into its downtime (700-750).
        let crashed = Family {
            crashes: Box::new([(0, 700)]),
            base_crash: true,
            ..family()
        };
        assert!(crashed.independent(&crash((20, 500, 520)), &drop((30, 510, 530)), &budget));
        assert!(!crashed.independent(&crash((20, 660, 690)), &drop((30, 670, 700)), &budget));
    }

    /// A crash of operation 1 at 100 (down until 150) makes operation 4 start 400 later (its
    /// client waits out the downtime); a drop changes operation 4, which in the drop's run,
    /// where nothing crashes, was at 120 to 130. In the run of both it is where the crash's
    /// shift puts the drop's run of it, 520 to 530: the downtime is looked for there, not
    /// where the drop's run had it.
    #[test]
    fn a_crash_is_looked_for_where_the_run_of_both_has_an_operation() {
        let f = family();
        let budget = Budget::default();
        let crash = |op4_shift: i64| {
            effect(
                1,
                &[1],
                &[(1, 5, 90, 110), (4, op4_shift, 520, 530)],
                Some(100),
            )
        };
        let drop = effect(4, &[4], &[(4, 0, 120, 130)], None);
        assert!(f.independent(&crash(400), &drop, &budget));
        assert!(f.independent(&drop, &crash(400), &budget));
        // The crash's shift puts it in the downtime: not decided.
        assert_eq!(f.refusal(&crash(10), &drop, &budget), Some(Refusal::Crash));
        // An operation the drop moved and the crash did not is where the drop's run has it,
        // in the downtime: not decided.
        let drop_moving_6 = effect(4, &[4], &[(4, 0, 120, 130), (6, 30, 125, 135)], None);
        assert_eq!(
            f.refusal(&crash(400), &drop_moving_6, &budget),
            Some(Refusal::Crash)
        );
        // Where the crash changed operation 4 too, they interact.
        let crash_changing_4 = effect(
            1,
            &[1, 4],
            &[(1, 5, 90, 110), (4, 400, 520, 530)],
            Some(100),
        );
        assert_eq!(
            f.refusal(&crash_changing_4, &drop, &budget),
            Some(Refusal::SameOperation)
        );
    }
}
