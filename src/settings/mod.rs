//! What a run is set up with: the typed [`Scenario`] and the reader that builds it from a
//! TOML file, in stages: the raw serde structs (`raw`: `deny_unknown_fields`, every value
//! that needs checking kept with its span), validation into the typed scenario
//! (`validate`), errors located in the file and rendered with the offending line
//! ([`error`]), and writing a scenario back as a file ([`mod@write`]).
//!
//! The reader knows no design: it asks a [`DesignNames`] (the catalog implements it) which
//! names exist and which options each takes. [`crate::scenario`] is the reader with the
//! catalog, the bundled scenarios and the way to build a scenario's designs.

pub mod error;
mod faults;
mod raw;
mod validate;
mod values;
pub mod write;

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, Visitor};

use crate::fault::FaultPlan;
use crate::sim::Budget;
use crate::time::SimDuration;

pub use error::ScenarioError;
pub use write::to_toml;

/// The most operations one scenario may have.
pub const MAX_OPS: u32 = 1_000_000;
/// The most clients one scenario may have.
pub const MAX_CLIENTS: u16 = 1_000;
/// The most attempts per operation.
pub const MAX_ATTEMPTS: u32 = 100;
/// The most servers.
pub const MAX_SERVERS: u16 = 64;

/// A latency written `"5ms"` (fixed) or `"1ms..5ms"` (uniform, both ends included).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LatencyRange {
    /// The smallest value.
    pub min: SimDuration,
    /// The largest value.
    pub max: SimDuration,
}

impl LatencyRange {
    /// A fixed latency.
    pub const fn fixed(d: SimDuration) -> Self {
        LatencyRange { min: d, max: d }
    }
}

impl fmt::Display for LatencyRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.min == self.max {
            write!(f, "{}", self.min)
        } else {
            write!(f, "{}..{}", self.min, self.max)
        }
    }
}

/// How the client spaces its retries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Backoff {
    /// Always `backoff_base`.
    Constant,
    /// `backoff_base * 2^(attempt-1)`, capped at `backoff_cap`.
    Exponential,
}

/// How the client randomises its backoff (AWS Architecture Blog's names).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Jitter {
    /// The backoff as computed.
    None,
    /// Uniform in `[0, backoff]`.
    Full,
    /// `backoff/2 + uniform[0, backoff/2]`.
    Equal,
    /// Uniform in `[base, 3 * previous]`, capped.
    Decorrelated,
}

impl Backoff {
    /// Every policy, in declaration order.
    pub const ALL: [Backoff; 2] = [Backoff::Constant, Backoff::Exponential];

    /// The name used in scenario files and sweep parameters.
    pub fn name(self) -> &'static str {
        match self {
            Backoff::Constant => "constant",
            Backoff::Exponential => "exponential",
        }
    }
}

impl Jitter {
    /// Every kind, in declaration order.
    pub const ALL: [Jitter; 4] = [
        Jitter::None,
        Jitter::Full,
        Jitter::Equal,
        Jitter::Decorrelated,
    ];

    /// The name used in scenario files and sweep parameters.
    pub fn name(self) -> &'static str {
        match self {
            Jitter::None => "none",
            Jitter::Full => "full",
            Jitter::Equal => "equal",
            Jitter::Decorrelated => "decorrelated",
        }
    }
}

impl KeyPolicy {
    /// Every policy, in declaration order.
    pub const ALL: [KeyPolicy; 5] = [
        KeyPolicy::PerOperation,
        KeyPolicy::PerAttempt,
        KeyPolicy::None,
        KeyPolicy::Shared,
        KeyPolicy::PerClient,
    ];

    /// The name used in scenario files and sweep parameters.
    pub fn name(self) -> &'static str {
        match self {
            KeyPolicy::PerOperation => "per-operation",
            KeyPolicy::PerAttempt => "per-attempt",
            KeyPolicy::None => "none",
            KeyPolicy::Shared => "shared",
            KeyPolicy::PerClient => "per-client",
        }
    }
}

