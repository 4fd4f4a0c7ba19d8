//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use idemlab::scenario::{self, Scenario};

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every scenario file under `scenarios/`, sorted, parsed.
pub fn bundled() -> Vec<(PathBuf, Scenario)> {
    let files = scenario_files();
    assert!(
        files.len() >= 4,
        "expected the bundled scenarios, found {files:?}"
    );
    files
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).expect("readable scenario");
            let s =
                scenario::parse(&text, &p.display().to_string()).unwrap_or_else(|e| panic!("{e}"));
            (p, s)
        })
        .collect()
}

/// Every `.toml` file under `scenarios/` (and its subdirectories), sorted.
pub fn scenario_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut dirs = vec![root().join("scenarios")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("scenarios/ exists") {
            let path = entry.expect("readable entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "toml") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// Runs the real binary with `args` in `dir`; returns (exit code, stdout, stderr).
pub fn idemlab(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_idemlab"));
    command.args(args).current_dir(dir);
    // The program's own temporary files (a failed probe keeps its service log there, as a user
    // would want) go to cargo's directory for tests, not /tmp: the suite leaves nothing behind.
    // Unless that path is long: a throwaway PostgreSQL's socket lives there, and a Unix
    // socket's path has room for about 100 bytes.
    let tmp = env!("CARGO_TARGET_TMPDIR");
    if tmp.len() <= 60 {
        command.env("TMPDIR", tmp);
    }
    let out = command.output().expect("the binary runs");
    (
        out.status.code().expect("exited normally, not by a signal"),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Rewrites every quoted output in `text` from the program: a block introduced by
/// `<!-- output: idemlab ARGS -->` (or `<!-- output: idemlab ARGS (exit N) -->` for a command
/// that must exit with N) followed by a fenced `text` block gets the command, as a reader would
/// type it (`$ idemlab ARGS`), and then its stdout.
/// Returns the new text and how many blocks it checked. Panics on a wrong exit code.
pub fn refresh_quoted_outputs(dir: &Path, text: &str) -> (String, usize) {
    const MARK: &str = "<!-- output: idemlab";
    let mut out = String::new();
    let mut rest = text;
    let mut checked = 0;
    while let Some(start) = rest.find(MARK) {
        let after = &rest[start + MARK.len()..];
        let end = after
            .find("-->")
            .expect("a quoted-output marker ends with -->");
        let mut command = after[..end].trim();
        let mut want = 0;
        if let Some(head) = command.strip_suffix(')')
            && let Some((args, code)) = head.rsplit_once("(exit ")
        {
            want = code.trim().parse().expect("(exit N) names a number");
            command = args.trim();
        }
        let words = split_command(command);
        let args: Vec<&str> = words.iter().map(String::as_str).collect();
        let open = after[end..]
            .find("```text\n")
            .expect("a quoted output is a ```text block")
            + end
            + "```text\n".len();
        let close = after[open..].find("```").expect("the block is closed") + open;
        let quoted = &after[open..close];
        out.push_str(&rest[..start + MARK.len()]);
        out.push_str(&after[..open]);
        if args.first() == Some(&"probe") {
            // A live run: real time differs run to run, so durations are not compared (the
            // verdicts and counts are); without the `probe` feature it cannot run at all.
            #[cfg(feature = "probe")]
            {
                let args: Vec<String> = args
                    .iter()
                    .map(|a| a.replace("target/release/shop", env!("CARGO_BIN_EXE_shop")))
                    .collect();
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                let (code, stdout, stderr) = idemlab(dir, &args);
                assert_eq!(code, want, "idemlab {command}: {stderr}");
                let stdout = format!(
                    "$ idemlab {command}\n{}",
                    stdout.replace(env!("CARGO_BIN_EXE_shop"), "target/release/shop")
                );
                if without_durations(&stdout) == without_durations(quoted) {
                    out.push_str(quoted);
                } else {
                    out.push_str(&stdout);
                }
                checked += 1;
            }
            #[cfg(not(feature = "probe"))]
            out.push_str(quoted);
            rest = &after[close..];
            continue;
        }
        let (code, stdout, stderr) = idemlab(dir, &args);
        assert_eq!(code, want, "idemlab {command}: {stderr}");
        out.push_str(&format!("$ idemlab {command}\n{stdout}"));
        rest = &after[close..];
        checked += 1;
    }
    out.push_str(rest);
    (out, checked)
}

/// A command line split into words as a shell splits a simple one: double quotes group.
pub fn split_command(command: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let (mut quoted, mut any) = (false, false);
    for c in command.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                any = true;
            }
            c if c.is_whitespace() && !quoted => {
                if any || !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
                any = false;
            }
            c => word.push(c),
        }
    }
    if any || !word.is_empty() {
        words.push(word);
    }
    words
}

/// `text` with every duration (`14.2ms`, `3s`, `950µs`) replaced by `<t>`, the service log's
/// name (it carries the probe's process id) by `<log>`, the counts real timing decides (a live
/// row's attempts; the requests sent and answered and the provider calls: a late answer or a
/// retry that overtakes one moves them) by `<n>`, and runs of spaces by one: what stays the same
/// from one live run to the next. The verdicts (effects, duplicates, lost, charged, statuses)
/// are compared as they are: `book/src/probing.md` says so.
pub fn without_durations(text: &str) -> String {
    let duration = |w: &str| {
        let w = w.trim_end_matches([';', ',', ')']);
        let digits = w.trim_end_matches(|c: char| c.is_alphabetic() || c == 'µ');
        let unit = &w[digits.len()..];
        !digits.is_empty()
            && digits.chars().all(|c| c.is_ascii_digit() || c == '.')
            && ["ns", "µs", "us", "ms", "s"].contains(&unit)
    };
    // The service's log is named by the probe's process id: a different name every run.
    let log = |w: &str| w.contains("/idemlab-service-") && w.ends_with(".log");
    text.lines()
        .map(|l| {
            let mut words: Vec<&str> = l
                .split_whitespace()
                .map(|w| {
                    if duration(w) {
                        "<t>"
                    } else if log(w) {
                        "<log>"
                    } else {
                        w
                    }
                })
                .collect();
            let number = |w: &str| !w.is_empty() && w.chars().all(|c| c.is_ascii_digit());
            // A live row of a report's table: `live DESIGN ops attempts effects …`.
            if words.first() == Some(&"live") && words.len() > 4 && number(words[2]) {
                words[3] = "<n>";
            }
            // `5 requests sent, 3 answered, 4 provider calls (0 refused) · …`
            if words.get(1..3) == Some(&["requests", "sent,"]) {
                for i in [0, 3, 5] {
                    if words.get(i).is_some_and(|w| number(w)) {
                        words[i] = "<n>";
                    }
                }
            }
            words.join(" ")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The first line where `a` and `b` differ, both versions, for an assertion message.
pub fn first_line_difference(a: &str, b: &str) -> String {
    for (i, (x, y)) in a.lines().zip(b.lines()).enumerate() {
        if x != y {
            return format!("line {}:\n  quoted: {x}\n  now:    {y}", i + 1);
        }
    }
    format!(
        "the texts differ in length ({} vs {} lines)",
        a.lines().count(),
        b.lines().count()
    )
}

/// Says that a test skipped, and why, where a person running `cargo test` sees it: straight
/// to the process's stderr, past the harness's capture (which swallows `eprintln!` of a
/// passing test), so a skip never passes for a pass. Where `require` (an environment variable,
/// set by `.ci/run`) is set, a skip is a failure instead.
#[allow(dead_code)]
pub fn skip(require: &str, why: &str) {
    use std::io::Write as _;
    assert!(
        std::env::var_os(require).is_none(),
        "{require} is set and this test cannot run: {why}"
    );
    let _ = writeln!(
        std::io::stderr().lock(),
        "\nSKIPPED ({}): {why}; set {require}=1 to make this a failure",
        std::thread::current().name().unwrap_or("a test")
    );
}
