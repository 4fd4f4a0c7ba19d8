// The book's run viewer in headless Chromium, used as a reader would: node viewer.mjs BOOK_DIR
// SHOTS_DIR DUP_EVENT CHARGE_EVENT BENCH_PAGE. DUP_EVENT and CHARGE_EVENT are the 1-based
// numbers of naive's first duplicate effect and of its duplicate charge in `lost-response`,
// read by the caller from the program's own trace (`idemlab run lost-response --design naive
// --trace`); BENCH_PAGE a page playing a 10,000-events-a-design run.
//
// On three chapters it presses play, pauses, steps back; on the lost-response chapter it
// checks that naive's duplicate appears at exactly DUP_EVENT, selects the lost response,
// switches to "what if this response had arrived?" and checks that the duplicate is gone; on
// the TUI chapter it does the same with the keyboard only. Then it measures the viewer on the
// long run: time to load, and frame times while playing. Prints one line per check and the
// figures; exits 1 on the first failure. Screenshots of each state go to SHOTS_DIR.

import { chromium } from "playwright-core";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";

const [bookDir, shotsDir, dupEventArg, chargeEventArg, benchPage] = process.argv.slice(2);
const dupEvent = Number(dupEventArg);
const chargeEvent = Number(chargeEventArg);
if (!bookDir || !shotsDir || !Number.isInteger(dupEvent) || !Number.isInteger(chargeEvent) || !benchPage) {
    console.error("usage: node viewer.mjs BOOK_DIR SHOTS_DIR DUP_EVENT CHARGE_EVENT BENCH_PAGE");
    process.exit(2);
}
fs.mkdirSync(shotsDir, { recursive: true });

function check(ok, what) {
    if (!ok) throw new Error(`failed: ${what}`);
    console.log(`ok: ${what}`);
}

