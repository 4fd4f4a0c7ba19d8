//! The designs × fault classes matrix: the catalog table of the domain reference, reproduced
//! by *running* every design against a minimal scenario for each fault class.
//!
//! Each class is a small base scenario plus the fault plans that embody it (for a crash, one
//! plan per point inside the handler). A cell is the worst verdict over those plans:
//!
//! - **broken** (✗): a duplicate or lost effect, an inconsistent answer, or a key stuck in
//!   progress;
//! - **caution** (~): no duplicate and no loss, but the client got 409 or 412, ended in doubt,
//!   or the message was dead-lettered: it must act;
//! - **ok** (✓): exactly once, and an answer the client can use (a `DELETE` retried into 404
//!   is ok: the same effect, a different response);
//! - **n/a** (—): the class does not apply to the design (it has no key that could expire or
//!   be reused), as its catalog entry declares.
//!
//! For every cell that is not ok, the matrix keeps the first plan that gave its verdict: the
//! shortest fault sequence that broke the design.
//!
//! ```
//! use idemlab::{fault::FaultClass, handlers, matrix::{self, Cell}};
//! let naive = handlers::entry("naive").unwrap();
//! let m = matrix::run(&[naive]);
//! assert_eq!(m.rows[0].cell(FaultClass::LostResponse).cell, Cell::Broken);
//! assert_eq!(m.rows[0].cell(FaultClass::LostRequest).cell, Cell::Ok);
//! ```

use std::fmt::Write as _;

use serde::Serialize;

use crate::fault::{Direction, FaultAtom, FaultClass, FaultPlan, MessageRef, When};
use crate::handlers::{Entry, Options};
use crate::oracle::{self, Metrics};
use crate::scenario::{self, KeyPolicy, Scenario};
use crate::trace::{Detail, EventKind};
use crate::world::{self, StepKind};

/// One cell's verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Cell {
    /// The class does not apply.
    #[serde(rename = "n/a")]
    NotApplicable,
    /// Exactly once and a faithful answer.
    #[serde(rename = "ok")]
    Ok,
    /// No duplicate or loss, but the client must act (409, 412, in doubt, dead-lettered).
    #[serde(rename = "caution")]
    Caution,
    /// A duplicate, lost or wrong effect, or a final failure the effect belies.
    #[serde(rename = "broken")]
    Broken,
    /// Live only: the same plan gave different verdicts when repeated (real time decided
    /// it); `why` lists them. Never a simulated verdict.
    #[serde(rename = "unstable")]
    Unstable,
}

impl Cell {
    /// `ok`, `caution`, `broken` or `n/a`: the names of the JSON contract.
    pub fn name(self) -> &'static str {
        match self {
            Cell::NotApplicable => "n/a",
            Cell::Ok => "ok",
            Cell::Caution => "caution",
            Cell::Broken => "broken",
            Cell::Unstable => "unstable",
        }
    }

    /// ✓ ~ ✗ —, as in the catalog table.
    pub fn symbol(self) -> &'static str {
        match self {
            Cell::NotApplicable => "—",
            Cell::Ok => "✓",
            Cell::Caution => "~",
            Cell::Broken => "✗",
            Cell::Unstable => "?",
        }
    }
}

/// One cell with the evidence for its verdict.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CellResult {
    /// The class.
    pub class: FaultClass,
    /// The verdict.
    pub cell: Cell,
    /// The variant of the class's base scenario that gave it (for a cell that is not ok).
    pub setup: String,
    /// The fault plan that gave it, one atom per entry (empty: the setup alone was enough).
    pub faults: Vec<String>,
    /// What the oracle saw, e.g. `duplicates 1`.
    pub why: String,
}

/// One design's row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    /// The design.
    pub design: String,
    /// Its row in the catalog table of the domain reference, if it is one.
    pub catalog_row: Option<u8>,
    /// One cell per class, in [`FaultClass::ALL`] order.
    pub cells: Vec<CellResult>,
}

impl Row {
    /// The cell of `class`.
    pub fn cell(&self, class: FaultClass) -> &CellResult {
        &self.cells[class as usize]
    }
}

/// The whole table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Matrix {
    /// One row per design, in the order asked.
    pub rows: Vec<Row>,
}

/// A class's setup: a scenario and the plans to try on it.
struct Variant {
    setup: &'static str,
    scenario: Scenario,
    plans: Vec<FaultPlan>,
}

/// How an HTTP client retries in every base scenario.
const HTTP_CLIENT: &str = r#"
[client.retry]
timeout = "50ms"
attempts_max = 4
backoff = "constant"
backoff_base = "20ms"
jitter = "none"
"#;

/// How the broker redelivers to a consumer in every base scenario.
const QUEUE_BROKER: &str = r#"
[broker]
visibility_timeout = "50ms"
max_receives = 4
"#;

