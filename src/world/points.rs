//! What an exploring run records besides its metrics ([`Recording::Explore`]): every fault
//! point, in the order the world takes the decisions, and fingerprints of what happened.
//!
//! A **fault point** is one decision a fault plan can change: a message put on the wire (drop,
//! delay or duplicate it), a handler step beginning (crash before it, stall it) or completing
//! (crash after it; a provider call answering 503). Each point has an identity that occurs at
//! most once in any run (a message by direction, operation, attempt and copy; a step by
//! operation, attempt, copy and its position in the handler), and the points are numbered in
//! the order the run reaches them. Because the world is one sequential program, a fault at
//! point `n` changes nothing the run did before reaching `n`: the search over the tree of runs
//! (`check::explore`) rests on that.
//!
//! The **fingerprints**: a hash of every event the run logged (the time left out for events
//! whose moment changes nothing that follows: an answer the client ignores, a request a down
//! server refuses), and for each operation a hash of its own events with order and receipt ids
//! renamed after the operation that created them, once with times relative to the operation's
//! start and once with absolute times. And the store keys each operation's handlers touched.
//!
//! [`Recording::Explore`]: super::Recording::Explore

use crate::fault::MessageRef;
use crate::trace::{CrashCause, Detail, EventKind, NO_OP, Node, TraceEvent, event_words};
use crate::vocab::{Body, EffectKind};

/// One handler step, by identity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StepId {
    /// The logical operation.
    pub op: u32,
    /// The attempt.
    pub attempt: u32,
    /// The network copy of the request the handler serves.
    pub copy: u32,
    /// The step's position in the handler, from 1.
    pub position: u32,
    /// What the step does.
    pub kind: crate::world::StepKind,
}

/// A decision of the run that a fault can change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Point {
    /// A message is put on the wire.
    Message {
        /// Which message.
        msg: MessageRef,
        /// When it was sent, in microseconds.
        sent_us: u64,
        /// When it arrives without any planned delay; `None` when the network loses it
        /// whatever the plan says (random loss, a partition, FIFO deduplication).
        arrives_us: Option<u64>,
        /// True when the plan drops it.
        dropped: bool,
        /// The delay the plan puts on it, in microseconds.
        delayed_us: u64,
        /// True when the network may copy it (copies are never copied again).
        duplicable: bool,
        /// True when the plan duplicates it.
        duplicated: bool,
    },
    /// A handler step begins: the server may crash before it; it may be stalled.
    StepStart {
        /// Which step.
        step: StepId,
        /// The server running it.
        server: u16,
        /// When, in microseconds.
        at_us: u64,
        /// When it completes without any planned stall, in microseconds.
        done_us: u64,
        /// The stall the plan puts on it, in microseconds.
        slowed_us: u64,
    },
    /// A handler step completes: the server may crash after it; a provider call may be
    /// answered 503 instead.
    StepDone {
        /// Which step.
        step: StepId,
        /// The server running it.
        server: u16,
        /// When, in microseconds.
        at_us: u64,
        /// True when the plan already made this provider call answer 503.
        unavailable: bool,
    },
}

/// An event's when, where and whose, for choosing delay lengths from the run's own timing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Instant {
    /// When, in microseconds.
    pub time_us: u64,
    /// The operation, or [`NO_OP`].
    pub op: u32,
    /// The attempt.
    pub attempt: u16,
    /// The network copy.
    pub copy: u8,
    /// What happened.
    pub kind: EventKind,
    /// Where.
    pub node: Node,
}

/// One operation's fingerprints.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OpView {
    /// Its events with times relative to its start.
    pub relative: u64,
    /// Its events with absolute times.
    pub absolute: u64,
}

