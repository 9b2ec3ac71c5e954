// Timings of the static site in headless Chromium, for benchmarks/web_static.py.
//
//   node bench.mjs JOB.json OUT.json       JOB: {url, chromium, loads, repeat}
//
// Per page load (a fresh browser context each, so nothing is cached): when the first prediction was
// shown, from navigation start and from DOMContentLoaded. On the last page: median times of the engine's
// forward pass (each network, and both), of window.cnnlab.forward (nested arrays out), of the
// preprocessing of the drawing, of a whole update (preprocess + forward + redraw of every layer), the
// same with a conv unit and with a dense unit pinned (the inspector, the weights in place and the
// shared-weights outlines redrawn too), and of the shift sweep (every network on the digit moved by
// -8..8 px both ways), which runs once the pen rests. Then the Ising playground (ising.html, when
// JOB.ising is true): the checkerboard Metropolis at L = 128 in spin updates per second (median of
// 50-sweep runs after 200 warm-up sweeps, at several T), and the CNN's P(ordered) (two forward passes) at L = 64 and 128.
import { readFileSync, writeFileSync } from "node:fs";
import { chromium } from "playwright-core";

const [jobFile, outFile] = process.argv.slice(2);
const job = JSON.parse(readFileSync(jobFile, "utf8"));
const browser = await chromium.launch({ executablePath: job.chromium, args: ["--headless", "--no-sandbox", "--disable-gpu"] });
const out = { loads: [] };
try {
  let page;
  for (let i = 0; i < job.loads; i++) {
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    page = await context.newPage();
    await page.goto(job.url);
    await page.waitForFunction(() => document.body.dataset.ready === "1", null, { timeout: 30000 });
    out.loads.push(await page.evaluate(() => {
      const nav = performance.getEntriesByType("navigation")[0];
      const mark = (name) => performance.getEntriesByName(name)[0].startTime;
      return { first_prediction_ms: mark("cnnlab:first-prediction"), models_loaded_ms: mark("cnnlab:models-loaded"),
        dom_content_loaded_ms: nav.domContentLoadedEventEnd, load_event_ms: nav.loadEventStart };
    }));
    if (i < job.loads - 1) await context.close();
  }
  out.timings = await page.evaluate(async (repeat) => {
    const { preprocess } = await import(new URL("static/js/engine/digit.js", location.href).href);
    const state = window.cnnlab.page, frame = state.frame, nested = [];
    for (let y = 0; y < 28; y++) nested.push(Array.from(frame.subarray(28 * y, 28 * y + 28)));
    const median = (f) => {
      for (let i = 0; i < 10; i++) f();
      const times = [];
      for (let i = 0; i < repeat; i++) { const t0 = performance.now(); f(); times.push(performance.now() - t0); }
      times.sort((a, b) => a - b);
      return times[Math.floor(times.length / 2)];
    };
    const medianAsync = async (f) => {
      for (let i = 0; i < 10; i++) await f();
      const times = [];
      for (let i = 0; i < repeat; i++) { const t0 = performance.now(); await f(); times.push(performance.now() - t0); }
      times.sort((a, b) => a - b);
      return times[Math.floor(times.length / 2)];
    };
    const rows = {};
    for (const view of state.views) rows[`forward ${view.model.name}`] = median(() => view.engine.forward(frame));
    rows["forward, both networks"] = median(() => state.views.forEach((v) => v.engine.forward(frame)));
    rows["window.cnnlab.forward, both"] = await medianAsync(async () => {
      for (const v of state.views) await window.cnnlab.forward(v.model.name, nested);
    });
    const grey = state.pad.grey();
    rows["preprocess drawing (280x280)"] = median(() => preprocess(grey, 280, 280));
    rows["whole update (preprocess, forward, redraw)"] = median(() => state.refresh());
    return rows;
  }, job.repeat);
  // Pin a unit with a real click (the page's own code path), then time whole updates again.
  const median = (repeat) => page.evaluate((repeat) => {
    const state = window.cnnlab.page, times = [];
    for (let i = 0; i < 10; i++) state.refresh();
    for (let i = 0; i < repeat; i++) { const t0 = performance.now(); state.refresh(); times.push(performance.now() - t0); }
    times.sort((a, b) => a - b);
    return times[Math.floor(times.length / 2)];
  }, repeat);
  const repeat = Math.max(20, Math.floor(job.repeat / 4));
  for (const [row, model, kind, unit] of [["whole update, conv unit pinned", "cnn", "conv", { c: 1, y: 10, x: 12 }],
    ["whole update, dense unit pinned", "mlp", "linear", { i: 3 }]]) {
    const at = await page.evaluate(([model, kind, unit]) => {
      const view = window.cnnlab.page.views.find((v) => v.model.name === model);
      const k = view.stages.findIndex((s) => s.kind === kind), [x, y, s] = view.cell(view.layouts[k], unit);
      return { k, x: x + s / 2, y: y + s / 2 };
    }, [model, kind, unit]);
    const canvas = page.locator(`#net-${model} canvas[data-stage="${at.k}"]`);
    await canvas.scrollIntoViewIfNeeded();
    const box = await canvas.boundingBox();
    await page.mouse.click(box.x + at.x, box.y + at.y);
    out.timings[row] = await median(repeat);
    out.timings[`${row}: pinned`] = await page.evaluate(() => window.cnnlab.page.pinned);
    await page.mouse.click(box.x + at.x, box.y + at.y); // unpin
  }
  out.timings["shift sweep, both networks (68 forwards)"] = await page.evaluate(async (repeat) => {
    const { sweep } = await import(new URL("static/js/translation.js", location.href).href);
    const state = window.cnnlab.page, times = [];
    for (let i = 0; i < 3; i++) sweep(state.views, state.base);
    for (let i = 0; i < repeat; i++) { const t0 = performance.now(); sweep(state.views, state.base); times.push(performance.now() - t0); }
    times.sort((a, b) => a - b);
    return times[Math.floor(times.length / 2)];
  }, Math.max(10, Math.floor(job.repeat / 10)));
  out.userAgent = await page.evaluate(() => navigator.userAgent);
  if (job.ising) {
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    const ising = await context.newPage();
    await ising.goto(new URL("ising.html", job.url).href);
    await ising.waitForFunction(() => document.body.dataset.ready === "1", null, { timeout: 30000 });
    out.ising = await ising.evaluate(async (repeat) => {
      const { Lattice } = await import(new URL("static/js/ising-mc.js", location.href).href);
      const { TC } = await import(new URL("static/js/ising-exact.js", location.href).href);
      window.cnnlab.ising.page.playing = false; // the page's own animation would share the core
      const median = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
      const rows = {}, L = 128, sweeps = 50;
      for (const [name, T] of [["2.0", 2.0], ["Tc", TC], ["3.0", 3.0], ["5.0", 5.0]]) {
        const lattice = new Lattice(L, T, { seed: 0, start: "hot" });
        lattice.sweep(200);
        const rates = [];
        for (let i = 0; i < repeat; i++) {
          const t0 = performance.now();
          lattice.sweep(sweeps);
          rates.push((L * L * sweeps) / ((performance.now() - t0) / 1000));
        }
        rows[`T = ${name}`] = median(rates);
      }
      const classifier = window.cnnlab.ising.page.classifier, cnn = {};
      for (const side of [64, 128]) {
        const lattice = new Lattice(side, 2.3, { seed: 0, start: "hot" });
        const times = [];
        for (let i = 0; i < 5; i++) classifier.predict(lattice.spins, side);
        for (let i = 0; i < repeat; i++) { const t0 = performance.now(); classifier.predict(lattice.spins, side); times.push(performance.now() - t0); }
        cnn[`L = ${side}`] = median(times);
      }
      return { spin_updates_per_second_L128: rows, cnn_p_ordered_ms: cnn };
    }, Math.max(9, Math.floor(job.repeat / 10)));
  }
} finally {
  writeFileSync(outFile, JSON.stringify(out));
  await browser.close();
}
