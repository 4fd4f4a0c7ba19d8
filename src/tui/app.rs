//! The TUI's state and its one `update` function (the Elm architecture): every change of state
//! is a [`Msg`], so every trigger is visible in one `match`.
//!
//! The app holds finished runs, never a simulation in progress: playing moves a cursor over a
//! trace, and every change of settings (a seed, the designs shown, a fault, a what-if) re-runs
//! the scenario through [`compare::compare`] and keeps the cursor's simulated time.

use std::path::PathBuf;
use std::time::Duration;

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseEvent, MouseEventKind};

use crate::compare::{self, Comparison};
use crate::fault::{FaultAtom, FaultPlan, MessageRef, When};
use crate::handlers;
use crate::oracle::{self, Progress};
use crate::scenario::Scenario;
use crate::trace::TraceEvent;
use crate::world::Run;

/// Playback speeds, in trace events per second of wall time.
pub const SPEEDS: [u32; 10] = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000];

/// One design's finished run, with the oracle's counters after each event.
pub struct DesignView {
    /// The run.
    pub run: Run,
    /// `progress[i]`: the counters after events `0..=i`.
    pub progress: Vec<Progress>,
    /// The final metrics.
    pub metrics: oracle::Metrics,
    /// Divergence over simulated time, as (milliseconds, count) points of a step line.
    pub series: Vec<(f64, f64)>,
    /// `by_op[op - 1]`: the indices of the events of each operation, for the log's filter.
    pub by_op: Vec<Vec<u32>>,
}

impl DesignView {
    fn new(run: Run) -> Self {
        let progress = oracle::progress(&run);
        let metrics = oracle::measure(&run);
        let mut series = vec![(0.0, 0.0)];
        let mut last = 0;
        for (e, p) in run.trace.iter().zip(&progress) {
            let d = p.divergence();
            if d != last {
                let t = e.time_us as f64 / 1_000.0;
                series.push((t, f64::from(last)));
                series.push((t, f64::from(d)));
                last = d;
            }
        }
        series.push((run.end_us as f64 / 1_000.0, f64::from(last)));
        let mut by_op = vec![Vec::new(); run.ops.len()];
        for (i, op) in run.trace.ops().enumerate() {
            if let Some(list) = (op as usize).checked_sub(1).and_then(|o| by_op.get_mut(o)) {
                list.push(i as u32);
            }
        }
        DesignView {
            run,
            progress,
            metrics,
            series,
            by_op,
        }
    }

    /// How many events happened at or before `time_us`.
    pub fn events_by(&self, time_us: u64) -> usize {
        // Traces are in time order, so this is a binary search.
        let n = self.run.trace.len();
        let (mut lo, mut hi) = (0, n);
        while lo < hi {
            let mid = (lo + hi) / 2;
            let t = self.run.trace.get(mid).map_or(u64::MAX, |e| e.time_us);
            if t <= time_us {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    }

    /// The counters at `time_us`.
    pub fn progress_at(&self, time_us: u64) -> Progress {
        match self.events_by(time_us) {
            0 => Progress::default(),
            n => self.progress[n - 1],
        }
    }
}

/// A popup over the main screen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Overlay {
    /// Every key and every symbol.
    Help,
    /// Fault settings; the field with the cursor.
    Faults {
        /// Which field is selected.
        field: usize,
    },
    /// Which designs are shown; the row with the cursor and the ticked names.
    Designs {
        /// Which row is selected.
        row: usize,
        /// The names ticked so far.
        ticked: Vec<String>,
    },
    /// Which bundled scenario to open; the row with the cursor.
    Scenarios {
        /// Which row is selected.
        row: usize,
    },
    /// Typing an operation number to filter the log.
    Filter {
        /// The digits typed so far.
        typed: String,
    },
}

/// The fault-panel fields, in order.
pub const FAULT_FIELDS: [&str; 5] = [
    "loss (each way)",
    "duplicate",
    "client timeout",
    "attempts max",
    "crash after charge of op",
];

/// A what-if: a fault the learner added by pointing at the trace.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WhatIf {
    /// Drop the message under the cursor.
    Drop,
    /// Duplicate the message under the cursor.
    Duplicate,
    /// Crash the server right after the step under the cursor.
    Crash,
}

