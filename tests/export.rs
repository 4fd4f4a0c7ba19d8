//! `idemlab export`, the run viewer's input: its contract (docs/export-schema.md), its
//! what-ifs, its errors.

use serde_json::Value;

mod common;

fn export(args: &[&str]) -> (i32, String, String, Option<Value>) {
    // A directory of its own per call: the tests run at once and export the same scenario.
    static CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("idemlab-export-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("run.json");
    let mut all = vec!["export"];
    all.extend_from_slice(args);
    all.extend(["--out", out.to_str().unwrap()]);
    let (code, stdout, stderr) = common::idemlab(&common::root(), &all);
    let json = std::fs::read_to_string(&out)
        .ok()
        .map(|t| serde_json::from_str(&t).expect("the export is JSON"));
    let _ = std::fs::remove_dir_all(&dir);
    (code, stdout, stderr, json)
}

fn design<'a>(doc: &'a Value, name: &str) -> &'a Value {
    doc["designs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == name)
        .unwrap_or_else(|| panic!("no design {name}"))
}

#[test]
fn the_export_follows_its_schema_and_is_the_same_every_time() {
    let (code, stdout, stderr, doc) = export(&["lost-response"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.starts_with("wrote "), "{stdout}");
    let doc = doc.unwrap();
    assert_eq!(doc["schema_version"], 2);
    assert_eq!(doc["scenario"]["name"], "lost-response");
    assert_eq!(
        doc["scenario"]["lanes"],
        serde_json::json!(["client0", "network", "server0", "store", "provider"])
    );
    assert_eq!(doc["designs"].as_array().unwrap().len(), 3);
    for d in doc["designs"].as_array().unwrap() {
        let run = &d["run"];
        let events = run["events"].as_array().unwrap();
        assert_eq!(run["from"], 0);
        assert_eq!(events.len(), run["progress"].as_array().unwrap().len());
        for e in events {
            let e = e.as_array().unwrap();
            assert_eq!(
                e.len(),
                9,
                "an event is [t, from, to, symbol, tone, label, line, alarm, op]"
            );
            let lanes = doc["scenario"]["lanes"].as_array().unwrap().len() as u64;
            assert!(e[1].as_u64().unwrap() < lanes && e[2].as_u64().unwrap() < lanes);
        }
        // Times never go back; the last counters are the final metrics.
        let times: Vec<u64> = events.iter().map(|e| e[0].as_u64().unwrap()).collect();
        assert!(times.windows(2).all(|w| w[0] <= w[1]));
        // The ledger holds every effect: as many as the metrics count, charges adding up.
        let ledger = run["ledger"].as_array().unwrap();
        let charged: u64 = ledger
            .iter()
            .filter(|l| l[2] == "charge")
            .map(|l| l[3].as_u64().unwrap())
            .sum();
        assert_eq!(
            charged,
            run["metrics"]["charged"].as_u64().unwrap(),
            "{}",
            d["name"]
        );
        let last = run["progress"].as_array().unwrap().last().unwrap();
        assert_eq!(last[2], run["metrics"]["duplicates"], "{}", d["name"]);
        assert_eq!(last[7], run["metrics"]["charged"], "{}", d["name"]);
        for w in d["what_ifs"].as_array().unwrap() {
            let at = w["at"].as_u64().unwrap() as usize;
            assert!(at < events.len());
            let from = w["run"]["from"].as_u64().unwrap() as usize;
            assert!(from <= events.len() + w["run"]["events"].as_array().unwrap().len());
            if w["differs"] == true {
                // A what-if differs at or after the event it was asked at.
                assert!(from >= at, "{} at {at} differs at {from}", w["fault"]);
            }
        }
    }
    // The same bytes again.
    let (_, _, _, again) = export(&["lost-response"]);
    assert!(
        Some(&doc) == again.as_ref(),
        "two exports of lost-response differ"
    );
}

/// The lost response's "what if it had arrived?" is naive without its duplicate; the keyed
/// designs were exactly-once either way.
#[test]
fn undoing_the_scenarios_own_fault_removes_naives_duplicate() {
    let (_, _, _, doc) = export(&["lost-response"]);
    let doc = doc.unwrap();
    let naive = design(&doc, "naive");
    assert_eq!(naive["run"]["metrics"]["duplicates"], 1);
    let undo: Vec<&Value> = naive["what_ifs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w["kind"] == "undo")
        .collect();
    assert_eq!(undo.len(), 1, "one fault in the plan, one undo");
    let w = undo[0];
    assert_eq!(w["title"], "what if this response had arrived?");
    assert_eq!(w["fault"], "drop the response to op 2 attempt 1");
    assert_eq!(w["differs"], true);
    assert_eq!(w["run"]["metrics"]["duplicates"], 0);
    assert_eq!(w["run"]["metrics"]["charged"], 500);
    // It is asked at the lost response itself.
    let at = w["at"].as_u64().unwrap() as usize;
    let event = &naive["run"]["events"][at];
    // Its label says what happened first: a label cut to its column still says it.
    assert!(
        event[5]
            .as_str()
            .unwrap()
            .starts_with("LOST op2.1 response"),
        "{event}"
    );
    for keyed in ["process-payment", "atomic-key"] {
        let d = design(&doc, keyed);
        assert_eq!(d["run"]["metrics"]["duplicates"], 0);
        let drop_first_request = d["what_ifs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|w| w["kind"] == "drop" && w["fault"] == "drop the request of op 1 attempt 1")
            .expect("every request can be dropped");
        assert_eq!(drop_first_request["run"]["metrics"]["duplicates"], 0);
    }
}

#[test]
fn what_ifs_are_capped_and_the_cap_says_how_many_it_left_out() {
    let (code, stdout, stderr, doc) = export(&["lost-response", "--what-ifs", "3"]);
    assert_eq!(code, 0, "{stderr}");
    let doc = doc.unwrap();
    let naive = design(&doc, "naive");
    let kept = naive["what_ifs"].as_array().unwrap();
    assert_eq!(kept.len(), 3);
    assert_eq!(
        kept.iter().filter(|w| w["kind"] == "undo").count(),
        1,
        "undo comes first"
    );
    assert!(naive["what_ifs_left_out"].as_u64().unwrap() > 0);
    assert!(stdout.contains("left out by --what-ifs 3"), "{stdout}");
}

#[test]
fn bad_input_is_one_line_and_exit_2() {
    for (args, needle) in [
        (
            vec!["export", "lost-response", "--out", "run.txt"],
            "expected a file ending in .json",
        ),
        (
            vec!["export", "no-such-scenario", "--out", "run.json"],
            "no scenario file",
        ),
        (
            vec![
                "export",
                "lost-response",
                "--designs",
                "nope",
                "--out",
                "run.json",
            ],
            "unknown design",
        ),
        (
            vec![
                "export",
                "lost-response",
                "--out",
                "/nonexistent-dir/run.json",
            ],
            "run.json",
        ),
        (
            vec![
                "export",
                "default",
                "--max-size",
                "100KB",
                "--out",
                "run.json",
            ],
            "the designs' runs alone are",
        ),
        (
            vec![
                "export",
                "default",
                "--max-size",
                "5XB",
                "--out",
                "run.json",
            ],
            "unknown unit `XB`",
        ),
    ] {
        let (code, _, stderr) = common::idemlab(&std::env::temp_dir(), &args);
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "{args:?}: {stderr}");
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
    }
}

/// The scenario's own crash offers "what if the server had not crashed here?" at the crash
/// itself, and without it process-payment charges once; a duplicate's label starts with the
/// word.
#[test]
fn the_scenarios_own_crash_can_be_undone_at_the_crash() {
    let (_, _, _, doc) = export(&["crash-after-charge"]);
    let doc = doc.unwrap();
    let d = design(&doc, "process-payment");
    assert_eq!(d["run"]["metrics"]["duplicates"], 1);
    let events = d["run"]["events"].as_array().unwrap();
    assert!(
        events.iter().any(|e| e[5]
            .as_str()
            .unwrap()
            .starts_with("DUPLICATE op1.3 charge 100")),
        "a duplicate's label starts with DUPLICATE"
    );
    let undo: Vec<&Value> = d["what_ifs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w["kind"] == "undo")
        .collect();
    assert_eq!(undo.len(), 1, "one crash in the plan, one undo");
    let w = undo[0];
    assert_eq!(w["title"], "what if the server had not crashed here?");
    let at = w["at"].as_u64().unwrap() as usize;
    assert!(
        events[at][5].as_str().unwrap().starts_with("CRASH op1.1"),
        "asked at the crash: {}",
        events[at]
    );
    assert_eq!(w["run"]["metrics"]["duplicates"], 0);
    // The legend the viewer shows is the TUI's list of symbols.
    let legend = doc["scenario"]["legend"].as_array().unwrap();
    assert_eq!(legend.len(), idemlab::diagram::HELP_SYMBOLS.len());
    assert!(legend.iter().any(|l| l[0] == "⇉"));
}

/// The size limit leaves out what-ifs, in their order of interest, until the rest fit; the
/// file is never larger than it.
#[test]
fn the_size_limit_leaves_what_ifs_out_and_the_file_within_it() {
    let (code, stdout, stderr, doc) = export(&["default", "--max-size", "2MB"]);
    assert_eq!(code, 0, "{stderr}");
    let doc = doc.unwrap();
    let bytes: u64 = stdout
        .trim()
        .rsplit(" · ")
        .next()
        .and_then(|b| b.strip_suffix(" bytes"))
        .and_then(|b| b.parse().ok())
        .unwrap_or_else(|| panic!("{stdout}"));
    assert!(bytes <= 2_000_000, "{bytes} bytes");
    assert!(
        stdout.contains("left out by --what-ifs 200 and --max-size 2MB"),
        "{stdout}"
    );
    for d in doc["designs"].as_array().unwrap() {
        let kept = d["what_ifs"].as_array().unwrap();
        assert!(!kept.is_empty() && d["what_ifs_left_out"].as_u64().unwrap() > 0);
    }
    let (_, _, _, whole) = export(&["default"]);
    let whole = whole.unwrap();
    assert_eq!(doc["designs"][0]["run"], whole["designs"][0]["run"]);
}

/// A signal while a large export runs: the program stops within a second with the signal's
/// exit code, and leaves no file, not even its temporary.
#[test]
fn a_signal_stops_an_export_and_leaves_nothing_behind() {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("export-signal");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let text = std::fs::read_to_string(common::root().join("scenarios/default.toml"))
        .unwrap()
        .replace("ops = 20\n", "ops = 2000\n");
    let scenario = dir.join("big.toml");
    std::fs::write(&scenario, text).unwrap();
    let out = dir.join("run.json");
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_idemlab"))
        .args([
            "export",
            scenario.to_str().unwrap(),
            "--max-size",
            "1GB",
            "--out",
        ])
        .arg(&out)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let sent = std::time::Instant::now();
    std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let output = child.wait_with_output().unwrap();
    let took = sent.elapsed();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(143), "{stderr}");
    assert!(stderr.contains("not written"), "{stderr}");
    assert!(
        took < std::time::Duration::from_secs(1),
        "answered after {took:?}"
    );
    let left: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        left,
        vec!["big.toml".to_string()],
        "only the scenario is left"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
