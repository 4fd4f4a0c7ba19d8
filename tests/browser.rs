//! The book in a real browser: `tests/browser/check-book.mjs` opens every page of the built
//! book in headless Chromium (the distribution's `/usr/bin/chromium`, driven by playwright-core
//! from the npm registry, locked in `tests/browser/package-lock.json`) at 1200 pixels and fails
//! on a code block or TUI screen cut off without a visible scroll, a page wider than the
//! window, an image that does not load or is shown smaller than drawn, a broken link or anchor,
//! and a character no font of the page can draw. Screenshots of every page go to
//! `target/browser/`.
//!
//! `.ci/run` installs Chromium, Node.js and the npm packages and sets
//! `IDEMLAB_REQUIRE_BROWSER=1`, so there a missing part fails the test; elsewhere the test says
//! what is missing and skips.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod common;

fn found(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Chromium's path, or `None` (and why) when the test cannot run here.
fn prerequisites(root: &Path) -> Option<String> {
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_string());
    let mut missing = Vec::new();
    if !found("mdbook") {
        missing.push("mdbook (cargo install mdbook)".to_string());
    }
    if !found("node") {
        missing.push("node (apt-get install nodejs npm)".to_string());
    }
    if !root
        .join("tests/browser/node_modules/playwright-core")
        .is_dir()
    {
        missing.push("playwright-core (cd tests/browser && npm ci)".to_string());
    }
    if !Path::new(&chromium).exists() {
        missing.push(format!("{chromium} (apt-get install chromium)"));
    }
    if !missing.is_empty() {
        common::skip(
            "IDEMLAB_REQUIRE_BROWSER",
            &format!("the browser test needs {}", missing.join(", ")),
        );
        return None;
    }
    Some(chromium)
}

/// `mdbook build book` into `dest` (each test its own, so that they can run at once).
fn build_book(root: &Path, dest: &Path) {
    let built = Command::new("mdbook")
        .args(["build", "book", "--dest-dir"])
        .arg(dest)
        .current_dir(root)
        .output()
        .expect("mdbook runs");
    assert!(
        built.status.success(),
        "mdbook build failed: {}",
        String::from_utf8_lossy(&built.stderr)
    );
}

/// Runs the check on the pages in `pages`, screenshots to `shots`: its exit status and output.
fn check(root: &Path, chromium: &str, pages: &Path, shots: &Path) -> (bool, String) {
    run_node(
        root,
        chromium,
        &[
            "tests/browser/check-book.mjs",
            pages.to_str().expect("a UTF-8 path"),
            shots.to_str().expect("a UTF-8 path"),
        ],
    )
}