/// Everything that can happen to the app.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Msg {
    /// Wall time passed (drives playback).
    Tick(Duration),
    /// Space: play or pause.
    TogglePlay,
    /// Move the cursor by this many events.
    Step(i64),
    /// To the first event.
    Home,
    /// To the last event.
    End,
    /// Play faster.
    Faster,
    /// Play slower.
    Slower,
    /// Show the next design in the diagram and the log.
    FocusNext,
    /// Re-run with the next seed.
    NewSeed,
    /// Open a popup.
    Open(Overlay),
    /// Close the popup.
    Close,
    /// Up in a popup.
    Up,
    /// Down in a popup.
    Down,
    /// Decrease the selected value, in a popup.
    Decrease,
    /// Increase the selected value, in a popup.
    Increase,
    /// Toggle the selected row, in a popup.
    Toggle,
    /// Apply the popup.
    Confirm,
    /// A digit typed into the filter.
    Digit(char),
    /// Delete the last typed digit.
    Backspace,
    /// Add a what-if fault at the cursor.
    WhatIf(WhatIf),
    /// Remove every what-if fault.
    ClearWhatIf,
    /// Write the focused trace as CSV.
    Export,
    /// The result of an export, from the runner.
    Exported(Result<PathBuf, String>),
    /// Leave.
    Quit,
}

/// Work the runner must do outside the app (the app does no I/O).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Write the focused design's trace as CSV to this path.
    ExportCsv(PathBuf),
}

/// The TUI's whole state.
pub struct App {
    /// The scenario as loaded.
    pub base: Scenario,
    /// The scenario as edited in the fault panel.
    pub scenario: Scenario,
    /// The seed of the current runs.
    pub seed: u64,
    /// The designs shown, by name.
    pub designs: Vec<String>,
    /// Faults added by what-ifs.
    pub what_if: FaultPlan,
    /// The fault panel's "crash after charge of op N" (0: none).
    pub crash_op: u32,
    /// One view per shown design.
    pub views: Vec<DesignView>,
    /// The views before the last what-if, to compare against at the same simulated time.
    pub baseline: Option<Vec<DesignView>>,
    /// Where the focused trace first differs from the one before the last what-if.
    pub first_difference: Option<usize>,
    /// Which design the diagram and the log show.
    pub focus: usize,
    /// The cursor: an index into the focused design's trace.
    pub cursor: usize,
    /// Playing or paused.
    pub playing: bool,
    /// Index into [`SPEEDS`].
    pub speed: usize,
    /// Events owed to playback but not yet shown (fractional progress).
    pub owed: f64,
    /// The popup, if any.
    pub overlay: Option<Overlay>,
    /// Show only this operation's events in the log.
    pub filter: Option<u32>,
    /// A line of feedback in the footer.
    pub status: String,
    /// Set when the user asked to leave.
    pub quit: bool,
}

impl App {
    /// An app on `scenario` with `seed`, showing `designs` (the scenario's when `None`).
    pub fn new(
        scenario: Scenario,
        seed: u64,
        designs: Option<Vec<String>>,
    ) -> Result<App, handlers::UnknownDesign> {
        let designs = designs.unwrap_or_else(|| scenario.designs.clone());
        for d in &designs {
            handlers::lookup(d)?;
        }
        let mut app = App {
            base: scenario.clone(),
            scenario,
            seed,
            designs,
            what_if: FaultPlan::default(),
            crash_op: 0,
            views: Vec::new(),
            baseline: None,
            first_difference: None,
            focus: 0,
            cursor: 0,
            playing: false,
            speed: 4,
            owed: 0.0,
            overlay: None,
            filter: None,
            status: "space plays · ? shows every key".to_string(),
            quit: false,
        };
        app.rerun();
        Ok(app)
    }

    /// The focused design's view.
    pub fn focused(&self) -> &DesignView {
        &self.views[self.focus]
    }

    /// The event under the cursor.
    pub fn current(&self) -> Option<TraceEvent> {
        self.focused().run.trace.get(self.cursor)
    }

    /// The simulated time at the cursor (0 before the first run).
    pub fn now_us(&self) -> u64 {
        self.views
            .get(self.focus)
            .and_then(|v| v.run.trace.get(self.cursor))
            .map_or(0, |e| e.time_us)
    }

    /// The last event's time over every shown design.
    pub fn end_us(&self) -> u64 {
        self.views.iter().map(|v| v.run.end_us).max().unwrap_or(0)
    }

    fn last_index(&self) -> usize {
        self.focused().run.trace.len().saturating_sub(1)
    }

