//! `idemlab export`: every design's run of a scenario, with precomputed what-if runs, as one
//! document a web page can play without the simulator (the book's run viewer,
//! `book/theme/viewer.js`). The shape is a versioned contract, [`SCHEMA_VERSION`], described
//! field by field in `docs/export-schema.md`.
//!
//! A what-if is the run with one fault more (drop or duplicate a message of the run, crash the
//! server right after a step) or one fault of the scenario's plan less (`undo`: "what if that
//! response had arrived"), on the same seed and fates. Its events are stored from where it
//! first differs from the run it changes: the events before are the same and are not repeated.
//!
//! Everything here is a pure function of the scenario, the designs and the seed: the same
//! export, byte for byte, on every machine. What-if runs are independent and run in parallel;
//! they are collected in a fixed order.

use rayon::prelude::*;
use serde::Serialize;

use crate::diagram;
use crate::fault::{Direction, FaultAtom, FaultPlan, MessageRef, When};
use crate::handlers::Design;
use crate::oracle::{self, Metrics};
use crate::scenario::Scenario;
use crate::trace::{CrashCause, Detail, EventKind, LossCause, NO_OP, Trace, TraceEvent};
use crate::world::{self, Run};

/// The version of the export's shape. A change that removes or renames a field, or changes
/// a field's meaning, increments it; new fields may be added within a version.
pub const SCHEMA_VERSION: u32 = 1;

/// The export: the scenario, then one entry per design.
#[derive(Serialize)]
pub struct Export {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The program that wrote it, `idemlab VERSION`.
    pub generator: String,
    /// The scenario.
    pub scenario: ScenarioInfo,
    /// One entry per design, in the order asked for.
    pub designs: Vec<DesignExport>,
}

