//! Counterexamples told as stories: the numbered narrative, the report and the replay file.

use std::collections::BTreeSet;

use super::Counterexample;
use crate::handlers::api::EffectKind;
use crate::time::SimDuration;
use crate::trace::{Detail, EventKind, NO_OP, Node, TraceEvent};
use crate::world::StepKind;

impl Counterexample {
    /// The failing run as numbered sentences, about the operations involved.
    pub fn narrative(&self) -> Vec<String> {
        let ops: BTreeSet<u32> = self.violation.ops.iter().copied().collect();
        let mut lines = Vec::new();
        for e in self.run.trace.iter() {
            let involved = ops.contains(&e.op) || (e.op == NO_OP && e.kind != EventKind::Limit);
            if !involved {
                continue;
            }
            let words = if self.scenario.broker.is_some() {
                queue_sentence(&e).or_else(|| {
                    let op = format!("op {}:", e.op);
                    sentence(&e).map(|w| w.replacen(&op, &format!("message {}:", e.op), 1))
                })
            } else {
                sentence(&e)
            };
            if let Some(words) = words {
                lines.push(words);
            }
        }
        lines.push(format!(
            "→ {} ({})",
            self.violation.detail, self.violation.invariant
        ));
        lines
            .into_iter()
            .enumerate()
            .map(|(i, l)| format!("{:>3}. {l}", i + 1))
            .collect()
    }

    /// The scenario file that replays the failure.
    pub fn to_toml(&self) -> String {
        let mut header = vec![
            format!(
                "Counterexample: `{}` breaks \"{}\".",
                self.design, self.violation.invariant
            ),
            "Written by `idemlab check` / `idemlab explore`; replay it with `idemlab run FILE`,"
                .to_string(),
            "which exits 1 because the [expect] line below does not hold.".to_string(),
            String::new(),
        ];
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
        (EventKind::Step, Detail::Step(StepKind::Ack)) => {
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
        (EventKind::Step, Detail::Step(step)) => match step {
            StepKind::InsertIfAbsent => format!("{}: {} claims the key", who(e), server(e.node)),
            StepKind::Get => format!("{}: {} looks the key up", who(e), server(e.node)),
            StepKind::Put => format!("{}: {} stores the result", who(e), server(e.node)),
            StepKind::Transaction => {
                format!("{}: {} commits a transaction", who(e), server(e.node))
            }
            StepKind::CompareAndSet => format!("{}: {} compares and sets", who(e), server(e.node)),
            _ => return None,
        },
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
            format!("{}: {what}{again}", who(e))
        }
        (EventKind::Respond, Detail::Response(r)) => {
            format!("{}: {} answers {r}", who(e), server(e.node))
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