    /// Runs every shown design again with the current settings, keeping the cursor's time.
    fn rerun(&mut self) {
        self.rerun_keeping_time(self.now_us());
    }

    fn rerun_keeping_time(&mut self, time: u64) {
        // Names were checked when the app was made and come from the catalog afterwards.
        let designs: Vec<Box<dyn handlers::Design>> = self
            .designs
            .iter()
            .filter_map(|name| self.scenario.design(name).ok())
            .collect();
        let mut plan = self.what_if.clone();
        if self.crash_op > 0 {
            plan = plan.with(FaultAtom::CrashAtStep {
                op: self.crash_op,
                attempt: None,
                when: When::After,
                step: crate::world::StepKind::Charge,
                position: None,
                copy: None,
            });
        }
        let result: Comparison = compare::compare(&self.scenario, &designs, self.seed, &plan);
        self.views = result.runs.into_iter().map(DesignView::new).collect();
        self.focus = self.focus.min(self.views.len().saturating_sub(1));
        self.cursor = self.focused().events_by(time).saturating_sub(1);
    }

    /// Applies one message. Returns work for the runner, if any.
    pub fn update(&mut self, msg: Msg) -> Option<Effect> {
        match msg {
            Msg::Tick(dt) => self.tick(dt),
            Msg::TogglePlay => {
                if !self.playing && self.cursor >= self.last_index() {
                    self.cursor = 0;
                }
                self.playing = !self.playing;
                self.owed = 0.0;
            }
            Msg::Step(n) => {
                self.playing = false;
                self.move_cursor(n);
            }
            Msg::Home => self.cursor = 0,
            Msg::End => {
                self.cursor = self.last_index();
                self.playing = false;
            }
            Msg::Faster => self.speed = (self.speed + 1).min(SPEEDS.len() - 1),
            Msg::Slower => self.speed = self.speed.saturating_sub(1),
            Msg::FocusNext => {
                let time = self.now_us();
                self.focus = (self.focus + 1) % self.views.len();
                self.cursor = self.focused().events_by(time).saturating_sub(1);
                self.first_difference = None;
            }
            Msg::NewSeed => {
                self.seed = self.seed.wrapping_add(1);
                self.baseline = None;
                self.first_difference = None;
                self.rerun();
                self.status = format!("seed {}", self.seed);
            }
            Msg::Open(overlay) => self.overlay = Some(overlay),
            Msg::Close => self.close_overlay(),
            Msg::Up | Msg::Down | Msg::Decrease | Msg::Increase | Msg::Toggle | Msg::Confirm => {
                self.overlay_input(&msg)
            }
            Msg::Digit(c) => {
                if let Some(Overlay::Filter { typed }) = &mut self.overlay
                    && typed.len() < 7
                {
                    typed.push(c);
                }
            }
            Msg::Backspace => {
                if let Some(Overlay::Filter { typed }) = &mut self.overlay {
                    typed.pop();
                }
            }
            Msg::WhatIf(kind) => self.add_what_if(kind),
            Msg::ClearWhatIf => {
                if self.what_if.atoms.is_empty() {
                    self.status = "no what-if faults to clear".to_string();
                } else {
                    self.what_if = FaultPlan::default();
                    self.baseline = None;
                    self.first_difference = None;
                    self.rerun();
                    self.status = "what-if faults cleared".to_string();
                }
            }
            Msg::Export => {
                let mut name = format!(
                    "idemlab-{}-{}-seed{}",
                    self.scenario.name,
                    self.focused().run.design,
                    self.seed
                );
                for change in self.changes() {
                    name.push('-');
                    name.push_str(&change);
                }
                name.push_str(".csv");
                return Some(Effect::ExportCsv(PathBuf::from(name)));
            }
            Msg::Exported(result) => {
                self.status = match result {
                    Ok(path) => format!("trace written to {}", path.display()),
                    Err(e) => format!("export failed: {e}"),
                }
            }
            Msg::Quit => self.quit = true,
        }
        None
    }

