// Thin wrappers over the JSON API; every error becomes an Error carrying the server's message.

async function asJson(response) {
  const data = await response.json().catch(() => ({ error: `HTTP ${response.status}` }));
  if (!response.ok) throw new Error(data.error || `HTTP ${response.status}`);
  return data;
}

export async function getModels() {
  return (await asJson(await fetch("/api/models"))).models;
}

export async function postJson(path, body) {
  return asJson(await fetch(path, {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  }));
}

// Forward a PNG of the drawing through every model; activations come back as base64 float32.
export async function forwardPng(blob) {
  const data = await asJson(await fetch("/api/forward?encoding=base64", {
    method: "POST", headers: { "Content-Type": "image/png" }, body: blob,
  }));
  for (const result of Object.values(data.results)) {
    for (const layer of result.layers) layer.values = decodeFloat32(layer.values);
  }
  return data;
}

export function decodeFloat32(text) {
  const bytes = Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
  return new Float32Array(bytes.buffer);
}

const weightCache = new Map();

// A conv layer's filters are fetched once per layer; a dense unit's row once per unit.
export async function getWeights(model, layer, unit = null) {
  const key = `${model}/${layer}/${unit}`;
  if (!weightCache.has(key)) {
    const query = unit === null ? "" : `?unit=${unit}`;
    weightCache.set(key, fetch(`/api/weights/${model}/${layer}${query}`).then(asJson));
  }
  return weightCache.get(key);
}
