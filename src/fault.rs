//! Faults as values: a [`FaultPlan`] is a list of [`FaultAtom`]s.
//!
//! Scripted faults in a scenario (`[[faults]]`) *are* a plan; probabilistic settings
//! (`network.loss_request = 0.1`) are decided per message by the fates and combine with it. A
//! plan can be extended by one atom and re-run ("what if this response were lost?"), generated,
//! shrunk, and written back to a scenario file.
//!
//! ```
//! use idemlab::fault::{FaultAtom, MessageRef};
//! let atom = FaultAtom::Drop(MessageRef::response(3, 1));
//! assert_eq!(atom.to_string(), "drop the response to op 3 attempt 1");
//! ```

use std::fmt;

use crate::time::{SimDuration, SimTime};
use crate::vocab::StepKind;

/// Which way a message travels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Direction {
    /// Client to server.
    Request,
    /// Server to client.
    Response,
}

/// Names one message: its direction, logical operation, attempt and network copy (0 for the
/// original, 1 for a duplicate the network made).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MessageRef {
    /// Request or response.
    pub dir: Direction,
    /// The logical operation.
    pub op: u32,
    /// The attempt, from 1.
    pub attempt: u32,
    /// The network copy: 0 original, 1 duplicate.
    pub copy: u32,
}

impl MessageRef {
    /// The original request of `attempt` of `op`.
    pub fn request(op: u32, attempt: u32) -> Self {
        MessageRef {
            dir: Direction::Request,
            op,
            attempt,
            copy: 0,
        }
    }
    /// The response to the original request of `attempt` of `op`.
    pub fn response(op: u32, attempt: u32) -> Self {
        MessageRef {
            dir: Direction::Response,
            op,
            attempt,
            copy: 0,
        }
    }
}

impl fmt::Display for MessageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.dir {
            Direction::Request => "the request of",
            Direction::Response => "the response to",
        };
        write!(f, "{what} op {} attempt {}", self.op, self.attempt)?;
        if self.copy > 0 {
            write!(f, " (copy {})", self.copy)?;
        }
        Ok(())
    }
}

/// Just before or just after a step.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum When {
    /// The step has not happened.
    Before,
    /// The step's effect has been applied.
    After,
}

impl When {
    /// `before` or `after`, as written in scenario files.
    pub fn name(self) -> &'static str {
        match self {
            When::Before => "before",
            When::After => "after",
        }
    }
}

/// One scripted fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FaultAtom {
    /// The network loses this message.
    Drop(MessageRef),
    /// The network delivers this message twice.
    Duplicate(MessageRef),
    /// The network delays this message by `by` on top of its latency.
    Delay {
        /// The message.
        msg: MessageRef,
        /// The extra delay.
        by: SimDuration,
    },
    /// A server crashes at a time.
    CrashAt {
        /// Which server.
        server: u16,
        /// When.
        at: SimTime,
    },
    /// The server serving `op` crashes just before or after a step of its handler.
    CrashAtStep {
        /// The logical operation.
        op: u32,
        /// The attempt; `None` matches the first attempt that reaches the step.
        attempt: Option<u32>,
        /// Before or after.
        when: When,
        /// Which step.
        step: StepKind,
        /// The step's position among the steps of the handler serving the attempt, from 1:
        /// `Some(2)` is the second step, which must be of kind `step`; `None` is the first step
        /// of that kind. A second `transaction` in one attempt is its own point.
        position: Option<u32>,
        /// Which network copy of the request the handler serves (0 the original, 1 the
        /// network's duplicate); `None` matches whichever reaches the step first.
        copy: Option<u32>,
    },
    /// Clients and servers cannot reach each other: every message sent in `[from, until)` is
    /// lost.
    Partition {
        /// Start of the window.
        from: SimTime,
        /// End of the window (exclusive).
        until: SimTime,
    },
    /// Every `step` that `op`'s attempt `attempt` makes takes `by` longer: an attempt that
    /// stalls (a lock wait, a slow dependency) while its client's retry overtakes it.
    Slow {
        /// The logical operation.
        op: u32,
        /// The attempt.
        attempt: u32,
        /// Which step.
        step: StepKind,
        /// The extra time.
        by: SimDuration,
        /// Only the step at this position (from 1) of the handler; `None`: every step of
        /// kind `step` in the attempt.
        position: Option<u32>,
        /// Only the handler serving this network copy; `None`: every copy.
        copy: Option<u32>,
    },
    /// The payment provider answers 503 (and charges nothing) to the calls made while serving
    /// `op`'s attempt `attempt` (`None`: every attempt).
    Unavailable {
        /// The logical operation.
        op: u32,
        /// The attempt; `None` matches every attempt.
        attempt: Option<u32>,
        /// Only the call at this step position (from 1) of the handler; `None`: every call.
        position: Option<u32>,
        /// Only the handler serving this network copy; `None`: every copy.
        copy: Option<u32>,
    },
}

