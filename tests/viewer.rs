//! The book's run viewer (`book/theme/viewer.js`) and the TUI show a run the same way: both
//! align the designs' events in rows by (simulated time, rank at that time), and each key the
//! viewer knows means there what it means in the TUI. The viewer's pure parts (`alignRows`,
//! `KEYS`) run in Node.js on runs `idemlab export` wrote; the TUI's (`tui::align_rows` on the
//! simulator's own traces, `msg_for_key`) in this process.
//!
//! Node.js is installed by `.ci/run`, which sets `IDEMLAB_REQUIRE_BROWSER=1`: there a missing
//! `node` fails the test; elsewhere the test says so and skips.

use std::process::{Command, Stdio};

use idemlab::fault::FaultPlan;
use idemlab::handlers;
use idemlab::scenario::Scenario;
use idemlab::tui::app::{App, Msg, WhatIf, msg_for_key};
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

mod common;

/// Runs `script` in Node.js with `viewer.js` loaded as `v`; its stdout, parsed as JSON. `None`
/// when Node.js is missing (and not required).
fn node(script: &str) -> Option<serde_json::Value> {
    let viewer = common::root().join("book/theme/viewer.js");
    let program = format!(
        "const v = require({:?});\n{script}",
        viewer.to_str().unwrap()
    );
    let out = match Command::new("node")
        .arg("-e")
        .arg(program)
        .stderr(Stdio::inherit())
        .output()
    {
        Ok(out) => out,
        Err(e) => {
            common::skip(
                "IDEMLAB_REQUIRE_BROWSER",
                &format!("this test needs node (apt-get install nodejs): {e}"),
            );
            return None;
        }
    };
    assert!(out.status.success(), "node failed");
    Some(serde_json::from_slice(&out.stdout).expect("node printed JSON"))
}

/// `idemlab export NAME ARGS` into `dir/NAME.json`; the file's path.
fn export(dir: &std::path::Path, name: &str, args: &[&str]) -> std::path::PathBuf {
    let path = dir.join(format!("{name}.json"));
    let status = Command::new(env!("CARGO_BIN_EXE_idemlab"))
        .arg("export")
        .arg(name)
        .args(args)
        .arg("--out")
        .arg(&path)
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "export {name}");
    path
}

fn bundled(name: &str) -> Scenario {
    idemlab::scenario::BUNDLED
        .iter()
        .find(|(n, _)| n.strip_suffix(".toml") == Some(name))
        .map(|(n, text)| idemlab::scenario::parse(text, n).unwrap())
        .unwrap_or_else(|| panic!("no bundled scenario {name}"))
}

#[test]
fn the_viewer_and_the_tui_align_the_same_export_the_same_way() {
    // In the target directory: nothing left in /tmp.
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("viewer-alignment");
    std::fs::create_dir_all(&dir).unwrap();
    let mut compared = 0;
    for name in [
        "lost-response",
        "crash-after-charge",
        "default",
        "queue-redelivery",
    ] {
        let scenario = bundled(name);
        let path = export(&dir, name, &["--what-ifs", "0"]);
        let script = format!(
            "const data = JSON.parse(require('fs').readFileSync({:?}, 'utf8'));\n\
             const rows = v.alignRows(data.designs.map((d) => ({{ events: d.run.events }})));\n\
             console.log(JSON.stringify(rows.map((r) => r.at)));",
            path.to_str().unwrap()
        );
        let Some(js) = node(&script) else { return };
        let js: Vec<Vec<i64>> = serde_json::from_value(js).unwrap();

        // The TUI's rows, from the simulator's own traces of the same runs.
        let times: Vec<Vec<u64>> = scenario
            .designs
            .iter()
            .map(|d| {
                let design = handlers::lookup(d).unwrap();
                let run = idemlab::world::run(
                    &scenario,
                    design.as_ref(),
                    scenario.seed,
                    &FaultPlan::default(),
                );
                run.trace.iter().map(|e| e.time_us).collect()
            })
            .collect();
        let tui: Vec<Vec<i64>> = idemlab::tui::align_rows(&times)
            .into_iter()
            .map(|row| {
                row.into_iter()
                    .map(|i| i.map_or(-1, |i| i as i64))
                    .collect()
            })
            .collect();
        assert!(
            tui.len() > 10 && tui.iter().any(|r| r.contains(&-1)),
            "{name}: a comparison worth making has runs that part ({} rows)",
            tui.len()
        );
        if let Some(row) = (0..tui.len().max(js.len())).find(|&r| tui.get(r) != js.get(r)) {
            panic!(
                "{name}: row {row} differs: the TUI has {:?}, the viewer {:?}",
                tui.get(row),
                js.get(row)
            );
        }
        compared += tui.len();
    }
    assert!(compared > 100, "only {compared} rows compared");
}

