//! The TUI, tested without a terminal: every view rendered into `TestBackend` at 100×30 and
//! 80×24 and snapshotted, and the app driven by key sequences as a person would.

use std::time::Duration;

use idemlab::fault::{Direction, FaultAtom};
use idemlab::scenario::default_scenario;
use idemlab::trace::EventKind;
use idemlab::tui::app::{App, Msg, Overlay, msg_for_key};
use idemlab::tui::view::view;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

fn app() -> App {
    App::new(default_scenario(), 1, None).unwrap()
}

fn render(app: &App, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|frame| view(app, frame)).unwrap();
    terminal.backend().to_string()
}

/// Presses keys as a person would, through the same key map the runner uses.
fn press(app: &mut App, keys: &[KeyCode]) {
    for code in keys {
        let key = KeyEvent::new(*code, KeyModifiers::NONE);
        if let Some(msg) = msg_for_key(app, key) {
            app.update(msg);
        }
    }
}

/// The app 40 events into the default scenario: a duplicate order has just been made.
fn app_at_40() -> App {
    let mut a = app();
    a.update(Msg::Step(40 - a.cursor as i64));
    a
}

#[test]
fn main_screen() {
    let a = app_at_40();
    insta::assert_snapshot!("main_100x30", render(&a, 100, 30));
    insta::assert_snapshot!("main_80x24", render(&a, 80, 24));
}

#[test]
fn help_overlay() {
    let mut a = app_at_40();
    press(&mut a, &[KeyCode::Char('?')]);
    assert_eq!(a.overlay, Some(Overlay::Help));
    insta::assert_snapshot!("help_100x30", render(&a, 100, 30));
    insta::assert_snapshot!("help_80x24", render(&a, 80, 24));
    press(&mut a, &[KeyCode::Esc]);
    assert_eq!(a.overlay, None);
}

#[test]
fn fault_panel_changes_a_setting_and_reruns_at_once() {
    let mut a = app_at_40();
    let time = a.now_us();
    let before = a.views[0].run.trace.hash();
    press(&mut a, &[KeyCode::Char('f'), KeyCode::Right]);
    assert_eq!(a.scenario.network.loss_request, 0.15);
    assert_eq!(a.scenario.network.loss_response, 0.15);
    assert_ne!(
        a.views[0].run.trace.hash(),
        before,
        "the runs were not redone"
    );
    assert!(a.now_us() <= time, "the cursor keeps its time");
    insta::assert_snapshot!("faults_100x30", render(&a, 100, 30));
    insta::assert_snapshot!("faults_80x24", render(&a, 80, 24));
    // Attempts down to 1: no retries at all, so no duplicates for any design.
    press(
        &mut a,
        &[
            KeyCode::Down,
            KeyCode::Down,
            KeyCode::Down,
            KeyCode::Left,
            KeyCode::Left,
            KeyCode::Left,
        ],
    );
    assert_eq!(a.scenario.retry.attempts_max, 1);
    assert!(a.views.iter().all(|v| v.metrics.duplicates <= 1));
    press(&mut a, &[KeyCode::Esc]);
    assert_eq!(a.overlay, None);
}

#[test]
fn designs_chooser_scrolls_to_keep_the_chosen_row_in_view() {
    let mut a = app_at_40();
    press(&mut a, &[KeyCode::Char('d')]);
    let last = idemlab::handlers::names().len();
    for _ in 0..last {
        press(&mut a, &[KeyCode::Down]);
    }
    let screen = render(&a, 80, 24);
    assert!(
        screen.contains("counter"),
        "the last design is in view:\n{screen}"
    );
    assert!(
        screen.contains("Enter show"),
        "the hint stays in view:\n{screen}"
    );
    assert!(screen.contains(&format!("of {last})")), "{screen}");
    insta::assert_snapshot!("designs_scrolled_80x24", screen);
}

