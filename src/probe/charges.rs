//! The provider's core, under both of its faces (`provider.rs`'s `POST /charge`, `stripe.rs`):
//! `make_charge`, the one place where a charge becomes an effect in the ledger and where the
//! plan's stalls, 503s and crashes around the charge happen, and the refusals both faces count.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;

use super::crash::crash_point;
use super::http;
use super::live::*;
use crate::fate::{Decision, Identity};
use crate::fault::{FaultAtom, When};
use crate::trace::{Detail, EventKind, Node};
use crate::vocab::{EffectKind, StepKind};
use crate::world::LedgerEntry;

/// The operation a provider call is for, from the reference the service passed along: one of
/// the workload's (a reference naming operation 0, or one past the last, names none).
pub(crate) fn op_of_reference(shared: &Shared, reference: &str) -> Option<u32> {
    let prefix = format!("{}-op", shared.run_id);
    let op: u32 = reference.strip_prefix(&prefix)?.parse().ok()?;
    (1..=shared.scenario.workload.ops)
        .contains(&op)
        .then_some(op)
}

/// Answers a provider call the provider refuses, and counts it by `reason` (shown in every
/// report: a service whose calls are all refused must not pass for one that charges nothing).
pub(crate) fn reject(shared: &Shared, reason: String) -> hyper::Response<Full<Bytes>> {
    let mut live = shared.lock();
    live.provider_calls += 1;
    *live.rejected.entry(reason.clone()).or_insert(0) += 1;
    http::json(400, &serde_json::json!({ "error": reason }))
}

/// The largest body of a provider call the provider reads.
pub(crate) const PROVIDER_BODY_MAX: usize = 64 * 1024;

/// `text` cut to a length a message can quote.
pub(crate) fn clip(text: &str) -> String {
    const MAX: usize = 80;
    if text.chars().count() <= MAX {
        text.to_string()
    } else {
        format!("{}…", text.chars().take(MAX).collect::<String>())
    }
}

/// Why the provider made no charge.
pub(crate) enum Refusal {
    /// The call is not one the provider accepts (said, and counted by `reject`).
    Rejected(String),
    /// The plan crashed the service just before the charge.
    Crashed,
    /// The plan or the fates made the provider answer 503.
    Unavailable,
}

/// The provider's one effect: charges `amount` for `op` (once per `dedupe` key, when the call
/// has one), with the plan's faults around it: a crash of the service just before or after,
/// a stall, a 503. Both APIs (idemlab's `/charge` and Stripe's) charge through it. The receipt.
pub(crate) async fn make_charge(
    shared: &Arc<Shared>,
    op: u32,
    amount: u64,
    dedupe: Option<&str>,
) -> Result<u64, Refusal> {
    {
        // The sum of every charge must be exact: a charge that would overflow it is refused.
        let live = shared.lock();
        let total = live
            .ledger
            .iter()
            .filter(|e| e.kind == EffectKind::Charge)
            .try_fold(amount, |acc, e| acc.checked_add(e.amount));
        if total.is_none() {
            drop(live);
            return Err(Refusal::Rejected(
                "a charge would take the total past 2^64 - 1 cents".to_string(),
            ));
        }
    }
    let (attempt, copy, latency, slow) = {
        let mut live = shared.lock();
        live.provider_calls += 1;
        let calls = live.calls.entry(op).or_insert(0);
        *calls += 1;
        let nth = *calls;
        let state = &live.ops[op as usize - 1];
        let (attempt, copy) = state
            .open
            .iter()
            .min()
            .copied()
            .unwrap_or((state.attempts.attempt.max(1), 0));
        let range = shared.scenario.external.latency;
        let latency = shared.fates.between(
            Decision::ExternalLatency,
            Identity::step(op, attempt, copy, nth),
            range.min.0,
            range.max.0,
        );
        let slow = shared.plan.atoms.iter().fold(0u64, |acc, a| match *a {
            FaultAtom::Slow {
                op: o,
                attempt: at,
                step: StepKind::Charge,
                by,
                copy: c,
                ..
            } if o == op && at == attempt && c.is_none_or(|c| c == copy) => acc + by.0,
            _ => acc,
        });
        (attempt, copy, latency, slow)
    };
    if crash_point(shared, op, attempt, When::Before) {
        return Err(Refusal::Crashed);
    }
    tokio::time::sleep(Duration::from_micros(latency + slow)).await;
    let unavailable = shared.plan.atoms.iter().any(|a| {
        matches!(*a, FaultAtom::Unavailable { op: o, attempt: at, copy: c, .. }
            if o == op && at.is_none_or(|x| x == attempt) && c.is_none_or(|c| c == copy))
    }) || shared.fates.chance(
        Decision::Unavailable,
        Identity::step(op, attempt, copy, 0),
        shared.scenario.external.unavailable,
    );
    if unavailable {
        return Err(Refusal::Unavailable);
    }
    let receipt = {
        let mut live = shared.lock();
        let existing = dedupe.and_then(|k| live.provider_keys.get(k).copied());
        match existing {
            Some(r) => r,
            None => {
                live.receipts += 1;
                let receipt = live.receipts;
                if let Some(k) = dedupe {
                    live.provider_keys.insert(k.to_string(), receipt);
                }
                let time_us = live.now_us();
                live.ledger.push(LedgerEntry {
                    time_us,
                    op,
                    kind: EffectKind::Charge,
                    amount,
                });
                let nth = live
                    .ledger
                    .iter()
                    .filter(|e| e.op == op && e.kind == EffectKind::Charge)
                    .count() as u32;
                live.log(
                    Node::Provider,
                    EventKind::Effect,
                    op,
                    attempt,
                    copy,
                    None,
                    Detail::Effect {
                        kind: EffectKind::Charge,
                        amount,
                        nth,
                    },
                );
                receipt
            }
        }
    };
    crash_point(shared, op, attempt, When::After);
    Ok(receipt)
}
