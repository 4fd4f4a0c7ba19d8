//! The vocabulary every layer speaks: requests and responses, their bodies and error codes,
//! idempotency keys, the values a store keeps, the kinds of handler step and of effect, and the
//! names of the oracle's metrics. Plain values (`Copy` where they can be, `Clone + Debug +
//! PartialEq` always), so that state panels, diffs and the oracle read them directly.
//!
//! This module imports nothing of the crate but [`crate::time`]: the simulated world, the
//! catalog of designs, the oracle and (one day) a live probe all speak it without knowing each
//! other.
//!
//! ```
//! use idemlab::vocab::{Body, Response};
//! let answer = Response::created(Body::Order(7));
//! assert!(answer.is_success() && !answer.is_retryable());
//! assert_eq!(answer.to_string(), "201 order#7");
//! ```

use std::fmt;

use serde::Serialize;

use crate::time::SimTime;

/// The idempotency key a client attached to a request (the `Idempotency-Key` header).
///
/// A key minted per logical operation reads `k3` (operation 3); a key minted per attempt, the
/// client bug of design 13, reads `k3.2` (operation 3, attempt 2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct IdemKey {
    /// The logical operation the client minted the key for.
    pub op: u32,
    /// Zero for a per-operation key, else the attempt it was minted for.
    pub attempt: u32,
}

impl fmt::Display for IdemKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.attempt == 0 {
            write!(f, "k{}", self.op)
        } else {
            write!(f, "k{}.{}", self.op, self.attempt)
        }
    }
}

impl IdemKey {
    /// Appends the key as [`Display`](fmt::Display) writes it (`k3`, `k3.2`) to `out`, without
    /// the formatting machinery: designs build a store key from it on every request, and
    /// `format!` made that a twentieth of a search's instructions.
    pub fn push_to(self, out: &mut String) {
        out.push('k');
        push_decimal(out, u64::from(self.op));
        if self.attempt != 0 {
            out.push('.');
            push_decimal(out, u64::from(self.attempt));
        }
    }
}

/// Appends `n` in decimal to `out`, as `n.to_string()` would write it.
pub(crate) fn push_decimal(out: &mut String, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    loop {
        start -= 1;
        digits[start] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend(digits[start..].iter().map(|&d| char::from(d)));
}

/// One HTTP-like request as the server receives it: the key header and the payload.
///
/// The simulator also knows which logical operation, attempt and network copy the request
/// belongs to, so that it can tag effects and fates, but a handler cannot see them: a real
/// server only has the key and the payload to go by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Request {
    pub(crate) op: u32,
    pub(crate) attempt: u32,
    pub(crate) copy: u32,
    pub(crate) key: Option<IdemKey>,
    pub(crate) amount: u64,
    pub(crate) resource: u32,
    /// The item the payload names (0: none).
    pub(crate) item: u32,
    /// The version the client carries for `If-Match`, plus one (0: none).
    pub(crate) version: u32,
    /// A hash of the payload's free-form fields (0: none).
    pub(crate) fields: u32,
    /// The client that sent it.
    pub(crate) client: u16,
}

impl Request {
    /// The `Idempotency-Key` header, if the client sent one.
    pub fn idempotency_key(&self) -> Option<IdemKey> {
        self.key
    }

    /// A per-attempt request id (what an `X-Request-Id` header carries): the same for every
    /// network copy of one attempt, different for each retry, also of the same operation. A
    /// fingerprint must not include it: a retry would then look like another payload.
    pub fn request_id(&self) -> u64 {
        (u64::from(self.op) << 32) | u64::from(self.attempt)
    }

    /// The amount to charge or add, from the payload.
    pub fn amount(&self) -> u64 {
        self.amount
    }

    /// The resource the request names in its path (`/items/{n}`): by default each logical
    /// operation has its own; `workload.resources = N` makes operations share N of them.
    /// Retries of one operation always name the same resource.
    pub fn resource(&self) -> u32 {
        self.resource
    }

    /// The client that sent it (from 0): a real server knows it from the connection or the
    /// credentials, and must scope idempotency keys by it when clients number their keys on
    /// their own (`client.retry.key = "per-client"`).
    pub fn client(&self) -> u16 {
        self.client
    }

