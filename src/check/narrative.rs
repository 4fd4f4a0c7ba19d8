//! Counterexamples told as stories: the numbered narrative, the report and the replay file.

use std::collections::BTreeSet;

use super::Counterexample;
use crate::time::SimDuration;
use crate::trace::{Detail, EventKind, NO_OP, Node, TraceEvent};
use crate::vocab::EffectKind;
use crate::world::StepKind;

impl Counterexample {
    /// The failing run as numbered sentences, about the operations involved.
    pub fn narrative(&self) -> Vec<String> {
        let mut ops: BTreeSet<u32> = self.violation.ops.iter().copied().collect();
        // The operations that share an idempotency key with those involved are part of the
        // story: one of them may have overwritten, or been answered with, the other's record.
        let keys: BTreeSet<_> = self
            .run
            .trace
            .iter()
            .filter(|e| ops.contains(&e.op))
            .filter_map(|e| e.key)
            .collect();
        ops.extend(
            self.run
                .trace
                .iter()
                .filter(|e| e.key.is_some_and(|k| keys.contains(&k)))
                .map(|e| e.op),
        );
        let queue = self.scenario.broker.is_some();
        // Which operation made each order and each receipt (ids count from 1 in the order
        // they were made), so that an answer replayed to another operation says whose it is.
        let mut orders: Vec<u32> = Vec::new();
        let mut receipts: Vec<u32> = Vec::new();
        for e in self.run.trace.iter() {
            if let Detail::Effect { kind, .. } = e.detail {
                match kind {
                    EffectKind::Order => orders.push(e.op),
                    EffectKind::Charge => receipts.push(e.op),
                    _ => {}
                }
            }
        }
        let whose = |e: &TraceEvent| -> String {
            let Detail::Response(r) = e.detail else {
                return String::new();
            };
            let (made_by, what) = match r.body {
                crate::vocab::Body::Order(id) => (
                    (id as usize).checked_sub(1).and_then(|i| orders.get(i)),
                    "order",
                ),
                crate::vocab::Body::Receipt(id) => (
                    (id as usize).checked_sub(1).and_then(|i| receipts.get(i)),
                    "receipt",
                ),
                _ => (None, ""),
            };
            match made_by {
                Some(&op) if op != e.op => format!(" (op {op}'s {what}, replayed)"),
                _ => String::new(),
            }
        };
        // A consumer that acks with `cx.ack()` also answers 200: the ack is told once.
        let mut acked: BTreeSet<(u32, u16, u8)> = BTreeSet::new();
        let mut lines = Vec::new();
        for e in self.run.trace.iter() {
            let involved = ops.contains(&e.op) || (e.op == NO_OP && e.kind != EventKind::Limit);
            if !involved {
                continue;
            }
            let words = if queue {
                let task = (e.op, e.attempt, e.copy);
                match (e.kind, e.detail) {
                    (EventKind::Step, Detail::Step(StepKind::Ack, _)) => {
                        acked.insert(task);
                    }
                    (EventKind::Respond, Detail::Response(r))
                        if r.is_success() && acked.contains(&task) =>
                    {
                        continue;
                    }
                    _ => {}
                }
                queue_sentence(&e).or_else(|| {
                    let op = format!("op {}:", e.op);
                    sentence(&e).map(|w| w.replacen(&op, &format!("message {}:", e.op), 1))
                })
            } else {
                sentence(&e)
            };
            if let Some(words) = words {
                lines.push(format!("{words}{}", whose(&e)));
            }
        }
        let detail = if queue {
            self.violation.detail.replacen("op ", "message ", 1)
        } else {
            self.violation.detail.clone()
        };
        lines.push(format!("→ {detail} ({})", self.violation.invariant));
        if let Some(patience) = &self.violation.liveness {
            lines.push(format!(
                "→ a liveness verdict: it holds for this client's patience ({patience}); a more patient client might be served"
            ));
        }
        lines
            .into_iter()
            .enumerate()
            .map(|(i, l)| format!("{:>3}. {l}", i + 1))
            .collect()
    }

