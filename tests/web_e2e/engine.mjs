// The browser engine (src/cnnlab/web/static/js/engine) on cases made by tests/test_web_engine.py, in headless
// Chromium, one launch for all of them.
//
//   node engine.mjs JOB.json OUT.json
//
// JOB: {url, chromium, cases: {...}}; OUT: the engine's answer per case, compared with Python's in pytest.
import { readFileSync, writeFileSync } from "node:fs";
import { chromium } from "playwright-core";

const [jobFile, outFile] = process.argv.slice(2);
const job = JSON.parse(readFileSync(jobFile, "utf8"));
const browser = await chromium.launch({ executablePath: job.chromium, args: ["--headless", "--no-sandbox", "--disable-gpu"] });
try {
  const page = await browser.newPage();
  const errors = [];
  page.on("pageerror", (err) => errors.push(String(err)));
  page.on("console", (msg) => { if (msg.type() === "error") errors.push(msg.text()); });
  await page.goto(job.url);
  const results = await page.evaluate(async (cases) => {
    const load = (name) => import(new URL(`static/js/engine/${name}.js`, location.href).href);
    const [shapes, spec, bundle, model, digit, explain] = await Promise.all(
      ["shapes", "spec", "bundle", "model", "digit", "explain"].map(load));
    const calc = await import(new URL("static/js/calculator.js", location.href).href);
    const trace = await import(new URL("static/js/trace.js", location.href).href);
    const attempt = (f) => { try { return { value: f() }; } catch (err) { return { error: err.message }; } };
    const bytes = (b64) => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)).buffer;
    const out = {};
    out.conv_output_size = cases.conv_output_size.map((a) => attempt(() => shapes.convOutputSize(...a)));
    out.param_counts = cases.param_counts.map((a) => attempt(() => shapes.convParamCounts(...a)));
    out.shape_report = cases.shape_report.map((a) => attempt(() => calc.shapeReport(...a)));
    out.analyze = cases.analyze.map(({ layers, input_shape, units }) => attempt(() => {
      const infos = spec.analyze(layers, input_shape);
      // Each unit's input pixels two ways: the receptive field's span, and the page's layer-by-layer trace.
      const stages = [{ kind: "input", shape: input_shape }];
      const stageOf = {};
      infos.forEach((info) => {
        if (["conv", "maxpool", "avgpool"].includes(info.layer.type) && info.out_shape.length === 3) {
          stages.push({ kind: info.layer.type, shape: info.out_shape, layer: info.layer });
          stageOf[info.index] = stages.length - 1;
        }
      });
      const spans = units.map(([layer, y, x]) => {
        const rf = infos[layer].receptive_field;
        const span = shapes.fieldSpan(rf, [y, x], input_shape.slice(1));
        const traced = trace.traceBack(stages, stageOf[layer], { c: 0, y, x })[0];
        return { span, traced: traced && !traced.empty ? [traced.rows, traced.cols] : null };
      });
      return { rows: infos.map((i) => ({ out_shape: i.out_shape, params: i.params, locally_connected: i.locally_connected,
        dense: i.dense, receptive_field: i.receptive_field })), spans };
    }));
    out.forward = cases.forward.map(({ file, image, any_input }) => attempt(() => {
      const m = model.Model.fromBuffer(bytes(file), any_input ? { problem: () => null } : {});
      const r = m.forward(Float32Array.from(image));
      return { probabilities: Array.from(r.probabilities), activations: r.activations.map((a) => Array.from(a)) };
    }));
    out.files = cases.files.map((file) => attempt(() => model.Model.fromBuffer(bytes(file)).name));
    out.models = cases.models.map(({ file, units }) => attempt(() => {
      const m = model.Model.fromBuffer(bytes(file));
      return { describe: m.describe(), units: units.map(([layer, unit]) => attempt(() => {
        const w = m.unitWeights(layer, unit);
        return { shape: w.shape, weight: Array.from(w.weight), bias: unit === null ? Array.from(w.bias) : w.bias };
      })) };
    }));
    out.conv1d = cases.conv1d.map(([x, w, options]) => attempt(() => explain.conv1dSteps(x, w, options)));
    out.preprocess = cases.preprocess.map(({ grey, h, w }) => attempt(() => {
      const r = digit.preprocess(Float32Array.from(grey), h, w);
      return { frame: Array.from(r.frame), ink: r.ink };
    }));
    out.fit_frame = cases.fit_frame.map(({ frame, h, w }) => Array.from(digit.fitFrame(Float32Array.from(frame), h, w)));
    out.crc32 = cases.crc32.map((b64) => bundle.crc32(new Uint8Array(bytes(b64))));
    const halves = new Uint16Array(65536).map((_, i) => i);
    out.half = Array.from(bundle.halfToFloat(halves), (v) => (Number.isNaN(v) ? "nan" : v === Infinity ? "inf" : v === -Infinity ? "-inf" : v));
    out.format_g = cases.format_g.map((x) => shapes.formatG(x));
    return out;
  }, job.cases);
  writeFileSync(outFile, JSON.stringify({ results, errors }));
} finally {
  await browser.close();
}