/// What every base scenario shares: one operation, a fast network, two servers.
const WORLD: &str = r#"
[workload]
ops = 1
[network]
latency = "1ms"
[server]
count = 2
store_latency = "1ms"
restart_delay = "100ms"
[provider]
latency = "5ms"
"#;

/// The base scenario of every class: one operation on a fast network, two servers, and an HTTP
/// client that retries (or, for a queue consumer, a broker that redelivers). The one
/// definition: each class changes the fields it needs, and the live probe's classes
/// (`probe::matrix`) start from it too.
pub fn base(consumer: bool) -> Scenario {
    let retries = if consumer { QUEUE_BROKER } else { HTTP_CLIENT };
    match scenario::parse(&format!("{WORLD}{retries}"), "matrix base") {
        Ok(s) => s,
        // The bases are constants checked by the tests; this cannot happen in a release.
        Err(e) => panic!("a matrix base scenario is invalid: {e}"),
    }
}

fn request(op: u32, attempt: u32, copy: u32) -> MessageRef {
    MessageRef {
        dir: Direction::Request,
        op,
        attempt,
        copy,
    }
}

/// The setups and plans of `class` for `design`.
fn variants(class: FaultClass, entry: &Entry, options: &Options) -> Vec<Variant> {
    let consumer = entry.consumer;
    let one = |setup: &'static str, scenario: Scenario, atoms: Vec<FaultAtom>| Variant {
        setup,
        scenario,
        plans: vec![FaultPlan::new(atoms)],
    };
    match class {
        FaultClass::LostRequest => vec![one(
            "1 operation, the first request lost",
            base(consumer),
            vec![FaultAtom::Drop(request(1, 1, 0))],
        )],
        FaultClass::LostResponse => vec![one(
            if consumer {
                "1 message, the first ack lost"
            } else {
                "1 operation, the first response lost"
            },
            base(consumer),
            vec![FaultAtom::Drop(MessageRef::response(1, 1))],
        )],
        FaultClass::DuplicateDelivery => vec![one(
            "1 operation, its request delivered twice, the copy 100ms late",
            base(consumer),
            vec![
                FaultAtom::Duplicate(request(1, 1, 0)),
                FaultAtom::Delay {
                    msg: request(1, 1, 1),
                    by: crate::time::SimDuration::from_millis(100),
                },
            ],
        )],
        FaultClass::ConcurrentRetry => {
            let scenario = base(consumer);
            let late = crate::time::SimDuration::from_millis(80);
            let mut plans: Vec<FaultPlan> = first_attempt_steps(&scenario, entry, options)
                .into_iter()
                .filter(|s| *s != StepKind::Ack)
                .map(|step| {
                    FaultPlan::new(vec![FaultAtom::Slow {
                        op: 1,
                        attempt: 1,
                        step,
                        by: late,
                        position: None,
                        copy: None,
                    }])
                })
                .collect();
            // An attempt that finishes but answers late. Not for a consumer: its answer is the
            // ack, and a late ack is class (ii), not processing that outlives the timeout.
            if !consumer {
                plans.push(FaultPlan::new(vec![FaultAtom::Delay {
                    msg: MessageRef::response(1, 1),
                    by: late,
                }]));
            }
            vec![Variant {
                setup: if consumer {
                    "the first delivery stalls 80ms at one step; visibility timeout 50ms"
                } else {
                    "the first attempt stalls 80ms (at one step, or in answering); client timeout 50ms"
                },
                scenario,
                plans,
            }]
        }
        FaultClass::CrashAfterEffect => {
            let scenario = base(consumer);
            let plans = crash_points(&scenario, entry, options);
            vec![Variant {
                setup: "1 operation, the server crashes after a step of the first attempt, before the next",
                scenario,
                plans,
            }]
        }
        FaultClass::RetryAfterExpiry => {
            let mut scenario = base(consumer);
            scenario.server.key_ttl = Some(crate::time::SimDuration::from_millis(200));
            let late = crate::time::SimDuration::from_millis(500);
            match scenario.broker.as_mut() {
                // The broker's redeliveries follow its visibility timeout.
                Some(broker) => {
                    broker.visibility_timeout = late;
                    scenario.retry = broker.retry_policy();
                }
                // The default cap (1s) stays above the base.
                None => scenario.retry.backoff_base = late,
            }
            vec![one(
                if consumer {
                    "keys live 200ms; the ack is lost and the redelivery comes after 500ms"
                } else {
                    "keys live 200ms; the response is lost and the retry comes after 550ms"
                },
                scenario,
                vec![FaultAtom::Drop(MessageRef::response(1, 1))],
            )]
        }
        FaultClass::PayloadMismatch => {
            let mut scenario = base(consumer);
            scenario.workload.amounts = vec![100, 150];
            scenario.workload.ops = 2;
            scenario.retry.key = KeyPolicy::Shared;
            vec![one(
                "2 operations with the same key, amounts 100 then 150",
                scenario,
                vec![],
            )]
        }
    }
}

