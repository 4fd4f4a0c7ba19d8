//! The signals a long command answers: SIGINT (Ctrl-C), SIGTERM (a batch scheduler, `kill`) and
//! SIGHUP (the terminal closed). Each sets a flag of its own, so that a command stops cleanly,
//! says what it covered, and exits with the code a shell reports for that signal
//! (128 + its number: 130, 143, 129), never 0: a scheduler must not read an interrupted sweep
//! as a finished shard.
//!
//! Only `probe`, `cli` and `tui` use this module: nothing below them reacts to the outside world.

use std::sync::Arc;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

/// The signals watched, in the order [`Signals::received`] reports them.
const WATCHED: [(i32, u8); 3] = [
    (signal_hook::consts::SIGINT, 130),
    (signal_hook::consts::SIGTERM, 143),
    (signal_hook::consts::SIGHUP, 129),
];

/// One flag per watched signal, and one raised by any of them.
pub struct Signals {
    flags: [Arc<AtomicBool>; 3],
    /// Raised by any watched signal: what a search or a sweep polls to stop.
    pub any: Arc<AtomicBool>,
}

/// The process's signal flags, registered on first use (once per process).
pub fn watch() -> &'static Signals {
    static SIGNALS: OnceLock<Signals> = OnceLock::new();
    SIGNALS.get_or_init(|| {
        let signals = Signals {
            flags: std::array::from_fn(|_| Arc::new(AtomicBool::new(false))),
            any: Arc::new(AtomicBool::new(false)),
        };
        for (i, (signal, _)) in WATCHED.iter().enumerate() {
            // A failure to register leaves the default action (the process ends): the command
            // still cannot leave a half-written file, since every export is atomic.
            let _ = signal_hook::flag::register(*signal, Arc::clone(&signals.flags[i]));
            let _ = signal_hook::flag::register(*signal, Arc::clone(&signals.any));
        }
        signals
    })
}

impl Signals {
    /// True once any watched signal arrived.
    pub fn raised(&self) -> bool {
        self.any.load(Ordering::Relaxed)
    }

    /// The exit code for the first watched signal that arrived (130 SIGINT, 143 SIGTERM, 129
    /// SIGHUP), if one did.
    pub fn received(&self) -> Option<u8> {
        WATCHED
            .iter()
            .zip(&self.flags)
            .find(|(_, f)| f.load(Ordering::Relaxed))
            .map(|((_, code), _)| *code)
    }

    /// The name of the first watched signal that arrived, for messages.
    pub fn name(&self) -> Option<&'static str> {
        self.received().map(|code| match code {
            130 => "SIGINT (Ctrl-C)",
            143 => "SIGTERM",
            _ => "SIGHUP",
        })
    }
}
