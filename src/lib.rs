//! # idemlab
//!
//! A deterministic discrete-event simulator for learning and testing **idempotency**: how to
//! design operations that can be retried safely.
//!
//! Every run is a pure function `(scenario, handler design, seed, fault plan) -> trace`
//! ([`world::run`]). Faults (lost and duplicated messages, timeouts and retries, crashes at any
//! step) are decided by fates keyed by identity ([`fate`]), so the same message meets the same
//! fate under every design and [`compare`] is fair. The [`oracle`] measures each run against
//! the exactly-once ideal: duplicate effects, lost effects, operations in doubt, inconsistent
//! answers.
//!
//! ```
//! use idemlab::{compare, fault::FaultPlan, scenario};
//! let s = scenario::default_scenario();
//! let designs = compare::resolve(&s, None).unwrap();
//! let result = compare::compare(&s, &designs, s.seed, &FaultPlan::default());
//! let naive = &result.metrics[0];
//! assert_eq!(naive.design, "naive");
//! assert!(naive.duplicates > 0);
//! ```
//!
//! Layers, each using only the ones listed before it: [`time`], [`sim`] (kernel), [`fate`],
//! [`fault`], [`world`] (network, clients, servers, stores), [`handlers`], [`oracle`],
//! [`scenario`], [`compare`], [`trace`] export, and at the top the [`cli`] and the [`tui`].
//! Nothing below those two does I/O, reads a clock or spawns a thread.

#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod check;
pub mod cli;
pub mod compare;
pub mod determinism;
pub mod diagram;
pub mod fate;
pub mod fault;
pub mod files;
pub mod handlers;
pub mod matrix;
pub mod oracle;
pub mod plot;
pub mod scenario;
pub mod settings;
pub mod sim;
pub mod suggest;
pub mod sweep;
pub mod time;
pub mod trace;
pub mod tui;
pub mod vocab;
pub mod world;

/// The README's Rust listings, compiled and run as doctests so that they stay true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
