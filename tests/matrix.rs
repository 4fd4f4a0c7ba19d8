//! `idemlab matrix` reproduces the catalog table of `shared/idempotency.md` by running it.
//!
//! `CATALOG` below is that table, transcribed cell by cell (✓ ~ ✗ —; row 10's "✗/✓" is the
//! ✓ of the default, which validates the payload, and the ✗ of `fingerprint = false`, checked
//! separately). The computed table must equal it except for the cells in `DISAGREEMENTS`,
//! where the simulator's verdict is pinned too, with the reason.

mod common;

use idemlab::fault::FaultClass;
use idemlab::handlers::{self, OptionValue, Options};
use idemlab::matrix::{self, Cell};

/// Rows 1–18 of the catalog, columns i–vii.
const CATALOG: [(&str, &str); 18] = [
    ("naive", "✓✗✗✗✗——"),
    ("put", "✓✓✓✓✓✓—"),
    ("conditional-write", "✓~✓~✓✓✓"),
    ("business-key", "✓~✓~✓✓✗"),
    ("check-then-act", "✓✓✓✗✓✗✗"),
    ("process-payment", "✓✓✓✗✗✗✗"),
    ("atomic-key", "✓✓✓~✗✗✗"),
    ("key-in-transaction", "✓✓✓~✓✗✓"),
    ("recovery-points", "✓✓✓~✓✗✓"),
    ("middleware", "✓✓✓~✗✗✓"),
    ("caches-errors", "✓✓✓~✓✗✓"),
    ("short-ttl", "✓✓✓~✓✗✓"),
    ("new-key-per-attempt", "✓✗✓✗✗——"),
    ("payload-hash", "✓✓✓✓✓✗—"),
    ("ack-first", "✓✗✗✓✗——"),
    ("process-then-ack", "✓✗✗✗✗——"),
    ("inbox", "✓✓✓✓✓✗✗"),
    ("outbox-inbox", "✓✓✓✓✓✗✗"),
];

/// Where the simulator disagrees with the catalog: (design, class, catalog, simulator, why).
const DISAGREEMENTS: [(&str, FaultClass, Cell, Cell, &str); 3] = [
    (
        "business-key",
        FaultClass::PayloadMismatch,
        Cell::Broken,
        Cell::Caution,
        "our business-key design answers 409 already-exists to any second use of the key, so a \
         corrected amount is refused loudly, not dropped silently; the catalog's ✗ is for a \
         design that answers 2xx on conflict (INSERT ... ON CONFLICT DO NOTHING)",
    ),
    (
        "recovery-points",
        FaultClass::CrashAfterEffect,
        Cell::Ok,
        Cell::Caution,
        "after a crash the claim stays in progress until its 100ms lease runs out, and the \
         client's retry at 70ms gets 409 before the one at 140ms takes over: exactly once, but \
         the client saw a 409; with `lease = \"50ms\"` the cell is ✓ (tested below)",
    ),
    (
        "caches-errors",
        FaultClass::CrashAfterEffect,
        Cell::Ok,
        Cell::Caution,
        "the same lease as recovery-points, which it is plus stored errors",
    ),
];

fn symbol_cell(c: char) -> Cell {
    match c {
        '✓' => Cell::Ok,
        '~' => Cell::Caution,
        '✗' => Cell::Broken,
        '—' => Cell::NotApplicable,
        other => panic!("not a catalog symbol: {other}"),
    }
}

#[test]
fn the_matrix_reproduces_the_catalog_table() {
    let entries: Vec<_> = handlers::entries()
        .iter()
        .filter(|e| e.row.is_some())
        .collect();
    assert_eq!(entries.len(), 18, "one design per catalog row");
    let m = matrix::run(&entries);
    let mut agreed = 0;
    for (row, (design, expected)) in m.rows.iter().zip(CATALOG) {
        assert_eq!(row.design, design, "rows in catalog order");
        for (class, symbol) in FaultClass::ALL.into_iter().zip(expected.chars()) {
            let catalog = symbol_cell(symbol);
            let got = row.cell(class).cell;
            match DISAGREEMENTS.iter().find(|d| d.0 == design && d.1 == class) {
                Some((_, _, said, sim, why)) => {
                    assert_eq!(catalog, *said, "{design} × {class}: the catalog says");
                    assert_eq!(got, *sim, "{design} × {class}: pinned disagreement ({why})");
                }
                None => {
                    assert_eq!(
                        got,
                        catalog,
                        "{design} × {class}: catalog {} but the simulator says {} ({}; {})",
                        catalog.symbol(),
                        got.symbol(),
                        row.cell(class).why,
                        row.cell(class).faults.join("; ")
                    );
                    agreed += 1;
                }
            }
        }
    }
    assert_eq!(agreed, 18 * 7 - DISAGREEMENTS.len());
}

