//! The kernel: a virtual clock, an event queue ordered by `(time, sequence)`, and budgets.
//!
//! [`Kernel`] is generic over the event type so that it can be tested on its own (the kernel
//! property tests push arbitrary events through it). The world (`crate::world`) drives it:
//! [`Kernel::schedule_at`] and [`Kernel::schedule_in`] put an event in the future,
//! [`Kernel::step`] takes the earliest one and advances the clock. Two events at the same
//! instant fire in the order they were scheduled, so a run never depends on how a heap breaks
//! ties.
//!
//! Every run has two budgets ([`Budget`]): a number of events and a span of simulated time.
//! When either is exhausted, [`Kernel::step`] returns [`Next::LimitHit`] naming the limit, and
//! the run ends with that reason instead of looping for ever.
//!
//! ```
//! use idemlab::sim::{Budget, Kernel, Next};
//! use idemlab::time::{SimDuration, SimTime};
//! let mut k = Kernel::new(Budget::default());
//! k.schedule_in(SimDuration::from_millis(5), "b");
//! k.schedule_in(SimDuration::from_millis(1), "a");
//! assert_eq!(k.step(), Next::Event("a"));
//! assert_eq!(k.now(), SimTime(1_000));
//! ```

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::fmt;

use crate::time::{SimDuration, SimTime};

/// How much a single run may do before it is stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Budget {
    /// The most events one run may process.
    pub max_events: u64,
    /// The latest simulated instant an event may fire at.
    pub max_time: SimDuration,
    /// The most events a run's trace may hold (the kernel does not count these; the world
    /// checks them after each event).
    pub max_trace_events: u64,
}

impl Default for Budget {
    fn default() -> Self {
        Budget {
            max_events: 2_000_000,
            max_time: SimDuration::from_secs(3_600),
            max_trace_events: 5_000_000,
        }
    }
}

/// Which budget a run exhausted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case", tag = "limit")]
pub enum LimitHit {
    /// More than `max_events` events were due.
    Events {
        /// The budget that was exhausted.
        max_events: u64,
        /// The simulated time when it happened, in microseconds.
        at_us: u64,
    },
    /// An event was due after `max_time`.
    Time {
        /// The budget that was exhausted, in microseconds.
        max_time_us: u64,
    },
    /// The trace reached `max_trace_events`.
    Trace {
        /// The limit that was reached.
        max_trace_events: u64,
        /// The simulated time when it happened, in microseconds.
        at_us: u64,
    },
    /// The caller's stop flag was raised (a signal, a time limit) while the run was going:
    /// the run is cut, and is a verdict of nothing (`world::run_until`).
    Interrupted {
        /// The simulated time when it happened, in microseconds.
        at_us: u64,
    },
}

impl fmt::Display for LimitHit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            LimitHit::Events { max_events, at_us } => write!(
                f,
                "the run hit its event budget: {max_events} events processed by simulated time {}; \
                 raise `max_events` under [limits] in the scenario if the run really needs more",
                SimTime(at_us)
            ),
            LimitHit::Time { max_time_us } => write!(
                f,
                "the run hit its simulated-time limit of {}; events were still due after it; \
                 raise `max_time` under [limits] in the scenario if the run really needs more",
                SimDuration(max_time_us)
            ),
            LimitHit::Trace {
                max_trace_events,
                at_us,
            } => write!(
                f,
                "the run's trace reached its limit of {max_trace_events} events by simulated time {}; \
                 raise `max_trace_events` under [limits] in the scenario if the run really needs more",
                SimTime(at_us)
            ),
            LimitHit::Interrupted { at_us } => write!(
                f,
                "the run was stopped (a signal or a time limit) at simulated time {}",
                SimTime(at_us)
            ),
        }
    }
}

/// What [`Kernel::step`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Next<E> {
    /// The earliest event; the clock now stands at its time.
    Event(E),
    /// No events are left: the run is over.
    Idle,
    /// A budget is exhausted; the clock stays where it was.
    LimitHit(LimitHit),
    /// The pause asked for with [`Kernel::pause_at`]: nothing happened, and the next step
    /// goes on.
    Pause,
}

