// Messages per second for protocol.js (WebCrypto, Node), beside bare AES-256-GCM.
//
//     node bench/crypto_bench.mjs [messages]
//
// Each message carries a 1000-byte body, which pads to the 1 KiB bucket. "encrypt+sign" is
// conversation.encrypt (HKDF, AES-256-GCM, Ed25519); "verify+decrypt" is conversation.receive.
// The reference is AES-256-GCM alone (one key, imported once) on the same 1024 bytes, in the
// same run. No timing is asserted anywhere; these are figures to read.

import {
  certify,
  ContentType,
  createConversation,
  createStaffIdentity,
  generateAdminKey,
  openConversation,
  Role,
  signDirectory,
} from "../web/static/js/protocol.js";

const count = Number(process.argv[2] ?? 2000);
const subtle = globalThis.crypto.subtle;
const random = (n) => globalThis.crypto.getRandomValues(new Uint8Array(n));
const NOW = Math.floor(Date.now() / 1000);

async function rate(n, run) {
  const start = performance.now();
  await run();
  return (n * 1000) / (performance.now() - start);
}

const centreId = random(16);
const admin = await generateAdminKey();
const staffId = random(16);
const { identity } = await createStaffIdentity({ centreId, staffId, role: Role.COUNSELLOR }); // under a fresh recovery phrase
const cert = await certify(admin, {
  centreId, staffId, role: Role.COUNSELLOR, displayName: "Bench",
  kemPublic: identity.kemPublic, sigPublic: identity.sigPublic, notBefore: NOW - 60, notAfter: NOW + 3600,
});
const directory = await signDirectory(admin, { centreId, serial: 1, issuedAt: NOW - 60, expiresAt: NOW + 3600, certificates: [cert] });
const created = await createConversation({ directory, anchors: [admin.public], now: NOW });
const sender = created.conversation;
const receiver = await openConversation(identity, created.genesis, [admin.public]);

const body = random(1000);
const messages = [];
let sealing = 0;
for (let i = 0; i < count; i++) {
  const start = performance.now();
  const data = await sender.encrypt(ContentType.TEXT, body);
  sealing += performance.now() - start;
  await sender.receive(data);
  messages.push(data);
}
const opening = await rate(count, async () => {
  for (const data of messages) await receiver.receive(data);
});

const key = await subtle.importKey("raw", random(32), "AES-GCM", false, ["encrypt", "decrypt"]);
const params = { name: "AES-GCM", iv: random(12), additionalData: random(95), tagLength: 128 };
const plain = random(1024);
const sealed = await subtle.encrypt(params, key, plain);
const bareSeal = await rate(count, async () => {
  for (let i = 0; i < count; i++) await subtle.encrypt(params, key, plain);
});
const bareOpen = await rate(count, async () => {
  for (let i = 0; i < count; i++) await subtle.decrypt(params, key, sealed);
});

const row = (name, value) => console.log(name.padEnd(40) + Math.round(value).toLocaleString("en").padStart(12));
console.log(`Node ${process.version}, WebCrypto, ${count} messages, ${messages[0].length}-byte wire messages`);
console.log("operation".padEnd(40) + "messages/s".padStart(12));
row("protocol encrypt+sign (1 KiB bucket)", (count * 1000) / sealing);
row("protocol verify+decrypt (1 KiB bucket)", opening);
row("bare AES-256-GCM seal, 1 KiB", bareSeal);
row("bare AES-256-GCM open, 1 KiB", bareOpen);
