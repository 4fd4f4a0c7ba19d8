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
//! Layers, each using only the ones listed before it (`tests/layers.rs` checks it): [`time`],
//! [`suggest`], [`vocab`] (the values every layer speaks), [`sim`] (kernel), [`fate`],
//! [`fault`], [`trace`], [`settings`] (scenarios, read without knowing a design), [`world`]
//! (network, clients, servers, stores, and the handler interface `world::api`), [`handlers`]
//! (the catalog), [`oracle`], [`scenario`] (the reader with the catalog), [`compare`],
//! [`determinism`], [`plot`], [`diagram`], [`check`], [`matrix`], [`sweep`], [`files`],
//! [`signals`], the live `probe` (behind the `probe` feature: real HTTP against a running
//! service), and at the top the [`tui`] and the [`cli`]. Nothing below those three does I/O,
//! reads a clock or spawns a thread inside a run.

#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod check;
pub mod cli;
pub mod compare;
pub mod determinism;
pub mod diagram;
pub mod export;
pub mod fate;
pub mod fault;
pub mod files;
pub mod handlers;
pub mod matrix;
pub mod oracle;
pub mod plot;
#[cfg(feature = "probe")]
pub mod probe;
pub mod scenario;
pub mod settings;
pub mod signals;
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