#[test]
fn designs_chooser_switches_the_designs_shown() {
    let mut a = app_at_40();
    press(&mut a, &[KeyCode::Char('d')]);
    insta::assert_snapshot!("designs_100x30", render(&a, 100, 30));
    insta::assert_snapshot!("designs_80x24", render(&a, 80, 24));
    // Untick naive (row 0), tick put (row 1), apply.
    press(
        &mut a,
        &[
            KeyCode::Char(' '),
            KeyCode::Down,
            KeyCode::Char(' '),
            KeyCode::Enter,
        ],
    );
    let shown: Vec<&str> = a.views.iter().map(|v| v.run.design.as_str()).collect();
    assert_eq!(shown, ["put", "process-payment", "atomic-key"]);
    insta::assert_snapshot!("designs_switched_80x24", render(&a, 80, 24));
}

#[test]
fn too_small_a_terminal_gets_a_message_not_garbage() {
    let a = app();
    let text = render(&a, 50, 15);
    assert!(text.contains("terminal too small"));
    assert!(text.contains("50×15"));
    insta::assert_snapshot!("too_small_50x15", text);
}

#[test]
fn play_advances_by_the_speed_and_step_back_undoes_a_step() {
    let mut a = app();
    let start = a.cursor;
    press(&mut a, &[KeyCode::Char(' ')]);
    assert!(a.playing);
    a.update(Msg::Tick(Duration::from_secs(1)));
    assert_eq!(a.cursor, start + 20, "20 events per second by default");
    press(&mut a, &[KeyCode::Char('+')]);
    a.update(Msg::Tick(Duration::from_millis(500)));
    assert_eq!(a.cursor, start + 45, "50 events per second after +");
    press(&mut a, &[KeyCode::Char(' '), KeyCode::Left, KeyCode::Left]);
    assert!(!a.playing);
    assert_eq!(a.cursor, start + 43);
    press(&mut a, &[KeyCode::Right]);
    assert_eq!(a.cursor, start + 44);
    press(&mut a, &[KeyCode::End]);
    assert_eq!(a.cursor, a.views[0].run.trace.len() - 1);
    insta::assert_snapshot!("end_100x30", render(&a, 100, 30));
    press(&mut a, &[KeyCode::Home]);
    assert_eq!(a.cursor, 0);
}

#[test]
fn playback_stops_at_the_end_of_the_trace() {
    let mut a = app();
    press(&mut a, &[KeyCode::Char(' ')]);
    a.update(Msg::Tick(Duration::from_secs(3_600)));
    assert!(!a.playing);
    assert_eq!(a.cursor, a.views[0].run.trace.len() - 1);
}

#[test]
fn tab_moves_focus_and_keeps_the_time() {
    let mut a = app_at_40();
    let t = a.now_us();
    press(&mut a, &[KeyCode::Tab]);
    assert_eq!(a.focus, 1);
    assert_eq!(a.focused().run.design, "process-payment");
    assert!(a.now_us() <= t);
    press(&mut a, &[KeyCode::Tab, KeyCode::Tab]);
    assert_eq!(a.focus, 0);
}

#[test]
fn a_new_seed_reruns_every_design() {
    let mut a = app();
    let before: Vec<String> = a.views.iter().map(|v| v.run.trace.hash()).collect();
    press(&mut a, &[KeyCode::Char('n')]);
    assert_eq!(a.seed, 2);
    let after: Vec<String> = a.views.iter().map(|v| v.run.trace.hash()).collect();
    assert!(before.iter().zip(&after).all(|(b, a)| b != a));
}

#[test]
fn the_log_filters_by_operation() {
    let mut a = app_at_40();
    press(
        &mut a,
        &[
            KeyCode::Char('o'),
            KeyCode::Char('1'),
            KeyCode::Char('2'),
            KeyCode::Enter,
        ],
    );
    assert_eq!(a.filter, Some(12));
    let text = render(&a, 100, 30);
    assert!(text.contains("op 12 only"));
    press(&mut a, &[KeyCode::Char('o'), KeyCode::Enter]);
    assert_eq!(a.filter, None);
}