/// `node ARGS` in `root`, stopped whole past five minutes: its exit status and output.
fn run_node(root: &Path, chromium: &str, args: &[&str]) -> (bool, String) {
    // Node and the browser it starts in a process group of their own, so that a run past the
    // deadline is stopped whole: nothing this test starts outlives it.
    let mut child = {
        use std::os::unix::process::CommandExt;
        Command::new("node")
            .args(args)
            .env("CHROMIUM", chromium)
            .current_dir(root)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()
            .expect("node starts")
    };
    let deadline = Instant::now() + Duration::from_secs(300);
    while child.try_wait().expect("node can be waited for").is_none() {
        if Instant::now() > deadline {
            let _ = Command::new("kill")
                .args(["-KILL", &format!("-{}", child.id())])
                .status();
            let _ = child.wait();
            panic!("node {} ran past 300 s and was stopped", args.join(" "));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = child.wait_with_output().expect("node's output");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn the_book_reads_well_in_a_browser() {
    let root = common::root();
    let Some(chromium) = prerequisites(&root) else {
        return;
    };
    let book: PathBuf = root.join("target/browser-book");
    let shots = root.join("target/browser");
    let _ = std::fs::remove_dir_all(&book);
    build_book(&root, &book);
    let (ok, stdout) = check(&root, &chromium, &book, &shots);
    println!("{stdout}");
    assert!(ok, "the book in Chromium:\n{stdout}");
    let pages: usize = stdout
        .split(" pages at 1200px")
        .next()
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0);
    assert!(pages >= 15, "only {pages} pages checked:\n{stdout}");
    assert!(
        shots.join("tui.png").is_file(),
        "no screenshot of the TUI chapter in {}",
        shots.display()
    );
}

/// The check catches what it claims to: on a page made to have each fault, it fails and names
/// every one.
#[test]
fn the_browser_check_catches_each_fault_it_looks_for() {
    let root = common::root();
    let Some(chromium) = prerequisites(&root) else {
        return;
    };
    let shots = root.join("target/browser-fixture");
    let (ok, out) = check(
        &root,
        &chromium,
        &root.join("tests/browser/fixture"),
        &shots,
    );
    assert!(!ok, "the check passed a page made to fail:\n{out}");
    for needle in [
        "no font draws \"⏸\" (U+23F8)",
        "a code block is cut off",
        "a link to a missing file: missing.html",
        "a link to a missing anchor: bad.html#nowhere",
        "an image does not load: missing.svg",
    ] {
        assert!(out.contains(needle), "the check missed {needle:?}:\n{out}");
    }
}

/// The run viewer, used as a reader would (`tests/browser/viewer.mjs`): play, pause and step
/// back on three chapters; on the lost-response chapter naive's duplicate effect and duplicate
/// charge appear at the events the program's own trace puts them, and are gone in "what if
/// this response had arrived?"; the
/// same with the keyboard on the TUI chapter; one design at a time on a phone-sized screen in
/// the dark theme. Then it measures a 10,000-events-a-design run (printed, not asserted).
#[test]
fn the_viewer_plays_the_books_runs_and_answers_what_if() {
    let root = common::root();
    let Some(chromium) = prerequisites(&root) else {
        return;
    };
    let work = root.join("target/browser-viewer");
    let book = work.join("book");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).unwrap();
    build_book(&root, &book);
    // Where the program's own trace puts naive's first duplicate effect (1-based, as the
    // viewer counts events).
    let csv = work.join("lost-response-naive.csv");
    let (code, _, err) = common::idemlab(
        &root,
        &[
            "run",
            "lost-response",
            "--design",
            "naive",
            "--trace",
            csv.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{err}");
    let trace = std::fs::read_to_string(&csv).unwrap();
    let event_of = |what: &str| {
        trace
            .lines()
            .skip(1)
            .position(|l| l.contains(what))
            .unwrap_or_else(|| panic!("no `{what}` in naive's lost-response trace"))
            + 1
    };
    let dup_event = event_of("DUPLICATE");
    let charge_event = event_of("charge 100 (application 2: DUPLICATE)");
    // A long run for the benchmark: the default scenario at 600 operations (about 10,000 events a design), no what-ifs.
    let long = work.join("long-run.toml");
    let default = std::fs::read_to_string(root.join("scenarios/default.toml")).unwrap();
    std::fs::write(
        &long,
        default
            .replace("name = \"default\"", "name = \"long-run\"")
            .replace("ops = 20", "ops = 600"),
    )
    .unwrap();
    let script = work.join("long-run.js");
    let (code, out, err) = common::idemlab(
        &root,
        &[
            "export",
            long.to_str().unwrap(),
            "--what-ifs",
            "0",
            "--out",
            script.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{err}");
    println!("{out}");
    let theme = root.join("book/theme");
    let page = work.join("long-run.html");
    std::fs::write(
        &page,
        format!(
            r#"<!DOCTYPE html><html class="light"><head><meta charset="utf-8"><title>long run</title>
<link rel="stylesheet" href="{}"></head><body><main>
<script src="long-run.js"></script><div class="idemlab-viewer" data-run="long-run"></div>
<script src="{}"></script></main></body></html>"#,
            theme.join("viewer.css").display(),
            theme.join("viewer.js").display()
        ),
    )
    .unwrap();
    let (ok, out) = run_node(
        &root,
        &chromium,
        &[
            "tests/browser/viewer.mjs",
            book.to_str().unwrap(),
            root.join("target/browser/viewer").to_str().unwrap(),
            &dup_event.to_string(),
            &charge_event.to_string(),
            page.to_str().unwrap(),
        ],
    );
    println!("{out}");
    assert!(ok, "the viewer in Chromium:\n{out}");
    assert!(out.contains("bench: "), "{out}");
}
