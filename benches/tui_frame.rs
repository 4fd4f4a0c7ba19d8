//! `cargo bench --bench tui_frame`: how long the TUI takes to draw a frame of a long trace, and
//! how long from "open the default scenario" to the first frame.
//!
//! The long trace: the default scenario with 6,000 operations, about 100,000 events per design,
//! three designs. Frames are drawn into ratatui's `TestBackend` at 100×30, so this measures our
//! view code and ratatui's layout, not the terminal's speed.

use std::time::Instant;

use idemlab::scenario::default_scenario;
use idemlab::tui::app::{App, Msg};
use idemlab::tui::view::view;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn frames(app: &mut App, terminal: &mut Terminal<TestBackend>, n: usize) -> Vec<f64> {
    let mut times = Vec::with_capacity(n);
    for _ in 0..n {
        app.update(Msg::Step(397));
        let started = Instant::now();
        terminal.draw(|frame| view(app, frame)).expect("draws");
        times.push(started.elapsed().as_secs_f64() * 1e3);
    }
    times
}

fn main() {
    // Time to first frame on the default scenario, as `idemlab` with no arguments does it.
    let mut first = Vec::new();
    for _ in 0..20 {
        let started = Instant::now();
        let app = App::new(default_scenario(), 1, None).expect("default designs");
        let mut terminal = Terminal::new(TestBackend::new(100, 30)).expect("backend");
        terminal.draw(|frame| view(&app, frame)).expect("draws");
        first.push(started.elapsed().as_secs_f64() * 1e3);
    }
    println!(
        "default scenario: first frame {:.2} ms after start (median of 20; runs + first draw)",
        median(first)
    );

    let mut scenario = default_scenario();
    scenario.workload.ops = 6_000;
    let started = Instant::now();
    let mut app = App::new(scenario, 1, None).expect("default designs");
    let setup = started.elapsed().as_secs_f64() * 1e3;
    let events = app.views[0].run.trace.len();
    let mut terminal = Terminal::new(TestBackend::new(100, 30)).expect("backend");
    let plain = frames(&mut app, &mut terminal, 200);
    app.filter = Some(3_000);
    let filtered = frames(&mut app, &mut terminal, 50);
    app.filter = None;
    // Three designs side by side, rows merged by time around the cursor.
    let mut wide = Terminal::new(TestBackend::new(200, 60)).expect("backend");
    let side_by_side = frames(&mut app, &mut wide, 200);
    println!(
        "long trace: {events} events in the focused design ({} in all), runs + setup {setup:.0} ms",
        app.views.iter().map(|v| v.run.trace.len()).sum::<usize>()
    );
    println!(
        "  frame at 100x30: median {:.3} ms, worst {:.3} ms (200 frames)",
        median(plain.clone()),
        plain.iter().copied().fold(0.0, f64::max)
    );
    println!(
        "  frame with the log filtered by op: median {:.3} ms (50 frames)",
        median(filtered)
    );
    println!(
        "  frame at 200x60, three designs side by side: median {:.3} ms, worst {:.3} ms (200 frames)",
        median(side_by_side.clone()),
        side_by_side.iter().copied().fold(0.0, f64::max)
    );
}