#[test]
fn quit_keys() {
    let a = app();
    for key in [
        KeyEvent::new(KeyCode::Char('q'), KeyModifiers::NONE),
        KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE),
        KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL),
    ] {
        assert_eq!(msg_for_key(&a, key), Some(Msg::Quit));
    }
}

/// What if a response had been lost? Dropping one that reached the client makes the naive
/// design charge again, and leaves the keyed design at zero duplicates.
#[test]
fn what_if_a_response_were_lost() {
    let mut a = app();
    let naive_before = a.views[0].metrics.duplicates;
    // The first response the naive client received that it would otherwise have kept.
    let receive = a.views[0]
        .run
        .trace
        .iter()
        .position(|e| e.kind == EventKind::Receive)
        .unwrap();
    let e = a.views[0].run.trace.get(receive).unwrap();
    a.update(Msg::Step(receive as i64 - a.cursor as i64));
    press(&mut a, &[KeyCode::Char('x')]);
    let atom = a.what_if.atoms[0];
    match atom {
        FaultAtom::Drop(m) => {
            assert_eq!(
                (m.dir, m.op, m.attempt),
                (Direction::Response, e.op, u32::from(e.attempt))
            );
        }
        other => panic!("unexpected atom {other:?}"),
    }
    assert!(
        a.views[0].metrics.duplicates > naive_before,
        "naive did not charge again"
    );
    assert_eq!(a.views[2].run.design, "atomic-key");
    assert_eq!(a.views[2].metrics.duplicates, 0);
    assert!(a.first_difference.is_some());
    assert!(a.status.contains("first difference at"), "{}", a.status);
    insta::assert_snapshot!("what_if_100x30", render(&a, 100, 30));
    // X takes it back.
    press(&mut a, &[KeyCode::Char('X')]);
    assert!(a.what_if.atoms.is_empty());
    assert_eq!(a.views[0].metrics.duplicates, naive_before);
}

#[test]
fn a_crash_what_if_needs_a_step_under_the_cursor() {
    let mut a = app();
    press(&mut a, &[KeyCode::Home, KeyCode::Char('c')]);
    assert!(a.what_if.atoms.is_empty());
    assert!(a.status.contains("handler step"));
    let step = a.views[0]
        .run
        .trace
        .iter()
        .position(|e| e.kind == EventKind::Step)
        .unwrap();
    a.update(Msg::Step(step as i64));
    press(&mut a, &[KeyCode::Char('c')]);
    assert!(matches!(a.what_if.atoms[0], FaultAtom::CrashAtStep { .. }));
}

#[test]
fn export_asks_the_runner_to_write_the_focused_trace() {
    let mut a = app();
    let effect = a.update(Msg::Export);
    assert_eq!(
        effect,
        Some(idemlab::tui::app::Effect::ExportCsv(
            "idemlab-default-naive-seed1.csv".into()
        ))
    );
    a.update(Msg::Exported(Ok("x.csv".into())));
    assert_eq!(a.status, "trace written to x.csv");
}

/// The sweep view charts a sweep's CSV; Tab moves to the next chart.
#[test]
fn sweep_view() {
    use idemlab::sweep::{Param, SweepPlan, chart_from_csv, encode_row};
    use idemlab::tui::sweep_view::{SweepView, view as sweep_view};
    let plan = SweepPlan::new(
        &default_scenario(),
        vec![Param::parse("network.loss=0:0.2:0.1").unwrap()],
        3,
        vec!["naive".into(), "atomic-key".into()],
    )
    .unwrap();
    let mut csv = encode_row(&plan.header());
    for i in 0..plan.len() {
        csv.push_str(&plan.run_line(&plan.task(i)));
    }
    let chart = chart_from_csv(&csv).unwrap();
    assert_eq!(chart.rows, 18);
    let mut v = SweepView::new("loss.csv", chart);
    let draw = |v: &SweepView, w, h| {
        let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
        terminal.draw(|frame| sweep_view(v, frame)).unwrap();
        terminal.backend().to_string()
    };
    insta::assert_snapshot!("sweep_100x30", draw(&v, 100, 30));
    v.key(KeyEvent::new(KeyCode::Tab, KeyModifiers::NONE));
    assert_eq!(v.panel, 1);
    insta::assert_snapshot!("sweep_in_doubt_80x24", draw(&v, 80, 24));
    v.key(KeyEvent::new(KeyCode::Char('q'), KeyModifiers::NONE));
    assert!(v.quit);
    assert!(chart_from_csv("a,b\n1,2\n").is_err());
}