    /// The scenario file that replays the failure.
    pub fn to_toml(&self) -> String {
        let mut header = vec![format!(
            "Counterexample: `{}` breaks \"{}\".",
            self.design, self.violation.invariant
        )];
        if self.scenario.own_designs.is_empty() {
            header.push(
                "Written by `idemlab check` / `idemlab explore`; replay it with `idemlab run FILE`,"
                    .to_string(),
            );
            header.push("which exits 1 because the [expect] line below does not hold.".to_string());
        } else {
            header.push(format!(
                "`{}` is a design of your own (`own_designs`): replay it with your own binary,",
                self.design
            ));
            header.push(
                "`idemlab::cli::main_with(vec![Box::new(your_design)])`, as `run FILE` (exit 1), or from a"
                    .to_string(),
            );
            header.push(
                "test with `Checker::new(&scenario, &design).replay(&scenario)`, which returns the violation."
                    .to_string(),
            );
        }
        header.push(String::new());
        header.extend(self.narrative());
        crate::scenario::to_toml(&self.scenario, &header.join("\n"))
    }

    /// The whole report: what broke, the plan, the story.
    pub fn report(&self) -> String {
        use std::fmt::Write as _;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "`{}` breaks \"{}\" in {} ({} operation{}, {} fault{}):",
            self.design,
            self.violation.invariant,
            self.scenario.name,
            self.scenario.workload.ops,
            if self.scenario.workload.ops == 1 {
                ""
            } else {
                "s"
            },
            self.plan.atoms.len(),
            if self.plan.atoms.len() == 1 { "" } else { "s" },
        );
        if self.plan.atoms.is_empty() {
            let _ = writeln!(
                out,
                "  no fault needed: the scenario's timing alone breaks it"
            );
        }
        for atom in &self.plan.atoms {
            let _ = writeln!(out, "  - {atom}");
        }
        let _ = writeln!(out, "\nwhat happened:");
        for line in self.narrative() {
            let _ = writeln!(out, "{line}");
        }
        out
    }
}

/// One event of a counterexample behind a broker, in the queue's words (a request is a
/// delivery, a response an ack, a retry a redelivery); `None` for the events that read the
/// same as in `sentence`.
fn queue_sentence(e: &TraceEvent) -> Option<String> {
    let who = format!("message {}", e.op);
    let s = match (e.kind, e.detail) {
        (EventKind::OpStart, _) => format!("{who}: the producer publishes it"),
        (EventKind::Send, _) => format!("{who}: the broker delivers it (delivery {})", e.attempt),
        (EventKind::Deliver, _) => {
            format!("{who}: {} receives delivery {}", e.node, e.attempt)
        }
        (EventKind::Lost, Detail::Lost { request, .. }) => {
            let what = if request {
                "delivery"
            } else {
                "ack of delivery"
            };
            format!("{who}: the network loses the {what} {}", e.attempt)
        }
        (EventKind::Step, Detail::Step(StepKind::Ack, _)) => {
            format!("{who}: {} acks it", e.node)
        }
        (EventKind::Respond, Detail::Response(r)) if r.is_success() => {
            format!("{who}: {} acks it ({r})", e.node)
        }
        (EventKind::Respond, Detail::Response(r)) => {
            format!("{who}: {} fails with {r} and does not ack", e.node)
        }
        (EventKind::Receive, Detail::Response(_)) => {
            format!("{who}: the broker gets the ack of delivery {}", e.attempt)
        }
        (EventKind::Timeout, _) => format!(
            "{who}: delivery {}'s visibility timeout runs out",
            e.attempt
        ),
        (EventKind::Retry, _) => format!("{who}: the broker makes it visible again"),
        (EventKind::DeadLetter, _) => {
            format!("{who}: the broker moves it to the dead-letter queue")
        }
        (EventKind::Redrive, _) => {
            format!("{who}: an operator redrives it from the dead-letter queue")
        }
        (EventKind::Done, Detail::Outcome(o)) => format!("{who}: settled: {}", o.name()),
        _ => return None,
    };
    Some(s)
}

