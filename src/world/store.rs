//! The stores (the `Shared` part the design calls the store): the durable keys, each server's
//! volatile ones, when keys expire, row locks, and which writes to declared keys counted as
//! effects.

use std::collections::{BTreeMap, BTreeSet};

use super::TaskInfo;
use crate::vocab::Value;

/// A key of a store, shared rather than copied: a search copies the stores at every fork,
/// and with `String` keys every copy allocated each key again (and freed it with the fork):
/// 21 of a run's 145 allocations at two faults of `default`. Looked up by `&str`, as before.
pub type StoreKey = std::sync::Arc<str>;

/// The stores a handler writes through `Cx`.
#[derive(Clone, Default)]
pub(crate) struct Stores {
    pub(crate) durable: BTreeMap<StoreKey, Value>,
    pub(crate) volatile: Vec<BTreeMap<StoreKey, Value>>,
    /// When each expiring durable key expires, in microseconds.
    pub(crate) expiry: BTreeMap<StoreKey, u64>,
    /// Row locks, by key: the server, slot and generation of the task holding each. A lock
    /// lives as long as its task (its database session): released when the task ends or its
    /// server crashes.
    pub(crate) locks: BTreeMap<StoreKey, (u16, u32, u32)>,
    /// `[oracle] effect_keys`: key prefixes whose writes are effects.
    pub(crate) effect_keys: Vec<String>,
    /// The `(operation, key, value hash)` writes and `(operation, key)` removals already
    /// counted as effects on declared keys: each counts once per operation.
    pub(crate) declared: BTreeSet<(u32, String, u64)>,
}

impl Stores {
    pub(crate) fn get(&self, durable: bool, server: u16) -> &BTreeMap<StoreKey, Value> {
        if durable {
            &self.durable
        } else {
            &self.volatile[usize::from(server)]
        }
    }

    pub(crate) fn get_mut(&mut self, durable: bool, server: u16) -> &mut BTreeMap<StoreKey, Value> {
        if durable {
            &mut self.durable
        } else {
            &mut self.volatile[usize::from(server)]
        }
    }

    /// Takes the row lock on `key` for `task`: false when another live task holds it.
    pub(crate) fn lock(&mut self, task: &TaskInfo, key: &str) -> bool {
        let me = (task.server, task.slot, task.generation);
        match self.locks.get(key) {
            Some(holder) if *holder != me => false,
            Some(_) => true,
            None => {
                self.locks.insert(StoreKey::from(key), me);
                true
            }
        }
    }

    /// Releases every lock of the task in `slot` (generation `generation`).
    pub(crate) fn release_locks(&mut self, slot: u32, generation: u32) {
        if !self.locks.is_empty() {
            self.locks
                .retain(|_, (_, s, g)| !(*s == slot && *g == generation));
        }
    }

    /// Releases every lock held by tasks of `server` (it crashed: its sessions are gone).
    pub(crate) fn release_server_locks(&mut self, server: u16) {
        if !self.locks.is_empty() {
            self.locks.retain(|_, (srv, _, _)| *srv != server);
        }
    }
}
