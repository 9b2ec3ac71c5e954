// The lecture on the page, as a student meets it: translation, locality and weight sharing, the convolution
// animation, honest scales, a phone, a keyboard and axe-core (Debian's chromium driven by playwright-core).
//
//   node lesson.mjs JOB.json OUT.json
//
// JOB (written by tests/test_web_lesson_e2e.py): {url, chromium, device: "desktop" | "phone", screenshot,
// sweepScreenshot, sheetScreenshot, train: {model, epochs, subset} | null}. The script writes one JSON object of what it saw
// (frames, probabilities, counts, timings, axe's violations); pytest checks the values against Python.
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { chromium } from "playwright-core";

const require = createRequire(import.meta.url);
const [jobFile, outFile] = process.argv.slice(2);
const job = JSON.parse(readFileSync(jobFile, "utf8"));
const AXE = require.resolve("axe-core/axe.min.js");
const browser = await chromium.launch({
  executablePath: job.chromium,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"],
});
const out = { errors: [] };
const phone = job.device === "phone";

async function open(options = {}) {
  const context = await browser.newContext(phone
    ? { viewport: { width: 390, height: 844 }, hasTouch: true, isMobile: true, deviceScaleFactor: 1, ...options }
    : { viewport: { width: 1440, height: 900 }, deviceScaleFactor: 1, ...options });
  const page = await context.newPage();
  page.on("pageerror", (err) => out.errors.push(`pageerror: ${err}`));
  page.on("console", (msg) => { if (msg.type() === "error") out.errors.push(`console: ${msg.text()}`); });
  page.on("response", (res) => { if (res.status() >= 400) out.errors.push(`HTTP ${res.status()} ${res.url()}`); });
  await page.goto(job.url);
  await page.waitForFunction(() => document.body.dataset.ready === "1", null, { timeout: 30000 });
  return page;
}

const settled = (page) => page.waitForFunction(() => window.cnnlab.page.sweepFor === window.cnnlab.page.updates, null, { timeout: 20000 });
async function afterUpdate(page, action) {
  const before = await page.evaluate(() => window.cnnlab.page.updates);
  await action();
  await page.waitForFunction((n) => window.cnnlab.page.updates > n, before);
  await settled(page);
}
const snapshot = (page) => page.evaluate(() => {
  const p = window.cnnlab.page;
  return {
    base: Array.from(p.base), frame: Array.from(p.frame), empty: p.empty, center: p.controls.center,
    shift: [p.controls.dx, p.controls.dy], shiftText: document.getElementById("shift-value").textContent,
    predictions: Object.fromEntries(p.views.map((v) => [v.model.name, v.result ? v.result.label : null])),
    probabilities: Object.fromEntries(p.views.map((v) => [v.model.name, v.result ? Array.from(v.result.probabilities) : null])),
    shown: [...document.querySelectorAll(".pred-label")].map((e) => e.textContent),
    penWidth: p.pad.width, png: document.getElementById("pad").toDataURL("image/png").split(",")[1],
  };
});
async function axe(page) {
  await page.addScriptTag({ path: AXE });
  return page.evaluate(async () => (await window.axe.run(document, { resultTypes: ["violations"] })).violations
    .map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 5).map((n) => n.target.join(" ")) })));
}
// Centre of a unit of a stage canvas in page coordinates.
async function unitPoint(page, model, kind, nth, unit) {
  const info = await page.evaluate(([model, kind, nth, unit]) => {
    const view = window.cnnlab.page.views.find((v) => v.model.name === model);
    const k = view.stages.map((s, i) => [s, i]).filter(([s]) => s.kind === kind)[nth][1];
    const lay = view.layouts[k], [x, y, s] = view.cell(lay, unit);
    return { k, x: x + s / 2, y: y + s / 2, shape: view.stages[k].shape };
  }, [model, kind, nth, unit]);
  const canvas = page.locator(`#net-${model} canvas[data-stage="${info.k}"]`);
  await canvas.scrollIntoViewIfNeeded();
  const box = await canvas.boundingBox();
  return { ...info, px: box.x + info.x, py: box.y + info.y };
}
const focusInfo = (page, model, k) => page.evaluate(([model, k]) => {
  const view = window.cnnlab.page.views.find((v) => v.model.name === model);
  const el = view.views[k], prev = view.views[k - 1];
  return { focus: window.cnnlab.page.focus, pinned: window.cnnlab.page.pinned, sameWeights: Number(el.dataset.sameWeights || 0),
    sameChannel: el.dataset.sameChannel, inPlace: Number(prev.dataset.inPlace || 0), lines: Number(view.overlay.dataset.lines || 0),
    inspector: document.getElementById("inspector").innerText };
}, [model, k]);

