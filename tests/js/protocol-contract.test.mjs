// The JS copies of the wire constants (clients/js/src/protocol.js) against the Rust core
// that defines them (core/src/protocol.rs), read as source: a protocol change in one
// language fails here until the other follows. Covers the subprotocol, the protocol
// version, every close code, and the durable event types.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";

import { CLOSE, DOC_SUBPROTOCOL, DOC_TERMINAL_CLOSE_CODES, DURABLE_TYPES, PING_FRAME, PROTOCOL_VERSION, RETRY_FLOOR_MS, SUBPROTOCOL, TERMINAL_CLOSE_CODES } from "../../clients/js/src/protocol.js";

const RUST = readFileSync(new URL("../../core/src/protocol.rs", import.meta.url), "utf8");

/** The value of `pub const NAME: type = value;` at the top level of protocol.rs. */
function rustConst(name) {
  const found = RUST.match(new RegExp(`pub const ${name}: [^=]+= (.+?);`));
  assert.ok(found, `protocol.rs defines ${name}`);
  return found[1].trim();
}

/** The body of `pub mod name { … }` (the modules hold only constants and comments). */
function rustModule(name) {
  const found = RUST.match(new RegExp(`pub mod ${name} \\{([\\s\\S]*?)\\n\\}`));
  assert.ok(found, `protocol.rs has mod ${name}`);
  return found[1];
}

/** CamelCase → snake_case, as serde's rename_all = "snake_case" does it. */
const snake = (name) => name.replace(/[A-Z]/g, (c, i) => (i ? "_" : "") + c.toLowerCase());

test("the subprotocol, the bearer prefix and the protocol version are the core's", () => {
  assert.equal(SUBPROTOCOL, JSON.parse(rustConst("SUBPROTOCOL")));
  assert.equal(PROTOCOL_VERSION, Number(rustConst("PROTOCOL_VERSION")));
  assert.equal("bearer.", JSON.parse(RUST.match(/const BEARER_SUBPROTOCOL_PREFIX: &str = (".+?");/)[1]));
  assert.equal(PING_FRAME, RUST.match(/pub const PING_FRAME: &str = r#"(.+?)"#;/)[1]);
  assert.equal(DOC_SUBPROTOCOL, JSON.parse(rustConst("DOC_SUBPROTOCOL")));
});

test("every close code the core uses, and no other, by the same names", () => {
  const codes = Object.fromEntries([...rustModule("close").matchAll(/pub const (\w+): u16 = (\d+);/g)].map(([, name, code]) => [name, Number(code)]));
  assert.ok(Object.keys(codes).length >= 7, "read the close codes");
  assert.deepEqual(CLOSE, codes);
  // The client's policy names only codes the server sends (plus none of its own).
  const known = new Set(Object.values(codes));
  for (const code of [...Object.keys(TERMINAL_CLOSE_CODES), ...Object.keys(RETRY_FLOOR_MS)].map(Number)) assert.ok(known.has(code), `${code} is a code the server uses`);
  assert.deepEqual(Object.keys(TERMINAL_CLOSE_CODES).map(Number).sort(), [codes.TOKEN_EXPIRED, codes.TOKEN_MISMATCH, codes.TASK_DELETED].sort());
  // A document socket stops for good after what docs/protocol.md says not to reconnect
  // after (4001 is decided by getToken in doc.js), and only after codes the server sends.
  for (const code of Object.keys(DOC_TERMINAL_CLOSE_CODES).map(Number)) assert.ok(known.has(code), `${code} is a code the server uses`);
  const noReconnect = [codes.UNSUPPORTED, codes.INVALID_PAYLOAD, codes.TOO_BIG, codes.TOKEN_MISMATCH, codes.TASK_DELETED, codes.UPDATE_REFUSED, codes.NOT_YOURS];
  assert.deepEqual(Object.keys(DOC_TERMINAL_CLOSE_CODES).map(Number).sort(), noReconnect.sort());
});

test("the durable event types are the server messages that carry a seq", () => {
  const seqFn = RUST.match(/pub fn seq\(&self\) -> Option<u64> \{([\s\S]*?)\n {4}\}/);
  assert.ok(seqFn, "protocol.rs has ServerMessage::seq");
  const durable = [...seqFn[1].matchAll(/ServerMessage::(\w+)/g)].map(([, variant]) => snake(variant));
  assert.ok(durable.length >= 5, "read the durable variants");
  assert.deepEqual([...DURABLE_TYPES].sort(), durable.sort());
  // And each is a variant of the tagged enum the server sends.
  const serverEnum = RUST.match(/pub enum ServerMessage \{([\s\S]*?)\n\}/)[1];
  const variants = new Set([...serverEnum.matchAll(/^ {4}(\w+) \{/gm)].map(([, v]) => snake(v)));
  for (const type of DURABLE_TYPES) assert.ok(variants.has(type), `${type} is a ServerMessage`);
});