/// The screens in the book's TUI chapter are these renders, as HTML from the same buffer
/// (`IDEMLAB_BLESS=1` rewrites them): the main screen at 100×30, a wide one with the designs
/// side by side, the keys.
#[test]
fn the_book_shows_the_current_screens() {
    let html = |app: &App, w: u16, h: u16, label: &str| -> String {
        let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
        terminal.draw(|frame| view(app, frame)).unwrap();
        idemlab::tui::html::buffer_html(terminal.backend().buffer(), label)
    };
    let at_40 = app_at_40();
    let main = html(
        &at_40,
        100,
        30,
        "The TUI at 100×30 on the default scenario, 40 events in: naive has just made a duplicate order",
    );
    let wide = html(
        &at_40,
        160,
        34,
        "The TUI at 160×34: the designs' sequence diagrams side by side",
    );
    let mut help = app_at_40();
    press(&mut help, &[KeyCode::Char('?')]);
    let help = html(&help, 100, 30, "The TUI's help: every key and every symbol");
    // The text of the screens, as a test can read it, must match the snapshots' renders.
    assert!(main.contains("sequence"), "{main}");
    for (name, text) in [
        ("tui-main.html", main),
        ("tui-wide.html", wide),
        ("tui-help.html", help),
    ] {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("book/src/generated")
            .join(name);
        if std::env::var_os("IDEMLAB_BLESS").is_some() {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &text).unwrap();
            continue;
        }
        let quoted = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            quoted == text,
            "{} is stale: IDEMLAB_BLESS=1 cargo test --test tui the_book rewrites it",
            path.display()
        );
    }
}

/// The sizes people open, and wide ones: at 80×24 the time, the event and every design's
/// verdict are on screen; from 150 columns the designs' diagrams stand side by side.
#[test]
fn layouts_at_the_sizes_people_use() {
    let a = app_at_40();
    let small = render(&a, 80, 24);
    for needle in [
        "61.361",
        "op1.2 timeout",
        "naive",
        "process-payment",
        "atomic-key",
    ] {
        assert!(small.contains(needle), "80×24 lost {needle:?}:\n{small}");
    }
    insta::assert_snapshot!("main_80x24", small);
    insta::assert_snapshot!("main_120x40", render(&a, 120, 40));
    let wide = render(&a, 200, 60);
    assert!(
        wide.contains("3 designs side by side"),
        "200×60 shows one diagram:\n{wide}"
    );
    insta::assert_snapshot!("main_200x60", wide);
}

/// The time column keeps its width whatever a time's digits, so the lanes stay in line
/// (`slow-server-race`, Tab, End: rows at 259.404 ms and 261.740 ms once put the lanes one
/// column apart).
#[test]
fn lanes_stay_in_line_whatever_the_times() {
    let scenario = idemlab::scenario::bundled("slow-server-race")
        .unwrap()
        .unwrap();
    let mut a = App::new(scenario, 1, None).unwrap();
    press(&mut a, &[KeyCode::Tab, KeyCode::End]);
    for (w, h) in [(80, 24), (120, 40), (200, 60)] {
        let screen = render(&a, w, h);
        // In every diagram row the first lane's rule (or a mark on it) is in the same column.
        let columns: std::collections::BTreeSet<usize> = screen
            .lines()
            .filter(|l| l.contains(" ms ") || l.contains("op"))
            .filter_map(|l| {
                let row: Vec<char> = l.trim_matches('"').chars().collect();
                // The time column ends where the first digit run after the border ends.
                let start = row.iter().position(|c| c.is_ascii_digit())?;
                // Only rows of the diagram: the time comes right after the border and marker.
                if row.first() != Some(&'│') || start > 12 {
                    return None;
                }
                let end = start + row[start..].iter().position(|c| *c == ' ')?;
                (row.get(end.checked_sub(4)?) == Some(&'.')).then_some(end)
            })
            .collect();
        assert_eq!(
            columns.len(),
            1,
            "time columns end at {columns:?} at {w}×{h}:\n{screen}"
        );
        assert!(!screen.contains("µs"), "{screen}");
    }
}