async function mouseDraw(page, strokes, box) {
  await afterUpdate(page, () => page.click("#clear"));
  await afterUpdate(page, async () => {
    for (const stroke of strokes) {
      await page.mouse.move(box.x + stroke[0][0] * box.width, box.y + stroke[0][1] * box.height);
      await page.mouse.down();
      for (const [fx, fy] of stroke.slice(1)) await page.mouse.move(box.x + fx * box.width, box.y + fy * box.height, { steps: 8 });
      await page.mouse.up();
    }
  });
}

async function touchDraw(page, strokes) {
  const box = await page.locator("#pad").boundingBox();
  const cdp = await page.context().newCDPSession(page);
  await afterUpdate(page, async () => {
    for (const stroke of strokes) {
      const at = ([fx, fy]) => ({ x: box.x + fx * box.width, y: box.y + fy * box.height });
      await cdp.send("Input.dispatchTouchEvent", { type: "touchStart", touchPoints: [at(stroke[0])] });
      for (let j = 1; j < stroke.length; j++) {
        for (let t = 1; t <= 8; t++) {
          const [a, b] = [stroke[j - 1], stroke[j]];
          await cdp.send("Input.dispatchTouchEvent", { type: "touchMove", touchPoints: [at([a[0] + (b[0] - a[0]) * t / 8, a[1] + (b[1] - a[1]) * t / 8])] });
        }
      }
      await cdp.send("Input.dispatchTouchEvent", { type: "touchEnd", touchPoints: [] });
    }
  });
}
const SEVEN = [[[0.28, 0.22], [0.72, 0.22], [0.47, 0.82]]];
const SMALL_SEVEN = [[[0.08, 0.08], [0.26, 0.08], [0.16, 0.32]]];

// Median ms of one whole update (preprocess, both forwards, every redraw, the inspector) over n runs.
const strokeMs = (page, n = 40) => page.evaluate((n) => {
  const p = window.cnnlab.page, times = [];
  for (let i = 0; i < 5; i++) p.refresh();
  for (let i = 0; i < n; i++) { const t0 = performance.now(); p.refresh(); times.push(performance.now() - t0); }
  times.sort((a, b) => a - b);
  return times[Math.floor(n / 2)];
}, n);