/// What a viewer needs to know of the scenario.
#[derive(Serialize)]
pub struct ScenarioInfo {
    /// Its name.
    pub name: String,
    /// Its one-line description.
    pub description: String,
    /// The seed of every run here.
    pub seed: u64,
    /// How many operations the workload starts.
    pub ops: u32,
    /// Each operation's amount.
    pub amount: u64,
    /// The diagram's lanes, left to right (events name them by index).
    pub lanes: Vec<String>,
    /// The scenario's own fault plan, one line per fault.
    pub faults: Vec<String>,
    /// What each symbol of the diagram means, `[symbols, meaning]`: the TUI's `?` list
    /// (`diagram::HELP_SYMBOLS`), for the viewer's legend. Added within schema 1.
    pub legend: Vec<[&'static str; 2]>,
}

/// One design's run and its what-ifs.
#[derive(Serialize)]
pub struct DesignExport {
    /// The design's name.
    pub name: String,
    /// The catalog's one line about it (empty for a design of the scenario's own).
    pub summary: String,
    /// The run.
    pub run: RunExport,
    /// The what-if runs, in the order of the events they start from (`at`); at most one of
    /// each kind per event.
    pub what_ifs: Vec<WhatIfExport>,
    /// What-ifs there was no room for (see `--what-ifs`).
    pub what_ifs_left_out: usize,
}

/// A run: its events (from `from` on), the counters after each, and its outcome.
#[derive(Serialize)]
pub struct RunExport {
    /// The index of the first event stored: 0 for a design's run; for a what-if, where it first
    /// differs from the design's run (the events before are that run's).
    pub from: usize,
    /// Every event from `from` on.
    pub events: Vec<EventExport>,
    /// After each stored event: started, effects, duplicates, lost, in doubt, dead-lettered,
    /// inconsistent, charged, false failures (the oracle's `Progress`).
    pub progress: Vec<[u64; 9]>,
    /// The index of the first event after which the run is no longer exactly-once.
    pub first_divergence: Option<usize>,
    /// True when the design called the payment provider (else `charged` is not money).
    pub charges: bool,
    /// The oracle's final figures.
    pub metrics: Metrics,
    /// How each operation ended.
    pub outcomes: Vec<OutcomeExport>,
    /// Every effect, in order: `[t, op, kind, amount]` (`kind`: `order`, `charge`, …).
    pub ledger: Vec<(u64, u32, &'static str, u64)>,
}

/// One event, ready to draw, written as an array for size: `[t, from, to, symbol, tone, label,
/// line, alarm, op]`.
#[derive(Serialize)]
pub struct EventExport(
    /// Simulated time, microseconds.
    pub u64,
    /// The lane its line starts on.
    pub usize,
    /// The lane its symbol is on.
    pub usize,
    /// The symbol.
    pub &'static str,
    /// Its tone: `blue`, `green`, `red`, `amber`, `purple` or `grey`.
    pub &'static str,
    /// The short label beside the row.
    pub String,
    /// The log's line for it, after the time.
    pub String,
    /// 1 for a fault or a duplicate effect (what a reader should notice), else 0.
    pub u8,
    /// The operation (0: none).
    pub u32,
);

/// How one operation ended.
#[derive(Serialize)]
pub struct OutcomeExport {
    /// The operation.
    pub op: u32,
    /// `succeeded`, `in-doubt`, `failed`, ...
    pub outcome: String,
    /// Attempts the client sent.
    pub attempts: u32,
}

/// One what-if run.
#[derive(Serialize)]
pub struct WhatIfExport {
    /// `drop`, `duplicate`, `crash` or `undo`.
    pub kind: &'static str,
    /// The index of the event (of the design's run) it was asked at.
    pub at: usize,
    /// The question, in words: "what if this response were lost?".
    pub title: String,
    /// The fault added, or taken away for `undo`, as the fault plan words it.
    pub fault: String,
    /// The run, from where it first differs (`from` = the length of the run when it does not).
    pub run: RunExport,
    /// False when the fault changed nothing.
    pub differs: bool,
}

/// The message an event is about, if it is about one.
pub fn message_of(e: &TraceEvent) -> Option<MessageRef> {
    if e.op == NO_OP {
        return None;
    }
    let dir = match (e.kind, e.detail) {
        (EventKind::Send | EventKind::Deliver | EventKind::Refused, _) => Direction::Request,
        (EventKind::Respond | EventKind::Receive | EventKind::Late, _) => Direction::Response,
        (EventKind::Lost, Detail::Lost { request: true, .. }) => Direction::Request,
        (EventKind::Lost, Detail::Lost { request: false, .. }) => Direction::Response,
        _ => return None,
    };
    Some(MessageRef {
        dir,
        op: e.op,
        attempt: u32::from(e.attempt),
        copy: u32::from(e.copy),
    })
}

/// The atom "crash the server right after the step at `index`", if event `index` is a step:
/// this step, named by its place among its handler's steps, not the first of its kind.
pub fn crash_after(trace: &Trace, index: usize) -> Option<FaultAtom> {
    let e = trace.get(index)?;
    let Detail::Step(step, _) = e.detail else {
        return None;
    };
    if e.kind != EventKind::Step {
        return None;
    }
    let position = trace
        .iter()
        .take(index + 1)
        .filter(|x| {
            x.kind == EventKind::Step && x.op == e.op && x.attempt == e.attempt && x.copy == e.copy
        })
        .count() as u32;
    Some(FaultAtom::CrashAtStep {
        op: e.op,
        attempt: Some(u32::from(e.attempt)),
        when: When::After,
        step,
        position: Some(position),
        copy: Some(u32::from(e.copy)),
    })
}

/// A question a learner can ask at one event.
#[derive(Clone, Debug, PartialEq)]
struct Question {
    kind: &'static str,
    at: usize,
    atom: FaultAtom,
    title: String,
}

fn direction_word(m: &MessageRef) -> &'static str {
    match m.dir {
        Direction::Request => "request",
        Direction::Response => "response",
    }
}

/// Every question the run's events allow, each fault once, in the order of the events.
fn questions(scenario: &Scenario, run: &Run) -> Vec<Question> {
    let mut out: Vec<Question> = Vec::new();
    let planned = &scenario.faults.atoms;
    for (i, e) in run.trace.iter().enumerate() {
        let mut ask = |kind: &'static str, atom: FaultAtom, title: String| {
            if !out.iter().any(|q| q.kind == kind && q.atom == atom) {
                out.push(Question {
                    kind,
                    at: i,
                    atom,
                    title,
                });
            }
        };
        if let Some(m) = message_of(&e) {
            let word = direction_word(&m);
            let drop = FaultAtom::Drop(m);
            if e.kind == EventKind::Lost {
                if let Detail::Lost {
                    cause: LossCause::Plan,
                    ..
                } = e.detail
                    && planned.contains(&drop)
                {
                    ask("undo", drop, format!("what if this {word} had arrived?"));
                }
                continue;
            }
            if !planned.contains(&drop) {
                ask("drop", drop, format!("what if this {word} were lost?"));
            }
            let dup = FaultAtom::Duplicate(m);
            if !planned.contains(&dup) {
                ask(
                    "duplicate",
                    dup,
                    format!("what if this {word} were delivered twice?"),
                );
            }
        } else if e.kind == EventKind::Crash
            && let Detail::Crash(CrashCause::After(step) | CrashCause::Before(step)) = e.detail
        {
            // The scenario's own crash: "what if it had not crashed here?".
            let when = match e.detail {
                Detail::Crash(CrashCause::After(_)) => When::After,
                _ => When::Before,
            };
            // The operation whose step it came at: the last such step before it (after), or
            // the plan's only crash at that step (before: the step never ran).
            let op = run.trace.iter().take(i).rev().find_map(|x| {
                (when == When::After
                    && x.kind == EventKind::Step
                    && matches!(x.detail, Detail::Step(s, _) if s == step))
                .then_some(x.op)
            });
            let planned_here = planned.iter().find(|a| {
                matches!(a, FaultAtom::CrashAtStep { op: o, step: s, when: w, .. }
                    if *s == step && *w == when && op.is_none_or(|op| op == *o))
            });
            if let Some(atom) = planned_here {
                ask(
                    "undo",
                    *atom,
                    "what if the server had not crashed here?".to_string(),
                );
            }
        } else if let Some(atom) = crash_after(&run.trace, i)
            && !planned.contains(&atom)
        {
            let step = match e.detail {
                Detail::Step(s, _) => s.name(),
                _ => "step",
            };
            ask(
                "crash",
                atom,
                format!("what if the server crashed right after this `{step}`?"),
            );
        }
    }
    out
}

