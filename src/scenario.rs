//! Scenario files: TOML read in two stages, a raw serde struct (`deny_unknown_fields`, every
//! value that needs checking kept with its span) then validation into a typed [`Scenario`].
//!
//! Every error is a [`ScenarioError`] that names the file, line and column and says what was
//! expected, with the offending line quoted. The format is documented key by key in
//! `scenarios/README.md`.
//!
//! ```
//! let s = idemlab::scenario::parse("[workload]\nops = 3\n", "inline.toml").unwrap();
//! assert_eq!(s.workload.ops, 3);
//! let err = idemlab::scenario::parse("[workload]\nops = 0\n", "inline.toml").unwrap_err();
//! assert_eq!((err.line, err.column), (2, 7));
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;

use serde::Deserialize;
use serde::de::{self, MapAccess, Visitor};
use toml::Spanned;

use crate::fault::{Direction, FaultAtom, FaultPlan, MessageRef, When};
use crate::handlers::{self, Design, OptionKind, OptionSpec, OptionValue, Options, UnknownDesign};
use crate::oracle::METRIC_NAMES;
use crate::sim::Budget;
use crate::suggest::did_you_mean;
use crate::time::{SimDuration, SimTime, parse_duration};
use crate::world::StepKind;

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

/// A scenario that could not be read, located in its file.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{origin}:{line}:{column}: {message}{}", snippet_text(.snippet, *.line, *.column, *.width))]
pub struct ScenarioError {
    /// The file (or other origin) the text came from.
    pub origin: String,
    /// Line, from 1.
    pub line: usize,
    /// Column in characters, from 1.
    pub column: usize,
    /// What was wrong and what was expected.
    pub message: String,
    /// The offending line, if there is one.
    pub snippet: Option<String>,
    /// How many characters to underline.
    pub width: usize,
}

/// The quoted line under an error, rustc-style, with its number in the gutter.
fn snippet_text(snippet: &Option<String>, line: usize, column: usize, width: usize) -> String {
    match snippet {
        Some(text) if !text.trim().is_empty() => {
            let number = line.to_string();
            let pad = " ".repeat(number.len());
            format!(
                "\n{pad} |\n{number} | {text}\n{pad} | {}{}",
                " ".repeat(column.saturating_sub(1)),
                "^".repeat(width.max(1))
            )
        }
        _ => String::new(),
    }
}

/// Serde names Rust types in its messages; a scenario's author thinks in TOML's.
fn plain_types(message: &str) -> String {
    message
        .replace("expected i64", "expected an integer")
        .replace("expected u64", "expected a non-negative integer")
        .replace("expected f64", "expected a number")
        .replace("expected a boolean", "expected true or false")
}

/// Locates byte offsets in a text.
struct Source<'a> {
    text: &'a str,
    origin: &'a str,
}

impl Source<'_> {
    fn error(&self, span: Option<Range<usize>>, message: impl Into<String>) -> ScenarioError {
        let located = span.is_some();
        let span = span.unwrap_or(0..0);
        let start = floor_char_boundary(self.text, span.start.min(self.text.len()));
        let end = floor_char_boundary(self.text, span.end.min(self.text.len())).max(start);
        let before = &self.text[..start];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before[line_start..].chars().count() + 1;
        let line_text = self.text[line_start..].lines().next().unwrap_or("");
        let in_line = (line_start + line_text.len()).min(end).max(start);
        let width = self.text[start..in_line].chars().count();
        // A line with control characters (a binary file) is not worth echoing to a terminal.
        let printable = !line_text.chars().any(|c| c.is_control() && c != '\t');
        ScenarioError {
            origin: self.origin.to_string(),
            line,
            column,
            message: message.into(),
            snippet: (located && printable).then(|| line_text.to_string()),
            width,
        }
    }

    fn at<T>(&self, spanned: &Spanned<T>, message: impl Into<String>) -> ScenarioError {
        self.error(Some(spanned.span()), message)
    }
}

