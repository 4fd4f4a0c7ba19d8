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
    viewport: { width: 1200, height: 900 },
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
    // The duplicate charge: where naive's charged amount first exceeds the ideal's.
    const charged = async () => (await panel(v, "naive").getByTestId("charged").textContent()).match(/\$ (\d+)\/(\d+)/).slice(1).map(Number);
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
    const lost = v.locator('td[data-col="0"]').filter({ hasText: "response lost" });
    steps = 0;
    while ((await lost.count()) === 0 && steps < 200) {
        await v.getByTestId("step").click();
        steps += 1;
    }
    check((await lost.count()) === 1, "lost-response: the lost response is on screen in naive's column");
    await lost.first().hover();
    check((await v.getByTestId("details").textContent()).includes("op2.1 response lost"), "lost-response: hovering the lost response shows its details");
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
    while (!((await v.getByTestId("details").textContent()).includes("op2.1 response lost")) && steps < 200) {
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

    // Phone-sized and dark: one design at a time, tabs to choose.
    await page.setViewportSize({ width: 390, height: 800 });
    await page.evaluate(() => localStorage.setItem("mdbook-theme", "coal"));
    v = await open("idempotency-keys.html");
    check(await page.evaluate(() => document.documentElement.classList.contains("coal")), "phone: the dark theme is on");
    const visible = await v.locator("th.iv-col").evaluateAll((ths) => ths.filter((t) => getComputedStyle(t).display !== "none").length);
    check(visible === 1, "phone: one design's diagram at a time");
    const wide = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth + 1);
    check(!wide, "phone: the page is not wider than the screen");
    await shot("phone-dark");
    await page.setViewportSize({ width: 1200, height: 900 });

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