impl fmt::Display for FaultAtom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FaultAtom::Drop(m) => write!(f, "drop {m}"),
            FaultAtom::Duplicate(m) => write!(f, "duplicate {m}"),
            FaultAtom::Delay { msg, by } => write!(f, "delay {msg} by {by}"),
            FaultAtom::CrashAt { server, at } => write!(f, "crash server {server} at {at}"),
            FaultAtom::CrashAtStep {
                op,
                attempt,
                when,
                step,
                position,
                copy,
            } => {
                let when = when.name();
                write!(f, "crash the server of op {op}")?;
                if let Some(a) = attempt {
                    write!(f, " attempt {a}")?;
                }
                write_copy(f, *copy)?;
                write!(f, " {when} its `{}` step", step.name())?;
                write_position(f, *position)
            }
            FaultAtom::Partition { from, until } => {
                write!(
                    f,
                    "partition clients from servers from {from} until {until}"
                )
            }
            FaultAtom::Slow {
                op,
                attempt,
                step,
                by,
                position,
                copy,
            } => {
                write!(f, "slow the `{}` step", step.name())?;
                write_position(f, *position)?;
                write!(f, " of op {op} attempt {attempt}")?;
                write_copy(f, *copy)?;
                write!(f, " by {by}")
            }
            FaultAtom::Unavailable {
                op,
                attempt,
                position,
                copy,
            } => {
                write!(f, "the provider answers 503 to op {op}")?;
                match attempt {
                    Some(a) => write!(f, " attempt {a}")?,
                    None => f.write_str(" (every attempt)")?,
                }
                write_copy(f, *copy)?;
                match position {
                    Some(p) => write!(f, " at its step {p}"),
                    None => Ok(()),
                }
            }
        }
    }
}

/// ` (step N)` when a step atom names its position.
fn write_position(f: &mut fmt::Formatter<'_>, position: Option<u32>) -> fmt::Result {
    match position {
        Some(p) => write!(f, " (step {p})"),
        None => Ok(()),
    }
}

/// ` (copy N)` when an atom names the network's duplicate of a request.
fn write_copy(f: &mut fmt::Formatter<'_>, copy: Option<u32>) -> fmt::Result {
    match copy {
        Some(c) if c > 0 => write!(f, " (copy {c})"),
        _ => Ok(()),
    }
}

/// A list of scripted faults.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FaultPlan {
    /// The atoms, in the order they were written.
    pub atoms: Vec<FaultAtom>,
}

impl FaultPlan {
    /// A plan with these atoms.
    pub fn new(atoms: Vec<FaultAtom>) -> Self {
        FaultPlan { atoms }
    }

    /// This plan with one more atom.
    pub fn with(&self, atom: FaultAtom) -> Self {
        let mut atoms = self.atoms.clone();
        atoms.push(atom);
        FaultPlan { atoms }
    }

    // The queries below run for every message and step of a run: inlined, so that asking an
    // empty plan (most runs) costs a length check and nothing else.

    /// True if the plan drops `msg`.
    #[inline]
    pub fn drops(&self, msg: MessageRef) -> bool {
        self.atoms
            .iter()
            .any(|a| matches!(a, FaultAtom::Drop(m) if *m == msg))
    }

    /// True if the plan duplicates `msg`.
    #[inline]
    pub fn duplicates(&self, msg: MessageRef) -> bool {
        self.atoms
            .iter()
            .any(|a| matches!(a, FaultAtom::Duplicate(m) if *m == msg))
    }

    /// The total extra delay the plan puts on `msg`.
    #[inline]
    pub fn delay(&self, msg: MessageRef) -> SimDuration {
        self.atoms
            .iter()
            .filter_map(|a| match a {
                FaultAtom::Delay { msg: m, by } if *m == msg => Some(*by),
                _ => None,
            })
            .fold(SimDuration::ZERO, |acc, d| acc + d)
    }