/// What an exploring run recorded; see the module documentation.
#[derive(Clone, Debug, Default)]
pub struct Exploration {
    /// Every fault point, in the order the run reached it.
    pub points: Vec<Point>,
    /// A hash of every event the run logged (128 bits).
    pub hash: u128,
    /// Each operation's fingerprints, by `op - 1`.
    pub views: Vec<OpView>,
    /// `(op, hash of a store key)` for every store key an operation's handler touched.
    pub touches: Vec<(u32, u64)>,
    /// Every event's when, where and whose, in order.
    pub instants: Vec<Instant>,
    /// True when a handler touched a server's volatile store (which a crash wipes).
    pub cache: bool,
    /// True when a handler read the clock (`Cx::now`): it may branch on absolute time.
    pub clock: bool,
    /// Each operation's start in microseconds, by `op - 1` (0 for one that never started).
    pub starts: Vec<u64>,
    /// The run's hash as it stood when the run reached each point, before the point's
    /// decision: where a run that extends this one's plan with an atom at that point resumes
    /// hashing ([`Exploration::hash_at`]).
    pub lanes_at: Vec<[u64; 2]>,
    /// For each point, the last moment before it (counted in events handled) at which no
    /// handler was running: where a run that extends this one's plan with an atom at that
    /// point may be forked from a [`Prefix`](super::Prefix) of this run ([`Exploration::quiet_before`]).
    pub quiet_at: Vec<u64>,
    /// Every handler task a crash killed, in the order of the crashes: what the events alone
    /// cannot tell (a task that acked and was killed before its next step looks, by its
    /// events, like one that answered and finished).
    pub killed: Vec<Killed>,
}

/// A handler task a crash killed ([`Exploration::killed`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Killed {
    /// The crash's instant, in microseconds.
    pub time_us: u64,
    /// The server that crashed.
    pub server: u16,
    /// The task's request: operation, attempt and network copy, as its events carry them.
    pub op: u32,
    /// The attempt.
    pub attempt: u16,
    /// The network copy.
    pub copy: u8,
}

impl Exploration {
    /// Where a run of this run's plan plus one atom at point `point` may resume hashing:
    /// until it reaches that point it logs this run's events, so their hash is this run's.
    pub fn hash_at(&self, point: u32) -> Option<HashAt> {
        let lanes = *self.lanes_at.get(point as usize)?;
        Some(HashAt { point, lanes })
    }

    /// The last moment before point `point` at which no handler was running, counted in
    /// events handled: where [`Prefix::advance_to`](super::Prefix::advance_to) may stop to
    /// fork a run of this run's plan plus an atom at that point.
    pub fn quiet_before(&self, point: u32) -> Option<u64> {
        self.quiet_at.get(point as usize).copied()
    }
}

/// A run's hash as it stood at one of its fault points ([`Exploration::hash_at`]), for
/// [`Recording::FingerprintFrom`](super::Recording::FingerprintFrom).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HashAt {
    point: u32,
    lanes: [u64; 2],
}

/// The recorder the world keeps during an exploring run.
#[derive(Clone, Debug, Default)]
pub(crate) struct Recorder {
    /// False: only the run's hash (a run whose points nobody will extend).
    full: bool,
    /// False: a crash at a step is hashed without its label (before which step, after which):
    /// a crash after one step and before the next of the same handler, in one poll, make the
    /// same run (`check::explore` tries only one of them). True when the run keeps a trace,
    /// which an invariant of the user's own may read.
    labels: bool,
    out: Exploration,
    lanes: [u64; 2],
    starts: Vec<u64>,
    /// The operation and ordinal (within that operation) of each order, by id - 1.
    orders: Vec<(u32, u32)>,
    /// The same for each receipt.
    receipts: Vec<(u32, u32)>,
    /// Orders and receipts made so far, per operation.
    made: Vec<(u32, u32)>,
    /// A hash-only recorder resuming from another run's hash: the point where it takes it
    /// over, and the points passed so far. Until then events are not hashed.
    resume: Option<HashAt>,
    passed: u32,
    /// The last moment (events handled) known to have had no handler running: the last one
    /// of the last idle spell that ended ([`Recorder::busy`]).
    quiet: u64,
    /// While no handler runs: the moment the idle spell began (the number of events handled
    /// when the last running handler ended, or 0 at the start).
    idle_from: Option<u64>,
}

