//! The book in `book/` stays true: every quoted output is what the program prints now, every
//! included listing and every internal link resolves, every chapter is in the summary, and
//! every part of the topic has a chapter section and a runnable scenario.
//!
//! `IDEMLAB_BLESS=1 cargo test --test book` rewrites the quoted outputs from the program;
//! review the diff.

mod common;

use std::path::PathBuf;

fn book_src() -> PathBuf {
    common::root().join("book/src")
}

fn chapters() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(book_src())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_quoted_output_in_the_book_is_current() {
    let root = common::root();
    let mut checked = 0;
    let mut stale = Vec::new();
    for path in chapters() {
        let text = std::fs::read_to_string(&path).unwrap();
        let (fresh, n) = common::refresh_quoted_outputs(&root, &text);
        checked += n;
        if fresh != text {
            if std::env::var_os("IDEMLAB_BLESS").is_some() {
                std::fs::write(&path, &fresh).unwrap();
            } else {
                stale.push(format!(
                    "{}: {}",
                    path.display(),
                    common::first_line_difference(&text, &fresh)
                ));
            }
        }
    }
    assert!(checked >= 30, "the book quotes only {checked} outputs");
    assert!(
        stale.is_empty(),
        "stale quotes (IDEMLAB_BLESS=1 cargo test --test book rewrites them):\n{}",
        stale.join("\n")
    );
}

/// `{{#include PATH}}` and `{{#include PATH:ANCHOR}}`, relative to the chapter.
fn includes(text: &str) -> Vec<(String, Option<String>)> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{#include ") {
        let after = &rest[start + "{{#include ".len()..];
        let end = after.find("}}").expect("an include ends with }}");
        let spec = after[..end].trim();
        let (path, anchor) = match spec.rsplit_once(':') {
            Some((p, a)) if !a.contains('/') && !a.ends_with(".md") => {
                (p.to_string(), Some(a.to_string()))
            }
            _ => (spec.to_string(), None),
        };
        out.push((path, anchor));
        rest = &after[end..];
    }
    out
}

#[test]
fn every_included_listing_resolves_to_a_file_and_anchor() {
    let mut count = 0;
    for chapter in chapters() {
        let text = std::fs::read_to_string(&chapter).unwrap();
        for (path, anchor) in includes(&text) {
            let file = chapter.parent().unwrap().join(&path);
            let body = std::fs::read_to_string(&file).unwrap_or_else(|_| {
                panic!("{}: includes missing {}", chapter.display(), file.display())
            });
            if let Some(anchor) = anchor {
                let start = format!("ANCHOR: {anchor}");
                let end = format!("ANCHOR_END: {anchor}");
                assert!(
                    body.contains(&start) && body.contains(&end),
                    "{}: {} has no anchor {anchor}",
                    chapter.display(),
                    file.display()
                );
            }
            count += 1;
        }
    }
    assert!(count >= 15, "only {count} includes");
}

/// Markdown links `](target)` that are not URLs or pure fragments.
fn local_links(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("](") {
        let after = &rest[i + 2..];
        let Some(end) = after.find(')') else { break };
        let target = &after[..end];
        if !target.contains("://") && !target.starts_with('#') && !target.starts_with("mailto:") {
            out.push(target.split('#').next().unwrap_or("").to_string());
        }
        rest = &after[end..];
    }
    out
}

#[test]
fn every_internal_link_resolves_and_every_chapter_is_in_the_summary() {
    let src = book_src();
    let summary = std::fs::read_to_string(src.join("SUMMARY.md")).unwrap();
    let listed: Vec<String> = local_links(&summary);
    for chapter in chapters() {
        let name = chapter.file_name().unwrap().to_string_lossy().to_string();
        if name != "SUMMARY.md" {
            assert!(listed.contains(&name), "{name} is not in SUMMARY.md");
        }
        let text = std::fs::read_to_string(&chapter).unwrap();
        // The scenario reference includes scenarios/README.md, whose links are relative to it.
        for link in local_links(&text) {
            let target = chapter.parent().unwrap().join(&link);
            assert!(
                target.exists(),
                "{}: broken link to {link}",
                chapter.display()
            );
        }
    }
    for link in &listed {
        assert!(src.join(link).exists(), "SUMMARY.md lists missing {link}");
    }
}