    /// The item the payload names (`item` in the scenario's workload); `None` when it names
    /// none.
    pub fn item(&self) -> Option<u32> {
        (self.item != 0).then_some(self.item)
    }

    /// The version the client carries for `If-Match` (`version` of the operation's
    /// `[[workload.op]]`), for a compare-and-set write; `None` when it carries none. Version 0
    /// means "the resource must not exist yet" (`If-None-Match: *`).
    pub fn version(&self) -> Option<u64> {
        self.version.checked_sub(1).map(u64::from)
    }

    /// A fingerprint of the whole payload (amount, item, version, free-form fields), to detect
    /// a key reused with a different payload (422). Designs read the free-form fields with
    /// [`Cx::field`](crate::world::api::Cx::field).
    pub fn fingerprint(&self) -> u64 {
        // FNV-1a over the payload fields: stable across machines and releases. A payload of an
        // amount alone hashes as it always has.
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        let mut feed = |v: u64| {
            for byte in v.to_le_bytes() {
                h = (h ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
            }
        };
        feed(self.amount);
        for (tag, value) in [
            (1, u64::from(self.item)),
            (2, u64::from(self.version)),
            (3, u64::from(self.fields)),
        ] {
            if value != 0 {
                feed(tag);
                feed(value);
            }
        }
        h
    }
}

/// Why a request failed, carried in an error response's body.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
#[repr(u8)]
pub enum ErrorCode {
    /// 400: the design requires an `Idempotency-Key` and none was sent.
    KeyMissing,
    /// 409: a request with this key is still in progress.
    KeyInUse,
    /// 422: this key was first used with a different payload.
    KeyMismatch,
    /// 412: a conditional write found another version.
    PreconditionFailed,
    /// 404: no such resource.
    NotFound,
    /// 500: the handler failed.
    Internal,
    /// 503: a dependency was unavailable.
    Unavailable,
    /// 409 (final): a row with this business key already exists.
    AlreadyExists,
}

/// A response body, small enough to copy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Body {
    /// No body.
    Empty,
    /// The id of an order the server created.
    Order(u64),
    /// The id of a charge the payment provider made.
    Receipt(u64),
    /// A counter's value.
    Count(i64),
    /// An error.
    Error(ErrorCode),
}

impl fmt::Display for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Body::Empty => f.write_str("-"),
            Body::Order(id) => write!(f, "order#{id}"),
            Body::Receipt(id) => write!(f, "receipt#{id}"),
            Body::Count(n) => write!(f, "count={n}"),
            Body::Error(code) => write!(f, "{}", error_name(*code)),
        }
    }
}

impl ErrorCode {
    /// Every code, in declaration order.
    pub const ALL: [ErrorCode; 8] = [
        ErrorCode::KeyMissing,
        ErrorCode::KeyInUse,
        ErrorCode::KeyMismatch,
        ErrorCode::PreconditionFailed,
        ErrorCode::NotFound,
        ErrorCode::Internal,
        ErrorCode::Unavailable,
        ErrorCode::AlreadyExists,
    ];
}

fn error_name(code: ErrorCode) -> &'static str {
    match code {
        ErrorCode::KeyMissing => "key-missing",
        ErrorCode::KeyInUse => "key-in-use",
        ErrorCode::KeyMismatch => "key-mismatch",
        ErrorCode::PreconditionFailed => "precondition-failed",
        ErrorCode::NotFound => "not-found",
        ErrorCode::Internal => "internal",
        ErrorCode::Unavailable => "unavailable",
        ErrorCode::AlreadyExists => "already-exists",
    }
}

/// A response: an HTTP status code and a body.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Response {
    /// The HTTP status code.
    pub status: u16,
    /// The body.
    pub body: Body,
}