#[test]
fn every_cell_that_is_not_ok_names_what_broke_it() {
    let entries: Vec<_> = handlers::entries().iter().collect();
    let m = matrix::run(&entries);
    for row in &m.rows {
        for c in &row.cells {
            if c.cell > Cell::Ok {
                assert!(!c.setup.is_empty(), "{} × {}", row.design, c.class);
                assert!(!c.why.is_empty(), "{} × {}", row.design, c.class);
            }
        }
    }
    // The shortest sequences are the catalog's minimal stories.
    let naive = &m.rows[0];
    assert_eq!(
        naive.cell(FaultClass::LostResponse).faults,
        ["drop the response to op 1 attempt 1"]
    );
    let seed = m
        .rows
        .iter()
        .find(|r| r.design == "process-payment")
        .unwrap();
    assert_eq!(
        seed.cell(FaultClass::CrashAfterEffect).faults,
        ["crash the server of op 1 attempt 1 after its `charge` step"]
    );
    assert_eq!(seed.cell(FaultClass::CrashAfterEffect).why, "duplicates 1");
    let ack_first = m.rows.iter().find(|r| r.design == "ack-first").unwrap();
    assert_eq!(ack_first.cell(FaultClass::CrashAfterEffect).why, "lost 1");
}

#[test]
fn options_move_the_cells_they_should() {
    // Row 10's ✗ half: without payload validation a reused key replays the old result.
    let mw = handlers::entry("middleware").unwrap();
    let mut options = Options::new();
    options.insert("fingerprint".into(), OptionValue::Bool(false));
    let with = matrix::cell_with(mw, &options, FaultClass::PayloadMismatch);
    assert_eq!(with.cell, Cell::Broken, "{}", with.why);
    assert_eq!(matrix::cell(mw, FaultClass::PayloadMismatch).cell, Cell::Ok);
    // A lease shorter than the client's retry interval takes a crashed claim over at once.
    let rp = handlers::entry("recovery-points").unwrap();
    let mut options = Options::new();
    options.insert(
        "lease".into(),
        OptionValue::Duration(idemlab::time::SimDuration::from_millis(50)),
    );
    let short = matrix::cell_with(rp, &options, FaultClass::CrashAfterEffect);
    assert_eq!(short.cell, Cell::Ok, "{}", short.why);
}

#[test]
fn the_json_is_the_documented_contract() {
    let root = common::root();
    let (code, out, err) = common::idemlab(&root, &["matrix", "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    let classes: Vec<&str> = doc["classes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert_eq!(
        classes,
        [
            "lost-request",
            "lost-response",
            "duplicate-delivery",
            "concurrent-retry",
            "crash-after-effect",
            "retry-after-expiry",
            "payload-mismatch"
        ]
    );
    let rows = doc["rows"].as_array().unwrap();
    assert_eq!(rows.len(), handlers::names().len());
    for row in rows {
        let cells = row["cells"].as_object().unwrap();
        assert_eq!(
            cells.keys().map(String::as_str).collect::<Vec<_>>(),
            classes
        );
        for (class, value) in cells {
            let v = value.as_str().unwrap();
            assert!(["ok", "caution", "broken", "n/a"].contains(&v), "{v}");
            let sequence = &row["broken_by"][class];
            assert_eq!(
                v == "broken",
                sequence.is_object(),
                "{} × {class}: a broken cell, and only one, has its sequence",
                row["design"]
            );
            if v == "broken" {
                assert!(sequence["faults"].is_array());
                assert!(sequence["why"].as_str().is_some_and(|w| !w.is_empty()));
            }
        }
    }
    assert_eq!(rows[0]["cells"]["lost-response"], "broken");
    assert_eq!(
        rows[0]["broken_by"]["lost-response"]["faults"][0],
        "drop the response to op 1 attempt 1"
    );
}

#[test]
fn text_and_csv_agree_with_json_and_bad_input_exits_2() {
    let root = common::root();
    let (code, text, _) = common::idemlab(&root, &["matrix", "--designs", "naive,inbox"]);
    assert_eq!(code, 0);
    assert!(text.contains("  1  naive  "), "{text}");
    assert!(
        text.contains("✗ naive × lost-response: 1 operation, the first response lost — drop the response to op 1 attempt 1 → duplicates 1"),
        "{text}"
    );
    let (code, csv, _) =
        common::idemlab(&root, &["matrix", "--designs", "naive", "--format", "csv"]);
    assert_eq!(code, 0);
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(records.len(), 7, "one row per class");
    assert_eq!(&records[1][2], "lost-response");
    assert_eq!(&records[1][3], "broken");
    let (code, _, err) = common::idemlab(&root, &["matrix", "--designs", "naive,atomic_key"]);
    assert_eq!(code, 2);
    assert!(err.contains("did you mean `atomic-key`?"), "{err}");
    let (code, _, err) = common::idemlab(&root, &["matrix", "--format", "yaml"]);
    assert_eq!(code, 2, "{err}");
}

#[test]
fn the_matrix_is_deterministic() {
    let root = common::root();
    let (_, a, _) = common::idemlab(&root, &["matrix", "--format", "json"]);
    let (_, b, _) = common::idemlab(&root, &["matrix", "--format", "json"]);
    assert_eq!(a, b);
}

/// `--out` writes the table to a file (atomically, through a temporary file) and says where.
#[test]
fn the_matrix_can_be_written_to_a_file() {
    let root = common::root();
    let dir = std::env::temp_dir().join(format!("idemlab-matrix-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("matrix.json");
    std::fs::write(&path, "what the user had").unwrap();
    let (code, out, err) = common::idemlab(
        &root,
        &[
            "matrix",
            "--designs",
            "naive,inbox",
            "--format",
            "json",
            "--out",
            path.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("wrote"), "{out}");
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(doc["rows"].as_array().unwrap().len(), 2);
    // No temporary file is left beside it.
    let left: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
    assert_eq!(left.len(), 1);
    let _ = std::fs::remove_dir_all(&dir);
}
