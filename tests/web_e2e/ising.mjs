// The Ising playground (ising.html) in headless Chromium (Debian's, driven by playwright-core): the JS API's
// Monte Carlo, the exact curves, the CNN and the coarse-graining on cases from tests/test_web_ising_e2e.py,
// then the page itself: the header link from index.html, the slider and the buttons by keyboard, P(ordered)
// as T moves, a 390 px phone and axe-core.
//
//   node ising.mjs JOB.json OUT.json
//
// JOB: {url, chromium, temperatures, lattices: [{side, values}], simulations: [{L, T, sweeps, seed, spins}],
// bad: [{...simulate options}]}. OUT: what the page computed and saw; pytest checks it against Python.
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { chromium } from "playwright-core";

const require = createRequire(import.meta.url);
const [jobFile, outFile] = process.argv.slice(2);
const job = JSON.parse(readFileSync(jobFile, "utf8"));
let AXE = null;
try { AXE = require.resolve("axe-core/axe.min.js"); } catch { AXE = null; }
const browser = await chromium.launch({
  executablePath: job.chromium,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"],
});
const out = { errors: [], axe: AXE ? {} : null };

async function open(path, phone = false) {
  const context = await browser.newContext(phone
    ? { viewport: { width: 390, height: 844 }, hasTouch: true, isMobile: true, deviceScaleFactor: 1 }
    : { viewport: { width: 1440, height: 900 }, deviceScaleFactor: 1 });
  const page = await context.newPage();
  page.on("pageerror", (err) => out.errors.push(`pageerror: ${err}`));
  page.on("console", (msg) => { if (msg.type() === "error") out.errors.push(`console: ${msg.text()}`); });
  page.on("response", (res) => { if (res.status() >= 400) out.errors.push(`HTTP ${res.status()} ${res.url()}`); });
  await page.goto(new URL(path, job.url).href);
  await page.waitForFunction(() => document.body.dataset.ready === "1", null, { timeout: 30000 });
  return page;
}
async function axe(page) {
  await page.addScriptTag({ path: AXE });
  return page.evaluate(async () => (await window.axe.run(document, { resultTypes: ["violations"] })).violations
    .map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 5).map((n) => n.target.join(" ")) })));
}
const pageState = (page) => page.evaluate(() => {
  const s = window.cnnlab.ising.page;
  return { T: s.T, L: s.L, playing: s.playing, sweeps: s.sweeps, updates: s.updates, pFor: s.pFor,
    p: s.p ? s.p.p_ordered : null, spins: Array.from(s.lattice.spins), shownT: document.getElementById("temperature-value").textContent,
    shownP: document.getElementById("p-value").textContent, wolff: document.getElementById("wolff-note").textContent };
});
// Wait until the paused page has predicted its current configuration.
const settled = (page) => page.waitForFunction(() => {
  const s = window.cnnlab.ising.page;
  return !s.playing && s.p && s.pFor === s.updates;
}, null, { timeout: 20000 });

