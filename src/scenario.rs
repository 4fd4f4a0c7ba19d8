//! Scenario files: the reader of [`crate::settings`] with the catalog of designs, the bundled
//! scenarios, and the designs a scenario runs.
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

pub use crate::settings::*;

use crate::handlers::{self, Design};

/// Reads a scenario from `text`; `origin` names where it came from in error messages. Design
/// names are checked against the catalog (and the scenario's own `own_designs`).
pub fn parse(text: &str, origin: &str) -> Result<Scenario, ScenarioError> {
    parse_with(text, origin, &handlers::CATALOG)
}

/// Reads a scenario from bytes (a file's content): rejects text that is not UTF-8 with the
/// position of the first bad byte.
pub fn parse_bytes(bytes: &[u8], origin: &str) -> Result<Scenario, ScenarioError> {
    parse_bytes_with(bytes, origin, &handlers::CATALOG)
}

impl Scenario {
    /// Builds the design called `name` with this scenario's options for it.
    pub fn design(&self, name: &str) -> Result<Box<dyn Design>, UnknownDesign> {
        let none = Options::new();
        handlers::build(name, self.design_options.get(name).unwrap_or(&none))
    }
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
