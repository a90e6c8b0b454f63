// Drops the "name" custom section (function names for stack traces) from a wasm file.
// It was a quarter of the Worker's bundle. `strip = true` in Cargo would also remove the
// target_features section that wasm-bindgen reads, so the names go after wasm-bindgen.
// A panic still logs its message and file:line through console_error_panic_hook.
//
// Usage: node scripts/strip-wasm-names.mjs build/index_bg.wasm
import { readFileSync, renameSync, writeFileSync } from "node:fs";

const path = process.argv[2];
const wasm = readFileSync(path);
if (wasm.readUInt32LE(0) !== 0x6d736100) throw new Error(`${path} is not a wasm module`);

/** Reads an unsigned LEB128 at `offset`: [value, bytes read]. */
function leb(offset) {
  let value = 0;
  let shift = 0;
  for (let i = offset; ; i++) {
    const byte = wasm[i];
    value += (byte & 0x7f) * 2 ** shift;
    shift += 7;
    if ((byte & 0x80) === 0) return [value, i - offset + 1];
  }
}

const kept = [wasm.subarray(0, 8)];
let dropped = 0;
for (let offset = 8; offset < wasm.length; ) {
  const id = wasm[offset];
  const [size, sizeBytes] = leb(offset + 1);
  const end = offset + 1 + sizeBytes + size;
  let isNames = false;
  if (id === 0) {
    const [nameLength, nameBytes] = leb(offset + 1 + sizeBytes);
    const start = offset + 1 + sizeBytes + nameBytes;
    isNames = wasm.toString("utf8", start, start + nameLength) === "name";
  }
  if (isNames) dropped += end - offset;
  else kept.push(wasm.subarray(offset, end));
  offset = end;
}
if (dropped > 0) {
  writeFileSync(`${path}.tmp`, Buffer.concat(kept));
  renameSync(`${path}.tmp`, path);
}
console.log(`strip-wasm-names: ${path}: ${wasm.length} -> ${wasm.length - dropped} bytes`);
