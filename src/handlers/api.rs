//! What a handler design sees: the request, the response it builds, the values it keeps in the
//! store, and [`Cx`], its window on the simulated world.
//!
//! The values are the crate's vocabulary ([`crate::vocab`]); [`Cx`] and its stores are the
//! interface the world provides ([`crate::world::api`]). This module gathers both where a design
//! author looks for them.

pub use crate::vocab::{Body, EffectKind, ErrorCode, IdemKey, Request, Response, Value};
pub use crate::world::api::{Cx, Db, Locked, Payments, Txn, Unavailable};