/// The parts of the topic outline, each with the chapter (and heading) that teaches it and the
/// scenarios that let a reader run it.
const TOPIC: &[(&str, &str, &str, &[&str])] = &[
    (
        "What is Idempotency?",
        "what-is-idempotency.md",
        "# What is idempotency?",
        &["what-is-idempotency"],
    ),
    (
        "Network failures",
        "why-it-matters.md",
        "## Network failures",
        &["network-failure"],
    ),
    ("Timeouts", "why-it-matters.md", "## Timeouts", &["timeout"]),
    (
        "Client retries",
        "why-it-matters.md",
        "## Client retries",
        &["client-retry"],
    ),
    (
        "Message queue redelivery",
        "why-it-matters.md",
        "## Message-queue redelivery",
        &["queue-redelivery"],
    ),
    (
        "HTTP Methods",
        "idempotent-operations.md",
        "## HTTP methods",
        &["http-methods", "row02-put-reordering"],
    ),
    (
        "Database Operations",
        "idempotent-operations.md",
        "## Database operations",
        &["sql-set-vs-increment", "conditional-write"],
    ),
    (
        "Idempotency Keys",
        "idempotency-keys.md",
        "# Implementing idempotency keys",
        &[
            "lost-response",
            "slow-server-race",
            "crash-after-charge",
            "row09-recovery-points",
        ],
    ),
    (
        "Idempotency in APIs",
        "idempotency-in-apis.md",
        "# Idempotency in APIs",
        &["create-order-api", "idempotency-key-errors", "missing-key"],
    ),
    (
        "Best Practices",
        "best-practices.md",
        "# Best practices",
        &["row01-naive-post", "stored-responses", "key-expiry"],
    ),
    (
        "Common Patterns",
        "common-patterns.md",
        "# Common patterns",
        &["row13-new-key-per-attempt", "dedup-table", "middleware"],
    ),
    (
        "Retries and DLQ",
        "retries-and-dlq.md",
        "# Retries, backoff and dead-letter queues",
        &[
            "retry-amplification",
            "dead-letter-queue",
            "dlq-redrive-after-ttl",
            "fifo-dedup",
        ],
    ),
];

#[test]
fn every_part_of_the_topic_has_a_section_and_a_runnable_scenario() {
    let src = book_src();
    for (part, chapter, heading, scenarios) in TOPIC {
        let text = std::fs::read_to_string(src.join(chapter)).unwrap();
        assert!(
            text.lines().any(|l| l == *heading),
            "{part}: {chapter} has no `{heading}`"
        );
        for name in *scenarios {
            assert!(
                text.contains(&format!("idemlab compare {name}"))
                    || text.contains(&format!("idemlab run {name}")),
                "{part}: {chapter} never runs `{name}`"
            );
            assert!(
                matches!(idemlab::scenario::bundled(name), Some(Ok(_))),
                "{part}: `{name}` is not a bundled scenario"
            );
        }
    }
}

#[test]
fn the_book_builds_with_mdbook_when_it_is_installed() {
    // CI installs mdbook and builds the book itself (`.ci/run`); here, build it when the tool
    // is on the machine, so that a broken include or summary fails `cargo test` too.
    // In the target directory, which cargo keeps for tests: nothing left in /tmp.
    let Ok(out) = std::process::Command::new("mdbook")
        .args(["build", "book", "--dest-dir"])
        .arg(std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("idemlab-book-test"))
        .current_dir(common::root())
        .output()
    else {
        common::skip(
            "IDEMLAB_REQUIRE_BROWSER",
            "mdbook is not installed (cargo install mdbook --locked)",
        );
        return;
    };
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "mdbook build failed:\n{stderr}");
    for warning in ["WARN", "ERROR"] {
        assert!(!stderr.contains(warning), "mdbook complained:\n{stderr}");
    }
}

/// The sequence diagrams in the book, drawn by `idemlab run --svg`: (file, scenario, design).
const DIAGRAMS: &[(&str, &str, &str)] = &[
    ("seq-lost-response-naive.svg", "row01-naive-post", "naive"),
    (
        "seq-crash-process-payment.svg",
        "crash-after-charge",
        "process-payment",
    ),
    (
        "seq-crash-recovery-points.svg",
        "row09-recovery-points",
        "recovery-points",
    ),
    (
        "seq-race-check-then-act.svg",
        "row05-check-then-act",
        "check-then-act",
    ),
    (
        "seq-race-key-in-transaction.svg",
        "row05-check-then-act",
        "key-in-transaction",
    ),
    (
        "seq-dlq-outbox-inbox.svg",
        "dead-letter-queue",
        "outbox-inbox",
    ),
];