/// The steps the first attempt of op 1 makes in the fault-free run, in order, each once.
fn first_attempt_steps(scenario: &Scenario, entry: &Entry, options: &Options) -> Vec<StepKind> {
    let design = entry.build(options);
    let run = world::run(
        scenario,
        design.as_ref(),
        scenario.seed,
        &FaultPlan::default(),
    );
    run.trace
        .iter()
        .filter(|e| e.kind == EventKind::Step && e.op == 1 && e.attempt == 1)
        .filter_map(|e| match e.detail {
            Detail::Step(step, _) => Some(step),
            _ => None,
        })
        .collect()
}

/// One crash plan per step of the first attempt that another step follows: the windows
/// between an effect and what records it.
fn crash_points(scenario: &Scenario, entry: &Entry, options: &Options) -> Vec<FaultPlan> {
    let steps = first_attempt_steps(scenario, entry, options);
    let mut plans = Vec::new();
    let mut seen = Vec::new();
    for step in steps.iter().take(steps.len().saturating_sub(1)) {
        // A step that repeats (two `put`s) is named once: the atom fires at its first match.
        if seen.contains(step) {
            continue;
        }
        seen.push(*step);
        plans.push(FaultPlan::new(vec![FaultAtom::CrashAtStep {
            op: 1,
            attempt: Some(1),
            when: When::After,
            step: *step,
            position: None,
            copy: None,
        }]));
    }
    plans
}

/// The verdict on one run, and why.
pub fn verdict(m: &Metrics) -> (Cell, String) {
    // The counts that are not zero, as `name n`.
    let nonzero = |counts: &[(&str, u64)]| -> Vec<String> {
        counts
            .iter()
            .filter(|(_, v)| *v > 0)
            .map(|(name, v)| format!("{name} {v}"))
            .collect()
    };
    let broken = nonzero(&[
        ("duplicates", m.duplicates),
        ("lost", m.lost),
        ("inconsistent", m.inconsistent),
        ("told failed yet applied", m.false_failures),
        ("stuck", m.stuck),
    ]);
    if !broken.is_empty() {
        return (Cell::Broken, broken.join(", "));
    }
    let mut caution = Vec::new();
    for code in ["409", "412"] {
        if let Some(n) = m.statuses.get(code) {
            caution.push(format!("{code}×{n}"));
        }
    }
    caution.extend(nonzero(&[
        ("never served", m.unserved),
        ("in doubt", m.in_doubt),
        ("dead-lettered", m.dead_lettered),
        ("unfinished", m.unfinished),
    ]));
    if !caution.is_empty() {
        return (Cell::Caution, caution.join(", "));
    }
    let why = if m.different_response > 0 {
        "same effect, different response".to_string()
    } else {
        "exactly once".to_string()
    };
    (Cell::Ok, why)
}

/// The cell of `class` for `entry` with its default options.
pub fn cell(entry: &Entry, class: FaultClass) -> CellResult {
    cell_with(entry, &Options::new(), class)
}

/// The cell of `class` for `entry` built with `options`.
pub fn cell_with(entry: &Entry, options: &Options, class: FaultClass) -> CellResult {
    if entry.not_applicable.contains(&class) {
        return CellResult {
            class,
            cell: Cell::NotApplicable,
            setup: String::new(),
            faults: Vec::new(),
            why: "not applicable: the design has no key here".to_string(),
        };
    }
    let mut best = CellResult {
        class,
        cell: Cell::Ok,
        setup: String::new(),
        faults: Vec::new(),
        why: "no plan applies".to_string(),
    };
    let mut first = true;
    let design = entry.build(options);
    for variant in variants(class, entry, options) {
        // Expiry is judged by what it changes: only a verdict worse than the baseline's counts.
        // The baseline is class (ii): the same lost response, with a retry that comes soon.
        let baseline = (class == FaultClass::RetryAfterExpiry).then(|| base(entry.consumer));
        for plan in &variant.plans {
            let run = world::run(
                &variant.scenario,
                design.as_ref(),
                variant.scenario.seed,
                plan,
            );
            let (mut verdict, mut why) = verdict(&oracle::measure(&run));
            if let Some(without) = &baseline {
                let before = world::run(without, design.as_ref(), without.seed, plan);
                let (unexpired, _) = self::verdict(&oracle::measure(&before));
                if verdict <= unexpired {
                    verdict = Cell::Ok;
                    why = "no worse than a prompt retry: expiry changes nothing".to_string();
                }
            }
            if first || verdict > best.cell {
                best = CellResult {
                    class,
                    cell: verdict,
                    setup: variant.setup.to_string(),
                    faults: plan.atoms.iter().map(ToString::to_string).collect(),
                    why,
                };
                first = false;
            }
        }
    }
    best
}

