//! The stores (the `Shared` part the design calls the store): the durable keys, each server's
//! volatile ones, when keys expire, row locks, and which writes to declared keys counted as
//! effects.

use std::collections::{BTreeMap, BTreeSet};

use super::TaskInfo;
use crate::vocab::Value;

/// A key of a store: shared rather than copied, and quick to order.
///
/// A search copies the stores at every fork, and with `String` keys every copy allocated each
/// key again (and freed it with the fork): 21 of a run's 145 allocations at two faults of
/// `default`. The text is an `Arc<str>`, so a copy is a count. And a key carries its first
/// eight bytes as one big-endian word, so that two keys are ordered by one comparison of
/// integers unless those bytes are equal: an insert into a store of forty keys compares a
/// dozen, and with `memcmp` each an insert cost 500 to 600 instructions (7% of a search at three
/// faults of `default`). Lookups by `&str` compare the text, as with `String` keys.
#[derive(Clone, PartialEq, Eq)]
pub struct StoreKey {
    /// The first eight bytes, zero-padded, big-endian: they compare as the bytes do.
    head: u64,
    text: std::sync::Arc<str>,
}

impl StoreKey {
    /// The key as a string.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl From<&str> for StoreKey {
    fn from(s: &str) -> Self {
        let mut first = [0u8; 8];
        let n = s.len().min(8);
        first[..n].copy_from_slice(&s.as_bytes()[..n]);
        StoreKey {
            head: u64::from_be_bytes(first),
            text: s.into(),
        }
    }
}

impl From<String> for StoreKey {
    fn from(s: String) -> Self {
        StoreKey::from(s.as_str())
    }
}

/// As the strings order: by the first eight bytes (zero-padded: where they differ, either a
/// byte of each differs, or one string ended before and is a prefix of the other, so first),
/// then by the whole text.
impl Ord for StoreKey {
    #[inline]
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.head
            .cmp(&other.head)
            .then_with(|| self.text.as_bytes().cmp(other.text.as_bytes()))
    }
}

impl PartialOrd for StoreKey {
    #[inline]
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// Looked up by `&str`: the key's `Ord` agrees with the text's.
impl std::borrow::Borrow<str> for StoreKey {
    #[inline]
    fn borrow(&self) -> &str {
        &self.text
    }
}

impl std::ops::Deref for StoreKey {
    type Target = str;
    #[inline]
    fn deref(&self) -> &str {
        &self.text
    }
}

impl std::fmt::Display for StoreKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::fmt::Debug for StoreKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&*self.text, f)
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Strings around the eight bytes a key orders by first, with NUL bytes and multi-byte
    /// characters, where a zero-padded comparison could go wrong.
    fn text() -> impl Strategy<Value = String> {
        proptest::string::string_regex("[a\\x00é:k0-9]{0,12}").expect("a valid regex")
    }

    proptest! {
        #[test]
        fn keys_order_and_compare_as_their_strings(a in text(), b in text()) {
            let (x, y) = (StoreKey::from(a.as_str()), StoreKey::from(b.as_str()));
            prop_assert_eq!(x.cmp(&y), a.cmp(&b));
            prop_assert_eq!(x == y, a == b);
            prop_assert_eq!(x.as_str(), a.as_str());
        }
    }

    #[test]
    fn a_prefix_comes_first_even_when_the_rest_is_nul() {
        for (short, long) in [("ab", "ab\0"), ("abcdefgh", "abcdefgh\0"), ("", "\0")] {
            let (x, y) = (StoreKey::from(short), StoreKey::from(long));
            assert!(x < y, "{short:?} < {long:?}");
            assert_ne!(x, y);
        }
        assert!(StoreKey::from("order:10") < StoreKey::from("order:2"));
    }
}