/// How the client mints idempotency keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum KeyPolicy {
    /// One key per logical operation, reused on every retry (correct).
    PerOperation,
    /// A new key on every attempt (the client bug of design 13).
    PerAttempt,
    /// No key at all.
    None,
    /// Every operation reuses the first operation's key, whatever its payload: the client bug
    /// behind fault class (vii), a key reused with a different payload.
    Shared,
    /// One key per operation, numbered by each client on its own (`k1`, `k2`, ... for its
    /// first, second, ... operation), as clients with sequential keys do: two clients' keys
    /// collide, and a server must tell them apart by who sent them.
    PerClient,
}

/// The logical operations the clients run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Workload {
    /// How many logical operations, numbered from 1.
    pub ops: u32,
    /// How many clients run them at once (each runs its share one after another).
    pub clients: u16,
    /// A client's pause between one operation's end and its next one's start.
    pub interval: SimDuration,
    /// The amount each operation charges or adds.
    pub amount: u64,
    /// Per-operation amounts, cycled (operation n gets `amounts[(n - 1) % len]`); empty: every
    /// operation has `amount`.
    pub amounts: Vec<u64>,
    /// How many resources (`/items/{n}`) the operations share, dealt round-robin; 0: one each.
    pub resources: u32,
    /// The item every operation's payload names (0: the payload names none).
    pub item: u32,
    /// What single operations carry besides: their own item, amount, a version for
    /// `If-Match`, another operation's key, free-form fields (`[[workload.op]]`).
    pub payloads: BTreeMap<u32, Payload>,
}

/// `[oracle]`: what the oracle counts and checks beyond the built-in effects.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OracleSpec {
    /// Store keys whose writes are effects: a write that gives a key starting with one of these
    /// a value its operation has not written there before is a `write` effect of that
    /// operation, and a removal of such a key a `delete` effect (once per operation and key).
    /// For designs that keep their resource with `put`, `insert_if_absent` or a transaction.
    pub effect_keys: Vec<String>,
    /// Keys that must exist (not deleted) in the durable store when the run ends.
    pub exists: Vec<String>,
}

impl OracleSpec {
    /// True when writes to `key` are effects.
    pub fn is_effect_key(&self, key: &str) -> bool {
        self.effect_keys.iter().any(|p| key.starts_with(p.as_str()))
    }
}

/// What one operation's request carries, where it differs from the workload's defaults.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Payload {
    /// The item it names.
    pub item: Option<u32>,
    /// Its amount.
    pub amount: Option<u64>,
    /// The version the client carries for `If-Match` (0: "the resource must not exist").
    pub version: Option<u64>,
    /// Send operation N's idempotency key instead of its own (a client reusing a key).
    pub key_of: Option<u32>,
    /// Free-form fields, by name.
    pub fields: BTreeMap<String, String>,
}

impl Workload {
    /// The item operation `op` (from 1) names; 0: none.
    #[inline]
    pub fn item_of(&self, op: u32) -> u32 {
        if self.payloads.is_empty() {
            return self.item;
        }
        self.payloads
            .get(&op)
            .and_then(|p| p.item)
            .unwrap_or(self.item)
    }

    /// The version operation `op` carries for `If-Match`, if any.
    #[inline]
    pub fn version_of(&self, op: u32) -> Option<u64> {
        if self.payloads.is_empty() {
            return None;
        }
        self.payloads.get(&op).and_then(|p| p.version)
    }

    /// The operation whose idempotency key `op` sends (itself unless its payload says).
    #[inline]
    pub fn key_op_of(&self, op: u32) -> u32 {
        if self.payloads.is_empty() {
            return op;
        }
        self.payloads.get(&op).and_then(|p| p.key_of).unwrap_or(op)
    }

