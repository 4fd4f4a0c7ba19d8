// The book's run viewer: plays the runs `idemlab export` wrote (loaded as a script that fills
// window.IDEMLAB_RUNS, so that it works from file:// as from any static host) in every
// `<div class="idemlab-viewer" data-run="NAME">` of the page.
//
// The designs' sequence diagrams stand side by side (one at a time on a narrow screen), their
// rows aligned by simulated time: a row is an instant and a rank among a design's events at that
// instant, so where the runs agree the rows are the same and where they part it shows. Play,
// pause, step, step back, a scrubber; the state panels follow the cursor; clicking an event
// offers the what-ifs the export precomputed for it, and switches that design to its what-if
// run with the first difference marked. Keys as in the TUI: space, ← →, h l, PgUp PgDn, Home End,
// + -, Tab, x u c, X.
//
// No framework and no build step: one file mdBook includes through `additional-js`.
(function () {
    "use strict";

    // Rows drawn: with three designs' panels the viewer fits under mdBook's header at 900 pixels.
    const ROWS = 16;
    // A lane's width in a row's strip, pixels.
    const LANE = 20;
    const SPEEDS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000];
    const DASHES = ["", "6 3", "2 2", "8 3 2 3", "4 4", "1 3"];
    // What each of DASHES looks like, for the chart's legend.
    const DASH_NAMES = ["solid", "dashed", "dotted", "dash-dot", "short dashes", "sparse dots"];
    const MARKS = ["●", "▲", "■", "◆", "▼", "★"];
    // The fields of an exported event (schema_version 2).
    const T = 0, FROM = 1, TO = 2, SYMBOL = 3, TONE = 4, LABEL = 5, LINE = 6, ALARM = 7;
    // The fields of a progress row.
    const STARTED = 0, EFFECTS = 1, DUP = 2, LOST = 3, DOUBT = 4, DLQ = 5, INCONS = 6, CHARGED = 7, FALSE = 8;

    function el(tag, attrs, children) {
        const e = document.createElement(tag);
        for (const [k, v] of Object.entries(attrs || {})) {
            if (k === "text") e.textContent = v;
            else if (k === "class") e.className = v;
            else e.setAttribute(k, v);
        }
        for (const c of children || []) e.append(c);
        return e;
    }

    function svgEl(tag, attrs) {
        const e = document.createElementNS("http://www.w3.org/2000/svg", tag);
        for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
        return e;
    }

    /// Milliseconds with three decimals below a second, seconds with three from a second on.
    function timeScale(endUs) {
        const seconds = endUs >= 1e6;
        return {
            unit: seconds ? "s" : "ms",
            fmt: (t) => (seconds ? (t / 1e6) : (t / 1e3)).toFixed(3),
        };
    }

    /// A design's run as the viewer plays it: the export's base run, or a what-if put back
    /// together (schema 2): the base's events before `from`, then its spans, each either the
    /// what-if's own next events or a stretch of the base's with the counters shifted by a
    /// constant (`export::materialize` in Rust does the same; `tests/viewer.rs` compares them).
    /// Built once per what-if and kept.
    const built = new WeakMap();
    function materialize(base, whatIf) {
        if (!whatIf) return { events: base.events, progress: base.progress, run: base, from: null };
        if (!built.has(whatIf)) built.set(whatIf, rebuild(base, whatIf.run));
        const { events, progress } = built.get(whatIf);
        return { events, progress, run: whatIf.run, from: whatIf.differs ? whatIf.run.from : null };
    }

    function rebuild(base, run) {
        const from = Math.min(run.from, base.events.length);
        const events = base.events.slice(0, from);
        const progress = base.progress.slice(0, from);
        if (!run.spans || !run.spans.length) {
            return { events: events.concat(run.events), progress: progress.concat(run.progress) };
        }
        let next = 0;
        for (const span of run.spans) {
            if (span.own !== undefined) {
                for (let k = 0; k < span.own && next < run.events.length; k++, next++) {
                    events.push(run.events[next]);
                    progress.push(run.progress[next]);
                }
            } else {
                const end = Math.min(span.base + span.n, base.events.length);
                for (let i = span.base; i < end; i++) {
                    events.push(base.events[i]);
                    progress.push(base.progress[i].map((v, k) => v + span.delta[k]));
                }
            }
        }
        return { events, progress };
    }

    /// The keys, as in the TUI (`tui::app::msg_for_key`; `tests/viewer.rs` checks that each
    /// means the same there): key → [action, argument].
    const KEYS = {
        " ": ["play"],
        ArrowRight: ["step", 1], l: ["step", 1],
        ArrowLeft: ["step", -1], h: ["step", -1],
        PageDown: ["step", 20], PageUp: ["step", -20],
        Home: ["home"], End: ["end"],
        "+": ["faster"], "=": ["faster"], "-": ["slower"],
        x: ["whatif", "drop"], u: ["whatif", "duplicate"], c: ["whatif", "crash"],
        X: ["clear"],
        Tab: ["focus"],
    };

    /// Rows aligned by (time, rank at that time): each row holds, per design, an event index
    /// or -1. The TUI aligns its side-by-side diagrams the same way (`tui::align_rows`;
    /// `tests/viewer.rs` compares the two on exported runs).
    function alignRows(runs) {
        const keys = new Map();
        runs.forEach((r, d) => {
            let rank = 0, last = -1;
            r.events.forEach((e, i) => {
                if (e[T] === last) rank += 1; else { rank = 0; last = e[T]; }
                const key = `${e[T]}:${rank}`;
                let row = keys.get(key);
                if (!row) { row = { t: e[T], rank, at: new Array(runs.length).fill(-1) }; keys.set(key, row); }
                row.at[d] = i;
            });
        });
        return [...keys.values()].sort((a, b) => a.t - b.t || a.rank - b.rank);
    }

    class Viewer {
        constructor(root, data) {
            this.root = root;
            this.data = data;
            this.designs = data.designs;
            this.whatIf = this.designs.map(() => null);
            this.focus = 0;
            this.cursor = 0;
            this.playing = false;
            // 5 events a second: a chapter's run plays in about half a minute, slow enough to follow.
            this.speed = 2;
            this.owed = 0;
            this.selected = null;
            this.build();
            this.recompute();
            this.render();
        }

        runs() {
            return this.designs.map((d, i) => materialize(d.run, this.whatIf[i] === null ? null : d.what_ifs[this.whatIf[i]]));
        }

        recompute(keepTime) {
            const time = keepTime && this.rows ? this.rows[this.cursor].t : null;
            this.current = this.runs();
            this.rows = alignRows(this.current);
            this.end = this.current.reduce((m, r) => Math.max(m, r.events.length ? r.events[r.events.length - 1][T] : 0), 0);
            this.scale = timeScale(this.end);
            if (time !== null) {
                let i = this.rows.findIndex((r) => r.t > time);
                this.cursor = Math.max(0, (i < 0 ? this.rows.length : i) - 1);
            }
            this.cursor = Math.min(this.cursor, this.rows.length - 1);
            this.scrub.max = String(this.rows.length - 1);
            this.drawChart();
        }

        build() {
            const r = this.root;
            r.textContent = "";
            r.tabIndex = 0;
            r.setAttribute("role", "application");
            r.setAttribute("aria-label", `run viewer: ${this.data.scenario.name}`);
            const button = (text, title, act, testid) => {
                const b = el("button", { type: "button", title, "aria-label": title, "data-testid": testid, text });
                b.addEventListener("click", (ev) => { ev.preventDefault(); act(); this.root.focus({ preventScroll: true }); });
                return b;
            };
            this.playButton = button("▶ play", "play or pause (space)", () => this.togglePlay(), "play");
            this.scrub = el("input", { type: "range", min: "0", max: "0", value: "0", "aria-label": "position in the run", "data-testid": "scrubber" });
            this.scrub.addEventListener("input", () => { this.playing = false; this.cursor = +this.scrub.value; this.render(); });
            this.speedLabel = el("span", { class: "iv-speed" });
            this.position = el("span", { class: "iv-position", "data-testid": "position" });
            const bar = el("div", { class: "iv-toolbar" }, [
                button("⇤ first", "first event (Home)", () => this.move(-Infinity), "home"),
                button("◀ back", "step back (←)", () => this.step(-1), "back"),
                this.playButton,
                button("step ▶", "step (→)", () => this.step(1), "step"),
                button("last ⇥", "last event (End)", () => this.move(Infinity), "end"),
                button("−", "slower (-)", () => this.setSpeed(-1), "slower"),
                this.speedLabel,
                button("+", "faster (+)", () => this.setSpeed(1), "faster"),
                this.scrub,
                this.position,
            ]);
            this.banner = el("div", { class: "iv-banner", "data-testid": "banner", hidden: "" });
            this.panels = el("div", { class: "iv-panels" });
            this.tabs = el("div", { class: "iv-tabs", role: "tablist" });
            this.diagram = el("div", { class: "iv-diagram", "data-testid": "diagram" });
            this.diagram.addEventListener("click", (ev) => this.click(ev));
            // Hovering an event shows its details (a click keeps them and offers its what-ifs).
            this.diagram.addEventListener("mouseover", (ev) => {
                const td = ev.target.closest("td[data-index]");
                const hovered = td ? { d: Number(td.dataset.col), i: Number(td.dataset.index) } : null;
                if (JSON.stringify(hovered) !== JSON.stringify(this.hovered)) {
                    this.hovered = hovered;
                    this.renderDetails();
                }
            });
            this.diagram.addEventListener("mouseleave", () => {
                this.hovered = null;
                this.renderDetails();
            });
            // The wheel scrolls the page, as everywhere else in the book (it used to step the run,
            // which trapped a reader scrolling past the viewer).
            this.details = el("div", { class: "iv-details", "data-testid": "details" });
            this.chart = el("div", { class: "iv-chart" });
            const help = el("p", { class: "iv-help", "data-testid": "keyhelp" }, [
                el("span", { class: "iv-keystate", "data-testid": "keystate" }),
                "space plays · ← → step · PgUp PgDn twenty · Home End · + − speed · Tab next design · click an event, then x drop · u duplicate · c crash here · X back to the run",
            ]);
            const legend = el("details", { class: "iv-symbols", "data-testid": "symbols" }, [
                el("summary", { text: "what the symbols mean" }),
                el("dl", {}, (this.data.scenario.legend || []).flatMap(([sym, meaning]) => [el("dt", { text: sym }), el("dd", { text: meaning })])),
            ]);
            r.append(bar, this.banner, this.panels, this.tabs, this.diagram, this.details, this.chart, legend, help);
            this.keystate(false);
            r.addEventListener("focus", () => { this.keystate(true); });
            r.addEventListener("blur", () => { this.keystate(false); });
            r.addEventListener("keydown", (ev) => this.key(ev));
            window.addEventListener("resize", () => { this.fitWidth(); this.width = undefined; this.drawChart(); this.render(); });
            this.fitWidth();
            this.lastFrame = null;
        }

        /// Says whether the keys reach the viewer: only once it has the focus, so that until
        /// then the page's own keys (space scrolls, ← → change chapter) work as everywhere.
        keystate(on) {
            const s = this.root.querySelector(".iv-keystate");
            if (s) s.textContent = on ? "keys work now: " : "click the viewer (or Tab to it) to use the keys: ";
            this.root.classList.toggle("iv-keys-on", on);
        }

        /// The viewer takes the width of the page's content area, not only mdBook's text column
        /// (750 pixels), so that labels have room; centred on the column, never wider than the
        /// window.
        fitWidth() {
            const r = this.root;
            r.style.width = "";
            r.style.marginLeft = "";
            const content = r.closest(".content") || r.parentElement;
            const cs = getComputedStyle(content);
            const box = content.getBoundingClientRect();
            const left = box.left + parseFloat(cs.paddingLeft);
            const avail = box.width - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight);
            const natural = r.getBoundingClientRect();
            const want = Math.min(avail, 1500);
            if (want <= natural.width + 1) return;
            r.style.width = `${Math.floor(want)}px`;
            r.style.marginLeft = `${Math.floor(left + (avail - want) / 2 - natural.left)}px`;
        }

        setSpeed(d) {
            this.speed = Math.max(0, Math.min(SPEEDS.length - 1, this.speed + d));
            this.render();
        }

        togglePlay() {
            if (!this.playing && this.cursor >= this.rows.length - 1) this.cursor = 0;
            this.playing = !this.playing;
            this.owed = 0;
            this.lastFrame = null;
            if (this.playing) requestAnimationFrame((t) => this.frame(t));
            this.render();
        }

        frame(now) {
            if (!this.playing) return;
            if (this.lastFrame !== null) {
                this.owed += SPEEDS[this.speed] * (now - this.lastFrame) / 1000;
                const whole = Math.floor(this.owed);
                if (whole > 0) {
                    this.owed -= whole;
                    this.cursor = Math.min(this.rows.length - 1, this.cursor + whole);
                    if (this.cursor >= this.rows.length - 1) this.playing = false;
                    this.render();
                }
            }
            this.lastFrame = now;
            if (this.playing) requestAnimationFrame((t) => this.frame(t));
            else this.render();
        }

        step(n) {
            this.playing = false;
            this.move(n);
        }

        move(n) {
            const to = n === Infinity ? this.rows.length - 1 : n === -Infinity ? 0 : this.cursor + n;
            this.cursor = Math.max(0, Math.min(this.rows.length - 1, to));
            this.selected = null;
            this.render();
        }

        /// The focused design's event at the cursor row, or its latest before it.
        eventAt(d, row) {
            for (let r = row; r >= 0; r--) if (this.rows[r].at[d] >= 0) return this.rows[r].at[d];
            return -1;
        }

        key(ev) {
            if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
            const k = ev.key;
            const [name, arg] = KEYS[k] || [];
            const act = {
                play: () => this.togglePlay(),
                step: () => this.step(arg),
                home: () => this.move(-Infinity),
                end: () => this.move(Infinity),
                faster: () => this.setSpeed(1),
                slower: () => this.setSpeed(-1),
                whatif: () => this.ask(arg),
                clear: () => this.clear(),
            }[name];
            if (name === "focus" && !ev.shiftKey && this.focus < this.designs.length - 1) {
                ev.preventDefault();
                this.focus += 1;
                this.render();
                return;
            }
            if (name === "focus" && !ev.shiftKey) { this.focus = 0; this.render(); return; }
            // Handled here, and not by the book: mdBook turns ← and → into the previous and
            // next chapter on the whole document.
            if (act) { ev.preventDefault(); ev.stopPropagation(); act(); }
        }

        /// The what-if of `kind` at the selected event (or the focused design's event at the
        /// cursor); `x` on a message the scenario already loses asks "what if it had arrived?".
        ask(kind) {
            const d = this.selected ? this.selected.d : this.focus;
            const i = this.selected ? this.selected.i : this.eventAt(d, this.cursor);
            const offered = this.offers(d, i);
            // x on a message the scenario loses, c on its crash: "what if that had not happened?".
            const w = offered.find((o) => o.kind === kind) || (kind === "drop" || kind === "crash" ? offered.find((o) => o.kind === "undo") : null);
            if (!w) {
                this.say(kind === "crash" ? "put the cursor on a handler step (◆) or a crash (✖) first" : "put the cursor on a message (▶ ◀ ✗) first");
                return;
            }
            this.switchTo(d, w.index);
        }

        /// The what-ifs the export has for design `d`'s event `i` (of the run as exported).
        offers(d, i) {
            if (this.whatIf[d] !== null) {
                // In a what-if, only the events before its first difference are the exported run's.
                const w = this.designs[d].what_ifs[this.whatIf[d]];
                if (i >= w.run.from) return [];
            }
            return this.designs[d].what_ifs.map((w, index) => ({ ...w, index })).filter((w) => w.at === i);
        }

        switchTo(d, index) {
            this.whatIf[d] = index;
            this.focus = d;
            this.playing = false;
            this.recompute(true);
            const w = this.designs[d].what_ifs[index];
            const row = this.rows.findIndex((r) => r.at[d] === w.run.from);
            this.firstDiffRow = w.differs && row >= 0 ? row : null;
            if (this.firstDiffRow !== null) this.cursor = this.firstDiffRow;
            this.selected = null;
            this.render();
        }

        clear() {
            if (this.whatIf.every((w) => w === null)) { this.say("no what-if to clear"); return; }
            this.whatIf = this.designs.map(() => null);
            this.firstDiffRow = null;
            this.recompute(true);
            this.render();
        }

        say(text) {
            this.message = text;
            this.render();
        }

        counters(d, row) {
            const i = this.eventAt(d, row);
            return i < 0 ? [0, 0, 0, 0, 0, 0, 0, 0, 0] : this.current[d].progress[i];
        }

        render() {
            const rows = this.rows;
            const row = rows[this.cursor];
            this.scrub.value = String(this.cursor);
            this.playButton.textContent = this.playing ? "‖ pause" : "▶ play";
            this.speedLabel.textContent = `${SPEEDS[this.speed]} ev/s`;
            this.position.textContent = `row ${this.cursor + 1}/${rows.length} · ${this.scale.fmt(row.t)} ${this.scale.unit}`;
            // The banner: the what-if in force, where it first differs, and the way back.
            const active = this.whatIf.map((w, d) => (w === null ? null : [d, this.designs[d].what_ifs[w]])).filter(Boolean);
            if (active.length || this.message) {
                this.banner.hidden = false;
                this.banner.textContent = "";
                for (const [d, w] of active) {
                    // The what-if's event where it first differs, or the design's when the
                    // what-if ends there.
                    const at = this.current[d].events[w.run.from] || this.designs[d].run.events[w.run.from];
                    const where = w.differs ? `first difference at ${this.scale.fmt(at ? at[T] : 0)} ${this.scale.unit} (≠)` : "no difference";
                    const fault = w.kind === "undo" ? `the scenario's fault taken away: ${w.fault}` : `added: ${w.fault}`;
                    this.banner.append(el("span", { text: `${this.designs[d].name}: ${w.title} (${fault}) · ${where} ` }));
                }
                if (active.length) {
                    const back = el("button", { type: "button", "data-testid": "clear", text: "back to the run (X)" });
                    back.addEventListener("click", () => { this.clear(); this.root.focus({ preventScroll: true }); });
                    this.banner.append(back);
                }
                if (this.message) this.banner.append(el("span", { class: "iv-message", text: " " + this.message }));
                this.message = null;
            } else {
                this.banner.hidden = true;
            }
            this.renderPanels();
            this.renderTabs();
            this.renderDiagram();
            this.renderDetails();
            this.moveChartCursor();
        }

        renderPanels() {
            this.panels.textContent = "";
            const amount = this.data.scenario.amount;
            this.designs.forEach((d, i) => {
                const p = this.counters(i, this.cursor);
                const r = this.current[i];
                const n = this.eventAt(i, this.cursor) + 1;
                const cell = (name, v, testid) => el("span", { class: v > 0 && name !== "effects" ? "iv-bad" : "", "data-testid": testid }, [`${name} `, el("b", { text: String(v) })]);
                const card = el("div", { class: "iv-card" + (i === this.focus ? " iv-focus" : ""), "data-design": d.name, "data-testid": `panel-${d.name}` }, [
                    el("div", { class: "iv-name" }, [el("span", { class: `iv-mark iv-d${i % 6}`, "aria-hidden": "true", text: MARKS[i % 6] }), " ", el("b", { text: d.name }), this.whatIf[i] !== null ? el("span", { class: "iv-tag", text: " what-if" }) : ""]),
                    el("div", {}, [
                        el("span", { "data-testid": "effects" }, [`effects ${p[EFFECTS]}/${p[STARTED]}`]), " · ",
                        this.charged(r, p, amount),
                    ]),
                    el("div", {}, [cell("dup", p[DUP], "dup"), " ", cell("lost", p[LOST], "lost"), " ", cell("doubt", p[DOUBT], "doubt"), " ", cell("dlq", p[DLQ], "dlq"), " ", cell("incons", p[INCONS], "incons")]),
                    el("div", { class: "iv-small", "data-testid": "event" }, [`event ${n}/${r.events.length}`]),
                ]);
                card.addEventListener("click", () => { this.focus = i; this.render(); });
                this.panels.append(card);
            });
        }

        /// The money: charged so far, and at the end of the run against the ideal (before the
        /// end, an ideal of the operations started so far would hide a duplicate charge behind
        /// one still to come). A design that never calls the provider says so in words.
        charged(r, p, amount) {
            if (!r.run.charges) return el("span", { "data-testid": "charged", title: "this design never calls the payment provider: nothing to charge" }, ["no provider"]);
            const atEnd = this.cursor >= this.rows.length - 1;
            const ideal = p[STARTED] * amount;
            if (!atEnd) return el("span", { "data-testid": "charged" }, [`$ ${p[CHARGED]} so far`]);
            return el("span", { "data-testid": "charged", class: p[CHARGED] !== ideal ? "iv-bad" : "" }, [`$ `, el("b", { text: String(p[CHARGED]) }), ` · ideal ${ideal}`]);
        }

        renderTabs() {
            // On a narrow screen one design's diagram at a time: these choose which.
            this.tabs.textContent = "";
            this.designs.forEach((d, i) => {
                const t = el("button", { type: "button", role: "tab", "aria-selected": String(i === this.focus), class: i === this.focus ? "iv-on" : "", text: `${MARKS[i % 6]} ${d.name}` });
                t.addEventListener("click", () => { this.focus = i; this.render(); });
                this.tabs.append(t);
            });
        }

        renderDiagram() {
            const lanes = this.data.scenario.lanes;
            // On a narrow screen only the focused design is drawn: its rows alone, and the cursor's.
            const narrow = window.matchMedia("(max-width: 700px)").matches;
            const all = [];
            const lo = Math.max(0, this.cursor - ROWS * 4), hi = Math.min(this.rows.length, this.cursor + ROWS * 4);
            for (let r = narrow ? lo : Math.max(0, this.cursor - ROWS); r < (narrow ? hi : Math.min(this.rows.length, this.cursor + ROWS)); r++) {
                if (!narrow || r === this.cursor || this.rows[r].at[this.focus] >= 0) all.push(r);
            }
            const here = all.indexOf(this.cursor);
            const first = Math.max(0, Math.min(here - Math.floor(ROWS * 2 / 3), all.length - ROWS));
            const picked = all.slice(first, first + ROWS);
            // One string, parsed once: much cheaper per frame than building the nodes one by one.
            const esc = (t) => String(t).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
            const short = (l) => l.replace("client", "c").replace("server", "s").replace("network", "net").replace("provider", "pay").replace("store", "db");
            const lanesHead = lanes.map((l) => `<span style="width: ${LANE}px" title="${esc(l)}">${esc(short(l))}</span>`).join("");
            const col = (i) => "iv-col" + (i === this.focus ? " iv-focus" : "");
            // Labels share what the column leaves after the lanes, and are cut with … past it.
            // The width is measured once and again on resize, never while playing: reading a
            // size after the rows change would make the browser lay them out there and then.
            if (this.width === undefined) this.width = this.diagram.clientWidth;
            const shownCols = narrow ? 1 : this.designs.length;
            const room = (this.width - 70) / shownCols - lanes.length * LANE - 16;
            // Fixed layout: the columns keep their places as rows scroll by (with automatic layout
            // they moved with each frame's longest label).
            let html = `<table class="iv-table" style="--iv-label: ${Math.max(60, Math.floor(room))}px"><colgroup><col class="iv-timecol">${(narrow ? [this.focus] : this.designs.map((_, i) => i)).map(() => "<col>").join("")}</colgroup><thead><tr><th class="iv-time">${this.scale.unit}</th>`;
            this.designs.forEach((d, i) => {
                html += `<th class="${col(i)}" data-col="${i}"><div class="iv-colname"><span class="iv-mark iv-d${i % 6}">${MARKS[i % 6]}</span> ${esc(d.name)}</div><div class="iv-lanes">${lanesHead}</div></th>`;
            });
            html += "</tr></thead><tbody>";
            for (const r of picked) {
                const row = this.rows[r];
                const cls = (r === this.cursor ? "iv-cursor" : "") + (r === this.firstDiffRow ? " iv-first" : "");
                const mark = r === this.firstDiffRow ? "≠ " : r === this.cursor ? "▸ " : "";
                html += `<tr class="${cls}" data-row="${r}"><td class="iv-time">${mark}${this.scale.fmt(row.t)}</td>`;
                this.designs.forEach((d, i) => {
                    const idx = row.at[i];
                    if (idx < 0) {
                        html += `<td class="${col(i)}" data-col="${i}">${this.strip(lanes.length, null)}</td>`;
                        return;
                    }
                    const e = this.current[i].events[idx];
                    const sel = this.selected && this.selected.d === i && this.selected.i === idx;
                    const label = "iv-label" + (e[ALARM] ? " iv-alarm" : "") + (sel ? " iv-selected" : "");
                    html += `<td class="${col(i)}" data-col="${i}" data-index="${idx}">${this.strip(lanes.length, e)}<span class="${label}" title="${esc(e[LABEL])}">${esc(e[LABEL])}</span></td>`;
                });
                html += "</tr>";
            }
            html += "</tbody></table>";
            this.diagram.innerHTML = html;
        }

        /// A click on an event's cell selects it (one listener for the whole diagram).
        click(ev) {
            const td = ev.target.closest("td[data-index]");
            const tr = ev.target.closest("tr[data-row]");
            if (!td || !tr) return;
            this.playing = false;
            this.cursor = Number(tr.dataset.row);
            this.focus = Number(td.dataset.col);
            this.selected = { d: this.focus, i: Number(td.dataset.index) };
            this.render();
        }

        /// One row's lanes: an SVG strip with the arrow and the symbol, as markup.
        strip(n, e) {
            const w = n * LANE, h = 18, mid = LANE / 2;
            // The lanes' rules are the strip's background (viewer.css), not elements: a frame
            // paints a few hundred fewer nodes.
            let s = `<svg width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" class="iv-strip" aria-hidden="true">`;
            if (e) {
                const a = mid + e[FROM] * LANE, b = mid + e[TO] * LANE;
                if (a !== b) s += `<line x1="${a}" y1="9" x2="${b}" y2="9" class="iv-arrow iv-${e[TONE]}"/>`;
                s += `<text x="${b}" y="13.5" text-anchor="middle" class="iv-sym iv-${e[TONE]}">${e[SYMBOL]}</text>`;
            }
            return s + "</svg>";
        }

        renderDetails() {
            this.details.textContent = "";
            let at = this.selected || this.hovered;
            // A hovered index from before a what-if switched the runs may be gone.
            if (at && !this.current[at.d].events[at.i]) at = null;
            const d = at ? at.d : this.focus;
            const i = at ? at.i : this.eventAt(d, this.cursor);
            if (i < 0) { this.details.append(el("p", { text: "before the first event" })); return; }
            const e = this.current[d].events[i];
            this.details.append(el("p", {}, [el("b", { text: `${this.designs[d].name} · event ${i + 1} · ${this.scale.fmt(e[T])} ${this.scale.unit}` }), ` · ${e[LABEL]}`]));
            this.details.append(el("pre", { class: "iv-line", text: e[LINE] }));
            const offered = this.offers(d, i);
            if (offered.length) {
                const keys = { drop: "x", duplicate: "u", crash: "c", undo: "x" };
                const list = el("div", { class: "iv-offers" });
                for (const w of offered) {
                    const b = el("button", { type: "button", "data-testid": `what-if-${w.kind}`, text: `${w.title} (${keys[w.kind]})` });
                    b.addEventListener("click", () => { this.switchTo(d, w.index); this.root.focus({ preventScroll: true }); });
                    list.append(b);
                }
                this.details.append(list);
            } else {
                this.details.append(el("p", { class: "iv-small", text: "click a message (▶ ◀ ✗) or a step (◆) to ask what if" }));
            }
        }

        drawChart() {
            // Divergence (duplicates + lost + in doubt + dead-lettered + inconsistent + false failures) over
            // simulated time, a line per design with its own dash and marker.
            // Drawn at the width it is shown (one unit a pixel), so its text keeps its size on a
            // phone instead of shrinking with a fixed drawing.
            const W = Math.max(280, Math.floor(this.chart.getBoundingClientRect().width) || 700), H = 150, L = 36, R = 10, TOP = 10, B = 24;
            const series = this.current.map((r) => {
                const pts = [[0, 0]];
                let last = 0;
                r.events.forEach((e, i) => {
                    const p = r.progress[i];
                    const v = p[DUP] + p[LOST] + p[DOUBT] + p[DLQ] + p[INCONS] + (p[FALSE] || 0);
                    if (v !== last) { pts.push([e[T], last], [e[T], v]); last = v; }
                });
                pts.push([this.end, last]);
                return pts;
            });
            // (A loop, not Math.max(...): a long run has more points than a call takes arguments.)
            let yMax = 1;
            for (const s of series) for (const p of s) if (p[1] > yMax) yMax = p[1];
            const sx = (t) => L + (this.end > 0 ? t / this.end : 0) * (W - L - R);
            const sy = (v) => H - B - (v / yMax) * (H - B - TOP);
            const svg = svgEl("svg", { viewBox: `0 0 ${W} ${H}`, class: "iv-chartsvg", role: "img", "aria-label": "divergence from exactly-once over simulated time" });
            svg.append(svgEl("polyline", { points: `${L},${TOP} ${L},${H - B} ${W - R},${H - B}`, class: "iv-axis" }));
            const label = (x, y, text, anchor) => { const t = svgEl("text", { x, y, "text-anchor": anchor || "middle", class: "iv-axistext" }); t.textContent = text; svg.append(t); };
            label(L - 4, sy(yMax) + 4, String(yMax), "end");
            label(L - 4, H - B + 4, "0", "end");
            label(L, H - 6, "0", "start");
            label(W - R, H - 6, `${this.scale.fmt(this.end)} ${this.scale.unit}`, "end");
            const title = el("div", { class: "iv-charttitle", text: "divergence from exactly-once (dup + lost + doubt + dlq + incons + told-failed) over time" });
            series.forEach((pts, i) => {
                // At most ~1,000 points a line: the last of each pixel column keeps the steps.
                const step = Math.max(1, Math.floor(pts.length / 1000));
                const kept = pts.filter((_, k) => k % step === 0 || k === pts.length - 1);
                // Each line a pixel and a half above the one before: designs that agree draw
                // side by side instead of one hiding the other.
                const up = i * 1.5;
                svg.append(svgEl("polyline", { points: kept.map((p) => `${sx(p[0]).toFixed(1)},${(sy(p[1]) - up).toFixed(1)}`).join(" "), class: `iv-series iv-d${i % 6}`, "stroke-dasharray": DASHES[i % 6] }));
                const lastPt = pts[pts.length - 1];
                const m = svgEl("text", { x: sx(lastPt[0]) - 6 - i * 12, y: sy(lastPt[1]) - 3, class: `iv-d${i % 6} iv-marktext`, "text-anchor": "middle" });
                m.textContent = MARKS[i % 6];
                svg.append(m);
            });
            this.cursorLine = svgEl("line", { x1: L, y1: TOP, x2: L, y2: H - B, class: "iv-cursorline" });
            this.chartScale = sx;
            svg.append(this.cursorLine);
            const legend = el("div", { class: "iv-legend", "data-testid": "chart-legend" }, this.designs.map((d, i) => el("span", {}, [el("span", { class: `iv-mark iv-d${i % 6}`, text: MARKS[i % 6] }), ` ${d.name} (${DASH_NAMES[i % 6]})`])));
            svg.setAttribute("width", String(W));
            svg.setAttribute("height", String(H));
            this.chart.textContent = "";
            this.chart.append(title, svg, legend);
        }

        moveChartCursor() {
            if (!this.cursorLine) return;
            const x = this.chartScale(this.rows[this.cursor].t).toFixed(1);
            this.cursorLine.setAttribute("x1", x);
            this.cursorLine.setAttribute("x2", x);
        }
    }

    function start() {
        document.querySelectorAll(".idemlab-viewer").forEach((root) => {
            const name = root.dataset.run;
            const data = (window.IDEMLAB_RUNS || {})[name];
            if (!data || data.schema_version !== 2) {
                root.textContent = data ? `this run was exported with schema_version ${data.schema_version}; this viewer reads 2 (export it again with this idemlab)` : `the run "${name}" did not load`;
                root.classList.add("iv-missing");
                return;
            }
            if (!data.designs.length || data.designs.every((d) => !d.run.events.length)) {
                root.textContent = `the run "${name}" has no events to play`;
                root.classList.add("iv-missing");
                return;
            }
            root.viewer = new Viewer(root, data);
        });
    }
    // Outside a page (node, for `tests/viewer.rs`): the pure parts, nothing started.
    if (typeof document === "undefined") {
        if (typeof module === "object") module.exports = { alignRows, KEYS, materialize };
        return;
    }
    if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
    else start();
})();