#[test]
fn every_key_of_the_viewer_means_in_the_tui_what_it_means_in_the_viewer() {
    let Some(keys) = node("console.log(JSON.stringify(v.KEYS));") else {
        return;
    };
    let keys = keys.as_object().unwrap();
    let app = App::new(bundled("lost-response"), 1, None).unwrap();
    for (key, action) in keys {
        let code = match key.as_str() {
            "ArrowRight" => KeyCode::Right,
            "ArrowLeft" => KeyCode::Left,
            "PageDown" => KeyCode::PageDown,
            "PageUp" => KeyCode::PageUp,
            "Home" => KeyCode::Home,
            "End" => KeyCode::End,
            "Tab" => KeyCode::Tab,
            k if k.chars().count() == 1 => KeyCode::Char(k.chars().next().unwrap()),
            other => panic!("the viewer knows a key this test does not: {other}"),
        };
        let name = action[0].as_str().unwrap();
        let expected = match name {
            "play" => Msg::TogglePlay,
            "step" => Msg::Step(action[1].as_i64().unwrap()),
            "home" => Msg::Home,
            "end" => Msg::End,
            "faster" => Msg::Faster,
            "slower" => Msg::Slower,
            "focus" => Msg::FocusNext,
            "clear" => Msg::ClearWhatIf,
            "whatif" => Msg::WhatIf(match action[1].as_str().unwrap() {
                "drop" => WhatIf::Drop,
                "duplicate" => WhatIf::Duplicate,
                "crash" => WhatIf::Crash,
                other => panic!("unknown what-if {other}"),
            }),
            other => panic!("the viewer has an action this test does not know: {other}"),
        };
        let got = msg_for_key(&app, KeyEvent::new(code, KeyModifiers::NONE));
        assert_eq!(
            got,
            Some(expected),
            "`{key}` does `{name}` in the viewer, something else in the TUI"
        );
    }
    assert!(keys.len() >= 15, "the viewer has {} keys", keys.len());
}

/// The viewer puts a what-if back together from its spans (`materialize`) as the export's own
/// `export::materialize` does, which a unit test holds to the what-if's whole run: every event
/// and counter row of every what-if of three exports.
#[test]
fn the_viewer_puts_every_what_if_back_together_as_the_export_does() {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("viewer-materialize");
    std::fs::create_dir_all(&dir).unwrap();
    let mut compared = 0;
    for name in ["lost-response", "crash-after-charge", "default"] {
        let scenario = bundled(name);
        let path = export(&dir, name, &[]);
        let script = format!(
            "const data = JSON.parse(require('fs').readFileSync({:?}, 'utf8'));\n\
             console.log(JSON.stringify(data.designs.map((d) => d.what_ifs.map((w) => {{\n\
                 const m = v.materialize(d.run, w);\n\
                 return [m.events, m.progress];\n\
             }}))));",
            path.to_str().unwrap()
        );
        let Some(js) = node(&script) else { return };

        let designs: Vec<Box<dyn idemlab::handlers::Design>> = scenario
            .designs
            .iter()
            .map(|d| handlers::lookup(d).unwrap())
            .collect();
        let limits = idemlab::export::Limits {
            what_ifs: 200,
            max_bytes: 64_000_000,
        };
        let stop = std::sync::atomic::AtomicBool::new(false);
        let export =
            idemlab::export::export(&scenario, &designs, scenario.seed, limits, &stop).unwrap();
        let rust: Vec<Vec<serde_json::Value>> = export
            .designs
            .iter()
            .map(|d| {
                d.what_ifs
                    .iter()
                    .map(|w| {
                        serde_json::to_value(idemlab::export::materialize(&d.run, &w.run)).unwrap()
                    })
                    .collect()
            })
            .collect();
        let js: Vec<Vec<serde_json::Value>> = serde_json::from_value(js).unwrap();
        assert_eq!(rust.len(), js.len());
        for (d, (r, j)) in rust.iter().zip(&js).enumerate() {
            assert_eq!(r.len(), j.len());
            for (w, (a, b)) in r.iter().zip(j).enumerate() {
                assert!(
                    a == b,
                    "{name}: design {d}, what-if {w}: the viewer's differs"
                );
                compared += 1;
            }
        }
    }
    assert!(compared > 300, "{compared} what-ifs compared");
    std::fs::remove_dir_all(&dir).unwrap();
}