    /// The free-form fields of operation `op`'s payload.
    pub fn fields_of(&self, op: u32) -> Option<&BTreeMap<String, String>> {
        self.payloads
            .get(&op)
            .map(|p| &p.fields)
            .filter(|f| !f.is_empty())
    }
    /// The resource operation `op` (from 1) names.
    pub fn resource_of(&self, op: u32) -> u32 {
        if self.resources == 0 {
            op
        } else {
            (op - 1) % self.resources + 1
        }
    }

    /// The amount of operation `op` (from 1).
    pub fn amount_of(&self, op: u32) -> u64 {
        if !self.payloads.is_empty()
            && let Some(amount) = self.payloads.get(&op).and_then(|p| p.amount)
        {
            return amount;
        }
        if self.amounts.is_empty() {
            self.amount
        } else {
            self.amounts[(op as usize - 1) % self.amounts.len()]
        }
    }
}

/// A message broker between the producers (the clients) and the consumers (the servers):
/// at-least-once delivery with a visibility timeout, a receive limit and a dead-letter queue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Broker {
    /// How long a received message stays invisible; not acked by then, it is delivered again.
    pub visibility_timeout: SimDuration,
    /// Receives before the message moves to the dead-letter queue.
    pub max_receives: u32,
    /// When set, dead-lettered messages are redriven to the queue this long after (once).
    pub redrive_after: Option<SimDuration>,
    /// FIFO deduplication on the send side: a producer's duplicate send is dropped.
    pub fifo_dedup: bool,
}

/// How clients time out and retry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// How long a client waits for an attempt's response.
    pub timeout: SimDuration,
    /// The most attempts per operation, the first included.
    pub attempts_max: u32,
    /// Constant or exponential.
    pub backoff: Backoff,
    /// The first backoff.
    pub backoff_base: SimDuration,
    /// The largest backoff.
    pub backoff_cap: SimDuration,
    /// The jitter.
    pub jitter: Jitter,
    /// How keys are minted.
    pub key: KeyPolicy,
}

/// The network between clients and servers.
#[derive(Clone, Debug, PartialEq)]
pub struct Network {
    /// One-way latency.
    pub latency: LatencyRange,
    /// Probability that a request is lost.
    pub loss_request: f64,
    /// Probability that a response is lost.
    pub loss_response: f64,
    /// Probability that a message is delivered twice.
    pub duplicate: f64,
}

/// The server processes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Server {
    /// How many processes share the durable store (retries go round-robin).
    pub count: u16,
    /// Time from a request's arrival to its handler's first step.
    pub processing: LatencyRange,
    /// Latency of each store operation.
    pub store_latency: LatencyRange,
    /// How long a crashed server stays down.
    pub restart_delay: SimDuration,
    /// How long idempotency records (keys, inbox rows) live before a reaper prunes them;
    /// `None`: for ever.
    pub key_ttl: Option<SimDuration>,
}

/// The outside world.
#[derive(Clone, Debug, PartialEq)]
pub struct Provider {
    /// Latency of each call to the payment provider.
    pub latency: LatencyRange,
    /// Probability that a call is answered 503 (and charges nothing).
    pub unavailable: f64,
}

/// A comparison in an `[expect]` table: `0`, `">0"`, `">=2"`, `"<3"`, `"<=3"`, `"1..5"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Comparison {
    /// Exactly.
    Eq(u64),
    /// More than.
    Gt(u64),
    /// At least.
    Ge(u64),
    /// Less than.
    Lt(u64),
    /// At most.
    Le(u64),
    /// Between, both ends included.
    Between(u64, u64),
}

impl Comparison {
    /// True if `value` satisfies the comparison.
    pub fn holds(self, value: u64) -> bool {
        match self {
            Comparison::Eq(n) => value == n,
            Comparison::Gt(n) => value > n,
            Comparison::Ge(n) => value >= n,
            Comparison::Lt(n) => value < n,
            Comparison::Le(n) => value <= n,
            Comparison::Between(lo, hi) => lo <= value && value <= hi,
        }
    }