/// A queued event. Its place in the order, `(time, seq)`, is one 128-bit number (time in the
/// high half), so that ordering two entries is one wide comparison.
struct Entry<E> {
    order: u128,
    event: E,
}

impl<E> Entry<E> {
    fn new(time: SimTime, seq: u64, event: E) -> Self {
        Entry {
            order: u128::from(time.0) << 64 | u128::from(seq),
            event,
        }
    }

    fn time(&self) -> SimTime {
        SimTime((self.order >> 64) as u64)
    }
}

impl<E: Clone> Clone for Entry<E> {
    fn clone(&self) -> Self {
        Entry {
            order: self.order,
            event: self.event.clone(),
        }
    }
}

impl<E> PartialEq for Entry<E> {
    fn eq(&self, other: &Self) -> bool {
        self.order == other.order
    }
}
impl<E> Eq for Entry<E> {}
impl<E> PartialOrd for Entry<E> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<E> Ord for Entry<E> {
    /// Reversed, so that the max-heap pops the earliest `(time, seq)` first.
    fn cmp(&self, other: &Self) -> Ordering {
        other.order.cmp(&self.order)
    }
}

/// The virtual clock and the queue of future events.
///
/// Besides the heap there is a FIFO for events whose times arrive in order by construction
/// (every client timeout is "now + the same timeout"): [`Kernel::schedule_in_order`] appends
/// there, and [`Kernel::step`] takes whichever of the two fronts is earlier by `(time, seq)`.
/// The order of events is exactly the heap-only order; the FIFO only saves heap work.
#[derive(Clone)]
pub struct Kernel<E> {
    now: SimTime,
    seq: u64,
    processed: u64,
    /// [`Kernel::step`] answers [`Next::Pause`] once this many events were processed (never
    /// past the budget, which it then answers): the one comparison the hot path makes.
    pause_at: u64,
    budget: Budget,
    queue: BinaryHeap<Entry<E>>,
    fifo: std::collections::VecDeque<Entry<E>>,
}

impl<E> Kernel<E> {
    /// An empty kernel at time zero.
    pub fn new(budget: Budget) -> Self {
        Kernel {
            now: SimTime::ZERO,
            seq: 0,
            processed: 0,
            pause_at: budget.max_events,
            budget,
            queue: BinaryHeap::new(),
            fifo: std::collections::VecDeque::new(),
        }
    }

    /// The current simulated time.
    pub fn now(&self) -> SimTime {
        self.now
    }

    /// How many events have fired so far.
    pub fn processed(&self) -> u64 {
        self.processed
    }

    /// Makes [`Kernel::step`] answer [`Next::Pause`] once `processed` events have fired, so
    /// that the caller can look up from the run (a stop flag) without a test per event. Never
    /// past the event budget.
    pub fn pause_at(&mut self, processed: u64) {
        self.pause_at = processed.min(self.budget.max_events);
    }

    /// How many events are waiting.
    pub fn pending(&self) -> usize {
        self.queue.len() + self.fifo.len()
    }

    /// Schedules `event` after `delay`, like [`Kernel::schedule_in`], for a caller whose events
    /// come in time order (a constant delay from a clock that never goes back). One that would
    /// not keep the FIFO in order goes to the heap instead, so the order is always right.
    #[inline]
    pub fn schedule_in_order(&mut self, delay: SimDuration, event: E) {
        let time = self.now + delay;
        if self.fifo.back().is_some_and(|b| b.time() > time) {
            self.schedule_at(time, event);
            return;
        }
        self.seq += 1;
        self.fifo.push_back(Entry::new(time, self.seq, event));
    }

    /// Schedules `event` at the absolute time `at`. An instant in the past is clamped to now:
    /// time never goes backwards.
    #[inline]
    pub fn schedule_at(&mut self, at: SimTime, event: E) {
        let time = at.max(self.now);
        self.seq += 1;
        self.queue.push(Entry::new(time, self.seq, event));
    }