/// The operations that ended up duplicated, lost, in doubt or with inconsistent answers.
fn diverged_ops(run: &Run) -> std::collections::BTreeSet<u32> {
    // Applications per operation, as the oracle counts them (an order and its charge are one).
    let applied = oracle::applications(run);
    run.ops
        .iter()
        .zip(&applied)
        .filter(|&(o, &n)| {
            n > 1
                || o.answers_differ
                || o.outcome != crate::trace::Outcome::Succeeded
                || (n == 0 && !run.safe)
        })
        .map(|(o, _)| o.op)
        .collect()
}

fn progress_row(p: &oracle::Progress) -> [u64; 9] {
    [
        u64::from(p.started),
        u64::from(p.effects),
        u64::from(p.duplicates),
        u64::from(p.lost),
        u64::from(p.in_doubt),
        u64::from(p.dead_lettered),
        u64::from(p.inconsistent),
        p.charged,
        u64::from(p.false_failures),
    ]
}

/// An event's label in the viewer: the diagram's words, and for an alarm the one word that
/// matters first (`DUPLICATE op2.2 order 100 (application 2)`, `LOST op2.1 response (fault
/// plan)`, `CRASH op1.1 after charge`), so that a label cut to its column still says it.
fn headline(e: &TraceEvent) -> String {
    let text = diagram::describe(e);
    if !e.is_alarm() {
        return text;
    }
    match e.kind {
        EventKind::Lost => format!("LOST {}", text.replacen(" lost", "", 1)),
        EventKind::Crash => format!("CRASH {}", text.replacen("crash ", "", 1)),
        EventKind::Limit => format!("LIMIT {text}"),
        _ => format!("DUPLICATE {}", text.replacen(": DUPLICATE)", ")", 1)),
    }
}