    fn parse(text: &str) -> Option<Comparison> {
        let t = text.trim();
        let num = |s: &str| s.trim().parse::<u64>().ok();
        if let Some((lo, hi)) = t.split_once("..") {
            let (lo, hi) = (num(lo)?, num(hi)?);
            return (lo <= hi).then_some(Comparison::Between(lo, hi));
        }
        for (prefix, make) in [
            (">=", Comparison::Ge as fn(u64) -> Comparison),
            ("<=", Comparison::Le),
            ("==", Comparison::Eq),
            (">", Comparison::Gt),
            ("<", Comparison::Lt),
        ] {
            if let Some(rest) = t.strip_prefix(prefix) {
                return num(rest).map(make);
            }
        }
        num(t).map(Comparison::Eq)
    }
}

impl fmt::Display for Comparison {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Comparison::Eq(n) => write!(f, "= {n}"),
            Comparison::Gt(n) => write!(f, "> {n}"),
            Comparison::Ge(n) => write!(f, ">= {n}"),
            Comparison::Lt(n) => write!(f, "< {n}"),
            Comparison::Le(n) => write!(f, "<= {n}"),
            Comparison::Between(lo, hi) => write!(f, "in {lo}..{hi}"),
        }
    }
}

impl<'de> Deserialize<'de> for Comparison {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Comparison;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "a non-negative integer or a comparison string such as \">0\", \">=2\", \"<3\" or \"1..5\"",
                )
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Comparison, E> {
                u64::try_from(v)
                    .map(Comparison::Eq)
                    .map_err(|_| E::invalid_value(de::Unexpected::Signed(v), &self))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Comparison, E> {
                Ok(Comparison::Eq(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Comparison, E> {
                Comparison::parse(v).ok_or_else(|| E::invalid_value(de::Unexpected::Str(v), &self))
            }
        }
        d.deserialize_any(V)
    }
}

/// One `[expect.DESIGN]` assertion: `metric` must satisfy `comparison`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expectation {
    /// The metric's name (see `oracle::METRIC_NAMES`).
    pub metric: String,
    /// What it must satisfy.
    pub comparison: Comparison,
}

/// A validated scenario: everything a run needs.
#[derive(Clone, Debug, PartialEq)]
pub struct Scenario {
    /// A short name.
    pub name: String,
    /// What it shows and what to look for.
    pub description: String,
    /// The seed used when none is given on the command line.
    pub seed: u64,
    /// The designs to compare, by name.
    pub designs: Vec<String>,
    /// The operations.
    pub workload: Workload,
    /// Timeouts and retries.
    pub retry: RetryPolicy,
    /// The network.
    pub network: Network,
    /// The servers.
    pub server: Server,
    /// The outside world.
    pub external: Provider,
    /// The budgets of every run.
    pub limits: Budget,
    /// Scripted faults.
    pub faults: FaultPlan,
    /// The broker, when the scenario is a message queue (the retry policy is then derived
    /// from it: see [`Broker`]).
    pub broker: Option<Broker>,
    /// Options per design, from `[design.NAME]` tables.
    pub design_options: BTreeMap<String, Options>,
    /// Assertions per design, in file order.
    pub expect: BTreeMap<String, Vec<Expectation>>,
    /// `[oracle]`: which store writes are effects, and what must hold when the run ends.
    pub oracle: OracleSpec,
    /// Designs written outside idemlab that `designs` may name (`own_designs`): a
    /// counterexample of a user's own design names it so, and parses.
    pub own_designs: Vec<String>,
}

/// What kind of value a design option takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OptionKind {
    /// A duration with a unit, `"50ms"`.
    Duration,
    /// `true` or `false`.
    Bool,
    /// One of these words.
    Choice(&'static [&'static str]),
    /// The name of another built-in design.
    Design,
}

/// One option a design takes, under `[design.NAME]` in a scenario.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OptionSpec {
    /// The option's name.
    pub name: &'static str,
    /// The kind of value.
    pub kind: OptionKind,
    /// What it does and its default.
    pub help: &'static str,
}

