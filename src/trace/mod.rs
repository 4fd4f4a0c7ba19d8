//! The trace: every event of a run, in order, compact, hashable and exportable as CSV.
//!
//! A [`Trace`] stores each event packed into 32 bytes (no strings, no enums with padding): a
//! long run records about nine events per operation and most of a run's time would otherwise
//! go to writing fresh memory. Readers get the decoded [`TraceEvent`] from [`Trace::iter`] or
//! [`Trace::get`]; its text is rendered only when it is shown or exported
//! ([`TraceEvent::detail_text`]). [`Trace::hash`] is a canonical hash over a
//! fixed little-endian encoding of every field, the same on every machine; the determinism tests
//! compare it across runs.
//!
//! The CSV export ([`write_csv`]) has a header row and the columns
//! `time_us,node,kind,op,attempt,copy,key,detail` (a stable contract).

use std::fmt;
use std::io;

use serde::Serialize;

mod packed;
use packed::*;

use crate::vocab::StepKind;
use crate::vocab::{Body, EffectKind, ErrorCode, IdemKey, Response};

/// Where an event happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Node {
    /// A client, by index.
    Client(u16),
    /// The network between clients and servers.
    Net,
    /// A server process, by index.
    Server(u16),
    /// The durable store (the database).
    Store,
    /// The outside world (the payment provider).
    Provider,
    /// The simulator itself (budgets).
    Sim,
}

impl fmt::Display for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Node::Client(i) => write!(f, "client{i}"),
            Node::Net => f.write_str("net"),
            Node::Server(i) => write!(f, "server{i}"),
            Node::Store => f.write_str("store"),
            Node::Provider => f.write_str("provider"),
            Node::Sim => f.write_str("sim"),
        }
    }
}

/// What kind of event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
#[repr(u8)]
pub enum EventKind {
    /// A client began a logical operation.
    OpStart,
    /// A client sent an attempt's request.
    Send,
    /// The network lost a message.
    Lost,
    /// The network made a second copy of a message.
    Duplicate,
    /// A request reached a server.
    Deliver,
    /// A request reached a server that was down.
    Refused,
    /// A handler completed a step (a store operation, a provider call).
    Step,
    /// An effect was made (an order, a charge, an increment).
    Effect,
    /// A server sent a response.
    Respond,
    /// A client received the response it was waiting for.
    Receive,
    /// A client received a response to an attempt it had given up on.
    Late,
    /// A client's attempt timed out.
    Timeout,
    /// A client scheduled a retry after a backoff.
    Retry,
    /// A client gave up on an operation: its outcome is unknown.
    GiveUp,
    /// A logical operation finished.
    Done,
    /// A server crashed: its in-flight requests and volatile state are gone.
    Crash,
    /// A server came back.
    Restart,
    /// The run hit a budget and stopped.
    Limit,
    /// The broker moved a message that reached `max_receives` to the dead-letter queue.
    DeadLetter,
    /// The broker moved a dead-lettered message back to the queue (a redrive).
    Redrive,
}

impl EventKind {
    /// Every kind, in declaration order (the packed encoding is the index).
    pub const ALL: [EventKind; 20] = [
        EventKind::OpStart,
        EventKind::Send,
        EventKind::Lost,
        EventKind::Duplicate,
        EventKind::Deliver,
        EventKind::Refused,
        EventKind::Step,
        EventKind::Effect,
        EventKind::Respond,
        EventKind::Receive,
        EventKind::Late,
        EventKind::Timeout,
        EventKind::Retry,
        EventKind::GiveUp,
        EventKind::Done,
        EventKind::Crash,
        EventKind::Restart,
        EventKind::Limit,
        EventKind::DeadLetter,
        EventKind::Redrive,
    ];

