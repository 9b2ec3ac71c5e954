// The server's JSON API, used only for training from the page (`cnnlab serve`): every error becomes an
// Error carrying the server's message. Everything else the page computes in the browser (engine/).

async function asJson(response) {
  const data = await response.json().catch(() => ({ error: `HTTP ${response.status}` }));
  if (!response.ok) throw new Error(data.error || `HTTP ${response.status}`);
  return data;
}

export async function getJson(path) {
  return asJson(await fetch(path));
}

export async function postJson(path, body) {
  return asJson(await fetch(path, {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  }));
}