const profile = fs.mkdtempSync(path.join(os.tmpdir(), "idemlab-chromium-"));
const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"],
    viewport: { width: 1280, height: 900 },
});
let failed = false;
try {
    const page = context.pages()[0] || (await context.newPage());
    const errors = [];
    page.on("pageerror", (e) => errors.push(e.message));
    const open = async (name) => {
        await page.goto(pathToFileURL(path.join(bookDir, name)).href, { waitUntil: "load" });
        const viewer = page.locator(".idemlab-viewer").first();
        await viewer.scrollIntoViewIfNeeded();
        check(await page.locator(".idemlab-viewer .iv-table").count() > 0, `${name}: the viewer draws its diagram`);
        return viewer;
    };
    const row = async (v) => Number((await v.getByTestId("position").textContent()).match(/row (\d+)/)[1]);
    const panel = (v, design) => v.getByTestId(`panel-${design}`);
    const counter = async (v, design, name) => Number((await panel(v, design).getByTestId(name).textContent()).match(/(\d+)/)[1]);
    const eventNo = async (v, design) => Number((await panel(v, design).getByTestId("event").textContent()).match(/event (\d+)/)[1]);
    const shot = (name) => page.screenshot({ path: path.join(shotsDir, `${name}.png`) });

    // Play, pause, step back, on three chapters.
    for (const chapter of ["idempotency-keys.html", "why-it-matters.html", "retries-and-dlq.html"]) {
        const v = await open(chapter);
        const before = await row(v);
        await v.getByTestId("play").click();
        await page.waitForTimeout(600);
        await v.getByTestId("play").click();
        const played = await row(v);
        check(played > before, `${chapter}: play moved the cursor (row ${before} to ${played})`);
        await shot(`${chapter.replace(".html", "")}-played`);
        await v.getByTestId("back").click();
        check((await row(v)) === played - 1, `${chapter}: step back moved one row back`);
        await shot(`${chapter.replace(".html", "")}-stepped-back`);
    }

    // The lost response, with the mouse.
    let v = await open("idempotency-keys.html");
    await v.getByTestId("end").click();
    check((await counter(v, "naive", "dup")) >= 1, "lost-response: naive ends with a duplicate");
    await v.getByTestId("home").click();
    let steps = 0;
    while ((await counter(v, "naive", "dup")) === 0 && steps < 500) {
        await v.getByTestId("step").click();
        steps += 1;
    }
    const seen = await eventNo(v, "naive");
    check(seen === dupEvent, `lost-response: naive's duplicate appears at its event ${seen}, where the program's trace has it (${dupEvent})`);
    await shot("lost-response-duplicate");
    // The duplicate charge: where naive's charged amount first exceeds what the operations
    // started so far should have cost (the panel says "so far" before the end: see below).
    const charged = async () => page.evaluate(() => {
        const viewer = document.querySelector(".idemlab-viewer").viewer;
        const p = viewer.counters(viewer.designs.findIndex((d) => d.name === "naive"), viewer.cursor);
        return [p[7], p[0] * viewer.data.scenario.amount];
    });
    steps = 0;
    while ((([c, ideal]) => c <= ideal)(await charged()) && steps < 500) {
        await v.getByTestId("step").click();
        steps += 1;
    }
    const chargedAt = await eventNo(v, "naive");
    check(chargedAt === chargeEvent, `lost-response: naive's duplicate charge appears at its event ${chargedAt} (${(await charged()).join(" charged of an ideal ")}), where the program's trace has it (${chargeEvent})`);
    await shot("lost-response-duplicate-charge");
    // Find the lost response in naive's column and ask what if it had arrived.
    await v.getByTestId("home").click();
    const lost = v.locator('td[data-col="0"]').filter({ hasText: "LOST op2.1 response" });
    steps = 0;
    while ((await lost.count()) === 0 && steps < 200) {
        await v.getByTestId("step").click();
        steps += 1;
    }
    check((await lost.count()) === 1, "lost-response: the lost response is on screen in naive's column");
    await lost.first().hover();
    check((await v.getByTestId("details").textContent()).includes("LOST op2.1 response"), "lost-response: hovering the lost response shows its details");
    await lost.first().click();
    const arrived = v.getByTestId("what-if-undo");
    check((await arrived.textContent()).includes("what if this response had arrived?"), "lost-response: the lost response offers \"what if it had arrived\"");
    await arrived.click();
    check((await v.getByTestId("banner").textContent()).includes("had arrived"), "lost-response: the banner names the what-if");
    check((await v.locator("tr.iv-first").count()) === 1, "lost-response: the first difference is marked");
    await shot("lost-response-what-if");
    await v.getByTestId("end").click();
    check((await counter(v, "naive", "dup")) === 0, "lost-response: in the what-if naive has no duplicate");
    const [c, ideal] = await charged();
    check(c === ideal, `lost-response: and charges what the ideal does (${c} of ${ideal})`);
    await shot("lost-response-what-if-end");
    await v.getByTestId("clear").click();
    await v.getByTestId("end").click();
    check((await counter(v, "naive", "dup")) >= 1, "lost-response: back to the run, the duplicate is back");

    // The TUI chapter, with the keyboard only.
    v = await open("tui.html");
    // The pointer away from the diagram: hovering an event would show its details instead.
    await page.mouse.move(0, 0);
    await v.focus();
    await page.keyboard.press("End");
    check((await counter(v, "naive", "dup")) >= 1, "tui: End shows naive's duplicate");
    await page.keyboard.press("Home");
    await page.keyboard.press(" ");
    await page.waitForTimeout(400);
    await page.keyboard.press(" ");
    const r = await row(v);
    check(r > 1, "tui: space plays and pauses");
    await page.keyboard.press("ArrowLeft");
    check((await row(v)) === r - 1, "tui: ← steps back");
    await page.keyboard.press("Home");
    steps = 0;
    while (!((await v.getByTestId("details").textContent()).includes("LOST op2.1 response")) && steps < 200) {
        await page.keyboard.press("ArrowRight");
        steps += 1;
    }
    await page.keyboard.press("x");
    check((await v.getByTestId("banner").textContent()).includes("had arrived"), "tui: x on the lost response asks what if it had arrived");
    await page.keyboard.press("End");
    check((await counter(v, "naive", "dup")) === 0, "tui: and the duplicate is gone");
    await page.keyboard.press("X");
    check(await v.getByTestId("banner").isHidden(), "tui: X goes back to the run");
    await shot("tui-keys");


    // ---- What a learner meets: room, traps, instructions (issue 28). ----
    const viewerIn = (n) => page.locator(".idemlab-viewer").nth(n);
    const runOf = (n) => page.evaluate((n) => {
        const viewer = document.querySelectorAll(".idemlab-viewer")[n].viewer;
        return viewer.designs.map((d, i) => ({ name: d.name, labels: viewer.current[i].events.map((e) => e[5]) }));
    }, n);
    const stepUntil = async (vv, what, test) => {
        for (let i = 0; i < 400; i++) {
            if (await test()) return;
            await vv.getByTestId("step").click();
        }
        throw new Error(`failed: never saw ${what}`);
    };
    // The label of naive's first duplicate, on screen and whole.
    const dupLabelWhole = async (vv, where) => {
        await vv.getByTestId("home").click();
        const label = vv.locator('td[data-col="0"] .iv-label.iv-alarm', { hasText: "DUPLICATE" }).first();
        await stepUntil(vv, "naive's duplicate", async () => (await label.count()) > 0);
        const m = await label.evaluate((el) => {
            const r = el.getBoundingClientRect();
            return { text: el.textContent, cut: el.scrollWidth > el.clientWidth + 1, right: r.right, width: window.innerWidth };
        });
        check(m.text.startsWith("DUPLICATE") && m.text.includes("(application 2)") && !m.cut && m.right <= m.width,
            `${where}: naive's duplicate label is whole and on screen ("${m.text}", right edge ${m.right.toFixed(0)} of ${m.width})`);
    };

    v = await open("quick-start.html");
    const box = await v.evaluate((el) => ({ w: el.getBoundingClientRect().width, col: document.querySelector("main").getBoundingClientRect().width, h: el.getBoundingClientRect().height, top: (document.querySelector("#mdbook-menu-bar") || { getBoundingClientRect: () => ({ height: 0 }) }).getBoundingClientRect().height }));
    check(box.w > box.col + 100, `quick-start: the viewer takes the page's width (${box.w.toFixed(0)} px), not only the text column (${box.col.toFixed(0)} px)`);
    check(box.h <= 900 - box.top, `quick-start: three designs' viewer fits under the book's header (${box.h.toFixed(0)} px of ${900 - box.top})`);
    check((await v.getByTestId("play").textContent()).includes("play") && (await v.locator(".iv-speed").textContent()) === "5 ev/s", "quick-start: it plays 5 events a second by default");
    await dupLabelWhole(v, "quick-start at 1280×900");
    // Columns keep their places as rows scroll by.
    const xs = async () => v.locator("tbody tr").first().locator("td").evaluateAll((tds) => tds.map((t) => Math.round(t.getBoundingClientRect().left)));
    await v.getByTestId("home").click();
    const x0 = await xs();
    for (let i = 0; i < 12; i++) await v.getByTestId("step").click();
    const x1 = await xs();
    check(JSON.stringify(x0) === JSON.stringify(x1), `quick-start: the columns stay put as rows scroll (${x0.join(",")} then ${x1.join(",")})`);
    // The wheel scrolls the page, even over the diagram.
    await v.getByTestId("home").click();
    const before = await row(v);
    await v.getByTestId("diagram").hover();
    const y0 = await page.evaluate(() => (document.querySelector("#mdbook-body-container") || document.scrollingElement).scrollTop || window.scrollY);
    await page.mouse.wheel(0, 300);
    await page.waitForTimeout(300);
    const y1 = await page.evaluate(() => (document.querySelector("#mdbook-body-container") || document.scrollingElement).scrollTop || window.scrollY);
    check(y1 > y0 && (await row(v)) === before, `quick-start: the wheel over the diagram scrolls the page (${y0} to ${y1}) and leaves the run at row ${before}`);
    // Keys before the viewer has the focus are the page's: the run does not move.
    await page.locator("main h1").first().click();
    check(!(await v.evaluate((el) => el.contains(document.activeElement))), "quick-start: the viewer does not have the focus");
    check((await v.getByTestId("keystate").textContent()).includes("click the viewer"), "quick-start: the viewer says how to give it the keys");
    await page.keyboard.press("l");
    await page.keyboard.press(" ");
    check((await row(v)) === before, "quick-start: l and space before focus leave the run where it was");
    // The instruction: press play; click the viewer and space plays, → steps.
    await v.getByTestId("play").click();
    await page.waitForTimeout(700);
    await v.getByTestId("play").click();
    const afterPlay = await row(v);
    check(afterPlay > before, `quick-start: ▶ play plays (row ${before} to ${afterPlay})`);
    await v.locator(".iv-panels").click();
    check((await v.getByTestId("keystate").textContent()).includes("keys work now"), "quick-start: once clicked, the viewer says the keys work");
    await page.keyboard.press("ArrowRight");
    check((await row(v)) === afterPlay + 1, "quick-start: then → steps the run");
    // "Click the lost response (✗) and ask what if it had arrived: naive's DUPLICATE charge is gone."
    await v.getByTestId("home").click();
    const lostQ = v.locator('td[data-col="0"]', { hasText: "LOST op2.1 response" });
    await stepUntil(v, "the lost response", async () => (await lostQ.count()) > 0);
    await lostQ.first().click();
    await v.getByTestId("what-if-undo").click();
    check((await v.getByTestId("banner").textContent()).includes("the scenario's fault taken away"), "quick-start: the banner says the what-if takes the scenario's fault away");
    await v.getByTestId("end").click();
    check((await counter(v, "naive", "dup")) === 0, "quick-start: the lost response arrived, naive's duplicate is gone");
    check(/\$ (\d+) · ideal \1$/.test(await panel(v, "naive").getByTestId("charged").textContent()), "quick-start: and naive charges the ideal, said at the end of the run");
    await v.getByTestId("clear").click();
    const syms = await v.getByTestId("symbols").textContent();
    check(syms.includes("⇉") && syms.includes("◌") && syms.includes("late response"), "quick-start: the viewer's legend explains ⇉ and ◌");
    await page.keyboard.press("Escape");
    // → before the viewer has the focus turns the page, as everywhere in the book.
    await page.locator("main h1").first().click();
    const url = page.url();
    await page.keyboard.press("ArrowRight");
    const turned = await page.waitForURL((u) => u.href !== url, { timeout: 5000 }).then(() => true, () => false);
    check(turned, `quick-start: → before focus turns the page (the book's key), not the run (${page.url()})`);

    // what-is-idempotency: "watch patch and counter apply the copy a second time (DUPLICATE)
    // where put and set-status write the same value again".
    await open("what-is-idempotency.html");
    // The chart: each design's line is named by the dash it has, and lines that agree do not
    // hide each other.
    const chart = await viewerIn(0).evaluate((el) => ({
        legend: el.querySelector('[data-testid="chart-legend"]').textContent,
        lines: [...el.querySelectorAll(".iv-series")].map((p) => p.getAttribute("points")),
    }));
    check(chart.legend.includes("(solid)") && chart.legend.includes("(dashed)") && chart.legend.includes("(dotted)"), `what-is-idempotency: the chart's legend names each line's dash (${chart.legend})`);
    check(new Set(chart.lines).size === chart.lines.length, "what-is-idempotency: no two designs' lines (patch and counter agree) are drawn on the same pixels");

    const wi = await runOf(0);
    const dups = (name) => wi.find((d) => d.name === name).labels.filter((l) => l.startsWith("DUPLICATE")).length;
    check(dups("patch") > 0 && dups("counter") > 0 && dups("put") === 0 && dups("set-status") === 0,
        `what-is-idempotency: patch and counter apply copies (${dups("patch")}, ${dups("counter")} DUPLICATE), put and set-status none`);

    // idempotency-keys, the crash: "click the crash (✖) of process-payment and ask what if the
    // server had not crashed here: its DUPLICATE charge is gone"; atomic-key ends in doubt.
    await open("idempotency-keys.html");
    const crashV = viewerIn(1);
    await crashV.scrollIntoViewIfNeeded();
    check((await counter(crashV, "atomic-key", "doubt")) === 0, "idempotency-keys: atomic-key starts with nothing in doubt");
    await crashV.getByTestId("end").click();
    check((await counter(crashV, "atomic-key", "doubt")) === 1 && (await counter(crashV, "atomic-key", "dup")) === 0, "idempotency-keys: atomic-key ends with doubt 1 and no duplicate, as the text says");
    check((await counter(crashV, "process-payment", "dup")) === 1, "idempotency-keys: process-payment ends with its duplicate");
    await crashV.getByTestId("home").click();
    const ppCol = await crashV.evaluate((el) => el.viewer.designs.findIndex((d) => d.name === "process-payment"));
    const crashCell = crashV.locator(`td[data-col="${ppCol}"]`, { hasText: "CRASH" });
    await stepUntil(crashV, "process-payment's crash", async () => (await crashCell.count()) > 0);
    await crashCell.first().click();
    const notCrashed = crashV.getByTestId("what-if-undo");
    check((await notCrashed.textContent()).includes("had not crashed"), "idempotency-keys: the crash offers \"what if the server had not crashed here?\"");
    await notCrashed.click();
    await crashV.getByTestId("end").click();
    check((await counter(crashV, "process-payment", "dup")) === 0, "idempotency-keys: without the crash, process-payment's duplicate is gone");

    // property-testing: "click a request (▶) and press x ... one lost message is not enough,
    // short-ttl still charges once".
    await open("property-testing.html");
    const pt = viewerIn(0);
    const req = pt.locator('td[data-col="0"]', { hasText: "send" });
    await stepUntil(pt, "a request", async () => (await req.count()) > 0);
    await req.first().click();
    await page.keyboard.press("x");
    check((await pt.getByTestId("banner").textContent()).includes("were lost"), "property-testing: x on a request asks what if it were lost");
    await pt.getByTestId("end").click();
    check((await counter(pt, "short-ttl", "dup")) === 0, "property-testing: one lost request is not enough: short-ttl charges once");

    // retries-and-dlq: "the deliveries that fail (▼ when the broker gives up) and the redrive (▲)".
    await open("retries-and-dlq.html");
    const dlqSyms = await page.evaluate(() => document.querySelector(".idemlab-viewer").viewer.current.flatMap((r) => r.events.map((e) => e[3])));
    check(dlqSyms.includes("▼") && dlqSyms.includes("▲"), "retries-and-dlq: the run has the ▼ and the ▲ the text points at");
    // exercises: "what your design must do is what process-payment and atomic-key do here".
    const ex = await open("exercises.html");
    await ex.getByTestId("end").click();
    for (const d of ["process-payment", "atomic-key"]) {
        check((await counter(ex, d, "dup")) === 0 && (await counter(ex, d, "lost")) === 0, `exercises: ${d} ends without a duplicate or a loss`);
    }

    // the-catalog and why-it-matters: "click the ✗ and ask what if it had arrived".
    for (const chapter of ["the-catalog.html", "why-it-matters.html"]) {
        const cv = await open(chapter);
        const x = cv.locator('td[data-col="0"]', { hasText: "LOST" });
        await stepUntil(cv, "the lost response", async () => (await x.count()) > 0);
        await x.first().click();
        await cv.getByTestId("what-if-undo").click();
        await cv.getByTestId("end").click();
        check((await counter(cv, "naive", "dup")) === 0, `${chapter}: what if the response had arrived: no duplicate`);
    }

    // Phone-sized and dark: one design at a time, tabs to choose.
    await page.setViewportSize({ width: 390, height: 844 });
    await page.evaluate(() => localStorage.setItem("mdbook-theme", "coal"));
    v = await open("idempotency-keys.html");
    check(await page.evaluate(() => document.documentElement.classList.contains("coal")), "phone: the dark theme is on");
    const visible = await v.locator("th.iv-col").evaluateAll((ths) => ths.filter((t) => getComputedStyle(t).display !== "none").length);
    check(visible === 1, "phone: one design's diagram at a time");
    const wide = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth + 1);
    check(!wide, "phone: the page is not wider than the screen");
    await shot("phone-dark");
    await dupLabelWhole(v, "phone 390×844");
    const chartText = await v.locator(".iv-axistext").first().evaluate((t) => {
        const svg = t.ownerSVGElement;
        const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
        return parseFloat(getComputedStyle(t).fontSize) * scale;
    });
    check(chartText >= 11, `phone: the chart's text is ${chartText.toFixed(1)} px (at least 11)`);
    const laneFont = await v.locator(".iv-lanes span").first().evaluate((s) => parseFloat(getComputedStyle(s).fontSize));
    check(laneFont >= 11, `phone: lane headers are ${laneFont} px (at least 11)`);
    const bar0 = await v.locator(".iv-toolbar").evaluate((b) => b.getBoundingClientRect().height);
    await v.getByTestId("play").click();
    const bar1 = await v.locator(".iv-toolbar").evaluate((b) => b.getBoundingClientRect().height);
    await v.getByTestId("play").click();
    check(bar0 === bar1, `phone: the toolbar keeps its height when play becomes pause (${bar0} and ${bar1})`);
    const figs = await page.locator('main img[src*="generated/seq-"]').evaluateAll(async (imgs) => {
        // Loaded first: a lazy image below the fold has no size yet.
        await Promise.all(imgs.map((i) => { i.loading = "eager"; return i.decode().catch(() => {}); }));
        // (The zoomed copy of each, shown on a click, is hidden: not measured.)
        return imgs.filter((i) => i.getClientRects().length > 0).map((i) => i.getBoundingClientRect().width / i.naturalWidth);
    });
    check(figs.length > 0 && figs.every((f) => f > 0.99), `phone: sequence diagrams keep their drawn size and scroll (${figs.map((f) => f.toFixed(2)).join(", ")})`);
    await open("exercises.html");
    const hint = await page.locator(".table-wrapper").first().evaluate((w) => ({ wide: w.classList.contains("wide"), scrolls: w.scrollWidth > w.clientWidth, after: getComputedStyle(w, "::after").content }));
    check(!hint.scrolls || (hint.wide && hint.after.includes("scroll")), `phone: a table wider than the screen says it scrolls (${JSON.stringify(hint)})`);
    // A touch screen: no keyboard help.
    const cdp = await context.newCDPSession(page);
    await cdp.send("Emulation.setTouchEmulationEnabled", { enabled: true, maxTouchPoints: 5 });
    await cdp.send("Emulation.setEmulatedMedia", { features: [{ name: "hover", value: "none" }, { name: "pointer", value: "coarse" }] });
    v = await open("quick-start.html");
    check(await v.getByTestId("keyhelp").isHidden(), "phone: a touch screen shows no keyboard help");
    await cdp.send("Emulation.setEmulatedMedia", { features: [] });
    await cdp.send("Emulation.setTouchEmulationEnabled", { enabled: false });
    await page.setViewportSize({ width: 1280, height: 900 });

    check(errors.length === 0, `no script errors${errors.length ? ": " + errors.join("; ") : ""}`);

    // The long run: time to load and frame times while playing.
    const t0 = Date.now();
    await page.goto(pathToFileURL(benchPage).href, { waitUntil: "load" });
    await page.waitForFunction(() => document.querySelector(".idemlab-viewer").viewer);
    const load = Date.now() - t0;
    const events = await page.evaluate(() => document.querySelector(".idemlab-viewer").viewer.current.reduce((n, r) => n + r.events.length, 0));
    const frames = await page.evaluate(async () => {
        const viewer = document.querySelector(".idemlab-viewer").viewer;
        viewer.speed = 9;
        viewer.togglePlay();
        const times = [];
        const startRow = viewer.cursor;
        await new Promise((done) => {
            const t = (now) => { times.push(now); if (times.length < 180) requestAnimationFrame(t); else done(); };
            requestAnimationFrame(t);
        });
        viewer.playing = false;
        const deltas = times.slice(1).map((t, i) => t - times[i]).sort((a, b) => a - b);
        return { moved: viewer.cursor - startRow, long: deltas.filter((d) => d > 20).length, median: deltas[Math.floor(deltas.length / 2)], p95: deltas[Math.floor(deltas.length * 0.95)], max: deltas[deltas.length - 1], n: deltas.length };
    });
    check(frames.moved > 0, "bench: the long run plays");
    // What one step costs the viewer (a whole redraw of rows, panels and details).
    const render = await page.evaluate(() => {
        const viewer = document.querySelector(".idemlab-viewer").viewer;
        const times = [];
        for (let i = 0; i < 200; i++) {
            const t = performance.now();
            viewer.step(1);
            times.push(performance.now() - t);
        }
        times.sort((a, b) => a - b);
        return { median: times[100], worst: times[199] };
    });
    await shot("bench-long-run");
    console.log(`bench: ${events} events in all, loaded and drawn in ${load} ms; playing at 1000 events/s: frame median ${frames.median.toFixed(1)} ms, p95 ${frames.p95.toFixed(1)} ms, worst ${frames.max.toFixed(1)} ms, ${frames.long} of ${frames.n} frames over 20 ms; one step's redraw median ${render.median.toFixed(2)} ms, worst ${render.worst.toFixed(2)} ms`);
} catch (e) {
    failed = true;
    console.log(String(e.message || e));
} finally {
    await context.close();
    fs.rmSync(profile, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