    /// The kebab-case name used in exports.
    pub fn name(self) -> &'static str {
        match self {
            EventKind::OpStart => "op-start",
            EventKind::Send => "send",
            EventKind::Lost => "lost",
            EventKind::Duplicate => "duplicate",
            EventKind::Deliver => "deliver",
            EventKind::Refused => "refused",
            EventKind::Step => "step",
            EventKind::Effect => "effect",
            EventKind::Respond => "respond",
            EventKind::Receive => "receive",
            EventKind::Late => "late",
            EventKind::Timeout => "timeout",
            EventKind::Retry => "retry",
            EventKind::GiveUp => "give-up",
            EventKind::Done => "done",
            EventKind::Crash => "crash",
            EventKind::Restart => "restart",
            EventKind::Limit => "limit",
            EventKind::DeadLetter => "dead-letter",
            EventKind::Redrive => "redrive",
        }
    }
}

/// Why a message was lost.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LossCause {
    /// The network's loss probability.
    Random,
    /// A `drop` atom of the fault plan.
    Plan,
    /// A partition was in force.
    Partition,
    /// The broker's FIFO deduplication dropped a producer's duplicate send.
    Deduplicated,
}

impl LossCause {
    /// The cause as the trace words it.
    pub fn name(self) -> &'static str {
        match self {
            LossCause::Random => "random loss",
            LossCause::Plan => "fault plan",
            LossCause::Partition => "partition",
            LossCause::Deduplicated => "deduplicated",
        }
    }
}

/// How a logical operation ended, from the client's point of view.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// The client was told it succeeded (2xx).
    Succeeded,
    /// The client was told it failed (a final 4xx).
    Failed,
    /// The client gave up: it does not know whether the operation took effect.
    InDoubt,
    /// The run ended before the operation did (a budget was hit).
    Unfinished,
    /// The broker gave up on the message: it is in the dead-letter queue.
    DeadLettered,
}

impl Outcome {
    /// Every outcome, in declaration order.
    pub const ALL: [Outcome; 5] = [
        Outcome::Succeeded,
        Outcome::Failed,
        Outcome::InDoubt,
        Outcome::Unfinished,
        Outcome::DeadLettered,
    ];

    /// The kebab-case name.
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Succeeded => "succeeded",
            Outcome::Failed => "failed",
            Outcome::InDoubt => "in-doubt",
            Outcome::Unfinished => "unfinished",
            Outcome::DeadLettered => "dead-lettered",
        }
    }
}

/// What made a server crash.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CrashCause {
    /// A `crash` atom with a time.
    At,
    /// A `crash` atom just before a step.
    Before(StepKind),
    /// A `crash` atom just after a step.
    After(StepKind),
}

/// The kind-specific part of an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Detail {
    /// Nothing more to say.
    None,
    /// A message put on the wire, with its one-way latency.
    Message {
        /// Request (true) or response.
        request: bool,
        /// One-way latency in microseconds.
        latency_us: u64,
    },
    /// A message the network lost.
    Lost {
        /// Request (true) or response.
        request: bool,
        /// Why.
        cause: LossCause,
    },
    /// A handler step, and for an atomic claim (`insert-if-absent`, `compare-and-set`, `lock`)
    /// whether it won (`Some(true)`) or found the key taken (`Some(false)`).
    Step(StepKind, Option<bool>),
    /// An effect, and how many times this operation has now had an effect of this kind.
    Effect {
        /// What kind.
        kind: EffectKind,
        /// Its amount.
        amount: u64,
        /// 1 for the first application to this operation, 2 for a duplicate, ...
        nth: u32,
    },
    /// A response sent or received.
    Response(Response),
    /// A retry after this backoff.
    Backoff {
        /// The delay before the next attempt, in microseconds.
        delay_us: u64,
    },
    /// How an operation ended.
    Outcome(Outcome),
    /// Why a server crashed.
    Crash(CrashCause),
}

/// The operation field of events that belong to no operation.
pub const NO_OP: u32 = u32::MAX;

/// One event of a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TraceEvent {
    /// Simulated time, in microseconds.
    pub time_us: u64,
    /// The logical operation, or [`NO_OP`].
    pub op: u32,
    /// The attempt (0 when not about one).
    pub attempt: u16,
    /// The network copy (0 original, 1 duplicate).
    pub copy: u8,
    /// What kind of event.
    pub kind: EventKind,
    /// Where it happened.
    pub node: Node,
    /// The idempotency key the request carried, if any.
    pub key: Option<IdemKey>,
    /// The kind-specific part.
    pub detail: Detail,
}

