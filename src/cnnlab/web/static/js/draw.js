// The drawing pad: pointer events (mouse, pen and touch), dark ink on white; its pixels as grey levels.
//
// Strokes are kept as points and the pad is redrawn from them, so that the pen width can follow the
// drawing's size: MNIST's preprocessing scales the digit's box to 20 px, so a small digit drawn with a
// fixed pen would come out as a fat blob. With centring on, the pen is 1/7 of the drawing's longer
// side (about 2.5 px once scaled to 20 px, MNIST's stroke), between 3 px and the full-size pen; with
// centring off nothing is rescaled and the pen keeps its full size (280 px pad -> 28 px: 2.5 px).

import { greyFromRGBA } from "./engine/digit.js";

export class DrawingPad {
  constructor(canvas, onChange) {
    this.canvas = canvas;
    this.ctx = canvas.getContext("2d", { willReadFrequently: true });
    this.onChange = onChange;
    this.strokes = [];
    this.drawing = null;
    this.follow = true; // pen width follows the drawing's size (centring on)
    this.width = null;
    this.clear();
    canvas.style.touchAction = "none"; // keep a finger stroke from scrolling the page
    canvas.addEventListener("pointerdown", (e) => {
      canvas.setPointerCapture(e.pointerId);
      this.drawing = [this.point(e)];
      this.strokes.push(this.drawing);
      this.render();
      this.onChange();
    });
    canvas.addEventListener("pointermove", (e) => {
      if (!this.drawing) return;
      this.drawing.push(this.point(e));
      this.render();
      this.onChange();
    });
    for (const type of ["pointerup", "pointercancel"]) canvas.addEventListener(type, () => { this.drawing = null; });
  }

  get empty() {
    return this.strokes.length === 0;
  }

  point(e) {
    const r = this.canvas.getBoundingClientRect();
    return [(e.clientX - r.left) * (this.canvas.width / r.width), (e.clientY - r.top) * (this.canvas.height / r.height)];
  }

  // The pen width for the strokes drawn so far (canvas pixels).
  penWidth() {
    const full = this.canvas.width / 11; // after scaling the pad to 28 px: about 2.5 px, like MNIST's pen
    if (!this.follow) return full;
    let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
    for (const stroke of this.strokes) {
      for (const [x, y] of stroke) { x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y); }
    }
    // The ink's box is the points' box plus one pen width; one pen width in eight of it is 2.5 px of 20.
    const side = Math.max(x1 - x0, y1 - y0, 0);
    return Math.min(full, Math.max(3, side / 7));
  }

  setFollow(follow) {
    this.follow = follow;
    this.render();
  }

  render() {
    const ctx = this.ctx;
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, this.canvas.width, this.canvas.height);
    this.width = this.penWidth();
    ctx.strokeStyle = "#111";
    ctx.lineWidth = this.width;
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    for (const stroke of this.strokes) {
      ctx.beginPath();
      ctx.moveTo(stroke[0][0], stroke[0][1]);
      // A dot (one point) is a zero-length line: round caps make it a disc.
      for (const [x, y] of stroke.length > 1 ? stroke.slice(1) : stroke) ctx.lineTo(x, y);
      ctx.stroke();
    }
  }

  // Strokes as lists of [x, y] points in [0, 1] (the example digits).
  drawStrokes(strokes) {
    const w = this.canvas.width, h = this.canvas.height;
    for (const points of strokes) this.strokes.push(points.map(([x, y]) => [x * w, y * h]));
    this.render();
    this.onChange();
  }

  clear() {
    this.strokes = [];
    this.drawing = null;
    this.render();
  }

  // Grey levels in [0, 1], (height, width), as Pillow reads the pad's PNG (what the server used to get).
  grey() {
    const { width, height } = this.canvas;
    return greyFromRGBA(this.ctx.getImageData(0, 0, width, height).data, width, height);
  }
}