/// SplitMix64's finaliser.
#[inline]
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Folds words into a running hash: a multiply and a rotate per word (the run's hash is
/// finished with [`mix`]). Not a cryptographic hash: runs are not adversaries.
#[inline(always)]
fn fold(h: u64, words: &[u64; 4], k: u64) -> u64 {
    words
        .iter()
        .fold(h, |h, &w| (h ^ w).wrapping_mul(k).rotate_left(29))
}

const K0: u64 = 0x9e37_79b9_7f4a_7c15;
const K1: u64 = 0xc2b2_ae3d_27d4_eb4f;

/// FNV-1a of a store key: stable and cheap.
#[inline]
pub(crate) fn key_hash(key: &str) -> u64 {
    key.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

impl Recorder {
    /// A recorder of everything (`full`), or of the run's hash only (from the start, or
    /// taken over at a point from `resume`, the hash another run of the same prefix had
    /// there).
    pub(crate) fn new(ops: u32, full: bool, labels: bool, resume: Option<HashAt>) -> Self {
        if !full {
            return Recorder {
                labels,
                lanes: [0x243f_6a88_85a3_08d3, 0x1319_8a2e_0370_7344],
                resume,
                ..Recorder::default()
            };
        }
        Recorder {
            full,
            labels,
            // Before the first event no handler runs.
            idle_from: Some(0),
            out: Exploration {
                views: vec![OpView::default(); ops as usize],
                ..Exploration::default()
            },
            lanes: [0x243f_6a88_85a3_08d3, 0x1319_8a2e_0370_7344],
            starts: vec![0; ops as usize],
            made: vec![(0, 0); ops as usize],
            ..Recorder::default()
        }
    }

    /// True when it records points, instants, views and touches, not only the hash.
    #[inline]
    pub(crate) fn full(&self) -> bool {
        self.full
    }

    /// Records `point`, reached while the world handles its event number `event` (from 1).
    pub(crate) fn point(&mut self, point: Point, event: u64) {
        self.out.lanes_at.push(self.lanes);
        self.out.quiet_at.push(self.quiet_before(event));
        self.out.points.push(point);
    }

    /// The last moment before event number `event` at which no handler was running, counted
    /// in events handled. An idle spell that began before this event (at `k < event`) lasts
    /// until now: every moment from `k` to `event - 1` is quiet. One that began during this
    /// event says nothing about the moment before it (the handler that ended was running).
    fn quiet_before(&self, event: u64) -> u64 {
        match self.idle_from {
            Some(k) if k < event => event - 1,
            _ => self.quiet,
        }
    }

    /// Notes that a handler starts, while the world handles its event number `event`, with
    /// no other running.
    #[inline]
    pub(crate) fn busy(&mut self, event: u64) {
        self.quiet = self.quiet_before(event);
        self.idle_from = None;
    }

    /// Notes that the last running handler ended, `events` events having been handled
    /// (during that event).
    #[inline]
    pub(crate) fn idle(&mut self, events: u64) {
        self.idle_from = Some(events);
    }

    /// A recorder that hashes nothing and only counts the points passed: a [`Prefix`]'s,
    /// from which hash-only recorders are forked ([`Recorder::forked`]).
    ///
    /// [`Prefix`]: super::Prefix
    pub(crate) fn counting() -> Self {
        Recorder {
            resume: Some(HashAt {
                point: u32::MAX,
                lanes: [0; 2],
            }),
            ..Recorder::default()
        }
    }

    /// The recorder of a run forked from this one's (a counting or a full recorder) where
    /// it stands, that hashes only from `from` on: what [`Recorder::new`] with `from` would
    /// be by now. `None` when the run has passed that point already.
    pub(crate) fn forked(&self, from: HashAt) -> Option<Self> {
        let passed = if self.full {
            self.out.points.len() as u32
        } else {
            self.resume?;
            self.passed
        };
        (from.point >= passed).then(|| Recorder {
            passed,
            ..Recorder::new(0, false, self.labels, Some(from))
        })
    }

    /// True while a hash-only recorder has yet to reach the point it resumes at.
    #[inline]
    pub(crate) fn resuming(&self) -> bool {
        self.resume.is_some()
    }

    /// A point passed by a resuming recorder: at its point, the hash is taken over.
    #[inline]
    pub(crate) fn pass_point(&mut self) {
        if let Some(from) = self.resume {
            if self.passed == from.point {
                self.lanes = from.lanes;
                self.resume = None;
            }
            self.passed += 1;
        }
    }

    pub(crate) fn touch(&mut self, op: u32, key: &str, durable: bool) {
        if self.full {
            self.out.touches.push((op, key_hash(key)));
            self.out.cache |= !durable;
        }
    }

    /// Notes that a crash of `server` at `time_us` killed the task serving `req`.
    pub(crate) fn killed(&mut self, server: u16, time_us: u64, req: &crate::vocab::Request) {
        if self.full {
            self.out.killed.push(Killed {
                time_us,
                server,
                op: req.op,
                attempt: req.attempt as u16,
                copy: req.copy as u8,
            });
        }
    }

    /// Notes that a handler read the clock.
    pub(crate) fn clock(&mut self) {
        if self.full {
            self.out.clock = true;
        }
    }

    /// Notes that `op` made the next order (or receipt) id.
    pub(crate) fn made(&mut self, op: u32, kind: EffectKind) {
        if !self.full {
            return;
        }
        let Some(made) = self.made.get_mut((op as usize).wrapping_sub(1)) else {
            return;
        };
        match kind {
            EffectKind::Order => {
                made.0 += 1;
                self.orders.push((op, made.0));
            }
            EffectKind::Charge => {
                made.1 += 1;
                self.receipts.push((op, made.1));
            }
            _ => {}
        }
    }

    /// The owner of an id in a body, for the operation views.
    fn renamed(&self, body: Body) -> (u64, u64) {
        let owner = |list: &[(u32, u32)], id: u64| {
            list.get((id as usize).wrapping_sub(1))
                .map_or(u64::MAX, |&(op, n)| u64::from(op) << 32 | u64::from(n))
        };
        match body {
            Body::Order(id) => (1, owner(&self.orders, id)),
            Body::Receipt(id) => (2, owner(&self.receipts, id)),
            other => (3, crate::trace::body_word(other)),
        }
    }

    pub(crate) fn event(&mut self, e: &TraceEvent) {
        if self.resume.is_some() {
            // Before the point it resumes at: hashed already, in the run it resumes from.
            return;
        }
        // Nothing follows from the moment a late answer or a refused request arrives.
        let timeless = matches!(e.kind, EventKind::Late | EventKind::Refused);
        let mut words = event_words(e, timeless);
        if !self.labels
            && let Detail::Crash(CrashCause::Before(_) | CrashCause::After(_)) = e.detail
        {
            // The detail's small field: a crash at a step, which step and which side left out.
            words[2] = u64::from(e.op) | 1 << 32;
        }
        self.lanes[0] = fold(self.lanes[0], &words, K0);
        self.lanes[1] = fold(self.lanes[1], &words, K1);
        if !self.full {
            return;
        }
        self.out.instants.push(Instant {
            time_us: e.time_us,
            op: e.op,
            attempt: e.attempt,
            copy: e.copy,
            kind: e.kind,
            node: e.node,
        });
        if e.op == NO_OP {
            return;
        }
        let i = e.op as usize - 1;
        if i >= self.starts.len() {
            return;
        }
        if e.kind == EventKind::OpStart {
            self.starts[i] = e.time_us;
        }
        let mut view = words;
        if let Detail::Response(r) = e.detail {
            let (tag, owner) = self.renamed(r.body);
            view[1] = owner;
            view[2] ^= tag << 62;
        }
        let relative = if timeless {
            u64::MAX
        } else {
            e.time_us.wrapping_sub(self.starts[i])
        };
        let v = &mut self.out.views[i];
        view[0] = relative;
        v.relative = fold(v.relative, &view, K0);
        view[0] = if timeless { u64::MAX } else { e.time_us };
        v.absolute = fold(v.absolute, &view, K0);
    }

    pub(crate) fn finish(mut self) -> Exploration {
        debug_assert!(
            self.resume.is_none(),
            "the run never reached its resume point"
        );
        self.out.hash = u128::from(mix(self.lanes[0])) << 64 | u128::from(mix(self.lanes[1]));
        self.out.starts = std::mem::take(&mut self.starts);
        for v in &mut self.out.views {
            v.relative = mix(v.relative);
            v.absolute = mix(v.absolute);
        }
        self.out
    }
}