impl TraceEvent {
    /// The event as one line of the text log: a mark (`!` for faults and duplicate effects),
    /// the time, where, what, which operation and attempt, the key, and the detail.
    pub fn line(&self) -> String {
        let mark = if self.is_alarm() { "!" } else { " " };
        format!(
            "{mark}{:>10}  {}",
            crate::time::SimTime(self.time_us).to_string(),
            self.line_after_time()
        )
    }

    /// [`TraceEvent::line`] after the mark and the time: where, what, which operation and
    /// attempt, the key, and the detail (worded not to repeat the kind: `lost … response (fault
    /// plan)`, `crash … after charge`).
    pub fn line_after_time(&self) -> String {
        let who = match (self.op, self.attempt) {
            (NO_OP, _) => String::new(),
            (op, 0) => format!("op {op}"),
            (op, a) if self.copy > 0 => format!("op {op}.{a} copy {}", self.copy),
            (op, a) => format!("op {op}.{a}"),
        };
        let key = self.key.map(|k| format!("key={k}")).unwrap_or_default();
        let detail = match self.detail {
            Detail::Lost { request, cause } => format!(
                "{} ({})",
                if request { "request" } else { "response" },
                cause.name()
            ),
            Detail::Crash(CrashCause::At) => "at a scheduled time".to_string(),
            Detail::Crash(CrashCause::Before(s)) => format!("before {}", s.name()),
            Detail::Crash(CrashCause::After(s)) => format!("after {}", s.name()),
            _ => self.detail_text(),
        };
        format!(
            "{:<9} {:<9} {:<13} {:<7} {}",
            self.node.to_string(),
            self.kind.name(),
            who,
            key,
            detail
        )
        .trim_end()
        .to_string()
    }

    /// True for what a reader should notice: a lost message, a crash, a budget hit, a
    /// duplicate effect.
    pub fn is_alarm(&self) -> bool {
        match self.kind {
            EventKind::Lost | EventKind::Crash | EventKind::Limit => true,
            EventKind::Effect => matches!(self.detail, Detail::Effect { nth, .. } if nth > 1),
            _ => false,
        }
    }

    /// The human-readable detail column.
    pub fn detail_text(&self) -> String {
        match self.detail {
            Detail::None => String::new(),
            Detail::Message {
                request,
                latency_us,
            } => format!(
                "{} latency={}",
                if request { "request" } else { "response" },
                crate::time::SimDuration(latency_us)
            ),
            Detail::Lost { request, cause } => format!(
                "{} lost ({})",
                if request { "request" } else { "response" },
                cause.name()
            ),
            Detail::Step(step, None) => step.name().to_string(),
            Detail::Step(step, Some(true)) => format!("{} (won)", step.name()),
            Detail::Step(step, Some(false)) => format!("{} (taken)", step.name()),
            Detail::Effect { kind, amount, nth } => {
                if nth > 1 {
                    format!("{} {amount} (application {nth}: DUPLICATE)", kind.name())
                } else {
                    format!("{} {amount}", kind.name())
                }
            }
            Detail::Response(r) => r.to_string(),
            Detail::Backoff { delay_us } => {
                format!("backoff {}", crate::time::SimDuration(delay_us))
            }
            Detail::Outcome(o) => o.name().to_string(),
            Detail::Crash(cause) => match cause {
                CrashCause::At => "scheduled crash".to_string(),
                CrashCause::Before(s) => format!("crash before {}", s.name()),
                CrashCause::After(s) => format!("crash after {}", s.name()),
            },
        }
    }

    /// Feeds a canonical little-endian encoding of every field to `h`.
    fn hash_into(&self, h: &mut Fnv) {
        h.u64(self.time_us);
        h.u64(u64::from(self.op));
        h.u64(u64::from(self.attempt));
        h.u64(u64::from(self.copy));
        h.u64(self.kind as u64);
        let (node_kind, node_index) = match self.node {
            Node::Client(i) => (1, i),
            Node::Net => (2, 0),
            Node::Server(i) => (3, i),
            Node::Store => (4, 0),
            Node::Provider => (5, 0),
            Node::Sim => (6, 0),
        };
        h.u64(node_kind);
        h.u64(u64::from(node_index));
        match self.key {
            None => h.u64(0),
            Some(k) => {
                h.u64(1);
                h.u64(u64::from(k.op));
                h.u64(u64::from(k.attempt));
            }
        }
        // The detail's text is a faithful rendering of every detail field.
        h.bytes(self.detail_text().as_bytes());
    }
}