/// One event of a counterexample in plain words, or `None` for bookkeeping.
fn sentence(e: &TraceEvent) -> Option<String> {
    let who = |e: &TraceEvent| format!("op {}", e.op);
    let server = |n: Node| n.to_string();
    let s = match (e.kind, e.detail) {
        (EventKind::OpStart, _) => format!("{}: the client starts the operation", who(e)),
        (EventKind::Send, _) => format!(
            "{}: the client sends attempt {}{}",
            who(e),
            e.attempt,
            e.key.map(|k| format!(" with key {k}")).unwrap_or_default()
        ),
        (EventKind::Lost, Detail::Lost { request, cause }) => format!(
            "{}: the network loses the {} of attempt {}{}",
            who(e),
            if request { "request" } else { "response" },
            e.attempt,
            match cause {
                crate::trace::LossCause::Plan => " (fault plan)",
                crate::trace::LossCause::Partition => " (partition)",
                crate::trace::LossCause::Random => "",
                crate::trace::LossCause::Deduplicated => " (FIFO deduplication)",
            }
        ),
        (EventKind::Duplicate, _) => format!(
            "{}: the network delivers attempt {}'s message twice",
            who(e),
            e.attempt
        ),
        (EventKind::Deliver, _) => format!(
            "{}: {} receives attempt {}{}",
            who(e),
            server(e.node),
            e.attempt,
            if e.copy > 0 {
                " (the network's copy)"
            } else {
                ""
            }
        ),
        (EventKind::Refused, _) => format!(
            "{}: {} is down and refuses attempt {}",
            who(e),
            server(e.node),
            e.attempt
        ),
        (EventKind::Step, Detail::Step(step, won)) => {
            let by = format!("{} (attempt {})", server(e.node), e.attempt);
            let outcome = match won {
                Some(true) => ": it was free, now it is this attempt's",
                Some(false) => ": another request has it",
                None => "",
            };
            match step {
                StepKind::InsertIfAbsent => format!("{}: {by} claims the key{outcome}", who(e)),
                StepKind::Get => format!("{}: {by} looks the key up", who(e)),
                StepKind::Put => format!("{}: {by} stores the result", who(e)),
                StepKind::Transaction => format!("{}: {by} commits a transaction", who(e)),
                StepKind::CompareAndSet => {
                    let outcome = match won {
                        Some(true) => ": it matched, and is set",
                        Some(false) => ": it had changed, nothing is set",
                        None => "",
                    };
                    format!("{}: {by} compares and sets{outcome}", who(e))
                }
                StepKind::Lock => {
                    let outcome = match won {
                        Some(true) => ": locked",
                        Some(false) => ": another request holds it",
                        None => "",
                    };
                    format!("{}: {by} locks the key row{outcome}", who(e))
                }
                _ => return None,
            }
        }
        (EventKind::Effect, Detail::Effect { kind, amount, nth }) => {
            let what = match kind {
                EffectKind::Charge => format!("the provider charges {amount}"),
                EffectKind::Order => format!("the store creates an order for {amount}"),
                EffectKind::Increment => format!("the counter goes up by {amount}"),
                EffectKind::Write => "the store changes a resource".to_string(),
                EffectKind::Delete => "the store deletes a resource".to_string(),
            };
            let again = match nth {
                1 => String::new(),
                2 => " again → twice".to_string(),
                n => format!(" again → {n} times"),
            };
            format!("{}: {what}{again} (attempt {})", who(e), e.attempt)
        }
        (EventKind::Respond, Detail::Response(r)) => {
            format!(
                "{}: {} answers attempt {} with {r}",
                who(e),
                server(e.node),
                e.attempt
            )
        }
        (EventKind::Receive, Detail::Response(r)) => {
            format!("{}: the client gets {r} for attempt {}", who(e), e.attempt)
        }
        (EventKind::Late, Detail::Response(r)) => format!(
            "{}: a late {r} for attempt {} arrives; the client has moved on",
            who(e),
            e.attempt
        ),
        (EventKind::Timeout, _) => format!(
            "{}: the client times out waiting for attempt {}",
            who(e),
            e.attempt
        ),
        (EventKind::Retry, Detail::Backoff { delay_us }) => format!(
            "{}: the client retries after {}",
            who(e),
            SimDuration(delay_us)
        ),
        (EventKind::GiveUp, _) => format!("{}: the client gives up: outcome unknown", who(e)),
        (EventKind::Done, Detail::Outcome(o)) => {
            format!("{}: the client is told: {}", who(e), o.name())
        }
        (EventKind::Crash, Detail::Crash(cause)) => {
            let when = match cause {
                crate::trace::CrashCause::At => "(fault plan)".to_string(),
                crate::trace::CrashCause::Before(s) => {
                    format!("just before its {s} step (fault plan)")
                }
                crate::trace::CrashCause::After(s) => {
                    format!("right after its {s} step (fault plan)")
                }
            };
            let prefix = if e.op == NO_OP {
                String::new()
            } else {
                format!("{}: ", who(e))
            };
            format!("{prefix}{} crashes {when}", server(e.node))
        }
        (EventKind::Restart, _) => format!("{} restarts", server(e.node)),
        _ => return None,
    };
    Some(s)
}