/// Every chapter's text, one after the other.
fn book_text() -> String {
    chapters()
        .iter()
        .map(|c| std::fs::read_to_string(c).unwrap())
        .collect()
}

/// Checks a picture the book shows: a whole SVG, the same as `path` (which
/// `IDEMLAB_BLESS=1` rewrites), and shown by some chapter (`book` is every chapter's text).
fn check_generated_svg(path: &std::path::Path, svg: &str, book: &str) {
    let file = path.file_name().unwrap().to_string_lossy();
    assert!(
        svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"),
        "{file}: not a whole SVG"
    );
    assert_eq!(
        svg.matches("<text").count(),
        svg.matches("</text>").count(),
        "{file}: unbalanced text elements"
    );
    if std::env::var_os("IDEMLAB_BLESS").is_some() {
        std::fs::write(path, svg).unwrap();
    } else {
        let quoted = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            quoted == svg,
            "{} is stale (IDEMLAB_BLESS=1 cargo test --test book rewrites it)",
            path.display()
        );
    }
    assert!(
        book.contains(&format!("(generated/{file})")),
        "no chapter shows {file}"
    );
}

/// The sweep charts in the book, drawn by `idemlab sweep --plot`: (file, arguments after
/// `sweep`, without `--out` and `--plot`). The chapter shows the same command.
const SWEEP_CHARTS: &[(&str, &[&str])] = &[(
    "sweep-timeout.svg",
    &[
        "timeout",
        "--param",
        "client.retry.timeout=10ms:100ms:10ms",
        "--seeds",
        "20",
    ],
)];