/// Runs every class against each of `entries`.
pub fn run(entries: &[&Entry]) -> Matrix {
    Matrix {
        rows: entries
            .iter()
            .map(|e| Row {
                design: e.name.to_string(),
                catalog_row: e.row,
                cells: FaultClass::ALL.iter().map(|&c| cell(e, c)).collect(),
            })
            .collect(),
    }
}

impl Matrix {
    /// The table as text: ✓ ~ ✗ —, then the sequence behind every cell that is not ok.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let width = self.rows.iter().map(|r| r.design.len()).max().unwrap_or(6);
        let _ = writeln!(
            out,
            "designs × fault classes (✓ exactly once · ~ the client must act · ✗ duplicate, lost, wrong, or told failed yet applied · — n/a)\n"
        );
        let _ = write!(out, "{:>3}  {:<width$}", "#", "design");
        for c in FaultClass::ALL {
            let _ = write!(out, " {:>4}", c.numeral());
        }
        out.push('\n');
        for r in &self.rows {
            let row = r.catalog_row.map(|n| n.to_string()).unwrap_or_default();
            let _ = write!(out, "{row:>3}  {:<width$}", r.design);
            for c in &r.cells {
                let _ = write!(out, " {:>4}", c.cell.symbol());
            }
            out.push('\n');
        }
        out.push('\n');
        for (i, c) in FaultClass::ALL.iter().enumerate() {
            let sep = if i + 1 == FaultClass::ALL.len() {
                "\n"
            } else {
                " · "
            };
            let _ = write!(out, "{} {}{sep}", c.numeral(), c.name());
        }
        out.push('\n');
        for r in &self.rows {
            for c in r.cells.iter().filter(|c| c.cell > Cell::Ok) {
                let faults = if c.faults.is_empty() {
                    "no fault needed".to_string()
                } else {
                    c.faults.join("; ")
                };
                let _ = writeln!(
                    out,
                    "{} {} × {}: {} — {faults} → {}",
                    c.cell.symbol(),
                    r.design,
                    c.class.name(),
                    c.setup,
                    c.why
                );
            }
        }
        out
    }

    /// The table as CSV: one row per cell.
    pub fn to_csv(&self) -> String {
        let mut w = csv::Writer::from_writer(Vec::new());
        let _ = w.write_record([
            "design",
            "catalog_row",
            "class",
            "cell",
            "setup",
            "faults",
            "why",
        ]);
        for r in &self.rows {
            for c in &r.cells {
                let row = r.catalog_row.map(|n| n.to_string()).unwrap_or_default();
                let _ = w.write_record([
                    r.design.as_str(),
                    row.as_str(),
                    c.class.name(),
                    c.cell.name(),
                    c.setup.as_str(),
                    c.faults.join("; ").as_str(),
                    c.why.as_str(),
                ]);
            }
        }
        let bytes = w.into_inner().unwrap_or_default();
        String::from_utf8(bytes).unwrap_or_default()
    }

    /// The table as JSON, a stable contract: `classes` (the seven names in order) and `rows`,
    /// each `{ "design", "catalog_row", "cells": { CLASS: "ok" | "caution" | "broken" | "n/a" },
    /// "broken_by": { CLASS: { "setup", "faults": [...], "why" } } }` with an entry in
    /// `broken_by` for every broken cell.
    pub fn to_json(&self) -> String {
        let classes: Vec<&str> = FaultClass::ALL.iter().map(|c| c.name()).collect();
        let rows: Vec<serde_json::Value> = self
            .rows
            .iter()
            .map(|r| {
                let mut cells = serde_json::Map::new();
                let mut broken_by = serde_json::Map::new();
                for c in &r.cells {
                    cells.insert(c.class.name().to_string(), c.cell.name().into());
                    if c.cell == Cell::Broken {
                        broken_by.insert(
                            c.class.name().to_string(),
                            serde_json::json!({
                                "setup": c.setup,
                                "faults": c.faults,
                                "why": c.why,
                            }),
                        );
                    }
                }
                serde_json::json!({
                    "design": r.design,
                    "catalog_row": r.catalog_row,
                    "cells": cells,
                    "broken_by": broken_by,
                })
            })
            .collect();
        let doc = serde_json::json!({ "classes": classes, "rows": rows });
        let mut text = serde_json::to_string_pretty(&doc).unwrap_or_default();
        text.push('\n');
        text
    }
}
