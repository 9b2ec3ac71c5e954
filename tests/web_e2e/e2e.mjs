// The visualiser page in headless Chromium (Debian's binary, driven by playwright-core), as a user meets it.
//
//   node e2e.mjs JOB.json OUT.json
//
// JOB (written by tests/test_web_e2e.py): {url, chromium, mode: "static" | "serve", screenshot, strokes,
// images: {model: [images]}, drops: [{name, b64}], dropImages: {model: [images]}}. The script loads the
// page, draws with the mouse, hovers a unit, preprocesses real strokes, runs window.cnnlab.forward on the
// given images, drops files onto the page, and writes one JSON object of what it saw; pytest checks the
// values against Python. Every request, failed response and console error is recorded.
import { readFileSync, writeFileSync } from "node:fs";
import { chromium } from "playwright-core";

const [jobFile, outFile] = process.argv.slice(2);
const job = JSON.parse(readFileSync(jobFile, "utf8"));
const browser = await chromium.launch({
  executablePath: job.chromium,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run"],
});
const out = { errors: [], requests: [] };
try {
  const page = await browser.newPage({ viewport: { width: 1440, height: 900 }, deviceScaleFactor: 1 });
  page.on("pageerror", (err) => out.errors.push(`pageerror: ${err}`));
  page.on("console", (msg) => { if (msg.type() === "error") out.errors.push(`console: ${msg.text()}`); });
  page.on("request", (req) => out.requests.push(new URL(req.url()).pathname));
  page.on("response", (res) => { if (res.status() >= 400) out.errors.push(`HTTP ${res.status()} ${res.url()}`); });
  await page.goto(job.url);
  await page.waitForFunction(() => document.body.dataset.ready === "1", null, { timeout: 30000 });
  out.firstPredictionMs = await page.evaluate(() => window.cnnlab.page.firstPredictionMs);
  out.models = await page.evaluate(() => window.cnnlab.models());

  const pad = await page.locator("#pad").boundingBox();
  const at = (fx, fy) => [pad.x + fx * pad.width, pad.y + fy * pad.height];
  const updates = () => page.evaluate(() => window.cnnlab.page.updates);
  async function draw(strokes) {
    const before = await updates();
    await page.click("#clear");
    await page.waitForFunction((n) => window.cnnlab.page.updates > n, before);
    for (const stroke of strokes) {
      await page.mouse.move(...at(...stroke[0]));
      await page.mouse.down();
      for (const point of stroke.slice(1)) await page.mouse.move(...at(...point), { steps: 8 });
      await page.mouse.up();
    }
    const drawn = await updates();
    await page.waitForTimeout(50);
    await page.waitForFunction((n) => window.cnnlab.page.updates >= n, drawn);
  }
  const predictions = () => page.evaluate(() => Object.fromEntries(
    [...document.querySelectorAll(".pred")].map((el) => [el.dataset.model, el.dataset.prediction])));

  // A "7" drawn with the mouse.
  await draw([[[0.28, 0.22], [0.72, 0.22], [0.47, 0.82]]]);
  out.predictions = await predictions();
  out.status = await page.evaluate(() => document.getElementById("status").textContent);

  // Hover the most active unit of the CNN's second conv stage: its receptive field and its arithmetic.
  const info = await page.evaluate(() => {
    const view = window.cnnlab.page.views.find((v) => v.model.name === "cnn");
    const k = view.stages.findIndex((s, i) => s.kind === "conv" && i > 1);
    const values = view.values(k), [, h, w] = view.stages[k].shape;
    let best = 0;
    values.forEach((v, i) => { if (v > values[best]) best = i; });
    const unit = { c: Math.floor(best / (h * w)), y: Math.floor(best / w) % h, x: best % w };
    const lay = view.layouts[k];
    const [ox, oy] = view.tileOrigin(lay, unit.c);
    return { k, unit, layer: view.stages[k].first, px: ox + (unit.x + 0.5) * lay.s, py: oy + (unit.y + 0.5) * lay.s,
      inputScale: view.layouts[0].s };
  });
  const stage = page.locator(`#net-cnn canvas[data-stage="${info.k}"]`);
  await stage.scrollIntoViewIfNeeded();
  const box = await stage.boundingBox();
  await page.mouse.move(box.x + info.px, box.y + info.py);
  await page.waitForFunction(() => document.querySelector("#input-cnn").dataset.rf !== undefined);
  await page.waitForFunction(() => document.querySelector("#inspector").textContent.includes("Σ w·x"));
  out.unit = info.unit;
  out.layer = info.layer;
  out.rf = (await page.evaluate(() => document.querySelector("#input-cnn").dataset.rf)).split(",").map(Number);
  out.pixels = await page.evaluate(([y0, y1, x0, , s]) => {
    const ctx = document.querySelector("#input-cnn").getContext("2d");
    const px = (x, y) => Array.from(ctx.getImageData(x, y, 1, 1).data.slice(0, 3));
    return { edge: px(x0 * s + 1, Math.floor((y0 + y1 + 1) / 2 * s)) };
  }, [...out.rf, info.inputScale]);
  out.inspector = await page.evaluate(() => document.querySelector("#inspector").innerText);
  await page.evaluate(() => window.scrollTo(0, 0));
  if (job.screenshot) await page.screenshot({ path: job.screenshot }); // the unit stays highlighted
  await page.mouse.move(5, 5);

  // Real strokes: the page's 28x28 frame and the pad's pixels as PNG, for Python's preprocessing to redo.
  out.strokes = [];
  for (const strokes of job.strokes || []) {
    await draw(strokes);
    out.strokes.push(await page.evaluate(() => ({
      frame: Array.from(window.cnnlab.page.frame),
      png: document.getElementById("pad").toDataURL("image/png").split(",")[1],
    })));
  }

  // window.cnnlab.forward on the given raw images, model by model.
  const forward = (images) => page.evaluate(async ([name, imgs]) => {
    const probabilities = [], activations = [];
    for (const [i, image] of imgs.entries()) {
      const r = await window.cnnlab.forward(name, image);
      probabilities.push(r.probabilities);
      if (i < 2) activations.push(r.activations.map((a) => a.flat(Infinity)));
    }
    return { probabilities, activations };
  }, images);
  out.forward = {};
  for (const [name, images] of Object.entries(job.images || {})) out.forward[name] = await forward([name, images]);
  out.apiErrors = await page.evaluate(async () => {
    const tries = [["nope", [[0]]], ["cnn", [[0, 1]]], ["cnn", Array(28).fill(Array(28).fill(2))]];
    const messages = [];
    for (const [name, image] of tries) {
      try { await window.cnnlab.forward(name, image); messages.push(null); } catch (err) { messages.push(err.message); }
    }
    return messages;
  });

  // Files dropped onto the page (a DataTransfer built in the page, as a real drag-and-drop delivers it).
  out.drops = [];
  for (const drop of job.drops || []) {
    await page.evaluate(() => { document.getElementById("drop-status").textContent = ""; });
    if (drop.via === "button") {
      await page.setInputFiles("#model-file", { name: drop.name, mimeType: "application/octet-stream", buffer: Buffer.from(drop.b64, "base64") });
    } else {
      const transfer = await page.evaluateHandle(([name, b64]) => {
        const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
        const dt = new DataTransfer();
        dt.items.add(new File([bytes], name, { type: "application/octet-stream" }));
        return dt;
      }, [drop.name, drop.b64]);
      await page.dispatchEvent("#nets", "dragenter", { dataTransfer: transfer });
      await page.dispatchEvent("#nets", "drop", { dataTransfer: transfer });
    }
    await page.waitForFunction(() => document.getElementById("drop-status").textContent !== "");
    await page.waitForTimeout(50);
    out.drops.push(await page.evaluate(() => ({
      status: document.getElementById("drop-status").textContent,
      error: document.getElementById("drop-status").classList.contains("error"),
      models: window.cnnlab.page.registry.models.map((m) => m.name),
      dragging: document.body.classList.contains("dragging"),
    })));
  }
  out.afterDrops = { predictions: await predictions(), columns: await page.locator(".net").count() };
  out.dropForward = {};
  for (const [name, images] of Object.entries(job.dropImages || {})) out.dropForward[name] = await forward([name, images]);
  if (job.dropScreenshot) await page.screenshot({ path: job.dropScreenshot, fullPage: true });
  out.training = await page.evaluate(() => ({
    text: document.getElementById("train").innerText,
    form: document.getElementById("tr-start") !== null,
  }));
  out.calculator = await page.evaluate(() => document.getElementById("calc-out").innerText);
  out.conv1d = await page.evaluate(() => document.getElementById("c1-say").innerText);
} catch (err) {
  out.exception = String(err.stack || err);
} finally {
  writeFileSync(outFile, JSON.stringify(out));
  await browser.close();
}