/// An option's value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OptionValue {
    /// A duration.
    Duration(SimDuration),
    /// A flag.
    Bool(bool),
    /// A word (a choice or a design name).
    Text(String),
}

/// A design's options by name, as validated from a scenario's `[design.NAME]` table.
pub type Options = BTreeMap<String, OptionValue>;

/// The duration option `name`, if set.
pub fn duration_option(options: &Options, name: &str) -> Option<SimDuration> {
    match options.get(name) {
        Some(OptionValue::Duration(d)) => Some(*d),
        _ => None,
    }
}

/// The flag `name`, or `default`.
pub fn bool_option(options: &Options, name: &str, default: bool) -> bool {
    match options.get(name) {
        Some(OptionValue::Bool(b)) => *b,
        _ => default,
    }
}

/// The word `name`, or `default`.
pub fn text_option<'a>(options: &'a Options, name: &str, default: &'a str) -> &'a str {
    match options.get(name) {
        Some(OptionValue::Text(t)) => t,
        _ => default,
    }
}

/// A design name the catalog does not know.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown design `{given}`{}; known designs: {}", suggestion.as_ref().map(|s| format!(" (did you mean `{s}`?)")).unwrap_or_default(), known.join(", "))]
pub struct UnknownDesign {
    /// The name given.
    pub given: String,
    /// The closest known name, if one is close.
    pub suggestion: Option<String>,
    /// Every known name.
    pub known: Vec<String>,
}

/// The fault kinds a scenario may script.
pub const FAULT_KINDS: [&str; 7] = [
    "drop",
    "duplicate",
    "delay",
    "crash",
    "partition",
    "unavailable",
    "slow",
];

/// The designs a scenario compares when it names none.
pub const DEFAULT_DESIGNS: [&str; 3] = ["naive", "process-payment", "atomic-key"];

/// The designs a scenario may name and the options each takes, as the reader asks for them:
/// the catalog (`crate::handlers`) answers, so that this layer knows no design.
pub trait DesignNames {
    /// The options design `name` takes, or why there is no design of that name (with the
    /// known ones and the closest, for the message).
    fn options_of(&self, name: &str) -> Result<&'static [OptionSpec], UnknownDesign>;
    /// True for a design of idemlab's own catalog, which `own_designs` may not name (a design
    /// of the user's own registered with the catalog is known, yet not built in).
    fn is_builtin(&self, name: &str) -> bool {
        self.options_of(name).is_ok()
    }
}

/// Reads a scenario from `text`, asking `designs` which design names exist; `origin` names
/// where the text came from in error messages. [`crate::scenario::parse`] asks the catalog.
pub fn parse_with(
    text: &str,
    origin: &str,
    designs: &dyn DesignNames,
) -> Result<Scenario, ScenarioError> {
    validate::parse(text, origin, designs)
}

/// [`parse_with`] for bytes (a file's content): rejects text that is not UTF-8 with the
/// position of the first bad byte.
pub fn parse_bytes_with(
    bytes: &[u8],
    origin: &str,
    designs: &dyn DesignNames,
) -> Result<Scenario, ScenarioError> {
    validate::parse_bytes(bytes, origin, designs)
}

impl Scenario {
    /// True when `name` is a design of the user's own that this scenario declares
    /// (`own_designs`): idemlab cannot build it; the user's code runs it.
    pub fn is_own_design(&self, name: &str) -> bool {
        self.own_designs.iter().any(|d| d == name)
    }
}

impl Broker {
    /// The retry policy the broker imposes on delivery: redeliver after the visibility
    /// timeout, at once, until `max_receives`, by message id.
    pub fn retry_policy(&self) -> RetryPolicy {
        RetryPolicy {
            timeout: self.visibility_timeout,
            attempts_max: self.max_receives,
            backoff: Backoff::Constant,
            backoff_base: SimDuration::ZERO,
            backoff_cap: SimDuration::ZERO,
            jitter: Jitter::None,
            key: KeyPolicy::PerOperation,
        }
    }
}