    /// What differs from the scenario as loaded, each as a short tag for a file name:
    /// `loss0.10`, `dup0.02`, `timeout60ms`, `attempts5`, `crash-op3`, `whatif2`.
    pub fn changes(&self) -> Vec<String> {
        let (base, now) = (&self.base, &self.scenario);
        let mut tags = Vec::new();
        if base.network.loss_request != now.network.loss_request
            || base.network.loss_response != now.network.loss_response
        {
            tags.push(format!("loss{:.2}", now.network.loss_request));
        }
        if base.network.duplicate != now.network.duplicate {
            tags.push(format!("dup{:.2}", now.network.duplicate));
        }
        if base.retry.timeout != now.retry.timeout {
            tags.push(format!("timeout{}", now.retry.timeout));
        }
        if base.retry.attempts_max != now.retry.attempts_max {
            tags.push(format!("attempts{}", now.retry.attempts_max));
        }
        if self.crash_op > 0 {
            tags.push(format!("crash-op{}", self.crash_op));
        }
        if !self.what_if.atoms.is_empty() {
            tags.push(format!("whatif{}", self.what_if.atoms.len()));
        }
        tags
    }

    /// Opens `scenario` in place of the current one: its designs, its seed, no what-ifs.
    pub fn open_scenario(&mut self, scenario: Scenario) {
        self.designs = scenario.designs.clone();
        self.seed = scenario.seed;
        self.base = scenario.clone();
        self.scenario = scenario;
        self.what_if = FaultPlan::default();
        self.crash_op = 0;
        self.baseline = None;
        self.first_difference = None;
        self.filter = None;
        self.focus = 0;
        self.playing = false;
        self.rerun_keeping_time(0);
        self.cursor = 0;
        self.status = format!(
            "opened {} · {} designs · space plays",
            self.scenario.name,
            self.designs.len()
        );
    }

    fn move_cursor(&mut self, n: i64) {
        let target = self.cursor as i64 + n;
        self.cursor = target.clamp(0, self.last_index() as i64) as usize;
    }

    fn tick(&mut self, dt: Duration) {
        if !self.playing {
            return;
        }
        self.owed += f64::from(SPEEDS[self.speed]) * dt.as_secs_f64();
        let whole = self.owed.floor();
        self.owed -= whole;
        self.move_cursor(whole as i64);
        if self.cursor >= self.last_index() {
            self.playing = false;
            self.status = "end of the trace: space plays again from the start".to_string();
        }
    }

    fn close_overlay(&mut self) {
        if let Some(Overlay::Filter { .. }) = self.overlay {
            self.filter = None;
        }
        self.overlay = None;
    }

    fn overlay_input(&mut self, msg: &Msg) {
        let Some(overlay) = self.overlay.clone() else {
            return;
        };
        match overlay {
            Overlay::Help => {
                if *msg == Msg::Confirm {
                    self.overlay = None;
                }
            }
            Overlay::Faults { field } => match msg {
                Msg::Up => {
                    self.overlay = Some(Overlay::Faults {
                        field: field.saturating_sub(1),
                    })
                }
                Msg::Down => {
                    self.overlay = Some(Overlay::Faults {
                        field: (field + 1).min(FAULT_FIELDS.len() - 1),
                    })
                }
                Msg::Decrease => self.adjust_fault(field, -1),
                Msg::Increase => self.adjust_fault(field, 1),
                Msg::Confirm => self.overlay = None,
                _ => {}
            },
            Overlay::Designs { row, mut ticked } => {
                let all = handlers::names();
                match msg {
                    Msg::Up => {
                        self.overlay = Some(Overlay::Designs {
                            row: row.saturating_sub(1),
                            ticked,
                        })
                    }
                    Msg::Down => {
                        self.overlay = Some(Overlay::Designs {
                            row: (row + 1).min(all.len() - 1),
                            ticked,
                        })
                    }
                    Msg::Toggle => {
                        let name = &all[row];
                        match ticked.iter().position(|t| t == name) {
                            Some(i) => {
                                ticked.remove(i);
                            }
                            None => ticked.push(name.clone()),
                        }
                        self.overlay = Some(Overlay::Designs { row, ticked });
                    }
                    Msg::Confirm => {
                        if ticked.is_empty() {
                            self.status = "tick at least one design".to_string();
                            return;
                        }
                        // Shown in catalog order, whatever the order of ticking.
                        self.designs = all.into_iter().filter(|n| ticked.contains(n)).collect();
                        self.overlay = None;
                        self.baseline = None;
                        self.first_difference = None;
                        self.focus = 0;
                        self.rerun();
                        self.status = format!("showing {}", self.designs.join(", "));
                    }
                    _ => {}
                }
            }
            Overlay::Scenarios { row } => match msg {
                Msg::Up => {
                    self.overlay = Some(Overlay::Scenarios {
                        row: row.saturating_sub(1),
                    })
                }
                Msg::Down => {
                    self.overlay = Some(Overlay::Scenarios {
                        row: (row + 1).min(crate::scenario::BUNDLED.len() - 1),
                    })
                }
                Msg::Confirm => {
                    self.overlay = None;
                    let Some((file, text)) = crate::scenario::BUNDLED.get(row) else {
                        return;
                    };
                    // The bundled files are checked by the test suite; still, say so rather
                    // than fall over if one does not read.
                    match crate::scenario::parse(text, &format!("scenarios/{file}")) {
                        Ok(scenario) => self.open_scenario(scenario),
                        Err(e) => self.status = format!("could not open {file}: {e}"),
                    }
                }
                _ => {}
            },
            Overlay::Filter { typed } => {
                if *msg == Msg::Confirm {
                    self.filter = typed.parse().ok().filter(|op| *op > 0);
                    self.overlay = None;
                    self.status = match self.filter {
                        Some(op) => format!("log shows op {op} only (o then Enter to clear)"),
                        None => "log shows every operation".to_string(),
                    };
                }
            }
        }
    }