    /// True if the plan makes the provider unavailable to the call at step `position` (from 1)
    /// of the handler serving copy `copy` of `op`'s attempt `attempt`.
    #[inline]
    pub fn unavailable(&self, op: u32, attempt: u32, copy: u32, position: u32) -> bool {
        self.atoms.iter().any(|a| {
            matches!(*a, FaultAtom::Unavailable { op: o, attempt: at, position: p, copy: c }
                if o == op
                    && at.is_none_or(|x| x == attempt)
                    && p.is_none_or(|x| x == position)
                    && c.is_none_or(|x| x == copy))
        })
    }

    /// The extra time the plan adds to the `step` at `position` (from 1) of the handler
    /// serving copy `copy` of `op`'s attempt `attempt`.
    #[inline]
    pub fn slowdown(
        &self,
        op: u32,
        attempt: u32,
        copy: u32,
        position: u32,
        step: StepKind,
    ) -> SimDuration {
        self.atoms
            .iter()
            .filter_map(|a| match *a {
                FaultAtom::Slow {
                    op: o,
                    attempt: at,
                    step: st,
                    by,
                    position: p,
                    copy: c,
                } if o == op
                    && at == attempt
                    && st == step
                    && p.is_none_or(|x| x == position)
                    && c.is_none_or(|x| x == copy) =>
                {
                    Some(by)
                }
                _ => None,
            })
            .fold(SimDuration::ZERO, |acc, d| acc + d)
    }

    /// True if a partition covers the instant `at`.
    #[inline]
    pub fn partitioned(&self, at: SimTime) -> bool {
        self.atoms.iter().any(|a| match a {
            FaultAtom::Partition { from, until } => *from <= at && at < *until,
            _ => false,
        })
    }
}

/// The seven classes of fault the catalog of designs is judged against (the columns of the
/// table in the domain reference), in the catalog's order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FaultClass {
    /// (i) The request is lost; the client retries.
    LostRequest,
    /// (ii) The response (or a consumer's ack) is lost; the client retries (the broker
    /// redelivers).
    LostResponse,
    /// (iii) The same request (message) is delivered twice, the second copy after the first
    /// was served.
    DuplicateDelivery,
    /// (iv) Two attempts with the same key in flight at once: the client's timeout (the
    /// queue's visibility timeout) is shorter than the processing.
    ConcurrentRetry,
    /// (v) The server crashes inside the handler, between the side effect and recording it.
    CrashAfterEffect,
    /// (vi) A retry (a redelivery) arrives after the key (the inbox row) expired.
    RetryAfterExpiry,
    /// (vii) The same key comes back with a different payload.
    PayloadMismatch,
}

impl FaultClass {
    /// Every class, in the catalog's column order.
    pub const ALL: [FaultClass; 7] = [
        FaultClass::LostRequest,
        FaultClass::LostResponse,
        FaultClass::DuplicateDelivery,
        FaultClass::ConcurrentRetry,
        FaultClass::CrashAfterEffect,
        FaultClass::RetryAfterExpiry,
        FaultClass::PayloadMismatch,
    ];

    /// The stable kebab-case name (`lost-request`, ...), as in `idemlab matrix --format json`.
    pub fn name(self) -> &'static str {
        match self {
            FaultClass::LostRequest => "lost-request",
            FaultClass::LostResponse => "lost-response",
            FaultClass::DuplicateDelivery => "duplicate-delivery",
            FaultClass::ConcurrentRetry => "concurrent-retry",
            FaultClass::CrashAfterEffect => "crash-after-effect",
            FaultClass::RetryAfterExpiry => "retry-after-expiry",
            FaultClass::PayloadMismatch => "payload-mismatch",
        }
    }

    /// The catalog's column number, `i` to `vii`.
    pub fn numeral(self) -> &'static str {
        match self {
            FaultClass::LostRequest => "i",
            FaultClass::LostResponse => "ii",
            FaultClass::DuplicateDelivery => "iii",
            FaultClass::ConcurrentRetry => "iv",
            FaultClass::CrashAfterEffect => "v",
            FaultClass::RetryAfterExpiry => "vi",
            FaultClass::PayloadMismatch => "vii",
        }
    }
}

impl fmt::Display for FaultClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