fn run_export(scenario: &Scenario, run: &Run, from: usize) -> RunExport {
    let progress = oracle::progress(run);
    let metrics = oracle::measure(run);
    let first_divergence = progress.iter().position(|p| p.divergence() > 0);
    let events = run
        .trace
        .iter()
        .skip(from)
        .map(|e| {
            let g = diagram::glyph(scenario, &e);
            EventExport(
                e.time_us,
                g.from,
                g.to,
                g.symbol,
                g.tone,
                headline(&e),
                e.line_after_time(),
                u8::from(e.is_alarm()),
                if e.op == NO_OP { 0 } else { e.op },
            )
        })
        .collect();
    RunExport {
        from,
        events,
        progress: progress.iter().skip(from).map(progress_row).collect(),
        first_divergence,
        charges: metrics.charges(),
        outcomes: run
            .ops
            .iter()
            .map(|o| OutcomeExport {
                op: o.op,
                outcome: o.outcome.name().to_string(),
                attempts: o.attempts,
            })
            .collect(),
        ledger: run
            .ledger
            .iter()
            .map(|l| (l.time_us, l.op, l.kind.name(), l.amount))
            .collect(),
        metrics,
    }
}

/// The export of `designs` through `scenario` with `seed`: each design's run and at most
/// `max_what_ifs` what-ifs per design: when not all fit, the scenario's own faults undone, then
/// the events of the operations that went wrong, then the others, each in the order of events.
pub fn export(
    scenario: &Scenario,
    designs: &[Box<dyn Design>],
    seed: u64,
    max_what_ifs: usize,
) -> Export {
    let none = FaultPlan::default();
    let designs = designs
        .iter()
        .map(|design| {
            let base = world::run(scenario, design.as_ref(), seed, &none);
            let mut asked = questions(scenario, &base);
            // What a learner is likely to ask about comes first when not all fit: the scenario's
            // own faults undone, then the events of operations that went wrong in this run,
            // then the rest, each in the order of the events.
            let diverged = diverged_ops(&base);
            asked.sort_by_key(|q| {
                let op = base.trace.get(q.at).map_or(NO_OP, |e| e.op);
                (q.kind != "undo", !diverged.contains(&op), q.at)
            });
            let left_out = asked.len().saturating_sub(max_what_ifs);
            asked.truncate(max_what_ifs);
            asked.sort_by_key(|q| q.at);
            let runs: Vec<Run> = asked
                .par_iter()
                .map(|q| {
                    if q.kind == "undo" {
                        let mut without = scenario.clone();
                        without.faults.atoms.retain(|a| *a != q.atom);
                        world::run(&without, design.as_ref(), seed, &none)
                    } else {
                        world::run(scenario, design.as_ref(), seed, &none.with(q.atom))
                    }
                })
                .collect();
            let base_export = run_export(scenario, &base, 0);
            let what_ifs: Vec<WhatIfExport> = asked
                .iter()
                .zip(&runs)
                .map(|(q, run)| {
                    let first = run.trace.first_difference(&base.trace);
                    WhatIfExport {
                        kind: q.kind,
                        at: q.at,
                        title: q.title.clone(),
                        fault: q.atom.to_string(),
                        run: run_export(scenario, run, first.unwrap_or(run.trace.len())),
                        differs: first.is_some(),
                    }
                })
                .collect();
            DesignExport {
                name: design.name().to_string(),
                summary: crate::handlers::entry(design.name())
                    .map(|e| e.summary.to_string())
                    .unwrap_or_default(),
                run: base_export,
                what_ifs,
                what_ifs_left_out: left_out,
            }
        })
        .collect();
    Export {
        schema_version: SCHEMA_VERSION,
        generator: format!("idemlab {}", env!("CARGO_PKG_VERSION")),
        scenario: ScenarioInfo {
            name: scenario.name.clone(),
            description: scenario.description.clone(),
            seed,
            ops: scenario.workload.ops,
            amount: scenario.workload.amount,
            lanes: diagram::lane_names(scenario),
            faults: scenario
                .faults
                .atoms
                .iter()
                .map(|a| a.to_string())
                .collect(),
            legend: diagram::HELP_SYMBOLS.iter().map(|&(s, m)| [s, m]).collect(),
        },
        designs,
    }
}