#[test]
fn the_books_sweep_charts_are_current_and_shown() {
    let root = common::root();
    let generated = book_src().join("generated");
    let tmp = std::env::temp_dir().join(format!("idemlab-book-sweep-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let book = book_text();
    for (file, args) in SWEEP_CHARTS {
        let (csv, svg_path) = (tmp.join("sweep.csv"), tmp.join(file));
        let mut all: Vec<&str> = vec!["sweep"];
        all.extend_from_slice(args);
        all.extend(["--out", csv.to_str().unwrap()]);
        all.extend(["--plot", svg_path.to_str().unwrap()]);
        let (code, _, err) = common::idemlab(&root, &all);
        assert_eq!(code, 0, "{err}");
        let svg = std::fs::read_to_string(&svg_path).unwrap();
        check_generated_svg(&generated.join(file), &svg, &book);
        // The chapter quotes the command that draws it.
        let command = format!("idemlab sweep {}", args.join(" "));
        assert!(
            book.contains(&command),
            "no chapter quotes `{command}` for {file}"
        );
    }
    let _ = std::fs::remove_dir_all(&tmp);
}

#[test]
fn the_books_sequence_diagrams_are_current_and_shown() {
    let root = common::root();
    let generated = book_src().join("generated");
    let tmp = std::env::temp_dir().join(format!("idemlab-book-svg-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let book = book_text();
    for (file, scenario, design) in DIAGRAMS {
        let out = tmp.join(file);
        let (code, _, err) = common::idemlab(
            &root,
            &[
                "run",
                scenario,
                "--design",
                design,
                "--svg",
                out.to_str().unwrap(),
            ],
        );
        assert_eq!(code, 0, "{err}");
        let svg = std::fs::read_to_string(&out).unwrap();
        check_generated_svg(&generated.join(file), &svg, &book);
    }
    let _ = std::fs::remove_dir_all(&tmp);
}

/// The runs the book's viewer plays, written by `idemlab export` into
/// `book/src/generated/runs/NAME.js`: (scenario, arguments after the scenario, without `--out`).
/// A larger scenario gets fewer what-ifs, so that a page stays under a megabyte.
const VIEWER_RUNS: &[(&str, &[&str])] = &[
    ("lost-response", &[]),
    ("what-is-idempotency", &["--what-ifs", "40"]),
    ("row01-naive-post", &[]),
    ("row02-put-reordering", &[]),
    ("crash-after-charge", &[]),
    ("row05-check-then-act", &[]),
    ("key-expiry", &[]),
    ("dedup-table", &[]),
    ("dead-letter-queue", &[]),
    ("retry-outlives-key", &[]),
];

/// `<div class="idemlab-viewer" data-run="NAME">` in a chapter, each with the script that
/// registers its run before it.
fn viewers(text: &str) -> Vec<String> {
    const MARK: &str = r#"<div class="idemlab-viewer" data-run=""#;
    text.match_indices(MARK)
        .filter_map(|(i, _)| {
            let rest = &text[i + MARK.len()..];
            rest.find('"').map(|end| rest[..end].to_string())
        })
        .collect()
}

#[test]
fn the_viewers_runs_are_current_and_every_one_is_played() {
    let root = common::root();
    let runs = book_src().join("generated/runs");
    let tmp = std::env::temp_dir().join(format!("idemlab-book-runs-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let bless = std::env::var_os("IDEMLAB_BLESS").is_some();
    let mut stale = Vec::new();
    for (scenario, args) in VIEWER_RUNS {
        let out = tmp.join(format!("{scenario}.js"));
        let mut all = vec!["export", scenario];
        all.extend_from_slice(args);
        all.extend(["--out", out.to_str().unwrap()]);
        let (code, _, err) = common::idemlab(&root, &all);
        assert_eq!(code, 0, "idemlab {}: {err}", all.join(" "));
        let fresh = std::fs::read_to_string(&out).unwrap();
        let path = runs.join(format!("{scenario}.js"));
        assert!(
            fresh.len() < 1 << 20,
            "{scenario}'s export is {} bytes",
            fresh.len()
        );
        if bless {
            std::fs::create_dir_all(&runs).unwrap();
            std::fs::write(&path, &fresh).unwrap();
        } else if std::fs::read_to_string(&path).unwrap_or_default() != fresh {
            stale.push(path.display().to_string());
        }
    }
    let _ = std::fs::remove_dir_all(&tmp);
    assert!(
        stale.is_empty(),
        "stale viewer runs (IDEMLAB_BLESS=1 cargo test --test book rewrites them): {}",
        stale.join(", ")
    );
    // Every viewer's run is exported, loaded by the chapter, and every export is played.
    let mut played = std::collections::BTreeSet::new();
    for chapter in chapters() {
        let text = std::fs::read_to_string(&chapter).unwrap();
        for name in viewers(&text) {
            assert!(
                VIEWER_RUNS.iter().any(|(s, _)| *s == name),
                "{} plays `{name}`, which VIEWER_RUNS does not export",
                chapter.display()
            );
            let script = format!(r#"<script src="generated/runs/{name}.js"></script>"#);
            let at = text.find(&format!(r#"data-run="{name}""#)).unwrap();
            assert!(
                text[..at].contains(&script),
                "{} plays `{name}` without loading {script} before it",
                chapter.display()
            );
            played.insert(name);
        }
    }
    for (scenario, _) in VIEWER_RUNS {
        assert!(played.contains(*scenario), "no chapter plays {scenario}");
    }
    let files: Vec<_> = std::fs::read_dir(&runs)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    for f in &files {
        assert!(
            VIEWER_RUNS.iter().any(|(s, _)| format!("{s}.js") == *f),
            "{f} in generated/runs is exported by nothing"
        );
    }
}

/// A live run's masked figures are the timing ones; its verdicts are compared as printed.
#[test]
fn live_masking_keeps_the_verdicts() {
    let a = "live p   3   5   4   1   0\n5 requests sent, 3 answered, 4 provider calls (0 refused) · service started 2 times";
    let b = "live p 3 6 4 1 0\n6 requests sent, 4 answered, 5 provider calls (0 refused) · service started 2 times";
    assert_eq!(common::without_durations(a), common::without_durations(b));
    let c = "live p 3 5 5 2 0\n5 requests sent, 3 answered, 4 provider calls (1 refused) · service started 2 times";
    let (ma, mc) = (common::without_durations(a), common::without_durations(c));
    assert_ne!(
        ma.lines().next(),
        mc.lines().next(),
        "effects and duplicates stay"
    );
    assert_ne!(ma.lines().nth(1), mc.lines().nth(1), "refusals stay");
}