    /// Schedules `event` after `delay` from now.
    #[inline]
    pub fn schedule_in(&mut self, delay: SimDuration, event: E) {
        self.schedule_at(self.now + delay, event);
    }

    /// Takes the earliest event and moves the clock to it, unless a budget forbids it.
    #[inline]
    pub fn step(&mut self) -> Next<E> {
        let (from_fifo, top_time) = match (self.queue.peek(), self.fifo.front()) {
            (None, None) => return Next::Idle,
            (Some(h), None) => (false, h.time()),
            (None, Some(f)) => (true, f.time()),
            (Some(h), Some(f)) if f.order < h.order => (true, f.time()),
            (Some(h), Some(_)) => (false, h.time()),
        };
        if top_time.0 > self.budget.max_time.0 {
            return Next::LimitHit(LimitHit::Time {
                max_time_us: self.budget.max_time.0,
            });
        }
        if self.processed >= self.pause_at {
            if self.processed < self.budget.max_events {
                // Answered once: the caller sets the next pause, or none.
                self.pause_at = self.budget.max_events;
                return Next::Pause;
            }
            return Next::LimitHit(LimitHit::Events {
                max_events: self.budget.max_events,
                at_us: self.now.0,
            });
        }
        let entry = if from_fifo {
            self.fifo.pop_front()
        } else {
            self.queue.pop()
        };
        let Some(entry) = entry else {
            return Next::Idle;
        };
        // Checked in debug builds only: once per event it cost W 0.7% of its instructions in
        // release (callgrind), and `schedule_at` clamps every instant to now, so this holds by
        // construction; the tests run it on every event of every scenario.
        debug_assert!(
            entry.time() >= self.now,
            "time went backwards: {} after {}",
            entry.time().0,
            self.now.0
        );
        self.now = entry.time();
        self.processed += 1;
        Next::Event(entry.event)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn drain(kernel: &mut Kernel<u32>) -> (Vec<(SimTime, u32)>, Option<LimitHit>) {
        let mut fired = Vec::new();
        loop {
            match kernel.step() {
                Next::Event(e) => fired.push((kernel.now(), e)),
                Next::Idle => return (fired, None),
                Next::LimitHit(hit) => return (fired, Some(hit)),
                Next::Pause => {}
            }
        }
    }

    proptest! {
        /// Time never goes backwards, every event fires exactly once, and ties fire in the order
        /// they were scheduled.
        #[test]
        fn time_is_monotonic_and_every_event_fires_once(delays in prop::collection::vec(0u64..50, 0..200)) {
            let mut kernel = Kernel::new(Budget::default());
            for (i, d) in delays.iter().enumerate() {
                kernel.schedule_in(SimDuration(*d), i as u32);
            }
            let (fired, hit) = drain(&mut kernel);
            prop_assert_eq!(hit, None);
            prop_assert!(fired.windows(2).all(|w| w[0].0 <= w[1].0));
            let mut ids: Vec<u32> = fired.iter().map(|(_, e)| *e).collect();
            for w in fired.windows(2) {
                if w[0].0 == w[1].0 {
                    prop_assert!(w[0].1 < w[1].1, "ties fire in scheduling order");
                }
            }
            ids.sort_unstable();
            prop_assert_eq!(ids, (0..delays.len() as u32).collect::<Vec<_>>());
        }

        /// Events scheduled while the run goes (including "in the past") never fire before now.
        #[test]
        fn events_scheduled_during_a_run_keep_time_monotonic(
            steps in prop::collection::vec((0u64..20, 0u64..40), 1..100)
        ) {
            let mut kernel = Kernel::new(Budget::default());
            kernel.schedule_in(SimDuration(0), 0u32);
            let mut last = SimTime::ZERO;
            let mut i = 0;
            while let Next::Event(_) = kernel.step() {
                prop_assert!(kernel.now() >= last);
                last = kernel.now();
                if let Some((back, fwd)) = steps.get(i) {
                    kernel.schedule_at(SimTime(kernel.now().0.saturating_sub(*back)), 1);
                    kernel.schedule_in(SimDuration(*fwd), 2);
                }
                i += 1;
            }
        }

        /// Events in the FIFO and the heap fire in exactly the order a heap alone would give.
        #[test]
        fn the_fifo_keeps_the_heap_order(steps in prop::collection::vec((0u64..30, any::<bool>()), 1..150)) {
            let mut mixed = Kernel::new(Budget::default());
            let mut plain = Kernel::new(Budget::default());
            mixed.schedule_in(SimDuration(0), u32::MAX);
            plain.schedule_in(SimDuration(0), u32::MAX);
            let mut order = (Vec::new(), Vec::new());
            for (i, (delay, in_order)) in steps.iter().enumerate() {
                let Next::Event(a) = mixed.step() else { break };
                let Next::Event(b) = plain.step() else { break };
                order.0.push((mixed.now(), a));
                order.1.push((plain.now(), b));
                if *in_order {
                    mixed.schedule_in_order(SimDuration(10), i as u32);
                } else {
                    mixed.schedule_in(SimDuration(*delay), i as u32);
                }
                plain.schedule_in(SimDuration(if *in_order { 10 } else { *delay }), i as u32);
            }
            while let (Next::Event(a), Next::Event(b)) = (mixed.step(), plain.step()) {
                order.0.push((mixed.now(), a));
                order.1.push((plain.now(), b));
            }
            prop_assert_eq!(order.0, order.1);
        }

        /// A run that would exceed its event budget ends with the event-budget error, having
        /// processed exactly the budget.
        #[test]
        fn exceeding_the_event_budget_ends_with_the_budget_error(max in 1u64..100, extra in 1u64..50) {
            let mut kernel = Kernel::new(Budget { max_events: max, max_time: SimDuration::from_secs(10), ..Budget::default() });
            for i in 0..(max + extra) {
                kernel.schedule_in(SimDuration(i), i as u32);
            }
            let (fired, hit) = drain(&mut kernel);
            prop_assert_eq!(fired.len() as u64, max);
            let is_event_limit = matches!(hit, Some(LimitHit::Events { max_events, .. }) if max_events == max);
            prop_assert!(is_event_limit);
        }

        /// Pauses asked for every `every` events come there, change nothing the run does, and
        /// never come past the event budget, which still ends the run with its own error.
        #[test]
        fn pauses_come_where_asked_and_change_nothing(max in 1u64..100, n in 0u64..150, every in 1u64..20) {
            let budget = Budget { max_events: max, max_time: SimDuration::from_secs(10), ..Budget::default() };
            let mut plain = Kernel::new(budget);
            let mut paused = Kernel::new(budget);
            for i in 0..n {
                plain.schedule_in(SimDuration(i % 7), i as u32);
                paused.schedule_in(SimDuration(i % 7), i as u32);
            }
            let expected = drain(&mut plain);
            paused.pause_at(every);
            let mut fired = Vec::new();
            let hit = loop {
                match paused.step() {
                    Next::Event(e) => fired.push((paused.now(), e)),
                    Next::Idle => break None,
                    Next::LimitHit(hit) => break Some(hit),
                    Next::Pause => {
                        prop_assert!(paused.processed() > 0 && paused.processed() < max);
                        prop_assert_eq!(paused.processed() % every, 0);
                        paused.pause_at(paused.processed() + every);
                    }
                }
            };
            prop_assert_eq!((fired, hit), expected);
        }

        /// An event due after the time limit ends the run with the time-limit error.
        #[test]
        fn exceeding_the_time_limit_ends_with_the_time_error(limit in 1u64..1_000, over in 1u64..1_000) {
            let mut kernel = Kernel::new(Budget { max_events: 1_000, max_time: SimDuration(limit), ..Budget::default() });
            kernel.schedule_at(SimTime(limit), 1u32);
            kernel.schedule_at(SimTime(limit + over), 2u32);
            let (fired, hit) = drain(&mut kernel);
            prop_assert_eq!(fired, vec![(SimTime(limit), 1)]);
            prop_assert_eq!(hit, Some(LimitHit::Time { max_time_us: limit }));
        }
    }
}