/// FNV-1a, 64 bits: tiny, stable, and the same on every platform.
struct Fnv(u64);

impl Fnv {
    fn new() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
    fn bytes(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
        }
        // A separator so that field boundaries cannot shift.
        self.0 = (self.0 ^ 0xff).wrapping_mul(0x0100_0000_01b3);
    }
    fn u64(&mut self, v: u64) {
        self.bytes(&v.to_le_bytes());
    }
}

/// The packed key of an event whose key is not its own operation's: kept in `Trace::keys`.
const KEY_ELSEWHERE: u8 = 254;

/// The events of one run, in the order they happened, packed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Trace {
    events: Vec<Packed>,
    /// The keys the packing cannot imply, by event index, in order (most runs have none).
    keys: Vec<(u32, IdemKey)>,
}

impl Trace {
    /// An empty trace with room for `n` events.
    pub fn with_capacity(n: usize) -> Self {
        Trace {
            events: Vec::with_capacity(n),
            keys: Vec::new(),
        }
    }

    /// Appends an event. Inlined, so that each call site packs its own constant kind and
    /// detail variant without the general matches.
    #[inline(always)]
    pub fn push(&mut self, event: TraceEvent) {
        let packed = Packed::pack(&event);
        if packed.key == KEY_ELSEWHERE
            && let Some(key) = event.key
        {
            self.keys.push((self.events.len() as u32, key));
        }
        self.events.push(packed);
    }

    /// Decodes event `i`, with its key from the side table when the packing could not imply it.
    fn decode(&self, i: usize, p: &Packed) -> TraceEvent {
        let mut e = p.unpack();
        if p.key == KEY_ELSEWHERE
            && let Ok(at) = self.keys.binary_search_by_key(&(i as u32), |(j, _)| *j)
        {
            e.key = Some(self.keys[at].1);
        }
        e
    }

    /// How many events.
    pub fn len(&self) -> usize {
        self.events.len()
    }

    /// True if there are none.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// The `i`-th event, decoded.
    pub fn get(&self, i: usize) -> Option<TraceEvent> {
        self.events.get(i).map(|p| self.decode(i, p))
    }

    /// Every event, decoded, in order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = TraceEvent> + ExactSizeIterator + '_ {
        self.events
            .iter()
            .enumerate()
            .map(|(i, p)| self.decode(i, p))
    }

    /// The kind of every event, in order, without decoding the rest.
    pub fn kinds(&self) -> impl Iterator<Item = EventKind> + '_ {
        self.events
            .iter()
            .map(|p| EventKind::ALL[usize::from(p.kind).min(EventKind::ALL.len() - 1)])
    }

    /// The operation of every event, in order, without decoding the rest.
    pub fn ops(&self) -> impl Iterator<Item = u32> + '_ {
        self.events.iter().map(|p| p.op)
    }

    /// Bytes of memory per stored event.
    pub const BYTES_PER_EVENT: usize = std::mem::size_of::<Packed>();

    /// The canonical hash of the whole trace, as 16 hex digits.
    pub fn hash(&self) -> String {
        let mut h = Fnv::new();
        for e in self.iter() {
            e.hash_into(&mut h);
        }
        format!("{:016x}", h.0)
    }

    /// The index of the first event where `self` and `other` differ, if they differ.
    pub fn first_difference(&self, other: &Trace) -> Option<usize> {
        let common = self.events.len().min(other.events.len());
        (0..common)
            .find(|&i| self.events[i] != other.events[i] || self.get(i) != other.get(i))
            .or((self.events.len() != other.events.len()).then_some(common))
    }
}

/// One CSV row of the trace export.
#[derive(Serialize)]
struct CsvRow<'a> {
    time_us: u64,
    node: String,
    kind: &'a str,
    op: Option<u32>,
    attempt: Option<u16>,
    copy: u8,
    key: Option<String>,
    detail: String,
}

