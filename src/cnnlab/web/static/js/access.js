// How a student reaches the units: with a pointer (hover, click, a finger's tap) or the keyboard. Every
// stage of a network is one tab stop; arrow keys move between its units (across tile borders into the
// neighbouring channel, as the tiles are laid out), Page Up/Down jump a channel, Home/End go to the
// first/last unit, Enter or Space pins the unit, Escape unpins.

// The unit a key press moves to from `unit` in a stage laid out as `lay`, or null when the key is not
// a move. Grid stages: {c, y, x}; strips and output bars: {i}.
export function moveUnit(lay, unit, key) {
  if (lay.kind === "grid") {
    let { c, y, x } = unit;
    const { c: n, h, w, cols } = lay;
    if (key === "ArrowRight") {
      if (x < w - 1) x++;
      else if (c % cols < cols - 1 && c + 1 < n) { c++; x = 0; }
    } else if (key === "ArrowLeft") {
      if (x > 0) x--;
      else if (c % cols > 0) { c--; x = w - 1; }
    } else if (key === "ArrowDown") {
      if (y < h - 1) y++;
      else if (c + cols < n) { c += cols; y = 0; }
    } else if (key === "ArrowUp") {
      if (y > 0) y--;
      else if (c - cols >= 0) { c -= cols; y = h - 1; }
    } else if (key === "PageDown") c = Math.min(n - 1, c + 1);
    else if (key === "PageUp") c = Math.max(0, c - 1);
    else if (key === "Home") { c = 0; y = 0; x = 0; }
    else if (key === "End") { c = n - 1; y = h - 1; x = w - 1; }
    else return null;
    return { c, y, x };
  }
  const n = lay.n, row = lay.perRow || 1;
  let i = unit.i;
  if (key === "ArrowRight") i = Math.min(n - 1, i + 1);
  else if (key === "ArrowLeft") i = Math.max(0, i - 1);
  else if (key === "ArrowDown") i = Math.min(n - 1, i + row);
  else if (key === "ArrowUp") i = Math.max(0, i - row);
  else if (key === "Home") i = 0;
  else if (key === "End") i = n - 1;
  else return null;
  return { i };
}

// Where keyboard focus lands first in a stage: the middle of channel 0, or unit 0.
export function firstUnit(lay) {
  return lay.kind === "grid" ? { c: 0, y: Math.floor(lay.h / 2), x: Math.floor(lay.w / 2) } : { i: 0 };
}

// Wire a stage element: focus, arrows, Enter/Space, Escape -> onKey(action, unit | null).
export function keyboard(el, getLayout, getUnit, onKey) {
  el.tabIndex = 0;
  el.addEventListener("focus", () => {
    // Only keyboard focus picks a unit: a click or tap focuses the element too, and picks its own unit.
    if (!getUnit() && el.matches(":focus-visible")) onKey("move", firstUnit(getLayout()));
  });
  el.addEventListener("keydown", (e) => {
    if (e.key === "Enter" || e.key === " ") {
      e.preventDefault();
      onKey("pin", getUnit() || firstUnit(getLayout()));
    } else if (e.key === "Escape") {
      onKey("unpin", null);
    } else {
      const unit = moveUnit(getLayout(), getUnit() || firstUnit(getLayout()), e.key);
      if (!unit) return;
      e.preventDefault(); // arrows would scroll the page
      onKey("move", unit);
    }
  });
}

// Clicks and taps on the units of `el`: unitAt(event) -> unit | null; onTap(unit) once per click or tap.
// A finger's tap is taken from its pointerup (the click a browser synthesises after a tap can be dropped,
// e.g. while the page is busy), and the click that may follow it is then ignored.
export function taps(el, unitAt, onTap) {
  let down = null, tapped = 0;
  el.addEventListener("pointerdown", (e) => { down = e.pointerType === "touch" ? unitAt(e) : null; });
  el.addEventListener("pointerup", (e) => {
    const unit = e.pointerType === "touch" ? unitAt(e) : null;
    if (unit && down && JSON.stringify(unit) === JSON.stringify(down)) { tapped = e.timeStamp; onTap(unit); }
    down = null;
  });
  el.addEventListener("pointercancel", () => { down = null; }); // the finger scrolled the page instead
  el.addEventListener("click", (e) => {
    if (e.timeStamp - tapped < 800) return;
    const unit = unitAt(e);
    if (unit) onTap(unit);
  });
}
