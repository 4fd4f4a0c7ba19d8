// The built book in headless Chromium, as a reader at 1200 pixels sees it: node check-book.mjs
// BOOK_DIR SHOTS_DIR. Opens every page from file:// and fails (exit 1, one line per problem)
// on:
//   - a code block or a TUI screen wider than the column that does not visibly scroll (the
//     book's script marks them `wide`; the stylesheet draws their scrollbar and a note that
//     they scroll), or a page wider than the window;
//   - an image that does not load, or a chart shown smaller than its own size (its text would
//     be smaller than it was drawn);
//   - a link to a page or an anchor that does not exist;
//   - a character that no font of the page can draw (it would show as a box).
// Saves a screenshot of every page under SHOTS_DIR. Chromium is the distribution's
// (/usr/bin/chromium, or $CHROMIUM), started with a fresh profile that is removed at the end.

import { chromium } from "playwright-core";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { pathToFileURL, fileURLToPath } from "node:url";

const [bookDir, shotsDir] = process.argv.slice(2);
if (!bookDir || !shotsDir) {
    console.error("usage: node check-book.mjs BOOK_DIR SHOTS_DIR");
    process.exit(2);
}
const WIDTH = 1200;
const skip = new Set(["print.html", "toc.html", "404.html"]);
const pages = fs
    .readdirSync(bookDir)
    .filter((f) => f.endsWith(".html") && !skip.has(f))
    .sort();
fs.mkdirSync(shotsDir, { recursive: true });

const profile = fs.mkdtempSync(path.join(os.tmpdir(), "idemlab-chromium-"));
const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"],
    viewport: { width: WIDTH, height: 900 },
});
const problems = [];
const idsByPage = new Map();
const links = [];
try {
    const page = context.pages()[0] || (await context.newPage());
    for (const name of pages) {
        const url = pathToFileURL(path.join(bookDir, name)).href;
        await page.goto(url, { waitUntil: "load" });
        // The book's own script runs on load; give images and fonts their turn too.
        await page.evaluate(() => document.fonts.ready);
        const found = await page.evaluate((WIDTH) => {
            const out = { problems: [], ids: [], links: [] };
            const say = (s) => out.problems.push(s);
            const doc = document.documentElement;
            if (doc.scrollWidth > window.innerWidth + 1) {
                say(`the page is ${doc.scrollWidth}px wide in a ${window.innerWidth}px window`);
            }
            for (const code of document.querySelectorAll("main pre > code")) {
                if (code.scrollWidth <= code.clientWidth + 1) continue;
                const pre = code.parentElement;
                const overflow = getComputedStyle(code).overflowX;
                const first = code.textContent.split("\n")[0].slice(0, 60);
                if (!pre.classList.contains("wide") || !["scroll", "auto"].includes(overflow)) {
                    say(`a code block is cut off (${code.scrollWidth}px of text in ${code.clientWidth}px, no visible scroll): "${first}"`);
                } else if (getComputedStyle(pre, "::after").content === "none") {
                    say(`a wide code block has no note that it scrolls: "${first}"`);
                }
            }
            for (const screen of document.querySelectorAll(".tui-screen")) {
                if (screen.scrollWidth > screen.clientWidth + 1) {
                    const frame = screen.parentElement;
                    const overflow = getComputedStyle(screen).overflowX;
                    if (!frame.classList.contains("wide") || !["scroll", "auto"].includes(overflow) || getComputedStyle(frame, "::after").content === "none") {
                        say(`a TUI screen (${screen.getAttribute("aria-label")}) is cut off: ${screen.scrollWidth}px in ${screen.clientWidth}px, no visible scroll`);
                    }
                }
                // Every row of a screen is exactly as wide as the others: the grid holds.
                const widths = new Set([...screen.querySelectorAll(".tui-row")].map((r) => Math.round(r.getBoundingClientRect().width)));
                if (widths.size > 1) say(`a TUI screen's rows are of different widths: ${[...widths].join(", ")}px`);
            }
            for (const img of document.querySelectorAll("main img")) {
                // mdBook draws some images twice, one per theme, and hides the other.
                if (img.getClientRects().length === 0 && img.complete && img.naturalWidth > 0) continue;
                if (!img.complete || img.naturalWidth === 0) {
                    say(`an image does not load: ${img.getAttribute("src")}`);
                } else if (img.getBoundingClientRect().width < img.naturalWidth * 0.95) {
                    say(`${img.getAttribute("src")} is drawn ${img.naturalWidth}px wide and shown at ${Math.round(img.getBoundingClientRect().width)}px: its text shrinks`);
                }
            }
            out.ids = [...document.querySelectorAll("[id]")].map((e) => e.id);
            out.links = [...document.querySelectorAll("a[href]")].map((a) => a.href);
            // Characters no font draws: each is drawn on a canvas in its element's font and
            // compared with a character no font has (a private-use code point), which every
            // font draws as its "missing" box.
            const chars = new Map();
            const walker = document.createTreeWalker(document.querySelector("main") || document.body, NodeFilter.SHOW_TEXT);
            for (let n = walker.nextNode(); n; n = walker.nextNode()) {
                for (const ch of n.textContent) {
                    if (ch.codePointAt(0) < 0x80 || /\s/u.test(ch)) continue;
                    const font = getComputedStyle(n.parentElement).fontFamily;
                    chars.set(ch + "\u0000" + font, [ch, font]);
                }
            }
            const canvas = document.createElement("canvas");
            canvas.width = canvas.height = 48;
            const ctx = canvas.getContext("2d", { willReadFrequently: true });
            const draw = (ch, font) => {
                ctx.clearRect(0, 0, 48, 48);
                ctx.font = `32px ${font}`;
                ctx.textBaseline = "top";
                ctx.fillText(ch, 4, 4);
                return ctx.getImageData(0, 0, 48, 48).data.join(",");
            };
            const missing = new Map();
            for (const [ch, font] of chars.values()) {
                if (!missing.has(font)) missing.set(font, draw("\u{10FFFD}", font));
                const picture = draw(ch, font);
                if (picture === missing.get(font)) {
                    say(`no font draws "${ch}" (U+${ch.codePointAt(0).toString(16).toUpperCase().padStart(4, "0")}) in ${font}`);
                }
            }
            return out;
        }, WIDTH);
        for (const p of found.problems) problems.push(`${name}: ${p}`);
        idsByPage.set(name, new Set(found.ids));
        for (const href of found.links) links.push([name, href]);
        await page.screenshot({ path: path.join(shotsDir, name.replace(/\.html$/, ".png")), fullPage: false });
    }
} finally {
    await context.close();
    fs.rmSync(profile, { recursive: true, force: true });
}

// Links: a file of the book, and an anchor on it when one is named.
let internal = 0;
for (const [from, href] of links) {
    const url = new URL(href);
    if (url.protocol !== "file:") continue;
    internal += 1;
    const target = fileURLToPath(url);
    if (!fs.existsSync(target)) {
        problems.push(`${from}: a link to a missing file: ${path.relative(bookDir, target)}`);
        continue;
    }
    const fragment = decodeURIComponent(url.hash.slice(1));
    const name = path.relative(bookDir, target);
    if (fragment && idsByPage.has(name) && !idsByPage.get(name).has(fragment)) {
        problems.push(`${from}: a link to a missing anchor: ${name}#${fragment}`);
    }
}

console.log(`${pages.length} pages at ${WIDTH}px, ${internal} internal links checked, screenshots in ${shotsDir}`);
if (problems.length) {
    for (const p of problems) console.log(`problem: ${p}`);
    process.exit(1);
}
