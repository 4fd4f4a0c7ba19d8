//! The real binary in a real terminal: tmux runs a shell, the test types `idemlab tui`, plays,
//! looks for a duplicate mark and the divergence chart, quits, and checks the prompt is back.
//! Skipped, said on stderr past the harness's capture, only where tmux is not installed and
//! `IDEMLAB_REQUIRE_TMUX` is not set (`.ci/run` sets it: there a missing tmux fails).

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

struct Tmux {
    socket: String,
}

impl Tmux {
    fn cmd(&self, args: &[&str]) -> std::process::Output {
        Command::new("tmux")
            .args(["-L", &self.socket])
            .args(args)
            .output()
            .expect("tmux runs")
    }

    fn screen(&self) -> String {
        String::from_utf8_lossy(&self.cmd(&["capture-pane", "-p", "-t", "e2e"]).stdout).into_owned()
    }

    fn keys(&self, keys: &[&str]) {
        for k in keys {
            self.cmd(&["send-keys", "-t", "e2e", k]);
            // A person does not type faster than a terminal can tell Esc from Alt.
            std::thread::sleep(Duration::from_millis(60));
        }
    }

    /// Waits until the screen satisfies `ok`, or fails with the last screen.
    fn wait_for(&self, what: &str, ok: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let screen = self.screen();
            if ok(&screen) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.cmd(&["kill-server"]);
    }
}

#[test]
fn the_tui_opens_plays_shows_the_divergence_and_gives_the_terminal_back() {
    if Command::new("tmux").arg("-V").output().is_err() {
        common::skip(
            "IDEMLAB_REQUIRE_TMUX",
            "tmux is not installed (apt-get install tmux), so the end-to-end TUI test cannot run",
        );
        return;
    }
    let tmux = Tmux {
        socket: format!("idemlab-e2e-{}", std::process::id()),
    };
    let started = tmux.cmd(&[
        "new-session",
        "-d",
        "-s",
        "e2e",
        "-x",
        "100",
        "-y",
        "30",
        "env",
        "PS1=READY$ ",
        "TERM=xterm-256color",
        "bash",
        "--norc",
        "--noprofile",
    ]);
    assert!(
        started.status.success(),
        "{}",
        String::from_utf8_lossy(&started.stderr)
    );
    tmux.wait_for("the shell prompt", |s| s.contains("READY$"));
    let binary = env!("CARGO_BIN_EXE_idemlab");
    tmux.keys(&[&format!("{binary} tui default"), "Enter"]);
    tmux.wait_for("the TUI header", |s| {
        s.contains("idemlab") && s.contains("seed 1")
    });
    // Fastest speed, then play to the end.
    tmux.keys(&["+", "+", "+", "+", "+", "+", " "]);
    let screen = tmux.wait_for("the end of the trace", |s| s.contains("end of the trace"));
    assert!(screen.contains("divergence"), "no chart:\n{screen}");
    assert!(
        screen.contains("dup 19"),
        "naive's duplicates not shown:\n{screen}"
    );
    // Naive's duplicate effects are marked in the diagram; step back to find one if the
    // last screenful has none.
    let mut found = false;
    for _ in 0..80 {
        if tmux.screen().contains('‼') {
            found = true;
            break;
        }
        tmux.keys(&["Left"]);
    }
    assert!(
        found,
        "no duplicate mark while stepping back:\n{}",
        tmux.screen()
    );
    tmux.keys(&["q"]);
    let screen = tmux.wait_for("the prompt after quitting", |s| {
        !s.contains("divergence") && s.lines().filter(|l| l.contains("READY$")).count() >= 2
    });
    assert!(!screen.contains("panicked"), "{screen}");
    tmux.assert_cooked("after q");

    // Ctrl-C quits too, and gives the terminal back.
    tmux.keys(&[
        "clear",
        "Enter",
        &format!("{binary} tui lost-response"),
        "Enter",
    ]);
    tmux.wait_for("the TUI again", |s| s.contains("lost-response · seed 1"));
    tmux.keys(&["C-c"]);
    tmux.wait_for("the prompt after Ctrl-C", |s| {
        !s.contains("divergence") && s.contains("READY$")
    });
    tmux.assert_cooked("after Ctrl-C");

    // SIGTERM (a `kill` from another shell, a closing session) ends it the same way.
    tmux.keys(&[
        "clear",
        "Enter",
        &format!("{binary} tui crash-after-charge"),
        "Enter",
    ]);
    tmux.wait_for("the TUI for SIGTERM", |s| {
        s.contains("crash-after-charge · seed 1")
    });
    let pid = find_process(&[binary, "tui", "crash-after-charge"]).expect("the TUI's process");
    let killed = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .expect("kill runs");
    assert!(killed.success(), "could not signal the TUI");
    tmux.wait_for("the prompt after SIGTERM", |s| {
        !s.contains("divergence") && s.contains("READY$")
    });
    tmux.assert_cooked("after SIGTERM");

    // A panic restores the terminal first, then prints its message. The panic on request is
    // compiled into debug builds only, so `cargo test --release` stops here.
    if !cfg!(debug_assertions) {
        return;
    }
    tmux.keys(&[
        "clear",
        "Enter",
        &format!("IDEMLAB_TEST_PANIC=1 {binary} tui"),
        "Enter",
    ]);
    let screen = tmux.wait_for("the panic message", |s| {
        s.contains("test panic requested by IDEMLAB_TEST_PANIC") && s.contains("READY$")
    });
    assert!(
        !screen.contains("divergence"),
        "the TUI's screen was left behind:\n{screen}"
    );
    tmux.assert_cooked("after a panic");
}

impl Tmux {
    /// The terminal is back in cooked mode: `stty` shows `icanon`, not `-icanon`.
    fn assert_cooked(&self, when: &str) {
        self.keys(&[
            "clear",
            "Enter",
            "stty -a | tr ' ;' '\\n\\n' | grep -x -e icanon -e -icanon",
            "Enter",
        ]);
        let screen = self.wait_for("stty's answer", |s| {
            s.lines()
                .any(|l| l.trim() == "icanon" || l.trim() == "-icanon")
        });
        assert!(
            screen.lines().any(|l| l.trim() == "icanon"),
            "the terminal is still raw {when}:\n{screen}"
        );
    }
}

/// The process whose command line is exactly `args`, found through /proc.
fn find_process(args: &[&str]) -> Option<u32> {
    let wanted: Vec<u8> = args.iter().flat_map(|a| a.bytes().chain([0])).collect();
    std::fs::read_dir("/proc").ok()?.find_map(|entry| {
        let entry = entry.ok()?;
        let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
        let cmdline = std::fs::read(entry.path().join("cmdline")).ok()?;
        (cmdline == wanted).then_some(pid)
    })
}