try {
  if (!phone) {
    const page = await open();
    out.title = await page.evaluate(() => [document.title, document.getElementById("subtitle").textContent]);
    const pad = await page.locator("#pad").boundingBox();
    await mouseDraw(page, SEVEN, pad);
    out.drawn = await snapshot(page);
    // The reference curves arrive with models/translation.json (fetched once, in parallel with the first sweep).
    await page.waitForFunction(() => document.querySelectorAll(".sweep-charts polyline[stroke-dasharray]").length >= 4);
    out.sweep = await page.evaluate(() => window.cnnlab.page.sweep);
    out.sweepSvg = await page.evaluate(() => [...document.querySelectorAll(".sweep-charts svg")].map((s) => ({
      lines: s.querySelectorAll("polyline").length, dashed: s.querySelectorAll("polyline[stroke-dasharray]").length, label: s.getAttribute("aria-label") })));

    // Shift by 4 px with the buttons, then with the arrow keys on the pad.
    for (let i = 0; i < 4; i++) await afterUpdate(page, () => page.click("#shift-right"));
    out.shifted = await snapshot(page);
    if (job.sweepScreenshot) await page.locator("#sweep").locator("..").screenshot({ path: job.sweepScreenshot });
    out.sweepAfterShift = await page.evaluate(() => window.cnnlab.page.sweep.curves);
    await page.focus("#pad");
    for (const key of ["ArrowLeft", "ArrowLeft", "ArrowLeft", "ArrowLeft", "ArrowUp", "ArrowUp", "ArrowUp"]) {
      await afterUpdate(page, () => page.keyboard.press(key));
    }
    out.keyShifted = await snapshot(page);
    await afterUpdate(page, () => page.click("#shift-reset"));

    // Locality and sharing: hover a conv unit of each conv layer, and a dense unit.
    out.hover = {};
    for (const [name, model, kind, nth, unit] of [["conv1", "cnn", "conv", 0, { c: 2, y: 14, x: 9 }],
      ["conv2", "cnn", "conv", 1, { c: 5, y: 4, x: 6 }], ["dense", "mlp", "linear", 0, { i: 17 }]]) {
      const pt = await unitPoint(page, model, kind, nth, unit);
      await page.mouse.move(pt.px, pt.py);
      await page.waitForFunction((u) => JSON.stringify(window.cnnlab.page.focus && window.cnnlab.page.focus.unit) === JSON.stringify(u), unit);
      out.hover[name] = { ...(await focusInfo(page, model, pt.k)), shape: pt.shape, unit };
    }

    // Pin a conv unit, then time a pen stroke's update (the target: <= 30 ms with a unit pinned).
    const conv = await unitPoint(page, "cnn", "conv", 0, { c: 1, y: 10, x: 12 });
    await page.mouse.click(conv.px, conv.py);
    out.pinned = await focusInfo(page, "cnn", conv.k);
    out.strokeMs = { convPinned: await strokeMs(page) };
    out.axeDesktop = await axe(page);
    await page.evaluate(() => window.scrollTo(0, 0));
    if (job.screenshot) await page.screenshot({ path: job.screenshot });
    const dense = await unitPoint(page, "mlp", "linear", 0, { i: 3 });
    await page.mouse.click(conv.px, conv.py); // unpin
    await page.mouse.click(dense.px, dense.py);
    out.strokeMs.densePinned = await strokeMs(page);
    await page.mouse.click(dense.px, dense.py);
    await page.mouse.move(2, 2);
    out.strokeMs.nothingPinned = await strokeMs(page);

    // One colour scale for the whole network: every stage's bar ends at the same value.
    await page.check("input[name=scale][value=network]");
    out.networkScale = await page.evaluate(() => [...document.querySelectorAll("#net-cnn .cbar")].map((b) => Number(b.dataset.hi)));
    await page.check("input[name=scale][value=layer]");
    out.layerScale = await page.evaluate(() => [...document.querySelectorAll("#net-cnn .cbar")].map((b) => Number(b.dataset.hi)));

    // Centring off: the digit stays where it was drawn; the pen keeps its full width.
    await afterUpdate(page, () => page.click("#center"));
    out.asDrawn = await snapshot(page);
    await mouseDraw(page, SMALL_SEVEN, pad);
    out.smallAsDrawn = await snapshot(page);
    await afterUpdate(page, () => page.click("#center"));
    out.smallCentred = await snapshot(page);

    // The convolution animation: step, and the written-out dot product.
    await afterUpdate(page, () => page.click("#example"));
    for (let i = 0; i < 3; i++) await page.click("#anim-step");
    out.animation = await page.evaluate(() => window.cnnlab.page.animation.state);
    out.animationValues = await page.evaluate(() => {
      const v = window.cnnlab.page.views.find((x) => x.model.name === "cnn");
      return { z: Array.from(v.result.layers[0].values.subarray(0, 28 * 28)), pooled: Array.from(v.result.layers[2].values.subarray(0, 14 * 14)) };
    });

    // An empty pad: no prediction anywhere.
    await afterUpdate(page, () => page.click("#clear"));
    out.empty = await page.evaluate(() => ({ empty: window.cnnlab.page.empty, shown: [...document.querySelectorAll(".pred-label")].map((e) => e.textContent),
      bars: [...document.querySelectorAll(".bar-p")].map((e) => e.textContent), sweep: window.cnnlab.page.sweep,
      live: document.getElementById("prediction-live").textContent }));

    // The training chart's ticks (rendered with made-up epochs; the panel needs a server to train).
    out.ticks = await page.evaluate(async () => {
      const { chart } = await import(new URL("static/js/train.js", location.href).href);
      const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
      const epochs = Array.from({ length: 12 }, (_, i) => ({ epoch: i + 1, train_accuracy: 0.31 + 0.055 * i, test_accuracy: 0.33 + 0.05 * i }));
      chart(svg, epochs, 12);
      const few = document.createElementNS("http://www.w3.org/2000/svg", "svg");
      chart(few, [{ epoch: 1, test_accuracy: 0.962 }, { epoch: 2, test_accuracy: 0.9791 }], 3);
      return { y: svg.dataset.yTicks, x: svg.dataset.xTicks, fewY: few.dataset.yTicks, fewX: few.dataset.xTicks };
    });

    // Training in the page (cnnlab serve only), then the trained network next to the others.
    if (job.train) {
      await page.fill("#tr-model", job.train.model);
      await page.fill("#tr-epochs", String(job.train.epochs));
      await page.fill("#tr-subset", String(job.train.subset));
      await page.click("#tr-start");
      await page.waitForFunction(() => ["done", "stopped", "error"].includes(document.body.dataset.training), null, { timeout: 240000 });
      await page.waitForFunction(() => !document.getElementById("tr-add").disabled, null, { timeout: 10000 });
      await page.click("#tr-add");
      await page.waitForFunction(() => window.cnnlab.page.views.length === 3, null, { timeout: 10000 });
      await afterUpdate(page, () => page.click("#example"));
      out.trained = await page.evaluate(() => ({ say: document.getElementById("tr-say").textContent,
        models: window.cnnlab.page.views.map((v) => [v.model.name, v.model.title, v.result && v.result.label]),
        title: document.title, chart: document.getElementById("tr-chart").dataset.xTicks }));
    }

    // Keyboard only, on a fresh page: Tab to the CNN's first conv layer, arrows, Enter pins.
    const kb = await open();
    let tabs = 0;
    for (; tabs < 80; tabs++) {
      await kb.keyboard.press("Tab");
      const here = await kb.evaluate(() => document.activeElement.matches('#net-cnn canvas[data-kind="conv"]'));
      if (here) break;
    }
    out.keyboard = { tabs: tabs + 1, start: await kb.evaluate(() => window.cnnlab.page.focus) };
    for (const key of ["ArrowRight", "ArrowRight", "ArrowRight", "ArrowDown", "ArrowDown", "PageDown", "Enter"]) await kb.keyboard.press(key);
    out.keyboard.pinned = await kb.evaluate(() => ({ focus: window.cnnlab.page.focus, pinned: window.cnnlab.page.pinned,
      live: document.getElementById("unit-live").textContent, inspector: document.getElementById("inspector").innerText,
      active: document.activeElement.dataset.kind }));
    await kb.keyboard.press("Escape");
    out.keyboard.afterEscape = await kb.evaluate(() => ({ focus: window.cnnlab.page.focus, pinned: window.cnnlab.page.pinned }));

    // prefers-reduced-motion: nothing moves by itself, "play" advances a whole row per second.
    const still = await open({ reducedMotion: "reduce" });
    const started = Date.now();
    await still.click("#anim-play");
    await still.waitForFunction(() => window.cnnlab.page.animation.state.position > 0, null, { timeout: 20000 });
    out.reducedMotion = { ...(await still.evaluate(() => window.cnnlab.page.animation.state)), afterMs: Date.now() - started };
  } else {
    const page = await open();
    out.scrollWidth = { load: await page.evaluate(() => document.documentElement.scrollWidth) };
    await touchDraw(page, SEVEN);
    out.drawn = await snapshot(page);
    out.scrollWidth.drawn = await page.evaluate(() => document.documentElement.scrollWidth);
    out.stacked = await page.evaluate(() => ["#pad", "#net-mlp", "#net-cnn"].map((s) => {
      const r = document.querySelector(s).getBoundingClientRect();
      return [Math.round(r.left + scrollX), Math.round(r.top + scrollY), Math.round(r.right + scrollX)];
    }));
    if (job.screenshot) { await page.evaluate(() => window.scrollTo(0, 0)); await page.screenshot({ path: job.screenshot }); }
    // Tap a conv unit: it is pinned and the inspector opens as a bottom sheet.
    const pt = await unitPoint(page, "cnn", "conv", 0, { c: 0, y: 14, x: 14 });
    await page.touchscreen.tap(pt.px, pt.py);
    await page.waitForFunction(() => window.cnnlab.page.pinned);
    out.tapped = await focusInfo(page, "cnn", pt.k);
    out.sheet = await page.evaluate(() => {
      const el = document.getElementById("inspector"), r = el.getBoundingClientRect(), cs = getComputedStyle(el);
      return { position: cs.position, display: cs.display, top: r.top, bottom: r.bottom, left: r.left, right: r.right, innerHeight, innerWidth };
    });
    out.scrollWidth.sheet = await page.evaluate(() => document.documentElement.scrollWidth);
    out.axePhone = await axe(page);
    if (job.sheetScreenshot) await page.screenshot({ path: job.sheetScreenshot });
    await page.locator("#inspector .close").tap();
    out.closed = await page.evaluate(() => ({ pinned: window.cnnlab.page.pinned, display: getComputedStyle(document.getElementById("inspector")).display }));
    for (const id of ["#sweep", "#animate", "#gallery", "#conv1d", "#calc"]) await page.locator(id).scrollIntoViewIfNeeded();
    out.scrollWidth.end = await page.evaluate(() => document.documentElement.scrollWidth);
  }
} catch (err) {
  out.exception = String(err.stack || err);
} finally {
  writeFileSync(outFile, JSON.stringify(out));
  await browser.close();
}