    /// The fault panel's value of `field`, as text.
    pub fn fault_value(&self, field: usize) -> String {
        let s = &self.scenario;
        match field {
            0 => format!("{:.2}", s.network.loss_request),
            1 => format!("{:.2}", s.network.duplicate),
            2 => s.retry.timeout.to_string(),
            3 => s.retry.attempts_max.to_string(),
            _ if self.crash_op == 0 => "none".to_string(),
            _ => format!("op {}", self.crash_op),
        }
    }

    fn adjust_fault(&mut self, field: usize, direction: i64) {
        let s = &mut self.scenario;
        let step_prob = |p: f64, step: f64| ((p + step * direction as f64) * 100.0).round() / 100.0;
        match field {
            0 => {
                let p = step_prob(s.network.loss_request, 0.05).clamp(0.0, 0.95);
                s.network.loss_request = p;
                s.network.loss_response = p;
            }
            1 => s.network.duplicate = step_prob(s.network.duplicate, 0.01).clamp(0.0, 0.5),
            2 => {
                let ms = (s.retry.timeout.0 / 1_000) as i64 + 5 * direction;
                s.retry.timeout = crate::time::SimDuration::from_millis(ms.clamp(1, 10_000) as u64);
            }
            3 => {
                s.retry.attempts_max =
                    (i64::from(s.retry.attempts_max) + direction).clamp(1, 10) as u32;
            }
            _ => {
                self.crash_op = (i64::from(self.crash_op) + direction)
                    .clamp(0, i64::from(s.workload.ops)) as u32;
            }
        }
        self.baseline = None;
        self.first_difference = None;
        self.rerun();
        self.status = format!("{} = {}", FAULT_FIELDS[field], self.fault_value(field));
    }

    /// The message an event is about, if it is about one ([`crate::export::message_of`]).
    pub fn message_of(e: &TraceEvent) -> Option<MessageRef> {
        crate::export::message_of(e)
    }

    fn add_what_if(&mut self, kind: WhatIf) {
        let Some(e) = self.current() else {
            return;
        };
        let atom = match kind {
            WhatIf::Drop | WhatIf::Duplicate => {
                let Some(msg) = Self::message_of(&e) else {
                    self.status =
                        "put the cursor on a message (send, deliver, respond, receive) first"
                            .to_string();
                    return;
                };
                if kind == WhatIf::Drop {
                    FaultAtom::Drop(msg)
                } else {
                    FaultAtom::Duplicate(msg)
                }
            }
            WhatIf::Crash => {
                match crate::export::crash_after(&self.focused().run.trace, self.cursor) {
                    Some(atom) => atom,
                    None => {
                        self.status = "put the cursor on a handler step (◆ or $) first".to_string();
                        return;
                    }
                }
            }
        };
        if self.what_if.atoms.contains(&atom) {
            self.status = format!("already in the plan: {atom}");
            return;
        }
        self.what_if = self.what_if.with(atom);
        let before = std::mem::take(&mut self.views);
        self.rerun_keeping_time(
            before
                .get(self.focus)
                .map_or(0, |v| v.run.trace.get(self.cursor).map_or(0, |e| e.time_us)),
        );
        self.first_difference = self
            .focused()
            .run
            .trace
            .first_difference(&before[self.focus].run.trace);
        self.baseline = Some(before);
        self.status = match self
            .first_difference
            .and_then(|i| self.focused().run.trace.get(i))
        {
            Some(d) => format!(
                "what if: {atom} · first difference at {}",
                crate::time::SimTime(d.time_us)
            ),
            None => format!("what if: {atom} · no difference"),
        };
    }