impl Response {
    /// 200 with a body.
    pub fn ok(body: Body) -> Self {
        Response { status: 200, body }
    }
    /// 201: something was created.
    pub fn created(body: Body) -> Self {
        Response { status: 201, body }
    }
    /// 400: a required `Idempotency-Key` is missing.
    pub fn key_missing() -> Self {
        Self::error(400, ErrorCode::KeyMissing)
    }
    /// 409: the first request with this key is still in progress.
    pub fn key_in_use() -> Self {
        Self::error(409, ErrorCode::KeyInUse)
    }
    /// 422: the key was first used with a different payload.
    pub fn key_mismatch() -> Self {
        Self::error(422, ErrorCode::KeyMismatch)
    }
    /// 204: done, nothing to say (a `DELETE` that removed the resource).
    pub fn no_content() -> Self {
        Response {
            status: 204,
            body: Body::Empty,
        }
    }
    /// 404: no such resource (a repeated `DELETE`: same effect, different response).
    pub fn not_found() -> Self {
        Self::error(404, ErrorCode::NotFound)
    }
    /// 409, final: a row with this business key already exists; the client must look it up.
    pub fn already_exists() -> Self {
        Self::error(409, ErrorCode::AlreadyExists)
    }
    /// 412: a conditional write (`If-Match`) found another version.
    pub fn precondition_failed() -> Self {
        Self::error(412, ErrorCode::PreconditionFailed)
    }
    /// 503: a dependency was unavailable.
    pub fn unavailable() -> Self {
        Self::error(503, ErrorCode::Unavailable)
    }
    /// An error response with this status and code.
    pub fn error(status: u16, code: ErrorCode) -> Self {
        Response {
            status,
            body: Body::Error(code),
        }
    }
    /// True for 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
    /// True for answers a client should retry: 409 while a key is in progress, 429 and 5xx.
    /// A 409 that says a row already exists is final: retrying cannot change it.
    pub fn is_retryable(&self) -> bool {
        (self.status == 409 && self.body != Body::Error(ErrorCode::AlreadyExists))
            || self.status == 429
            || self.status >= 500
    }
}

impl fmt::Display for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.status, self.body)
    }
}

/// A value kept in the simulated store.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case", tag = "type")]
pub enum Value {
    /// A number (a counter, a version).
    Int {
        /// The number.
        value: i64,
    },
    /// Some text (a status such as `active`).
    Text {
        /// The text.
        value: String,
    },
    /// A stored response, replayed to retries.
    Response {
        /// The stored response.
        response: Response,
    },
    /// An idempotency record claimed by a request that has not finished.
    InProgress {
        /// The payload fingerprint of the request that claimed the key.
        fingerprint: u64,
        /// When it was claimed.
        since_us: u64,
    },
    /// An idempotency record whose request finished, with the response to replay.
    Completed {
        /// The payload fingerprint of the request that claimed the key.
        fingerprint: u64,
        /// The response to replay.
        response: Response,
    },
    /// A resource's value with the version a conditional write (`If-Match`) compares.
    Versioned {
        /// The version (the ETag), from 1.
        version: u64,
        /// The value.
        value: i64,
    },
    /// A deleted resource.
    Tombstone,
}

impl Value {
    /// The response this value stores, if it stores one (`Response` or `Completed`).
    pub fn response(&self) -> Option<Response> {
        match self {
            Value::Response { response } | Value::Completed { response, .. } => Some(*response),
            _ => None,
        }
    }
    /// The number, if this is an `Int`.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int { value } => Some(*value),
            _ => None,
        }
    }
}

impl From<Response> for Value {
    fn from(response: Response) -> Self {
        Value::Response { response }
    }
}

impl From<i64> for Value {
    fn from(value: i64) -> Self {
        Value::Int { value }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Int { value } => write!(f, "{value}"),
            Value::Text { value } => write!(f, "{value:?}"),
            Value::Response { response } => write!(f, "response({response})"),
            Value::InProgress { since_us, .. } => {
                write!(f, "in-progress(since {})", SimTime(*since_us))
            }
            Value::Completed { response, .. } => write!(f, "completed({response})"),
            Value::Versioned { version, value } => write!(f, "{value} (v{version})"),
            Value::Tombstone => f.write_str("deleted"),
        }
    }
}

/// The kinds of effect the ledger records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
#[repr(u8)]
pub enum EffectKind {
    /// An order row was created.
    Order,
    /// The payment provider charged a card.
    Charge,
    /// A counter was incremented.
    Increment,
    /// A resource changed value (`PUT`, `SET`, a conditional write).
    Write,
    /// A resource was deleted.
    Delete,
}

impl EffectKind {
    /// How many kinds there are.
    pub const COUNT: usize = 5;

