//! The terminal UI: plays finished runs side by side as a sequence diagram, state panels per
//! design, a divergence chart and an event log, with what-if faults added by pointing at the
//! trace.
//!
//! The Elm architecture: [`app::App`] is the state, [`app::Msg`] every change of it,
//! [`app::App::update`] the one place state changes, [`view::view`] a pure function from state to
//! screen. This module is the runner: the only code here that touches the terminal. It restores
//! the terminal on quit, on Ctrl-C (a key in raw mode), on SIGTERM and on panic (ratatui's hook,
//! after our own that releases the mouse), and prints a panic's message after restoring.

pub mod app;
mod diagram;
pub mod html;
mod overlays;
mod style;

pub use diagram::align_rows;
pub mod sweep_view;
pub mod view;

use std::io::{self, stdout};
use std::time::{Duration, Instant};

use ratatui::DefaultTerminal;
use ratatui::crossterm::event::{
    self, DisableMouseCapture, EnableMouseCapture, Event, KeyEventKind,
};
use ratatui::crossterm::execute;

use app::{App, Effect, Msg};

/// How often playback advances while no key is pressed.
const TICK: Duration = Duration::from_millis(40);

/// Takes over the terminal, runs `app` until the user quits, and gives the terminal back.
pub fn run(app: App) -> io::Result<()> {
    with_terminal(|terminal| event_loop(terminal, app))
}

/// Takes over the terminal, shows a sweep's chart until the user quits, gives it back.
pub fn run_sweep(mut view: sweep_view::SweepView) -> io::Result<()> {
    with_terminal(|terminal| {
        while !view.quit && !terminated() {
            terminal.draw(|frame| sweep_view::view(&view, frame))?;
            if event::poll(TICK)?
                && let Event::Key(key) = event::read()?
                && key.kind != KeyEventKind::Release
            {
                view.key(key);
            }
        }
        Ok(())
    })
}

/// True once SIGTERM, SIGHUP or a SIGINT from outside arrived (in raw mode Ctrl-C is a key):
/// the loop ends and the terminal is restored as on `q`.
fn terminated() -> bool {
    crate::signals::watch().raised()
}

/// Raw mode, the alternate screen and mouse capture around `body`, restored on every way out:
/// return, error, SIGTERM (a flag the loops watch) and panic (hooks).
fn with_terminal(body: impl FnOnce(&mut DefaultTerminal) -> io::Result<()>) -> io::Result<()> {
    let signals = crate::signals::watch();
    // The loops see the flag within a tick and restore the terminal. When the terminal itself
    // is gone (SIGHUP: its window closed), crossterm's `event::poll` can spin on the dead tty
    // and never return (crossterm-rs/crossterm#793), so the loop would never look: a watcher
    // gives it a second after the signal, then leaves with the signal's code. One watcher per
    // process serves every TUI session; it runs beside the UI, never in a run.
    static WATCHER: std::sync::Once = std::sync::Once::new();
    WATCHER.call_once(|| {
        std::thread::spawn(move || {
            while !signals.raised() {
                std::thread::sleep(Duration::from_millis(50));
            }
            std::thread::sleep(Duration::from_secs(1));
            std::process::exit(i32::from(signals.received().unwrap_or(143)));
        });
    });
    let mut terminal = ratatui::try_init()?;
    // Installed after ratatui's hook, so it runs first: release the mouse, then ratatui restores
    // the screen and the default hook prints the message on a usable terminal.
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let _ = execute!(stdout(), DisableMouseCapture);
        previous(info);
    }));
    let _ = execute!(stdout(), EnableMouseCapture);
    let result = body(&mut terminal);
    let _ = execute!(stdout(), DisableMouseCapture);
    ratatui::restore();
    result
}

fn event_loop(terminal: &mut DefaultTerminal, mut app: App) -> io::Result<()> {
    let mut last = Instant::now();
    // A test seam in debug builds only: the end-to-end test checks that a panic restores the
    // terminal and prints its message.
    let panic_for_test = cfg!(debug_assertions) && std::env::var_os("IDEMLAB_TEST_PANIC").is_some();
    while !app.quit && !terminated() {
        terminal.draw(|frame| view::view(&app, frame))?;
        if panic_for_test {
            panic!("test panic requested by IDEMLAB_TEST_PANIC");
        }
        if event::poll(TICK)? {
            let msg = match event::read()? {
                Event::Key(key) if key.kind != KeyEventKind::Release => app::msg_for_key(&app, key),
                Event::Mouse(mouse) => app::msg_for_mouse(mouse),
                _ => None,
            };
            if let Some(msg) = msg {
                dispatch(&mut app, msg);
            }
        }
        let now = Instant::now();
        dispatch(&mut app, Msg::Tick(now - last));
        last = now;
    }
    Ok(())
}

/// Applies a message and carries out the work it asks for.
fn dispatch(app: &mut App, msg: Msg) {
    let Some(effect) = app.update(msg) else {
        return;
    };
    match effect {
        Effect::ExportCsv(path) => {
            let trace = &app.focused().run.trace;
            let result = crate::files::write_atomically(&path, |w| {
                crate::trace::write_csv(trace, w).map_err(|e| io::Error::other(e.to_string()))
            })
            .map(|()| path)
            .map_err(|e| e.to_string());
            app.update(Msg::Exported(result));
        }
    }
}
