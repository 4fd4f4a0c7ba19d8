//! `idemlab export`: every design's run of a scenario, with precomputed what-if runs, as one
//! document a web page can play without the simulator (the book's run viewer,
//! `book/theme/viewer.js`). The shape is a versioned contract, [`SCHEMA_VERSION`], described
//! field by field in `docs/export-schema.md`.
//!
//! A what-if is the run with one fault more (drop or duplicate a message of the run, crash the
//! server right after a step) or one fault of the scenario's plan less (`undo`: "what if that
//! response had arrived"), on the same seed and fates. It is stored as its differences from
//! the run it changes (schema 2): the events before it first differs are that run's and are
//! not repeated, and after that it is a list of [`Span`]s, each either events of its own or a
//! stretch of the design's run it shares (the operations the fault did not touch go on as
//! before), with the counters' constant difference. So its size is that of what it changed,
//! not of the run: a 2,000-operation export with 200 what-ifs a design went from 2.2 GB (the
//! allocation failed) to a few megabytes, and the time to build it is linear in the runs.
//!
//! Everything here is a pure function of the scenario, the designs and the seed: the same
//! export, byte for byte, on every machine. What-if runs are independent and run in parallel;
//! they are collected in a fixed order.

use std::sync::atomic::{AtomicBool, Ordering};

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
pub const SCHEMA_VERSION: u32 = 2;

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
    /// A design's run: every event from `from` on. A what-if: only its own events, the ones
    /// `spans` take in order.
    pub events: Vec<EventExport>,
    /// After each stored event: started, effects, duplicates, lost, in doubt, dead-lettered,
    /// inconsistent, charged, false failures (the oracle's `Progress`).
    pub progress: Vec<[u64; 9]>,
    /// A what-if's run from `from` on, piece by piece (empty, and left out, for a design's
    /// run). [`materialize`] puts it back together.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub spans: Vec<Span>,
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

/// A piece of a what-if's run after the point where it first differs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Span {
    /// The next `own` of the what-if's own events ([`RunExport::events`]) and their rows of
    /// [`RunExport::progress`].
    Own {
        /// How many.
        own: usize,
    },
    /// `n` events of the design's run from its index `base`, the same events; each counter
    /// row is that run's plus `delta` (a what-if that lost a response counts one more lost
    /// from there on, whatever the other operations do).
    Base {
        /// The index of the first, in the design's run.
        base: usize,
        /// How many.
        n: usize,
        /// What to add to each of the design's run's counter rows.
        delta: [i64; 9],
    },
}

/// One event, ready to draw, written as an array for size: `[t, from, to, symbol, tone, label,
/// line, alarm, op]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
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
    crash_after_step(&e, position)
}