try {
  // From the networks page, by its header link.
  let page = await open("index.html");
  await page.getByRole("link", { name: "Ising playground" }).click();
  await page.waitForURL(/ising\.html$/);
  await page.waitForFunction(() => document.body.dataset.ready === "1", null, { timeout: 30000 });
  out.backLink = await page.getByRole("link", { name: "networks" }).getAttribute("href");

  // The JS API on the job's cases.
  Object.assign(out, await page.evaluate(async (job) => {
    const api = window.cnnlab.ising, res = {};
    const attempt = async (f) => { try { return { value: await f() }; } catch (err) { return { error: err.message }; } };
    res.exact = job.temperatures.map((T) => [api.exact.onsagerEnergy(T), api.exact.yangMagnetization(T)]);
    res.tc = api.exact.TC;
    res.simulations = [];
    for (const options of job.simulations) res.simulations.push(await api.simulate(options));
    res.again = await api.simulate(job.simulations[0]);
    res.otherSeed = await api.simulate({ ...job.simulations[0], seed: job.simulations[0].seed + 1 });
    res.predictions = [];
    for (const sim of res.simulations) if (sim.spins) res.predictions.push(await api.predict(sim.spins));
    res.flipped = [];
    for (const sim of res.simulations) if (sim.spins) res.flipped.push(await api.predict(sim.spins.map((v) => -v)));
    res.coarse = [];
    for (const lattice of job.lattices) {
      const row = {};
      for (const method of ["majority", "max", "avg"]) {
        row[method] = [];
        for (let steps = 1; steps <= 3; steps++) row[method].push(await api.coarseGrain(lattice.values, { method, steps, seed: 0 }));
      }
      res.coarse.push(row);
    }
    // The generator from a raw state (xoshiro128**'s reference values), and Wolff flips alone on a 4 x 4 lattice.
    const mc = await import(new URL("static/js/ising-mc.js", location.href).href);
    const rng = new mc.Rng(0);
    rng.s.set([1, 2, 3, 4]);
    res.rngWords = Array.from({ length: 12 }, () => rng.next());
    res.wolffOnly = [];
    for (const T of job.wolffTemperatures) {
      const lattice = new mc.Lattice(4, T, { seed: 11 });
      for (let i = 0; i < 1000; i++) lattice.wolff();
      let e = 0, m = 0;
      const n = 200000;
      for (let i = 0; i < n; i++) { lattice.wolff(); e += lattice.energyPerSpin(); m += Math.abs(lattice.magnetization()); }
      res.wolffOnly.push({ T, energy_per_spin: e / n, abs_magnetization: m / n });
    }
    res.bad = [];
    for (const options of job.bad) res.bad.push(await attempt(() => api.simulate(options)));
    res.badPredict = [await attempt(() => api.predict([1, -1, 1])), await attempt(() => api.predict(Array(16).fill(0.5)))];
    return res;
  }, job));

  // The page by keyboard: the slider (arrows, Home, End), pause, the Wolff button.
  await page.focus("#temperature");
  const before = await pageState(page);
  await page.keyboard.press("ArrowRight");
  await page.keyboard.press("ArrowRight");
  out.keyboard = { before: before.T, after: (await pageState(page)).T };
  await page.focus("#play");
  await page.keyboard.press("Enter");
  await settled(page);
  out.keyboard.paused = !(await pageState(page)).playing;
  await page.focus("#wolff");
  const beforeWolff = await pageState(page);
  await page.keyboard.press("Enter");
  await settled(page);
  const afterWolff = await pageState(page);
  out.wolff = { note: afterWolff.wolff, changed: afterWolff.spins.reduce((n, v, i) => n + (v !== beforeWolff.spins[i]), 0) };
  // Tab order reaches every control.
  await page.focus("#temperature");
  const order = [];
  for (let i = 0; i < 9; i++) {
    await page.keyboard.press("Tab");
    order.push(await page.evaluate(() => document.activeElement.id));
  }
  out.tabOrder = order;

  // P(ordered) as T moves: set T (the slider's own input event), play 300 sweeps from all-up, pause, read.
  out.live = [];
  for (const T of [1.5, 3.5]) {
    await page.evaluate((T) => {
      const el = document.getElementById("temperature");
      el.value = String(T);
      el.dispatchEvent(new Event("input", { bubbles: true }));
    }, T);
    await page.click("#cold");
    await page.click("#play");
    await page.waitForFunction(() => window.cnnlab.ising.page.sweeps >= 300, null, { timeout: 30000 });
    await page.click("#play");
    await settled(page);
    const s = await pageState(page);
    out.live.push({ T: s.T, L: s.L, p: s.p, spins: s.spins, shownT: s.shownT, shownP: s.shownP });
  }
  out.canvasSizes = await page.evaluate(() => ["lattice", "coarse-majority", "coarse-max", "coarse-avg"]
    .map((id) => [document.getElementById(id).width, document.getElementById(id).height]));
  if (job.screenshot) await page.screenshot({ path: job.screenshot, fullPage: true });
  if (AXE) out.axe.desktop = await axe(page);

  // Reduced motion: the lattice waits for the play button.
  const still = await browser.newContext({ reducedMotion: "reduce", viewport: { width: 1440, height: 900 } });
  const stillPage = await still.newPage();
  await stillPage.goto(new URL("ising.html", job.url).href);
  await stillPage.waitForFunction(() => document.body.dataset.ready === "1", null, { timeout: 30000 });
  await stillPage.waitForTimeout(300);
  out.reducedMotion = await stillPage.evaluate(() => ({ playing: window.cnnlab.ising.page.playing,
    sweeps: window.cnnlab.ising.page.sweeps, button: document.getElementById("play").textContent }));
  await still.close();

    // A phone: nothing wider than the screen, the controls reachable.
  page = await open("ising.html", true);
  out.phone = await page.evaluate(() => ({ scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth,
    wide: [...document.querySelectorAll("body *")].filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1)
      .map((e) => e.id || e.tagName).slice(0, 10) }));
  await page.locator("#wolff").tap();
  out.phone.wolff = await page.evaluate(() => document.getElementById("wolff-note").textContent);
  if (job.phoneScreenshot) await page.screenshot({ path: job.phoneScreenshot, fullPage: true });
  if (AXE) out.axe.phone = await axe(page);
} catch (err) {
  out.exception = String(err && err.stack || err);
} finally {
  writeFileSync(outFile, JSON.stringify(out));
  await browser.close();
}