    /// Every kind, in declaration order.
    pub const ALL: [EffectKind; 5] = [
        EffectKind::Order,
        EffectKind::Charge,
        EffectKind::Increment,
        EffectKind::Write,
        EffectKind::Delete,
    ];

    /// The kebab-case name used in traces and reports.
    pub fn name(self) -> &'static str {
        match self {
            EffectKind::Order => "order",
            EffectKind::Charge => "charge",
            EffectKind::Increment => "increment",
            EffectKind::Write => "write",
            EffectKind::Delete => "delete",
        }
    }
}

/// The named steps of a handler: every `Cx` operation is one, and a crash can be scripted just
/// before or just after each.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum StepKind {
    /// `db.get`
    Get,
    /// `db.put`
    Put,
    /// `db.delete`
    Delete,
    /// `db.insert_if_absent`: the atomic claim of a key.
    InsertIfAbsent,
    /// `db.compare_and_set`
    CompareAndSet,
    /// `db.incr`
    Incr,
    /// `db.create_order`
    CreateOrder,
    /// `db.transaction`: a local commit.
    Transaction,
    /// `payments.charge`: the call to the outside world.
    Charge,
    /// `db.write` (`PUT`): an absolute write of a resource.
    Write,
    /// `cx.ack()`: a consumer acknowledges its message.
    Ack,
    /// `db.lock`: `SELECT ... FOR UPDATE NOWAIT` on a row.
    Lock,
}

impl StepKind {
    /// Every step, in a fixed order.
    pub const ALL: [StepKind; 12] = [
        StepKind::Get,
        StepKind::Put,
        StepKind::Delete,
        StepKind::InsertIfAbsent,
        StepKind::CompareAndSet,
        StepKind::Incr,
        StepKind::CreateOrder,
        StepKind::Transaction,
        StepKind::Charge,
        StepKind::Write,
        StepKind::Ack,
        StepKind::Lock,
    ];

    /// The kebab-case name used in scenario files and traces.
    pub fn name(self) -> &'static str {
        match self {
            StepKind::Get => "get",
            StepKind::Put => "put",
            StepKind::Delete => "delete",
            StepKind::InsertIfAbsent => "insert-if-absent",
            StepKind::CompareAndSet => "compare-and-set",
            StepKind::Incr => "incr",
            StepKind::CreateOrder => "create-order",
            StepKind::Transaction => "transaction",
            StepKind::Charge => "charge",
            StepKind::Write => "write",
            StepKind::Ack => "ack",
            StepKind::Lock => "lock",
        }
    }

    /// The step with this name.
    pub fn from_name(name: &str) -> Option<StepKind> {
        StepKind::ALL.into_iter().find(|s| s.name() == name)
    }
}

impl fmt::Display for StepKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The metric names an `[expect]` table may use.
pub const METRIC_NAMES: [&str; 20] = [
    "ops",
    "attempts",
    "delivered",
    "effects",
    "duplicates",
    "lost",
    "in_doubt",
    "inconsistent",
    "succeeded",
    "failed",
    "unfinished",
    "timeouts",
    "charged",
    "stuck",
    "different_response",
    "dead_lettered",
    "false_failures",
    "unserved",
    "latency_p50_us",
    "latency_p99_us",
];

/// Metrics an `[expect]` line may name besides [`METRIC_NAMES`]: they are not columns of the
/// sweep and compare CSVs, which keep their shape.
pub const EXPECT_ONLY_METRICS: [&str; 1] = ["final_state"];

#[cfg(test)]
mod tests {
    use super::*;

    /// The fast paths write what `Display` and `to_string` write.
    #[test]
    fn keys_and_numbers_are_written_as_display_writes_them() {
        for n in [0, 1, 9, 10, 99, 100, 12_345, u64::from(u32::MAX), u64::MAX] {
            let mut s = String::from("x");
            push_decimal(&mut s, n);
            assert_eq!(s, format!("x{n}"));
        }
        for op in [0, 1, 9, 10, 4_000_000_000] {
            for attempt in [0, 1, 2, 10, u32::MAX] {
                let key = IdemKey { op, attempt };
                let mut s = String::new();
                key.push_to(&mut s);
                assert_eq!(s, key.to_string());
            }
        }
    }
}