    /// Design `i` as it was before the last what-if.
    pub fn before(&self, i: usize) -> Option<&DesignView> {
        self.baseline.as_ref().and_then(|b| b.get(i))
    }
}

/// Maps a key to a message, given what is on screen.
pub fn msg_for_key(app: &App, key: KeyEvent) -> Option<Msg> {
    if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c') {
        return Some(Msg::Quit);
    }
    match &app.overlay {
        Some(Overlay::Filter { .. }) => match key.code {
            KeyCode::Char(c) if c.is_ascii_digit() => Some(Msg::Digit(c)),
            KeyCode::Backspace => Some(Msg::Backspace),
            KeyCode::Enter => Some(Msg::Confirm),
            KeyCode::Esc => Some(Msg::Close),
            _ => None,
        },
        Some(_) => match key.code {
            KeyCode::Esc | KeyCode::Char('q') => Some(Msg::Close),
            KeyCode::Up | KeyCode::Char('k') => Some(Msg::Up),
            KeyCode::Down | KeyCode::Char('j') => Some(Msg::Down),
            KeyCode::Left | KeyCode::Char('-') => Some(Msg::Decrease),
            KeyCode::Right | KeyCode::Char('+') | KeyCode::Char('=') => Some(Msg::Increase),
            KeyCode::Char(' ') => Some(Msg::Toggle),
            KeyCode::Enter => Some(Msg::Confirm),
            KeyCode::Char('?') => Some(Msg::Close),
            _ => None,
        },
        None => match key.code {
            KeyCode::Char('q') | KeyCode::Esc => Some(Msg::Quit),
            KeyCode::Char(' ') => Some(Msg::TogglePlay),
            KeyCode::Right | KeyCode::Char('l') => Some(Msg::Step(1)),
            KeyCode::Left | KeyCode::Char('h') => Some(Msg::Step(-1)),
            KeyCode::PageDown => Some(Msg::Step(20)),
            KeyCode::PageUp => Some(Msg::Step(-20)),
            KeyCode::Home => Some(Msg::Home),
            KeyCode::End => Some(Msg::End),
            KeyCode::Char('+') | KeyCode::Char('=') => Some(Msg::Faster),
            KeyCode::Char('-') => Some(Msg::Slower),
            KeyCode::Tab => Some(Msg::FocusNext),
            KeyCode::Char('n') => Some(Msg::NewSeed),
            KeyCode::Char('d') => Some(Msg::Open(Overlay::Designs {
                row: 0,
                ticked: app.designs.clone(),
            })),
            KeyCode::Char('f') => Some(Msg::Open(Overlay::Faults { field: 0 })),
            KeyCode::Char('s') => Some(Msg::Open(Overlay::Scenarios {
                row: crate::scenario::BUNDLED
                    .iter()
                    .position(|(file, _)| {
                        file.trim_end_matches(".toml").rsplit('/').next()
                            == Some(app.base.name.as_str())
                    })
                    .unwrap_or(0),
            })),
            KeyCode::Char('?') => Some(Msg::Open(Overlay::Help)),
            KeyCode::Char('o') => Some(Msg::Open(Overlay::Filter {
                typed: String::new(),
            })),
            KeyCode::Char('x') => Some(Msg::WhatIf(WhatIf::Drop)),
            KeyCode::Char('u') => Some(Msg::WhatIf(WhatIf::Duplicate)),
            KeyCode::Char('c') => Some(Msg::WhatIf(WhatIf::Crash)),
            KeyCode::Char('X') => Some(Msg::ClearWhatIf),
            KeyCode::Char('e') => Some(Msg::Export),
            _ => None,
        },
    }
}

/// Maps a mouse event to a message: the wheel steps through events.
pub fn msg_for_mouse(mouse: MouseEvent) -> Option<Msg> {
    match mouse.kind {
        MouseEventKind::ScrollDown => Some(Msg::Step(1)),
        MouseEventKind::ScrollUp => Some(Msg::Step(-1)),
        _ => None,
    }
}