/// A design that never calls the provider shows `–` where money would be, not `$ 0/3000`.
#[test]
fn charged_only_for_designs_that_charge() {
    let scenario = idemlab::scenario::bundled("queue-redelivery")
        .unwrap()
        .unwrap();
    let mut a = App::new(scenario, 1, None).unwrap();
    press(&mut a, &[KeyCode::End]);
    for (w, h) in [(80, 24), (120, 40)] {
        let screen = render(&a, w, h);
        assert!(!screen.contains("$ 0/"), "{screen}");
        assert!(screen.contains('–'), "{screen}");
    }
}

/// `s` opens a picker over the bundled scenarios; Enter opens one, with its own designs.
#[test]
fn another_scenario_opens_from_inside() {
    let mut a = app_at_40();
    press(&mut a, &[KeyCode::Char('s')]);
    assert!(matches!(a.overlay, Some(Overlay::Scenarios { row: 0 })));
    let picker = render(&a, 100, 30);
    assert!(picker.contains("lost-response"), "{picker}");
    press(&mut a, &[KeyCode::Down, KeyCode::Enter]);
    assert_eq!(a.scenario.name, "lost-response");
    assert_eq!(a.cursor, 0);
    assert_eq!(a.designs, a.scenario.designs);
    assert!(a.status.contains("opened lost-response"), "{}", a.status);
}

/// The export's file name says which settings were changed from the scenario's.
#[test]
fn export_names_the_changed_settings() {
    let mut a = app();
    let name = |a: &mut App| match a.update(Msg::Export) {
        Some(idemlab::tui::app::Effect::ExportCsv(p)) => p.display().to_string(),
        None => panic!("no export"),
    };
    assert_eq!(name(&mut a), "idemlab-default-naive-seed1.csv");
    // The fault panel's timeout field, lowered by one step.
    press(
        &mut a,
        &[
            KeyCode::Char('f'),
            KeyCode::Down,
            KeyCode::Down,
            KeyCode::Left,
            KeyCode::Esc,
        ],
    );
    let changed = name(&mut a);
    assert!(
        changed.starts_with("idemlab-default-naive-seed1-timeout"),
        "{changed}"
    );
    assert!(changed != "idemlab-default-naive-seed1.csv");
}

/// The pickers fit an 80-column screen: every description ends at a word (or whole), inside
/// the popup's border.
#[test]
fn pickers_fit_80_columns_and_cut_at_words() {
    for key in ['s', 'd'] {
        let mut a = app();
        press(&mut a, &[KeyCode::Char(key)]);
        let screen = render(&a, 80, 24);
        for line in screen.lines().map(|l| l.trim_matches('"')) {
            if !line.starts_with('│') || !line.ends_with('│') {
                continue;
            }
            let inner = line.trim_matches('│').trim_end();
            // A cut description ends in `…`; a whole one in a letter, a digit or punctuation,
            // never in a word cut by the border.
            let last_word = inner.rsplit(' ').next().unwrap_or("");
            assert!(
                inner.chars().count() < 78 || last_word.ends_with('…'),
                "{key}: a row runs into the border: {inner:?}\n{screen}"
            );
        }
    }
}
