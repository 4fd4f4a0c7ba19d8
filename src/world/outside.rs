//! The world outside the service (the `Shared` part the design calls the external world): the
//! ledger of effects and the payment provider with its own idempotency keys.

use std::collections::BTreeMap;

use super::LedgerEntry;
use crate::vocab::EffectKind;

/// The world outside the service.
#[derive(Clone, Default)]
pub(crate) struct Outside {
    pub(crate) ledger: Vec<LedgerEntry>,
    /// Applications so far per operation and effect kind (indexed by `op - 1`, then by
    /// `EffectKind as usize`): the running count the trace shows.
    pub(crate) applied: Vec<[u32; EffectKind::COUNT]>,
    pub(crate) orders_created: u64,
    pub(crate) charges_made: u64,
    /// Calls to the payment provider, answered or not (a design that never calls it has 0).
    pub(crate) provider_calls: u64,
    /// The payment provider's own idempotency keys: key to the receipt it answered with.
    pub(crate) provider_keys: BTreeMap<String, u64>,
}

impl Outside {
    pub(crate) fn next_order_id(&self) -> u64 {
        self.orders_created + 1
    }
}
