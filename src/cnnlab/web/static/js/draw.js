// The drawing pad: pointer events (mouse, pen and touch), dark ink on white; its pixels as grey levels.

import { greyFromRGBA } from "./engine/digit.js";

export class DrawingPad {
  constructor(canvas, onChange) {
    this.canvas = canvas;
    this.ctx = canvas.getContext("2d", { willReadFrequently: true });
    this.onChange = onChange;
    this.last = null;
    this.empty = true;
    this.clear();
    canvas.style.touchAction = "none"; // keep a finger stroke from scrolling the page
    canvas.addEventListener("pointerdown", (e) => {
      canvas.setPointerCapture(e.pointerId);
      this.last = this.point(e);
      this.stroke(this.last, this.last);
    });
    canvas.addEventListener("pointermove", (e) => {
      if (!this.last) return;
      const p = this.point(e);
      this.stroke(this.last, p);
      this.last = p;
    });
    for (const type of ["pointerup", "pointercancel"]) canvas.addEventListener(type, () => { this.last = null; });
  }

  point(e) {
    const r = this.canvas.getBoundingClientRect();
    return [(e.clientX - r.left) * (this.canvas.width / r.width), (e.clientY - r.top) * (this.canvas.height / r.height)];
  }

  stroke(a, b) {
    const ctx = this.ctx;
    ctx.strokeStyle = "#111";
    ctx.lineWidth = this.canvas.width / 11; // after scaling to MNIST's 20-px box: about 2.5 px, like its pen
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    ctx.beginPath();
    ctx.moveTo(a[0], a[1]);
    ctx.lineTo(b[0], b[1]);
    ctx.stroke();
    this.empty = false;
    this.onChange();
  }

  // Strokes as lists of [x, y] points in [0, 1] (the example digits).
  drawStrokes(strokes) {
    const w = this.canvas.width, h = this.canvas.height, notify = this.onChange;
    this.onChange = () => {};
    for (const points of strokes) {
      for (let j = 1; j < points.length; j++) {
        this.stroke([points[j - 1][0] * w, points[j - 1][1] * h], [points[j][0] * w, points[j][1] * h]);
      }
    }
    this.onChange = notify;
    notify();
  }

  clear() {
    this.ctx.fillStyle = "#fff";
    this.ctx.fillRect(0, 0, this.canvas.width, this.canvas.height);
    this.empty = true;
  }

  // Grey levels in [0, 1], (height, width), as Pillow reads the pad's PNG (what the server used to get).
  grey() {
    const { width, height } = this.canvas;
    return greyFromRGBA(this.ctx.getImageData(0, 0, width, height).data, width, height);
  }
}