fn floor_char_boundary(text: &str, mut i: usize) -> usize {
    while i > 0 && !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

// ----- stage one: the raw file -----

/// A duration or latency as written: a string with a unit. A bare number is refused here, with
/// the reason, because "100" could mean microseconds, milliseconds or seconds.
struct DurText(String);

impl<'de> Deserialize<'de> for DurText {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = DurText;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration with a unit, such as \"20ms\"")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<DurText, E> {
                Ok(DurText(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<DurText, E> {
                Err(E::custom(format!(
                    "a duration needs a unit: write \"{v}ms\" (or us, s, m, h) in quotes"
                )))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<DurText, E> {
                self.visit_i64(v as i64)
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<DurText, E> {
                Err(E::custom(format!(
                    "a duration needs a unit: write \"{v}ms\" (or us, s, m, h) in quotes"
                )))
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScenario {
    name: Option<String>,
    description: Option<String>,
    seed: Option<u64>,
    designs: Option<Spanned<Vec<Spanned<String>>>>,
    #[serde(default)]
    own_designs: Vec<Spanned<String>>,
    workload: Option<RawWorkload>,
    client: Option<RawClient>,
    network: Option<RawNetwork>,
    server: Option<RawServer>,
    provider: Option<RawProvider>,
    limits: Option<RawLimits>,
    #[serde(default)]
    faults: Vec<Spanned<RawFault>>,
    broker: Option<Spanned<RawBroker>>,
    oracle: Option<RawOracle>,
    #[serde(default)]
    design: BTreeMap<Spanned<String>, BTreeMap<Spanned<String>, Spanned<toml::Value>>>,
    #[serde(default)]
    expect: BTreeMap<Spanned<String>, BTreeMap<Spanned<String>, Spanned<Comparison>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWorkload {
    ops: Spanned<i64>,
    clients: Option<Spanned<i64>>,
    interval: Option<Spanned<DurText>>,
    amount: Option<Spanned<i64>>,
    amounts: Option<Spanned<Vec<Spanned<i64>>>>,
    resources: Option<Spanned<i64>>,
    item: Option<Spanned<i64>>,
    #[serde(default)]
    op: Vec<Spanned<RawPayload>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOracle {
    #[serde(default)]
    effect_keys: Vec<Spanned<String>>,
    #[serde(default)]
    exists: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPayload {
    op: Option<Spanned<i64>>,
    item: Option<Spanned<i64>>,
    amount: Option<Spanned<i64>>,
    version: Option<Spanned<i64>>,
    key_of: Option<Spanned<i64>>,
    #[serde(default)]
    fields: BTreeMap<String, Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBroker {
    visibility_timeout: Option<Spanned<DurText>>,
    max_receives: Option<Spanned<i64>>,
    redrive_after: Option<Spanned<DurText>>,
    fifo_dedup: Option<bool>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawClient {
    retry: Option<RawRetry>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawRetry {
    timeout: Option<Spanned<DurText>>,
    attempts_max: Option<Spanned<i64>>,
    backoff: Option<Backoff>,
    backoff_base: Option<Spanned<DurText>>,
    backoff_cap: Option<Spanned<DurText>>,
    jitter: Option<Jitter>,
    key: Option<KeyPolicy>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawNetwork {
    latency: Option<Spanned<DurText>>,
    loss: Option<Spanned<RawLoss>>,
    duplicate: Option<Spanned<f64>>,
    #[serde(default)]
    partitions: Vec<Spanned<RawPartition>>,
}

/// `loss = 0.1` (both directions) or `loss = { request = 0.1, response = 0.2 }`.
#[derive(Default)]
struct RawLoss {
    request: Option<f64>,
    response: Option<f64>,
}

impl<'de> Deserialize<'de> for RawLoss {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawLoss;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a probability, or a table `{ request = P, response = P }`")
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<RawLoss, E> {
                Ok(RawLoss {
                    request: Some(v),
                    response: Some(v),
                })
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<RawLoss, E> {
                self.visit_f64(v as f64)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawLoss, A::Error> {
                let mut loss = RawLoss::default();
                while let Some(key) = map.next_key::<String>()? {
                    let slot = match key.as_str() {
                        "request" => &mut loss.request,
                        "response" => &mut loss.response,
                        other => {
                            return Err(de::Error::unknown_field(other, &["request", "response"]));
                        }
                    };
                    *slot = Some(map.next_value::<f64>()?);
                }
                Ok(loss)
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPartition {
    from: Spanned<DurText>,
    until: Spanned<DurText>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawServer {
    count: Option<Spanned<i64>>,
    processing: Option<Spanned<DurText>>,
    store_latency: Option<Spanned<DurText>>,
    restart_delay: Option<Spanned<DurText>>,
    key_ttl: Option<Spanned<DurText>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawProvider {
    latency: Option<Spanned<DurText>>,
    unavailable: Option<Spanned<f64>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawLimits {
    max_events: Option<Spanned<i64>>,
    max_time: Option<Spanned<DurText>>,
    max_trace_events: Option<Spanned<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFault {
    kind: Spanned<String>,
    message: Option<Spanned<String>>,
    op: Option<Spanned<i64>>,
    attempt: Option<Spanned<i64>>,
    copy: Option<Spanned<i64>>,
    by: Option<Spanned<DurText>>,
    at: Option<Spanned<DurText>>,
    server: Option<Spanned<i64>>,
    before: Option<Spanned<String>>,
    after: Option<Spanned<String>>,
    from: Option<Spanned<DurText>>,
    until: Option<Spanned<DurText>>,
    step: Option<Spanned<String>>,
    position: Option<Spanned<i64>>,
}

// ----- stage two: validation -----

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

/// Reads a scenario from `text`; `origin` names where it came from in error messages.
pub fn parse(text: &str, origin: &str) -> Result<Scenario, ScenarioError> {
    let src = Source { text, origin };
    let raw: RawScenario = toml::from_str(text).map_err(|e| {
        let message = plain_types(e.message().trim_end());
        src.error(e.span(), message)
    })?;
    validate(&src, raw)
}

/// Reads a scenario from bytes (a file's content): rejects text that is not UTF-8 with the
/// position of the first bad byte.
pub fn parse_bytes(bytes: &[u8], origin: &str) -> Result<Scenario, ScenarioError> {
    match std::str::from_utf8(bytes) {
        Ok(text) => parse(text, origin),
        Err(e) => {
            let good = &bytes[..e.valid_up_to()];
            let text = String::from_utf8_lossy(good);
            let src = Source {
                text: &text,
                origin,
            };
            let bad = bytes[e.valid_up_to()];
            Err(src.error(
                Some(text.len()..text.len()),
                format!(
                    "byte 0x{bad:02x} is not UTF-8: this is not a text file; expected a TOML scenario"
                ),
            ))
        }
    }
}

fn duration(src: &Source<'_>, v: &Spanned<DurText>) -> Result<SimDuration, ScenarioError> {
    parse_duration(&v.get_ref().0).map_err(|e| src.at(v, e.to_string()))
}

fn positive_duration(
    src: &Source<'_>,
    v: &Spanned<DurText>,
    what: &str,
) -> Result<SimDuration, ScenarioError> {
    let d = duration(src, v)?;
    if d == SimDuration::ZERO {
        return Err(src.at(v, format!("{what} must be longer than zero, e.g. \"20ms\"")));
    }
    Ok(d)
}

fn latency(src: &Source<'_>, v: &Spanned<DurText>) -> Result<LatencyRange, ScenarioError> {
    let text = &v.get_ref().0;
    let (min, max) = match text.split_once("..") {
        Some((lo, hi)) => (parse_duration(lo), parse_duration(hi)),
        None => (parse_duration(text), parse_duration(text)),
    };
    let expected = || {
        src.at(
            v,
            format!(
                "invalid latency `{text}`: expected a duration such as \"5ms\" or a range such as \"1ms..5ms\""
            ),
        )
    };
    let (min, max) = (min.map_err(|_| expected())?, max.map_err(|_| expected())?);
    if min > max {
        return Err(src.at(
            v,
            format!("the range `{text}` is empty: its start is after its end"),
        ));
    }
    Ok(LatencyRange { min, max })
}

fn probability(src: &Source<'_>, v: &Spanned<f64>) -> Result<f64, ScenarioError> {
    let p = *v.get_ref();
    if !(0.0..=1.0).contains(&p) {
        return Err(src.at(v, format!("a probability must be between 0 and 1, got {p}")));
    }
    Ok(p)
}

fn int_in(
    src: &Source<'_>,
    v: &Spanned<i64>,
    lo: i64,
    hi: i64,
    what: &str,
) -> Result<i64, ScenarioError> {
    let n = *v.get_ref();
    if n < lo || n > hi {
        let range = if hi == i64::MAX {
            format!("at least {lo}")
        } else {
            format!("between {lo} and {hi}")
        };
        return Err(src.at(v, format!("{what} must be {range}, got {n}")));
    }
    Ok(n)
}

/// The `[[workload.op]]` tables: one per operation at most, each naming it.
fn validate_payloads(
    src: &Source<'_>,
    raw: &[Spanned<RawPayload>],
    ops: u32,
) -> Result<BTreeMap<u32, Payload>, ScenarioError> {
    let mut out = BTreeMap::new();
    for entry in raw {
        let p = entry.get_ref();
        let Some(op_v) = &p.op else {
            return Err(src.at(
                entry,
                "a [[workload.op]] table needs `op = N`: the operation whose payload it sets",
            ));
        };
        let op = int_in(src, op_v, 1, i64::from(ops), "op")? as u32;
        if out.contains_key(&op) {
            return Err(src.at(
                op_v,
                format!("operation {op} already has a [[workload.op]] table; give each one once"),
            ));
        }
        let num = |v: &Option<Spanned<i64>>, lo: i64, hi: i64, what: &str| {
            v.as_ref().map(|v| int_in(src, v, lo, hi, what)).transpose()
        };
        let payload = Payload {
            item: num(&p.item, 1, i64::from(u32::MAX), "item")?.map(|i| i as u32),
            amount: num(&p.amount, 0, i64::MAX, "amount")?.map(|a| a as u64),
            version: num(&p.version, 0, i64::from(u32::MAX - 1), "version")?.map(|v| v as u64),
            key_of: num(&p.key_of, 1, i64::from(ops), "key_of")?.map(|k| k as u32),
            fields: p
                .fields
                .iter()
                .map(|(k, v)| (k.clone(), v.get_ref().clone()))
                .collect(),
        };
        out.insert(op, payload);
    }
    Ok(out)
}

fn validate(src: &Source<'_>, raw: RawScenario) -> Result<Scenario, ScenarioError> {
    let Some(w) = raw.workload else {
        return Err(src.error(
            None,
            "missing table [workload]: a scenario needs at least `[workload]` with `ops = N`",
        ));
    };
    let ops = int_in(src, &w.ops, 1, i64::from(MAX_OPS), "workload.ops")? as u32;
    let clients = match &w.clients {
        Some(c) => int_in(src, c, 1, i64::from(MAX_CLIENTS), "workload.clients")? as u16,
        None => 1,
    };
    let workload = Workload {
        ops,
        clients: clients.min(ops as u16).max(1),
        interval: w
            .interval
            .as_ref()
            .map(|v| duration(src, v))
            .transpose()?
            .unwrap_or(SimDuration::ZERO),
        amount: match &w.amount {
            Some(a) => int_in(src, a, 0, i64::MAX, "workload.amount")? as u64,
            None => 100,
        },
        amounts: match &w.amounts {
            None => Vec::new(),
            Some(list) if list.get_ref().is_empty() => {
                return Err(src.at(
                    list,
                    "`amounts` is empty: give at least one amount, or leave it out",
                ));
            }
            Some(list) => list
                .get_ref()
                .iter()
                .map(|a| int_in(src, a, 0, i64::MAX, "an amount").map(|a| a as u64))
                .collect::<Result<_, _>>()?,
        },
        resources: match &w.resources {
            Some(r) => int_in(src, r, 1, i64::from(MAX_OPS), "workload.resources")? as u32,
            None => 0,
        },
        item: match &w.item {
            Some(i) => int_in(src, i, 1, i64::from(u32::MAX), "workload.item")? as u32,
            None => 0,
        },
        payloads: validate_payloads(src, &w.op, ops)?,
    };
    let broker = raw
        .broker
        .as_ref()
        .map(|b| validate_broker(src, b))
        .transpose()?;
    let retry = match (&broker, raw.client.and_then(|c| c.retry)) {
        (Some(b), None) => b.retry_policy(),
        (Some(_), Some(_)) => {
            let span = raw.broker.as_ref().map(Spanned::span);
            return Err(src.error(
                span,
                "a scenario with [broker] has no [client.retry]: the broker redelivers by `visibility_timeout` and `max_receives`; remove one of the two",
            ));
        }
        (None, r) => validate_retry(src, r.unwrap_or_default())?,
    };
    let (network, partitions) = validate_network(src, raw.network.unwrap_or_default())?;
    let server = validate_server(src, raw.server.unwrap_or_default())?;
    let provider = raw.provider.unwrap_or_default();
    let external = Provider {
        latency: provider
            .latency
            .as_ref()
            .map(|v| latency(src, v))
            .transpose()?
            .unwrap_or(LatencyRange::fixed(SimDuration::from_millis(5))),
        unavailable: provider
            .unavailable
            .as_ref()
            .map(|v| probability(src, v))
            .transpose()?
            .unwrap_or(0.0),
    };
    let limits = validate_limits(src, raw.limits.unwrap_or_default())?;
    let own_designs = validate_own_designs(src, raw.own_designs)?;
    let designs = validate_designs(src, raw.designs, &own_designs)?;
    let mut atoms = partitions;
    for fault in &raw.faults {
        atoms.push(validate_fault(src, fault, &workload, &retry, &server)?);
    }
    let expect = validate_expect(src, raw.expect, &designs)?;
    let design_options = validate_design_options(src, raw.design, &designs)?;
    Ok(Scenario {
        name: raw.name.unwrap_or_else(|| {
            let stem = src.origin.rsplit(['/', '\\']).next().unwrap_or(src.origin);
            stem.trim_end_matches(".toml").to_string()
        }),
        description: raw.description.unwrap_or_default(),
        seed: raw.seed.unwrap_or(1),
        designs,
        workload,
        retry,
        network,
        server,
        external,
        limits,
        faults: FaultPlan::new(atoms),
        broker,
        design_options,
        expect,
        oracle: validate_oracle(src, raw.oracle)?,
        own_designs,
    })
}

fn validate_oracle(src: &Source<'_>, raw: Option<RawOracle>) -> Result<OracleSpec, ScenarioError> {
    let Some(raw) = raw else {
        return Ok(OracleSpec::default());
    };
    let texts = |list: Vec<Spanned<String>>, what: &str| -> Result<Vec<String>, ScenarioError> {
        list.into_iter()
            .map(|k| {
                if k.get_ref().is_empty() {
                    Err(src.at(
                        &k,
                        format!("an empty key in `{what}`: give the key, or its first characters"),
                    ))
                } else {
                    Ok(k.into_inner())
                }
            })
            .collect()
    };
    Ok(OracleSpec {
        effect_keys: texts(raw.effect_keys, "effect_keys")?,
        exists: texts(raw.exists, "exists")?,
    })
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

fn validate_broker(src: &Source<'_>, b: &Spanned<RawBroker>) -> Result<Broker, ScenarioError> {
    let raw = b.get_ref();
    let visibility_timeout = match &raw.visibility_timeout {
        Some(v) => positive_duration(src, v, "broker.visibility_timeout")?,
        None => SimDuration::from_millis(100),
    };
    let max_receives = match &raw.max_receives {
        Some(m) => int_in(src, m, 1, i64::from(MAX_ATTEMPTS), "broker.max_receives")? as u32,
        None => 5,
    };
    let redrive_after = raw
        .redrive_after
        .as_ref()
        .map(|v| positive_duration(src, v, "broker.redrive_after"))
        .transpose()?;
    Ok(Broker {
        visibility_timeout,
        max_receives,
        redrive_after,
        fifo_dedup: raw.fifo_dedup.unwrap_or(false),
    })
}

type RawDesignOptions = BTreeMap<Spanned<String>, BTreeMap<Spanned<String>, Spanned<toml::Value>>>;

fn validate_design_options(
    src: &Source<'_>,
    raw: RawDesignOptions,
    designs: &[String],
) -> Result<BTreeMap<String, Options>, ScenarioError> {
    let mut out = BTreeMap::new();
    for (design, table) in raw {
        let entry =
            handlers::entry(design.get_ref()).map_err(|e| src.at(&design, e.to_string()))?;
        if !designs.contains(design.get_ref()) {
            return Err(src.at(
                &design,
                format!(
                    "[design.{}] gives options to a design this scenario does not run; it runs: {}",
                    design.get_ref(),
                    designs.join(", ")
                ),
            ));
        }
        let mut options = Options::new();
        for (name, value) in table {
            let Some(spec) = entry.option(name.get_ref()) else {
                let takes = if entry.options.is_empty() {
                    "it takes no options".to_string()
                } else {
                    let names: Vec<&str> = entry.options.iter().map(|o| o.name).collect();
                    format!("it takes: {}", names.join(", "))
                };
                let hint = did_you_mean(name.get_ref(), entry.options.iter().map(|o| o.name));
                return Err(src.at(
                    &name,
                    format!(
                        "design `{}` does not take the option `{}`{hint}; {takes}",
                        entry.name,
                        name.get_ref()
                    ),
                ));
            };
            options.insert(name.get_ref().clone(), option_value(src, spec, &value)?);
        }
        out.insert(design.get_ref().clone(), options);
    }
    Ok(out)
}

fn option_value(
    src: &Source<'_>,
    spec: &OptionSpec,
    value: &Spanned<toml::Value>,
) -> Result<OptionValue, ScenarioError> {
    let wrong = |what: &str| {
        src.at(
            value,
            format!("option `{}` takes {what}: {}", spec.name, spec.help),
        )
    };
    match (spec.kind, value.get_ref()) {
        (OptionKind::Duration, toml::Value::String(text)) => parse_duration(text)
            .map(OptionValue::Duration)
            .map_err(|e| src.at(value, format!("option `{}`: {e}", spec.name))),
        (OptionKind::Duration, _) => Err(wrong("a duration with a unit, such as \"50ms\"")),
        (OptionKind::Bool, toml::Value::Boolean(b)) => Ok(OptionValue::Bool(*b)),
        (OptionKind::Bool, _) => Err(wrong("true or false")),
        (OptionKind::Choice(choices), toml::Value::String(text)) => {
            if choices.contains(&text.as_str()) {
                Ok(OptionValue::Text(text.clone()))
            } else {
                Err(wrong(&format!("one of {}", choices.join(", "))))
            }
        }
        (OptionKind::Choice(choices), _) => Err(wrong(&format!("one of {}", choices.join(", ")))),
        (OptionKind::Design, toml::Value::String(text)) => {
            if text == "middleware" {
                return Err(src.at(value, "the middleware cannot wrap itself"));
            }
            handlers::entry(text)
                .map(|_| OptionValue::Text(text.clone()))
                .map_err(|e| src.at(value, e.to_string()))
        }
        (OptionKind::Design, _) => Err(wrong("a design name")),
    }
}

impl Scenario {
    /// Builds the design called `name` with this scenario's options for it.
    pub fn design(&self, name: &str) -> Result<Box<dyn Design>, UnknownDesign> {
        let none = Options::new();
        handlers::build(name, self.design_options.get(name).unwrap_or(&none))
    }

    /// True when `name` is a design of the user's own that this scenario declares
    /// (`own_designs`): idemlab cannot build it; the user's code runs it.
    pub fn is_own_design(&self, name: &str) -> bool {
        self.own_designs.iter().any(|d| d == name)
    }
}

fn validate_retry(src: &Source<'_>, r: RawRetry) -> Result<RetryPolicy, ScenarioError> {
    let backoff_base = r
        .backoff_base
        .as_ref()
        .map(|v| duration(src, v))
        .transpose()?
        .unwrap_or(SimDuration::from_millis(10));
    // The default cap is 1s, or the base when that is larger: a cap below the base would make
    // every backoff shorter than its own starting value.
    let backoff_cap = r
        .backoff_cap
        .as_ref()
        .map(|v| duration(src, v))
        .transpose()?
        .unwrap_or(SimDuration::from_secs(1).max(backoff_base));
    if let Some(cap) = &r.backoff_cap
        && backoff_cap < backoff_base
    {
        return Err(src.at(
            cap,
            format!("backoff_cap ({backoff_cap}) must be at least backoff_base ({backoff_base})"),
        ));
    }
    Ok(RetryPolicy {
        timeout: r
            .timeout
            .as_ref()
            .map(|v| positive_duration(src, v, "timeout"))
            .transpose()?
            .unwrap_or(SimDuration::from_millis(100)),
        attempts_max: match &r.attempts_max {
            Some(a) => int_in(src, a, 1, i64::from(MAX_ATTEMPTS), "attempts_max")? as u32,
            None => 3,
        },
        backoff: r.backoff.unwrap_or(Backoff::Exponential),
        backoff_base,
        backoff_cap,
        jitter: r.jitter.unwrap_or(Jitter::Full),
        key: r.key.unwrap_or(KeyPolicy::PerOperation),
    })
}

fn validate_network(
    src: &Source<'_>,
    n: RawNetwork,
) -> Result<(Network, Vec<FaultAtom>), ScenarioError> {
    let (loss_request, loss_response) = match &n.loss {
        None => (0.0, 0.0),
        Some(l) => {
            let check = |p: Option<f64>| match p {
                None => Ok(0.0),
                Some(p) => probability(src, &Spanned::new(l.span(), p)),
            };
            (check(l.get_ref().request)?, check(l.get_ref().response)?)
        }
    };
    let mut partitions = Vec::new();
    for p in &n.partitions {
        let from = duration(src, &p.get_ref().from)?;
        let until = duration(src, &p.get_ref().until)?;
        if until <= from {
            return Err(src.at(&p.get_ref().until, "a partition must end after it starts"));
        }
        partitions.push(FaultAtom::Partition {
            from: SimTime(from.0),
            until: SimTime(until.0),
        });
    }
    let network = Network {
        latency: n
            .latency
            .as_ref()
            .map(|v| latency(src, v))
            .transpose()?
            .unwrap_or(LatencyRange {
                min: SimDuration::from_millis(1),
                max: SimDuration::from_millis(5),
            }),
        loss_request,
        loss_response,
        duplicate: n
            .duplicate
            .as_ref()
            .map(|v| probability(src, v))
            .transpose()?
            .unwrap_or(0.0),
    };
    Ok((network, partitions))
}

fn validate_server(src: &Source<'_>, s: RawServer) -> Result<Server, ScenarioError> {
    Ok(Server {
        count: match &s.count {
            Some(c) => int_in(src, c, 1, i64::from(MAX_SERVERS), "server.count")? as u16,
            None => 1,
        },
        processing: s
            .processing
            .as_ref()
            .map(|v| latency(src, v))
            .transpose()?
            .unwrap_or(LatencyRange::fixed(SimDuration::ZERO)),
        store_latency: s
            .store_latency
            .as_ref()
            .map(|v| latency(src, v))
            .transpose()?
            .unwrap_or(LatencyRange::fixed(SimDuration::from_millis(1))),
        restart_delay: s
            .restart_delay
            .as_ref()
            .map(|v| duration(src, v))
            .transpose()?
            .unwrap_or(SimDuration::from_millis(100)),
        key_ttl: s
            .key_ttl
            .as_ref()
            .map(|v| positive_duration(src, v, "server.key_ttl"))
            .transpose()?,
    })
}

fn validate_limits(src: &Source<'_>, l: RawLimits) -> Result<Budget, ScenarioError> {
    let default = Budget::default();
    Ok(Budget {
        max_events: match &l.max_events {
            Some(m) => int_in(src, m, 1, i64::MAX, "limits.max_events")? as u64,
            None => default.max_events,
        },
        max_time: l
            .max_time
            .as_ref()
            .map(|v| positive_duration(src, v, "limits.max_time"))
            .transpose()?
            .unwrap_or(default.max_time),
        max_trace_events: match &l.max_trace_events {
            Some(m) => int_in(src, m, 1, i64::MAX, "limits.max_trace_events")? as u64,
            None => default.max_trace_events,
        },
    })
}

/// `own_designs`: names of designs written outside idemlab, which `designs` may then list.
fn validate_own_designs(
    src: &Source<'_>,
    own: Vec<Spanned<String>>,
) -> Result<Vec<String>, ScenarioError> {
    let mut out: Vec<String> = Vec::new();
    for d in own {
        if handlers::entry(d.get_ref()).is_ok() {
            return Err(src.at(
                &d,
                format!(
                    "`{}` is a design of idemlab's own catalog: list it in `designs` only",
                    d.get_ref()
                ),
            ));
        }
        if d.get_ref().is_empty() || out.contains(d.get_ref()) {
            return Err(src.at(&d, "an empty or repeated name in `own_designs`"));
        }
        out.push(d.into_inner());
    }
    Ok(out)
}

fn validate_designs(
    src: &Source<'_>,
    designs: Option<Spanned<Vec<Spanned<String>>>>,
    own: &[String],
) -> Result<Vec<String>, ScenarioError> {
    let Some(list) = designs else {
        return Ok(DEFAULT_DESIGNS.iter().map(|s| s.to_string()).collect());
    };
    if list.get_ref().is_empty() {
        return Err(src.at(&list, "`designs` is empty: name at least one design"));
    }
    let mut out = Vec::new();
    for d in list.get_ref() {
        if own.contains(d.get_ref()) {
            // A design of the user's own, declared so: nothing to check it against here.
        } else if let Err(e) = handlers::entry(d.get_ref()) {
            // A near miss is a typo; a name like no other may be the user's own design.
            let own = if e.suggestion.is_none() {
                format!(
                    "; a design of your own goes in `own_designs` too (`own_designs = [\"{}\"]`) and is run from Rust",
                    d.get_ref()
                )
            } else {
                String::new()
            };
            return Err(src.at(d, format!("{e}{own}")));
        }
        if out.contains(d.get_ref()) {
            return Err(src.at(d, format!("design `{}` is listed twice", d.get_ref())));
        }
        out.push(d.get_ref().clone());
    }
    Ok(out)
}

fn validate_expect(
    src: &Source<'_>,
    expect: BTreeMap<Spanned<String>, BTreeMap<Spanned<String>, Spanned<Comparison>>>,
    designs: &[String],
) -> Result<BTreeMap<String, Vec<Expectation>>, ScenarioError> {
    let mut out = BTreeMap::new();
    for (design, table) in expect {
        if !designs.contains(design.get_ref()) {
            let hint = did_you_mean(design.get_ref(), designs.iter().map(String::as_str));
            return Err(src.at(
                &design,
                format!(
                    "[expect.{}] names a design this scenario does not run{hint}; it runs: {}",
                    design.get_ref(),
                    designs.join(", ")
                ),
            ));
        }
        let mut list = Vec::new();
        for (metric, comparison) in table {
            if !METRIC_NAMES.contains(&metric.get_ref().as_str())
                && !crate::oracle::EXPECT_ONLY_METRICS.contains(&metric.get_ref().as_str())
            {
                let hint = did_you_mean(metric.get_ref(), METRIC_NAMES);
                return Err(src.at(
                    &metric,
                    format!(
                        "unknown metric `{}`{hint}; expected one of: {}",
                        metric.get_ref(),
                        METRIC_NAMES.join(", ")
                    ),
                ));
            }
            list.push(Expectation {
                metric: metric.get_ref().clone(),
                comparison: *comparison.get_ref(),
            });
        }
        out.insert(design.get_ref().clone(), list);
    }
    Ok(out)
}

/// Which keys each fault kind takes (besides `kind`).
fn fault_keys(kind: &str) -> &'static [&'static str] {
    match kind {
        "drop" | "duplicate" => &["message", "op", "attempt", "copy"],
        "delay" => &["message", "op", "attempt", "copy", "by"],
        "crash" => &[
            "at", "server", "op", "attempt", "copy", "before", "after", "position",
        ],
        "partition" => &["from", "until"],
        "unavailable" => &["op", "attempt", "copy", "position"],
        "slow" => &["op", "attempt", "copy", "step", "position", "by"],
        _ => &[],
    }
}

fn validate_fault(
    src: &Source<'_>,
    fault: &Spanned<RawFault>,
    workload: &Workload,
    retry: &RetryPolicy,
    server: &Server,
) -> Result<FaultAtom, ScenarioError> {
    let f = fault.get_ref();
    let kind = f.kind.get_ref().as_str();
    if !FAULT_KINDS.contains(&kind) {
        let hint = did_you_mean(kind, FAULT_KINDS);
        return Err(src.at(
            &f.kind,
            format!(
                "unknown fault kind `{kind}`{hint}; expected one of: {}",
                FAULT_KINDS.join(", ")
            ),
        ));
    }
    // A key that does not apply to this kind is a mistake, not something to ignore.
    let allowed = fault_keys(kind);
    let present: [(&str, Option<Range<usize>>); 13] = [
        ("position", f.position.as_ref().map(Spanned::span)),
        ("step", f.step.as_ref().map(Spanned::span)),
        ("message", f.message.as_ref().map(Spanned::span)),
        ("op", f.op.as_ref().map(Spanned::span)),
        ("attempt", f.attempt.as_ref().map(Spanned::span)),
        ("copy", f.copy.as_ref().map(Spanned::span)),
        ("by", f.by.as_ref().map(Spanned::span)),
        ("at", f.at.as_ref().map(Spanned::span)),
        ("server", f.server.as_ref().map(Spanned::span)),
        ("before", f.before.as_ref().map(Spanned::span)),
        ("after", f.after.as_ref().map(Spanned::span)),
        ("from", f.from.as_ref().map(Spanned::span)),
        ("until", f.until.as_ref().map(Spanned::span)),
    ];
    for (name, span) in present {
        if let Some(span) = span
            && !allowed.contains(&name)
        {
            return Err(src.error(
                Some(span),
                format!(
                    "`{name}` does not apply to a `{kind}` fault; a `{kind}` fault takes: {}",
                    allowed.join(", ")
                ),
            ));
        }
    }
    let need = |what: &str| {
        src.at(
            fault,
            format!(
                "a `{kind}` fault needs `{what}`; it takes: {}",
                allowed.join(", ")
            ),
        )
    };
    let op = |required: bool| -> Result<Option<u32>, ScenarioError> {
        match &f.op {
            Some(v) => Ok(Some(
                int_in(src, v, 1, i64::from(workload.ops), "op")? as u32
            )),
            None if required => Err(need("op")),
            None => Ok(None),
        }
    };
    let attempt = || -> Result<Option<u32>, ScenarioError> {
        f.attempt
            .as_ref()
            .map(|v| int_in(src, v, 1, i64::from(retry.attempts_max), "attempt").map(|a| a as u32))
            .transpose()
    };
    // The handler-step faults may name the request copy and the step's position.
    let step_copy = || -> Result<Option<u32>, ScenarioError> {
        f.copy
            .as_ref()
            .map(|c| int_in(src, c, 0, 1, "copy").map(|c| c as u32))
            .transpose()
    };
    let position = || -> Result<Option<u32>, ScenarioError> {
        f.position
            .as_ref()
            .map(|p| int_in(src, p, 1, 1_000, "position").map(|p| p as u32))
            .transpose()
    };
    match kind {
        "drop" | "duplicate" | "delay" => {
            let message = f.message.as_ref().ok_or_else(|| need("message"))?;
            let dir = match message.get_ref().as_str() {
                "request" => Direction::Request,
                "response" => Direction::Response,
                other => {
                    return Err(src.at(
                        message,
                        format!("unknown message `{other}`; expected `request` or `response`"),
                    ));
                }
            };
            let msg = MessageRef {
                dir,
                op: op(true)?.unwrap_or(1),
                attempt: attempt()?.unwrap_or(1),
                copy: match &f.copy {
                    Some(c) => int_in(src, c, 0, 2, "copy")? as u32,
                    None => 0,
                },
            };
            Ok(match kind {
                "drop" => FaultAtom::Drop(msg),
                "duplicate" => FaultAtom::Duplicate(msg),
                _ => FaultAtom::Delay {
                    msg,
                    by: duration(src, f.by.as_ref().ok_or_else(|| need("by"))?)?,
                },
            })
        }
        "crash" => {
            let atom = validate_crash(src, fault, op(false)?, attempt()?, server, &need)?;
            Ok(match atom {
                FaultAtom::CrashAtStep {
                    op,
                    attempt,
                    when,
                    step,
                    ..
                } => FaultAtom::CrashAtStep {
                    op,
                    attempt,
                    when,
                    step,
                    position: position()?,
                    copy: step_copy()?,
                },
                at_a_time => {
                    if let Some(p) = f.position.as_ref().or(f.copy.as_ref()) {
                        return Err(src.at(
                            p,
                            "`position` and `copy` name a handler step: they go with `before` or `after`, not with `at`",
                        ));
                    }
                    at_a_time
                }
            })
        }
        "unavailable" => Ok(FaultAtom::Unavailable {
            op: op(true)?.unwrap_or(1),
            attempt: attempt()?,
            position: position()?,
            copy: step_copy()?,
        }),
        "slow" => {
            let step = f.step.as_ref().ok_or_else(|| need("step"))?;
            let step_kind = step_named(src, step)?;
            Ok(FaultAtom::Slow {
                op: op(true)?.unwrap_or(1),
                attempt: attempt()?.unwrap_or(1),
                step: step_kind,
                by: duration(src, f.by.as_ref().ok_or_else(|| need("by"))?)?,
                position: position()?,
                copy: step_copy()?,
            })
        }
        _ => {
            let from = duration(src, f.from.as_ref().ok_or_else(|| need("from"))?)?;
            let until_v = f.until.as_ref().ok_or_else(|| need("until"))?;
            let until = duration(src, until_v)?;
            if until <= from {
                return Err(src.at(until_v, "a partition must end after it starts"));
            }
            Ok(FaultAtom::Partition {
                from: SimTime(from.0),
                until: SimTime(until.0),
            })
        }
    }
}

/// The handler step a fault names (`after = "charge"`, `step = "put"`).
fn step_named(src: &Source<'_>, step: &Spanned<String>) -> Result<StepKind, ScenarioError> {
    StepKind::from_name(step.get_ref()).ok_or_else(|| {
        let names: Vec<&str> = StepKind::ALL.iter().map(|s| s.name()).collect();
        let hint = did_you_mean(step.get_ref(), names.iter().copied());
        src.at(
            step,
            format!(
                "unknown step `{}`{hint}; expected one of: {}",
                step.get_ref(),
                names.join(", ")
            ),
        )
    })
}

fn validate_crash(
    src: &Source<'_>,
    fault: &Spanned<RawFault>,
    op: Option<u32>,
    attempt: Option<u32>,
    server: &Server,
    need: &dyn Fn(&str) -> ScenarioError,
) -> Result<FaultAtom, ScenarioError> {
    let f = fault.get_ref();
    if let Some(at) = &f.at {
        if let Some(extra) = f.before.as_ref().or(f.after.as_ref()) {
            return Err(src.at(
                extra,
                "a crash is either at a time (`at`) or at a step (`op` with `before` or `after`), not both",
            ));
        }
        let server_index = match &f.server {
            Some(s) if server.count == 1 && *s.get_ref() != 0 => {
                return Err(src.at(
                    s,
                    format!(
                        "there is no server {}: the scenario has one server, server 0 (set `count` under [server] for more)",
                        s.get_ref()
                    ),
                ));
            }
            Some(s) => int_in(src, s, 0, i64::from(server.count) - 1, "server")? as u16,
            None => 0,
        };
        return Ok(FaultAtom::CrashAt {
            server: server_index,
            at: SimTime(duration(src, at)?.0),
        });
    }
    let (when, step) = match (&f.before, &f.after) {
        (Some(b), None) => (When::Before, b),
        (None, Some(a)) => (When::After, a),
        (Some(_), Some(a)) => {
            return Err(src.at(a, "give `before` or `after`, not both"));
        }
        (None, None) => return Err(need("`at`, or `op` with `before` or `after`")),
    };
    let step_kind = step_named(src, step)?;
    if let Some(s) = &f.server {
        return Err(src.at(
            s,
            "a crash at a step crashes whichever server runs that step; `server` goes with `at`",
        ));
    }
    Ok(FaultAtom::CrashAtStep {
        op: op.ok_or_else(|| need("op"))?,
        attempt,
        when,
        step: step_kind,
        position: None,
        copy: None,
    })
}

/// The scenarios shipped with idemlab, as `(file name, text)`; the first is the default.
pub const BUNDLED: &[(&str, &str)] = &[
    ("default.toml", include_str!("../scenarios/default.toml")),
    (
        "lost-response.toml",
        include_str!("../scenarios/lost-response.toml"),
    ),
    (
        "slow-server-race.toml",
        include_str!("../scenarios/slow-server-race.toml"),
    ),
    (
        "crash-after-charge.toml",
        include_str!("../scenarios/crash-after-charge.toml"),
    ),
    (
        "client-retry.toml",
        include_str!("../scenarios/client-retry.toml"),
    ),
    (
        "conditional-write.toml",
        include_str!("../scenarios/conditional-write.toml"),
    ),
    (
        "create-order-api.toml",
        include_str!("../scenarios/create-order-api.toml"),
    ),
    (
        "dead-letter-queue.toml",
        include_str!("../scenarios/dead-letter-queue.toml"),
    ),
    (
        "dedup-table.toml",
        include_str!("../scenarios/dedup-table.toml"),
    ),
    (
        "dlq-redrive-after-ttl.toml",
        include_str!("../scenarios/dlq-redrive-after-ttl.toml"),
    ),
    (
        "fifo-dedup.toml",
        include_str!("../scenarios/fifo-dedup.toml"),
    ),
    (
        "http-methods.toml",
        include_str!("../scenarios/http-methods.toml"),
    ),
    (
        "idempotency-key-errors.toml",
        include_str!("../scenarios/idempotency-key-errors.toml"),
    ),
    (
        "key-expiry.toml",
        include_str!("../scenarios/key-expiry.toml"),
    ),
    (
        "retry-outlives-key.toml",
        include_str!("../scenarios/retry-outlives-key.toml"),
    ),
    (
        "middleware.toml",
        include_str!("../scenarios/middleware.toml"),
    ),
    (
        "missing-key.toml",
        include_str!("../scenarios/missing-key.toml"),
    ),
    (
        "network-failure.toml",
        include_str!("../scenarios/network-failure.toml"),
    ),
    (
        "queue-redelivery.toml",
        include_str!("../scenarios/queue-redelivery.toml"),
    ),
    (
        "retry-amplification.toml",
        include_str!("../scenarios/retry-amplification.toml"),
    ),
    (
        "sql-set-vs-increment.toml",
        include_str!("../scenarios/sql-set-vs-increment.toml"),
    ),
    (
        "stored-responses.toml",
        include_str!("../scenarios/stored-responses.toml"),
    ),
    ("timeout.toml", include_str!("../scenarios/timeout.toml")),
    (
        "what-is-idempotency.toml",
        include_str!("../scenarios/what-is-idempotency.toml"),
    ),
    (
        "catalog/row01-naive-post.toml",
        include_str!("../scenarios/catalog/row01-naive-post.toml"),
    ),
    (
        "catalog/row02-put-reordering.toml",
        include_str!("../scenarios/catalog/row02-put-reordering.toml"),
    ),
    (
        "catalog/row03-conditional-write.toml",
        include_str!("../scenarios/catalog/row03-conditional-write.toml"),
    ),
    (
        "catalog/row04-business-key.toml",
        include_str!("../scenarios/catalog/row04-business-key.toml"),
    ),
    (
        "catalog/row05-check-then-act.toml",
        include_str!("../scenarios/catalog/row05-check-then-act.toml"),
    ),
    (
        "catalog/row07-claim-first.toml",
        include_str!("../scenarios/catalog/row07-claim-first.toml"),
    ),
    (
        "catalog/row08-key-in-transaction.toml",
        include_str!("../scenarios/catalog/row08-key-in-transaction.toml"),
    ),
    (
        "catalog/row09-recovery-points.toml",
        include_str!("../scenarios/catalog/row09-recovery-points.toml"),
    ),
    (
        "catalog/row13-new-key-per-attempt.toml",
        include_str!("../scenarios/catalog/row13-new-key-per-attempt.toml"),
    ),
    (
        "catalog/row15-ack-first.toml",
        include_str!("../scenarios/catalog/row15-ack-first.toml"),
    ),
    (
        "catalog/row16-process-then-ack.toml",
        include_str!("../scenarios/catalog/row16-process-then-ack.toml"),
    ),
    (
        "catalog/row18-outbox-relay.toml",
        include_str!("../scenarios/catalog/row18-outbox-relay.toml"),
    ),
];

/// The bundled scenario called `name` (`lost-response`, `lost-response.toml`; a catalog
/// row's scenario by its file name alone, `row01-naive-post`), if there is one.
pub fn bundled(name: &str) -> Option<Result<Scenario, ScenarioError>> {
    let wanted = name.trim_end_matches(".toml");
    let stem = |file: &str| {
        let file = file.trim_end_matches(".toml");
        file.rsplit('/').next().unwrap_or(file).to_string()
    };
    BUNDLED
        .iter()
        .find(|(file, _)| file.trim_end_matches(".toml") == wanted || stem(file) == wanted)
        .map(|(file, text)| parse(text, &format!("scenarios/{file}")))
}

/// The built-in default scenario (embedded in the binary).
pub fn default_scenario() -> Scenario {
    match parse(BUNDLED[0].1, "scenarios/default.toml") {
        Ok(s) => s,
        // The embedded file is checked by the test suite; this cannot happen in a release.
        Err(e) => panic!("the embedded default scenario is invalid: {e}"),
    }
}

/// The first line of a scenario file's header comment, for listings.
pub fn headline(text: &str) -> String {
    text.lines()
        .take_while(|l| l.starts_with('#'))
        .map(|l| l.trim_start_matches('#').trim())
        .find(|l| !l.is_empty())
        .unwrap_or("")
        .to_string()
}

/// Writes `scenario` as a scenario file that [`parse`] reads back to an equal scenario
/// (`header` becomes its leading comment, one `# ` line per line).
pub fn to_toml(scenario: &Scenario, header: &str) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    for line in header.lines() {
        let _ = if line.is_empty() {
            writeln!(out, "#")
        } else {
            writeln!(out, "# {line}")
        };
    }
    if !header.is_empty() {
        out.push('\n');
    }
    let quoted = |s: &str| toml_string(s);
    let s = scenario;
    let _ = writeln!(out, "name = {}", quoted(&s.name));
    let _ = writeln!(out, "description = {}", quoted(&s.description));
    let _ = writeln!(out, "seed = {}", s.seed);
    let designs: Vec<String> = s.designs.iter().map(|d| quoted(d)).collect();
    let _ = writeln!(out, "designs = [{}]", designs.join(", "));
    if !s.own_designs.is_empty() {
        let own: Vec<String> = s.own_designs.iter().map(|d| quoted(d)).collect();
        let _ = writeln!(out, "own_designs = [{}]", own.join(", "));
    }
    let w = &s.workload;
    let _ = writeln!(
        out,
        "\n[workload]\nops = {}\nclients = {}\ninterval = \"{}\"\namount = {}",
        w.ops, w.clients, w.interval, w.amount
    );
    if !w.amounts.is_empty() {
        let list: Vec<String> = w.amounts.iter().map(u64::to_string).collect();
        let _ = writeln!(out, "amounts = [{}]", list.join(", "));
    }
    if w.resources > 0 {
        let _ = writeln!(out, "resources = {}", w.resources);
    }
    if w.item > 0 {
        let _ = writeln!(out, "item = {}", w.item);
    }
    for (op, p) in &w.payloads {
        let _ = writeln!(out, "\n[[workload.op]]\nop = {op}");
        if let Some(i) = p.item {
            let _ = writeln!(out, "item = {i}");
        }
        if let Some(a) = p.amount {
            let _ = writeln!(out, "amount = {a}");
        }
        if let Some(v) = p.version {
            let _ = writeln!(out, "version = {v}");
        }
        if let Some(k) = p.key_of {
            let _ = writeln!(out, "key_of = {k}");
        }
        if !p.fields.is_empty() {
            let fields: Vec<String> = p
                .fields
                .iter()
                .map(|(k, v)| format!("{} = {}", toml_key(k), quoted(v)))
                .collect();
            let _ = writeln!(out, "fields = {{ {} }}", fields.join(", "));
        }
    }
    let r = &s.retry;
    let (backoff, jitter, key) = (r.backoff.name(), r.jitter.name(), r.key.name());
    match &s.broker {
        None => {
            let _ = writeln!(
                out,
                "\n[client.retry]\ntimeout = \"{}\"\nattempts_max = {}\nbackoff = \"{backoff}\"\nbackoff_base = \"{}\"\nbackoff_cap = \"{}\"\njitter = \"{jitter}\"\nkey = \"{key}\"",
                r.timeout, r.attempts_max, r.backoff_base, r.backoff_cap
            );
        }
        Some(b) => {
            let _ = writeln!(
                out,
                "\n[broker]\nvisibility_timeout = \"{}\"\nmax_receives = {}\nfifo_dedup = {}",
                b.visibility_timeout, b.max_receives, b.fifo_dedup
            );
            if let Some(d) = b.redrive_after {
                let _ = writeln!(out, "redrive_after = \"{d}\"");
            }
        }
    }
    let n = &s.network;
    let _ = writeln!(
        out,
        "\n[network]\nlatency = \"{}\"\nloss = {{ request = {:?}, response = {:?} }}\nduplicate = {:?}",
        n.latency, n.loss_request, n.loss_response, n.duplicate
    );
    let v = &s.server;
    let _ = writeln!(
        out,
        "\n[server]\ncount = {}\nprocessing = \"{}\"\nstore_latency = \"{}\"\nrestart_delay = \"{}\"",
        v.count, v.processing, v.store_latency, v.restart_delay
    );
    if let Some(ttl) = v.key_ttl {
        let _ = writeln!(out, "key_ttl = \"{ttl}\"");
    }
    let _ = writeln!(
        out,
        "\n[provider]\nlatency = \"{}\"\nunavailable = {:?}",
        s.external.latency, s.external.unavailable
    );
    let _ = writeln!(
        out,
        "\n[limits]\nmax_events = {}\nmax_time = \"{}\"\nmax_trace_events = {}",
        s.limits.max_events, s.limits.max_time, s.limits.max_trace_events
    );
    for atom in &s.faults.atoms {
        out.push_str("\n[[faults]]\n");
        out.push_str(&fault_toml(atom));
    }
    for (design, options) in &s.design_options {
        let _ = writeln!(out, "\n[design.{}]", quoted(design));
        for (name, value) in options {
            let value = match value {
                OptionValue::Duration(d) => format!("\"{d}\""),
                OptionValue::Bool(b) => b.to_string(),
                OptionValue::Text(t) => quoted(t),
            };
            let _ = writeln!(out, "{name} = {value}");
        }
    }
    if s.oracle != OracleSpec::default() {
        let list = |keys: &[String]| -> String {
            keys.iter()
                .map(|k| quoted(k))
                .collect::<Vec<_>>()
                .join(", ")
        };
        out.push_str("\n[oracle]\n");
        if !s.oracle.effect_keys.is_empty() {
            let _ = writeln!(out, "effect_keys = [{}]", list(&s.oracle.effect_keys));
        }
        if !s.oracle.exists.is_empty() {
            let _ = writeln!(out, "exists = [{}]", list(&s.oracle.exists));
        }
    }
    for (design, list) in &s.expect {
        let _ = writeln!(out, "\n[expect.{}]", quoted(design));
        for e in list {
            let value = match e.comparison {
                Comparison::Eq(n) => n.to_string(),
                Comparison::Gt(n) => format!("\">{n}\""),
                Comparison::Ge(n) => format!("\">={n}\""),
                Comparison::Lt(n) => format!("\"<{n}\""),
                Comparison::Le(n) => format!("\"<={n}\""),
                Comparison::Between(lo, hi) => format!("\"{lo}..{hi}\""),
            };
            let _ = writeln!(out, "{} = {value}", e.metric);
        }
    }
    out
}

/// A TOML basic string with the characters TOML requires escaped.
/// A key as TOML writes it: bare when it can be, else quoted.
fn toml_key(k: &str) -> String {
    if !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        k.to_string()
    } else {
        toml_string(k)
    }
}

fn toml_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The body of one `[[faults]]` entry.
fn fault_toml(atom: &FaultAtom) -> String {
    let message = |m: &MessageRef| {
        let dir = match m.dir {
            Direction::Request => "request",
            Direction::Response => "response",
        };
        format!(
            "message = \"{dir}\"\nop = {}\nattempt = {}\ncopy = {}\n",
            m.op, m.attempt, m.copy
        )
    };
    match atom {
        FaultAtom::Drop(m) => format!("kind = \"drop\"\n{}", message(m)),
        FaultAtom::Duplicate(m) => format!("kind = \"duplicate\"\n{}", message(m)),
        FaultAtom::Delay { msg, by } => {
            format!("kind = \"delay\"\n{}by = \"{by}\"\n", message(msg))
        }
        FaultAtom::CrashAt { server, at } => {
            format!("kind = \"crash\"\nserver = {server}\nat = \"{at}\"\n")
        }
        FaultAtom::CrashAtStep {
            op,
            attempt,
            when,
            step,
            position,
            copy,
        } => {
            let when = when.name();
            let attempt = attempt
                .map(|a| format!("attempt = {a}\n"))
                .unwrap_or_default();
            format!(
                "kind = \"crash\"\nop = {op}\n{attempt}{}{when} = \"{}\"\n{}",
                copy_line(*copy),
                step.name(),
                position_line(*position)
            )
        }
        FaultAtom::Partition { from, until } => {
            format!("kind = \"partition\"\nfrom = \"{from}\"\nuntil = \"{until}\"\n")
        }
        FaultAtom::Slow {
            op,
            attempt,
            step,
            by,
            position,
            copy,
        } => format!(
            "kind = \"slow\"\nop = {op}\nattempt = {attempt}\n{}step = \"{}\"\n{}by = \"{by}\"\n",
            copy_line(*copy),
            step.name(),
            position_line(*position)
        ),
        FaultAtom::Unavailable {
            op,
            attempt,
            position,
            copy,
        } => {
            let attempt = attempt
                .map(|a| format!("attempt = {a}\n"))
                .unwrap_or_default();
            format!(
                "kind = \"unavailable\"\nop = {op}\n{attempt}{}{}",
                copy_line(*copy),
                position_line(*position)
            )
        }
    }
}

/// `copy = N` for a step fault that names the request's network copy.
fn copy_line(copy: Option<u32>) -> String {
    copy.map(|c| format!("copy = {c}\n")).unwrap_or_default()
}

/// `position = N` for a step fault that names the step's position in the handler.
fn position_line(position: Option<u32>) -> String {
    position
        .map(|p| format!("position = {p}\n"))
        .unwrap_or_default()
}
