// End-to-end check of the visualiser in headless Chromium (Debian's binary, driven by playwright-core).
//
//   node e2e.mjs URL SCREENSHOT.png [CHROMIUM]
//
// Draws a stroke, waits for both networks' predictions, hovers the most active unit of the CNN's
// second conv layer, and prints one JSON object: predictions, the unit, the receptive field the page shows on
// the input, the colour of the highlight there, and the inspector's text. pytest checks the values.
import { chromium } from "playwright-core";

const [url, screenshot, executablePath = "/usr/bin/chromium"] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run"],
});
try {
  const page = await browser.newPage({ viewport: { width: 1440, height: 900 }, deviceScaleFactor: 1 });
  const errors = [];
  page.on("pageerror", (err) => errors.push(String(err)));
  page.on("console", (msg) => { if (msg.type() === "error") errors.push(msg.text()); });
  await page.goto(url);
  await page.waitForFunction(() => window.cnnlab && window.cnnlab.responses > 0, null, { timeout: 20000 });

  // Clear, then draw a "7" with the mouse.
  await page.click("#clear");
  await page.waitForFunction(() => !window.cnnlab.busy);
  const before = await page.evaluate(() => window.cnnlab.responses);
  const pad = await page.locator("#pad").boundingBox();
  const at = (fx, fy) => [pad.x + fx * pad.width, pad.y + fy * pad.height];
  await page.mouse.move(...at(0.28, 0.22));
  await page.mouse.down();
  for (const [fx, fy] of [[0.72, 0.22], [0.47, 0.82]]) await page.mouse.move(...at(fx, fy), { steps: 12 });
  await page.mouse.up();
  await page.waitForFunction((n) => window.cnnlab.responses > n && !window.cnnlab.busy && !window.cnnlab.dirty, before);
  await page.waitForTimeout(200);
  const predictions = await page.evaluate(() => Object.fromEntries(
    [...document.querySelectorAll(".pred")].map((el) => [el.id.replace("pred-", ""), el.dataset.prediction])));

  // Hover the most active unit of the CNN's second conv stage.
  const info = await page.evaluate(() => {
    const view = window.cnnlab.views.find((v) => v.model.name === "cnn");
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
  const unit = info.unit;
  const stage = page.locator(`#net-cnn canvas[data-stage="${info.k}"]`);
  await stage.scrollIntoViewIfNeeded();
  const box = await stage.boundingBox();
  await page.mouse.move(box.x + info.px, box.y + info.py);
  await page.waitForFunction(() => document.querySelector("#input-cnn").dataset.rf !== undefined);
  await page.waitForFunction(() => document.querySelector("#inspector").textContent.includes("Σ w·x"));
  const rf = (await page.evaluate(() => document.querySelector("#input-cnn").dataset.rf)).split(",").map(Number);
  const pixels = await page.evaluate(([y0, y1, x0, x1, s]) => {
    const ctx = document.querySelector("#input-cnn").getContext("2d");
    const px = (x, y) => Array.from(ctx.getImageData(x, y, 1, 1).data.slice(0, 3));
    return { edge: px(x0 * s + 1, Math.floor((y0 + y1 + 1) / 2 * s)), outside: px(27 * s + 1, 27 * s + 1),
             insideCorner: px(x0 * s + 3, y0 * s + 3) };
  }, [...rf, info.inputScale]);
  const inspector = await page.evaluate(() => document.querySelector("#inspector").innerText);
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: screenshot });
  console.log(JSON.stringify({ predictions, unit, layer: info.layer, rf, pixels, inspector, errors }));
} finally {
  await browser.close();
}