/// The atom "crash the server right after `e`", the `position`th step of its handler.
fn crash_after_step(e: &TraceEvent, position: u32) -> Option<FaultAtom> {
    let Detail::Step(step, _) = e.detail else {
        return None;
    };
    if e.kind != EventKind::Step {
        return None;
    }
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
    // What was asked already, and how many steps each handler task has taken: looked up, not
    // searched for (each search went over the run: quadratic, 6 s at 2,000 operations).
    let mut asked: std::collections::HashSet<(&'static str, FaultAtom)> = Default::default();
    let mut steps: std::collections::HashMap<(u32, u16, u8), u32> = Default::default();
    let planned = &scenario.faults.atoms;
    for (i, e) in run.trace.iter().enumerate() {
        let position = (e.kind == EventKind::Step).then(|| {
            let n = steps.entry((e.op, e.attempt, e.copy)).or_insert(0);
            *n += 1;
            *n
        });
        let mut ask = |kind: &'static str, atom: FaultAtom, title: String| {
            if asked.insert((kind, atom)) {
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
        } else if let Some(atom) = position.and_then(|p| crash_after_step(&e, p))
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

fn event_export(scenario: &Scenario, e: &TraceEvent) -> EventExport {
    let g = diagram::glyph(scenario, e);
    EventExport(
        e.time_us,
        g.from,
        g.to,
        g.symbol,
        g.tone,
        headline(e),
        e.line_after_time(),
        u8::from(e.is_alarm()),
        if e.op == NO_OP { 0 } else { e.op },
    )
}

/// What a what-if is stored as: its spans, and the indices of its own events.
fn diff(
    base: &[TraceEvent],
    base_rows: &[[u64; 9]],
    run: &[TraceEvent],
    rows: &[[u64; 9]],
    from: usize,
) -> (Vec<Span>, Vec<usize>) {
    let mut spans: Vec<Span> = Vec::new();
    let mut own = Vec::new();
    let (mut i, mut j) = (from, from);
    while j < run.len() {
        let e = &run[j];
        if base.get(i) == Some(e) {
            let mut delta = [0i64; 9];
            for (k, d) in delta.iter_mut().enumerate() {
                *d = rows[j][k] as i64 - base_rows[i][k] as i64;
            }
            match spans.last_mut() {
                Some(Span::Base {
                    base: b,
                    n,
                    delta: d,
                }) if *b + *n == i && *d == delta => {
                    *n += 1;
                }
                _ => spans.push(Span::Base {
                    base: i,
                    n: 1,
                    delta,
                }),
            }
            i += 1;
            j += 1;
            continue;
        }
        // Not the same: the design's event is not in the what-if when it comes first (or
        // when the what-if's comes later at the same instant), else the what-if's is its own.
        let skip_base = match base.get(i) {
            Some(b) if b.time_us < e.time_us => Some(i + 1),
            Some(b) if b.time_us == e.time_us => base[i + 1..]
                .iter()
                .take_while(|x| x.time_us == e.time_us)
                .position(|x| x == e)
                .map(|k| i + 1 + k),
            _ => None,
        };
        if let Some(next) = skip_base {
            i = next;
            continue;
        }
        own.push(j);
        match spans.last_mut() {
            Some(Span::Own { own: n }) => *n += 1,
            _ => spans.push(Span::Own { own: 1 }),
        }
        j += 1;
    }
    (spans, own)
}

/// A what-if's events and counter rows whole, from the design's run and the what-if as
/// exported: what the viewer does (`materialize` in `book/theme/viewer.js`), here for tests
/// and for readers of the export in Rust.
pub fn materialize(base: &RunExport, what_if: &RunExport) -> (Vec<EventExport>, Vec<[u64; 9]>) {
    let from = what_if.from.min(base.events.len());
    let mut events = base.events[..from].to_vec();
    let mut rows = base.progress[..from].to_vec();
    if what_if.spans.is_empty() {
        events.extend(what_if.events.iter().cloned());
        rows.extend(what_if.progress.iter().copied());
        return (events, rows);
    }
    let mut next = 0;
    for span in &what_if.spans {
        match *span {
            Span::Own { own } => {
                let end = (next + own).min(what_if.events.len());
                events.extend(what_if.events[next..end].iter().cloned());
                rows.extend(what_if.progress[next..end].iter().copied());
                next = end;
            }
            Span::Base { base: at, n, delta } => {
                let end = (at + n).min(base.events.len());
                events.extend(base.events[at..end].iter().cloned());
                rows.extend(base.progress[at..end].iter().map(|row| {
                    let mut out = *row;
                    for (v, d) in out.iter_mut().zip(delta) {
                        *v = (*v as i64 + d) as u64;
                    }
                    out
                }));
            }
        }
    }
    (events, rows)
}

fn run_export(scenario: &Scenario, run: &Run, from: usize) -> RunExport {
    let progress = oracle::progress(run);
    let events = run
        .trace
        .iter()
        .skip(from)
        .map(|e| event_export(scenario, &e))
        .collect();
    RunExport {
        from,
        events,
        progress: progress.iter().skip(from).map(progress_row).collect(),
        spans: Vec::new(),
        ..outcome_export(run, &progress)
    }
}

/// A what-if's run as its differences from `base` (whose events and counter rows are given).
fn what_if_export(
    scenario: &Scenario,
    base: &[TraceEvent],
    base_rows: &[[u64; 9]],
    run: &Run,
) -> (RunExport, bool) {
    let progress = oracle::progress(run);
    let events: Vec<TraceEvent> = run.trace.iter().collect();
    let first = common_prefix(base, &events);
    let differs = first < base.len().max(events.len());
    let rows: Vec<[u64; 9]> = progress.iter().map(progress_row).collect();
    let (spans, own) = diff(base, base_rows, &events, &rows, first);
    let export = RunExport {
        from: if differs { first } else { events.len() },
        events: own
            .iter()
            .map(|&j| event_export(scenario, &events[j]))
            .collect(),
        progress: own.iter().map(|&j| rows[j]).collect(),
        spans,
        ..outcome_export(run, &progress)
    };
    (export, differs)
}

fn common_prefix(a: &[TraceEvent], b: &[TraceEvent]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

/// A run's outcome, without its events.
fn outcome_export(run: &Run, progress: &[oracle::Progress]) -> RunExport {
    let metrics = oracle::measure(run);
    let first_divergence = progress.iter().position(|p| p.divergence() > 0);
    RunExport {
        from: 0,
        events: Vec::new(),
        progress: Vec::new(),
        spans: Vec::new(),
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

/// How large an export may grow.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// At most this many what-ifs per design.
    pub what_ifs: usize,
    /// At most this many bytes of JSON in all. The designs' runs come first; what room is
    /// left is shared evenly by the designs' what-ifs, taken in their order of interest until
    /// the next would not fit.
    pub max_bytes: u64,
}

/// Why there is no export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExportError {
    /// The designs' runs alone are larger than [`Limits::max_bytes`].
    TooLarge {
        /// Their size in bytes of JSON.
        bytes: u64,
        /// The limit.
        max_bytes: u64,
    },
    /// The stop flag was raised.
    Stopped,
}

/// What-if runs made at once, between two looks at the size and the stop flag.
const WHAT_IF_CHUNK: usize = 16;

/// The export of `designs` through `scenario` with `seed`: each design's run and at most
/// `limits.what_ifs` what-ifs per design, within `limits.max_bytes`: when not all fit, the
/// scenario's own faults undone, then the events of the operations that went wrong, then the
/// others, each in the order of events. `stop`, when raised, ends it within one run
/// (`world::run_until`).
pub fn export(
    scenario: &Scenario,
    designs: &[Box<dyn Design>],
    seed: u64,
    limits: Limits,
    stop: &AtomicBool,
) -> Result<Export, ExportError> {
    let none = FaultPlan::default();
    let run = |s: &Scenario, design: &dyn Design, plan: &FaultPlan| -> Result<Run, ExportError> {
        let run = world::run_until(s, design, seed, plan, world::Recording::Trace, stop);
        if stop.load(Ordering::Relaxed) {
            return Err(ExportError::Stopped);
        }
        Ok(run)
    };
    // Every design's run first: what they take of the size limit decides the what-ifs' room.
    let mut bases = Vec::new();
    let mut used = 0u64;
    for design in designs {
        let base = run(scenario, design.as_ref(), &none)?;
        let export = DesignExport {
            name: design.name().to_string(),
            summary: crate::handlers::entry(design.name())
                .map(|e| e.summary.to_string())
                .unwrap_or_default(),
            run: run_export(scenario, &base, 0),
            what_ifs: Vec::new(),
            what_ifs_left_out: 0,
        };
        used += json_len(&export) + 1;
        bases.push((base, export));
    }
    // The scenario's part, and room for the script's wrapper.
    used += 16 * 1024;
    if used > limits.max_bytes {
        return Err(ExportError::TooLarge {
            bytes: used,
            max_bytes: limits.max_bytes,
        });
    }
    let room = (limits.max_bytes - used) / designs.len().max(1) as u64;
    let mut out = Vec::new();
    for (design, (base, mut export)) in designs.iter().zip(bases) {
        let mut asked = questions(scenario, &base);
        // What a learner is likely to ask about comes first when not all fit: the scenario's
        // own faults undone, then the events of operations that went wrong in this run,
        // then the rest, each in the order of the events.
        let diverged = diverged_ops(&base);
        asked.sort_by_key(|q| {
            let op = base.trace.get(q.at).map_or(NO_OP, |e| e.op);
            (q.kind != "undo", !diverged.contains(&op), q.at)
        });
        let mut left_out = asked.len().saturating_sub(limits.what_ifs);
        asked.truncate(limits.what_ifs);
        let base_events: Vec<TraceEvent> = base.trace.iter().collect();
        let mut what_ifs: Vec<WhatIfExport> = Vec::new();
        let mut taken = 0u64;
        let mut full = false;
        for chunk in asked.chunks(WHAT_IF_CHUNK) {
            if full {
                left_out += chunk.len();
                continue;
            }
            let made: Vec<Result<(WhatIfExport, u64), ExportError>> = chunk
                .par_iter()
                .map(|q| {
                    let run = if q.kind == "undo" {
                        let mut without = scenario.clone();
                        without.faults.atoms.retain(|a| *a != q.atom);
                        run(&without, design.as_ref(), &none)?
                    } else {
                        run(scenario, design.as_ref(), &none.with(q.atom))?
                    };
                    let (run, differs) =
                        what_if_export(scenario, &base_events, &export.run.progress, &run);
                    let w = WhatIfExport {
                        kind: q.kind,
                        at: q.at,
                        title: q.title.clone(),
                        fault: q.atom.to_string(),
                        run,
                        differs,
                    };
                    let len = json_len(&w) + 1;
                    Ok((w, len))
                })
                .collect();
            for result in made {
                let (w, len) = result?;
                if full || taken + len > room {
                    full = true;
                    left_out += 1;
                    continue;
                }
                taken += len;
                what_ifs.push(w);
            }
        }
        what_ifs.sort_by_key(|w| w.at);
        export.what_ifs = what_ifs;
        export.what_ifs_left_out = left_out;
        out.push(export);
    }
    let designs = out;
    Ok(Export {
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
    })
}

/// The size of `value` as compact JSON.
fn json_len(value: &impl Serialize) -> u64 {
    serde_json::to_vec(value).map_or(0, |v| v.len() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every what-if of every bundled scenario and design, stored as its differences and put
    /// back together, is its own run event for event and counter for counter.
    #[test]
    fn a_what_if_put_back_together_is_its_own_run() {
        let none = FaultPlan::default();
        let (mut what_ifs, mut stored, mut whole) = (0, 0, 0);
        for (file, text) in crate::scenario::BUNDLED {
            let scenario = crate::scenario::parse(text, file).unwrap();
            for name in &scenario.designs {
                let design = scenario.design(name).unwrap();
                let base = world::run(&scenario, design.as_ref(), scenario.seed, &none);
                let base_export = run_export(&scenario, &base, 0);
                let base_events: Vec<TraceEvent> = base.trace.iter().collect();
                for q in questions(&scenario, &base).iter().step_by(3) {
                    let run = if q.kind == "undo" {
                        let mut without = scenario.clone();
                        without.faults.atoms.retain(|a| *a != q.atom);
                        world::run(&without, design.as_ref(), scenario.seed, &none)
                    } else {
                        world::run(
                            &scenario,
                            design.as_ref(),
                            scenario.seed,
                            &none.with(q.atom),
                        )
                    };
                    let (export, _) =
                        what_if_export(&scenario, &base_events, &base_export.progress, &run);
                    let expected = run_export(&scenario, &run, 0);
                    let (events, rows) = materialize(&base_export, &export);
                    assert!(
                        events == expected.events && rows == expected.progress,
                        "{file} × {name}: {} at {} does not come back whole",
                        q.kind,
                        q.at
                    );
                    what_ifs += 1;
                    stored += export.events.len();
                    whole += expected.events.len() - export.from.min(expected.events.len());
                }
            }
        }
        assert!(what_ifs > 500, "{what_ifs}");
        // The point of it: most of a what-if's events after it differs are shared.
        assert!(stored * 2 < whole, "{stored} events stored of {whole}");
    }
}
