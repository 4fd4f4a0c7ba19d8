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
        assert!(
            std::env::var_os("IDEMLAB_REQUIRE_BROWSER").is_none(),
            "IDEMLAB_REQUIRE_BROWSER is set and these are missing: {}",
            missing.join(", ")
        );
        eprintln!("skipped: the browser test needs {}", missing.join(", "));
        return None;
    }
    Some(chromium)
}

/// Runs the check on the pages in `pages`, screenshots to `shots`: its exit status and output.
fn check(root: &Path, chromium: &str, pages: &Path, shots: &Path) -> (bool, String) {
    // Node and the browser it starts in a process group of their own, so that a run past the
    // deadline is stopped whole: nothing this test starts outlives it.
    let mut child = {
        use std::os::unix::process::CommandExt;
        Command::new("node")
            .arg("tests/browser/check-book.mjs")
            .arg(pages)
            .arg(shots)
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
            panic!("the browser check ran past 300 s and was stopped");
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
    let built = Command::new("mdbook")
        .args(["build", "book", "--dest-dir"])
        .arg(&book)
        .current_dir(&root)
        .output()
        .expect("mdbook runs");
    assert!(
        built.status.success(),
        "mdbook build failed: {}",
        String::from_utf8_lossy(&built.stderr)
    );
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