/// Writes `trace` as CSV with a header row to `out`.
pub fn write_csv<W: io::Write>(trace: &Trace, out: W) -> Result<(), csv::Error> {
    let mut writer = csv::Writer::from_writer(out);
    for e in trace.iter() {
        writer.serialize(CsvRow {
            time_us: e.time_us,
            node: e.node.to_string(),
            kind: e.kind.name(),
            op: (e.op != NO_OP).then_some(e.op),
            attempt: (e.attempt != 0).then_some(e.attempt),
            copy: e.copy,
            key: e.key.map(|k| k.to_string()),
            detail: e.detail_text(),
        })?;
    }
    if trace.events.is_empty() {
        writer.write_record([
            "time_us", "node", "kind", "op", "attempt", "copy", "key", "detail",
        ])?;
    }
    writer.flush()?;
    Ok(())
}

/// The event as four words, for hashing runs that keep no trace: the packed fields, with the
/// time left out when `timeless` (an event whose moment changes nothing that follows, such as
/// a late answer the client ignores).
#[inline]
pub(crate) fn event_words(e: &TraceEvent, timeless: bool) -> [u64; 4] {
    let p = Packed::pack(e);
    let elsewhere = match e.key {
        Some(k) if p.key == KEY_ELSEWHERE => {
            (u64::from(k.op) << 32 | u64::from(k.attempt)).rotate_left(17)
        }
        _ => 0,
    };
    [
        if timeless { u64::MAX } else { p.time_us },
        p.big ^ elsewhere,
        u64::from(p.op) | u64::from(p.small) << 32,
        u64::from(p.node_index)
            | u64::from(p.attempt) << 16
            | u64::from(p.copy) << 24
            | u64::from(p.kind) << 32
            | u64::from(p.node_kind) << 40
            | u64::from(p.key) << 48
            | u64::from(p.detail_tag) << 56,
    ]
}

/// A body as one word (tag and value), for fingerprints.
#[inline]
pub(crate) fn body_word(body: Body) -> u64 {
    let (tag, value) = pack_body(body);
    (u64::from(tag) << 56) ^ value
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every detail survives packing, and the packed event stays at 32 bytes (the trace's
    /// memory budget; see the performance issue's "≤ 64 bytes per event").
    #[test]
    fn packing_round_trips_every_detail() {
        assert_eq!(Trace::BYTES_PER_EVENT, 32);
        let details = [
            Detail::None,
            Detail::Message {
                request: true,
                latency_us: 1_234,
            },
            Detail::Lost {
                request: false,
                cause: LossCause::Partition,
            },
            Detail::Step(StepKind::Charge, None),
            Detail::Step(StepKind::InsertIfAbsent, Some(false)),
            Detail::Effect {
                kind: EffectKind::Charge,
                amount: 100,
                nth: 3,
            },
            Detail::Response(Response {
                status: 409,
                body: Body::Error(ErrorCode::KeyInUse),
            }),
            Detail::Response(Response {
                status: 200,
                body: Body::Count(-5),
            }),
            Detail::Backoff { delay_us: 77 },
            Detail::Outcome(Outcome::InDoubt),
            Detail::Crash(CrashCause::After(StepKind::InsertIfAbsent)),
            Detail::Crash(CrashCause::At),
        ];
        let mut trace = Trace::default();
        for (i, detail) in details.iter().enumerate() {
            trace.push(TraceEvent {
                time_us: i as u64 * 10,
                op: 7,
                attempt: 2,
                copy: 1,
                kind: EventKind::ALL[i],
                node: Node::Server(3),
                key: Some(IdemKey { op: 7, attempt: 2 }),
                detail: *detail,
            });
        }
        for (i, detail) in details.iter().enumerate() {
            let e = trace.get(i).unwrap();
            assert_eq!(e.detail, *detail);
            assert_eq!(e.kind, EventKind::ALL[i]);
            assert_eq!(e.node, Node::Server(3));
            assert_eq!(e.key, Some(IdemKey { op: 7, attempt: 2 }));
        }
    }
}
