// Reading a web model file (written by cnnlab/web/bundle.py; its docstring documents the layout):
// magic, version, lengths and CRC-32 checked, header parsed, tensors decoded to Float32Arrays.
// Every failure is a BundleError whose message is one sentence saying what is wrong with the file.

import { LAYER_TYPES } from "./spec.js";

export const MAGIC = "CNNLABWM";
export const VERSION = 1;
export const MAX_BYTES = 64 * 2 ** 20;
const PREFIX = 24;

export class BundleError extends Error {}

let crcTable = null;
export function crc32(bytes) {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) crc = crcTable[(crc ^ bytes[i]) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

// IEEE 754 half -> float, for every one of the 65536 bit patterns once (browsers without Float16Array):
// the float32 bit pattern is the half's sign, exponent re-biased by 127 - 15 and fraction shifted by 13;
// subnormal halves (exponent 0) are exact multiples of 2^-24, infinities and NaNs keep exponent 255.
let halfTable = null;
export function halfToFloat(bits) {
  if (!halfTable) {
    const words = new Uint32Array(65536);
    halfTable = new Float32Array(words.buffer);
    for (let h = 0; h < 65536; h++) {
      const sign = (h & 0x8000) << 16, exp = (h >> 10) & 0x1f, frac = h & 0x3ff;
      if (exp === 0) halfTable[h] = (sign ? -1 : 1) * frac * 2 ** -24;
      else words[h] = sign | ((exp === 31 ? 255 : exp + 112) << 23) | (frac << 13);
    }
  }
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = halfTable[bits[i]];
  return out;
}

const SIZES = { float16: 2, float32: 4 };
// Typed-array views read the platform's byte order; every browser runs little-endian, like the file.

// Checks of the header a reader must not trust blindly; null when it is usable.
function headerProblem(h) {
  if (h === null || typeof h !== "object" || Array.isArray(h)) return "the header is not a JSON object";
  if (h.format !== "cnnlab-web-model") return `format is ${JSON.stringify(h.format)}, expected "cnnlab-web-model"`;
  const missing = ["name", "spec", "input_shape", "classes", "mean", "std", "layers", "shapes", "tensors"].filter((k) => !(k in h));
  if (missing.length) return `the header lacks ${missing.join(", ")}`;
  if (!Array.isArray(h.layers) || !Array.isArray(h.shapes) || !Array.isArray(h.tensors) || !h.layers.length ||
      h.layers.length !== h.shapes.length) return "layers and shapes must be lists of the same non-zero length";
  if (!Array.isArray(h.input_shape) || !h.input_shape.every((v) => Number.isInteger(v) && v >= 1)) {
    return "input_shape must be a list of positive integers";
  }
  if (!Array.isArray(h.classes) || !Array.isArray(h.mean) || !Array.isArray(h.std)) return "classes, mean and std must be lists";
  for (const [i, layer] of h.layers.entries()) {
    const kind = layer && typeof layer === "object" ? layer.type : layer;
    if (!LAYER_TYPES.includes(kind)) {
      return `layer ${i} has type ${JSON.stringify(kind)}, which the page does not implement (${LAYER_TYPES.join(", ")})`;
    }
  }
  return null;
}

// ArrayBuffer -> {header, tensors: {name: Float32Array}, bytes}; throws BundleError.
export function readBundle(buffer) {
  if (!(buffer instanceof ArrayBuffer)) throw new BundleError("expected the file's bytes (an ArrayBuffer)");
  if (buffer.byteLength > MAX_BYTES) {
    throw new BundleError(`the file is ${buffer.byteLength} bytes, over the limit of ${MAX_BYTES} for a web model`);
  }
  const bytes = new Uint8Array(buffer);
  const magic = String.fromCharCode(...bytes.subarray(0, 8));
  if (bytes.length < PREFIX || magic !== MAGIC) {
    throw new BundleError("not a cnnlab web model file (it does not start with CNNLABWM); " +
      "write one with: cnnlab export RUN_DIR --format web");
  }
  const view = new DataView(buffer);
  const version = view.getUint32(8, true), headerLen = view.getUint32(12, true);
  const dataLen = view.getUint32(16, true), crc = view.getUint32(20, true);
  if (version !== VERSION) {
    throw new BundleError(`web model file format version ${version} is not supported (this page reads ${VERSION})`);
  }
  if (bytes.length !== PREFIX + headerLen + dataLen) {
    throw new BundleError(`truncated web model file: 24 + header ${headerLen} + data ${dataLen} bytes expected, got ${bytes.length}`);
  }
  if (crc32(bytes.subarray(PREFIX)) !== crc) {
    throw new BundleError("corrupted web model file: the CRC-32 checksum does not match its contents");
  }
  let header;
  try {
    header = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(PREFIX, PREFIX + headerLen)));
  } catch (err) {
    throw new BundleError(`corrupted web model file: the header is not JSON (${err.message})`);
  }
  const problem = headerProblem(header);
  if (problem) throw new BundleError(`invalid web model file: ${problem}`);
  const dataStart = PREFIX + headerLen, tensors = {};
  for (const t of header.tensors) {
    const size = SIZES[t && t.dtype];
    const count = Array.isArray(t.shape) ? t.shape.reduce((a, b) => a * b, 1) : NaN;
    if (!size || !Number.isInteger(count) || !Number.isInteger(t.offset) || t.offset < 0 || t.offset % size ||
        t.offset + count * size > dataLen) {
      throw new BundleError(`invalid web model file: tensor ${JSON.stringify(t && t.name)} has a bad dtype, shape or offset`);
    }
    const slice = buffer.slice(dataStart + t.offset, dataStart + t.offset + count * size); // aligned copy
    tensors[t.name] = t.dtype === "float16" ? halfToFloat(new Uint16Array(slice)) : new Float32Array(slice);
  }
  return { header, tensors, bytes: bytes.length };
}
