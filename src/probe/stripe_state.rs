//! What the Stripe face (`stripe.rs`) remembers between calls: a leaf the shared state
//! (`live.rs`) holds without reaching the face that uses it.

use std::collections::BTreeMap;

/// What the Stripe face remembers: payment intents, charges and refunds by id, and
/// idempotency keys with the response they got.
#[derive(Debug, Default)]
pub(crate) struct State {
    pub(super) objects: BTreeMap<String, serde_json::Value>,
    pub(super) keys: BTreeMap<String, Key>,
    pub(super) next: u64,
}

/// An idempotency key's record.
#[derive(Clone, Debug)]
pub(super) enum Key {
    /// The first request with it is still running.
    InProgress,
    /// Its response, to replay.
    Done {
        params: String,
        status: u16,
        body: serde_json::Value,
    },
}
