// The interpreter request helpers (web/static/js/shared/interpreter-request.js): searching the list of
// languages named in themselves, building and checking the request, describing it.

import assert from "node:assert/strict";
import { test } from "node:test";

import {
  describeRequest,
  fold,
  interpreterRequest,
  rankInterpreters,
  readDeclined,
  readInterpreterRequest,
  searchLanguages,
} from "../../web/static/js/shared/interpreter-request.js";

const LANGUAGES = [
  { code: "ar", name: "العربية" },
  { code: "so", name: "Soomaali" },
  { code: "ti", name: "ትግርኛ" },
  { code: "tr", name: "Türkçe" },
  { code: "uk", name: "Українська" },
  { code: "bs", name: "Bosanski / Hrvatski / Srpski" },
  { code: "nsl", name: "Norsk tegnspråk" },
];
const ENGLISH = { ar: "Arabic", so: "Somali", ti: "Tigrinya", tr: "Turkish", uk: "Ukrainian", bs: "Bosnian", nsl: "Norwegian Sign Language" };
const english = (code) => (ENGLISH[code] ? [ENGLISH[code]] : []);
const codes = (list) => list.map((l) => l.code);

test("fold: case, accents and spaces do not matter", () => {
  assert.equal(fold("  Türkçe "), "turkce");
  assert.equal(fold("Norsk   TEGNSPRÅK"), "norsk tegnsprak");
  assert.equal(fold(null), "");
});

test("search: by the name in itself, the code or another name; word starts first", () => {
  assert.deepEqual(codes(searchLanguages(LANGUAGES, "")), codes(LANGUAGES));
  assert.deepEqual(codes(searchLanguages(LANGUAGES, "ትግ", english)), ["ti"]);
  assert.deepEqual(codes(searchLanguages(LANGUAGES, "tigr", english)), ["ti"]);
  assert.deepEqual(codes(searchLanguages(LANGUAGES, "turkce", english)), ["tr"]);
  assert.deepEqual(codes(searchLanguages(LANGUAGES, "srpski", english)), ["bs"]);
  assert.deepEqual(codes(searchLanguages(LANGUAGES, "УКР", english)), ["uk"]);
  assert.deepEqual(codes(searchLanguages(LANGUAGES, "so", english)), ["so"]); // exact code before "Bosanski"
  assert.deepEqual(codes(searchLanguages(LANGUAGES, "sign", english)), ["nsl"]);
  assert.deepEqual(codes(searchLanguages(LANGUAGES, "klingon", english)), []);
  // without other names only the name in itself and the code count
  assert.deepEqual(codes(searchLanguages(LANGUAGES, "tigrinya")), []);
});

test("search: a tie keeps the list's order", () => {
  const found = codes(searchLanguages(LANGUAGES, "s", english));
  assert.ok(found.indexOf("so") < found.indexOf("bs"));
});

test("request: only the fields given, all checked", () => {
  assert.deepEqual(interpreterRequest({ language: "ti" }), { kind: "interpreter_request", language: "ti" });
  assert.deepEqual(
    interpreterRequest({ language: "ti", dialect: "  Eritrean   highland ", mode: "remote", gender: "female" }),
    { kind: "interpreter_request", language: "ti", dialect: "Eritrean highland", mode: "remote", gender: "female" },
  );
  assert.deepEqual(interpreterRequest({ language: "pt-BR", mode: "in_person" }), {
    kind: "interpreter_request",
    language: "pt-BR",
    mode: "in_person",
  });
  assert.equal(interpreterRequest({ language: "" }), null);
  assert.equal(interpreterRequest({ language: "Tigrinya" }), null);
  assert.equal(interpreterRequest({ language: "ti", mode: "carrier pigeon" }), null);
  assert.equal(interpreterRequest({ language: "ti", gender: "any" }), null);
  assert.equal(interpreterRequest({ language: "ti", dialect: "x".repeat(61) }), null);
  assert.ok(interpreterRequest({ language: "ti", dialect: "ä".repeat(60) }));
  assert.equal(interpreterRequest({ language: "ti", dialect: 42 }), null);
  const known = new Set(["ti", "ar"]);
  assert.ok(interpreterRequest({ language: "ar" }, known));
  assert.equal(interpreterRequest({ language: "de" }, known), null);
});

test("reading what arrived: requests and refusals; anything odd is ignored", () => {
  assert.deepEqual(readInterpreterRequest({ kind: "interpreter_request", language: "ar", extra: "ignored" }), {
    kind: "interpreter_request",
    language: "ar",
  });
  assert.deepEqual(readInterpreterRequest({ kind: "interpreter_request", language: "so", dialect: "Maay", mode: "remote" }), {
    kind: "interpreter_request",
    language: "so",
    dialect: "Maay",
    mode: "remote",
  });
  assert.equal(readInterpreterRequest({ kind: "interpreter_request", language: "<b>" }), null);
  assert.equal(readInterpreterRequest({ kind: "booking" }), null);
  assert.equal(readInterpreterRequest(null), null);
  const id = "0123456789abcdef0123456789abcdef";
  assert.equal(readDeclined({ kind: "interpreter_declined", member: id }), id);
  assert.equal(readDeclined({ kind: "interpreter_declined", member: "nope" }), null);
  assert.equal(readDeclined({ kind: "interpreter_request", member: id }), null);
});

test("describing a request in words", () => {
  const words = { dialect: "dialect: %(dialect)s", remote: "remote", in_person: "in person", female: "preferably a woman", male: "preferably a man" };
  const name = (code) => `ትግርኛ (${ENGLISH[code]})`;
  const full = { kind: "interpreter_request", language: "ti", dialect: "Eritrean", mode: "remote", gender: "female" };
  assert.equal(describeRequest(full, name, words), "ትግርኛ (Tigrinya), dialect: Eritrean, remote, preferably a woman");
  assert.equal(describeRequest({ kind: "interpreter_request", language: "ti" }, name, words), "ትግርኛ (Tigrinya)");
});

test("interpreters covering the language come first", () => {
  const people = [
    { id: "1", name: "Zara", languages: ["ti", "am"] },
    { id: "2", name: "Adam", languages: ["ar"] },
    { id: "3", name: "Bea", languages: [] },
    { id: "4", name: "Yusuf", languages: ["pt"] },
  ];
  assert.deepEqual(rankInterpreters(people, "ti").map((p) => p.name), ["Zara", "Adam", "Bea", "Yusuf"]);
  assert.deepEqual(rankInterpreters(people, "pt-BR").map((p) => p.name), ["Yusuf", "Adam", "Bea", "Zara"]);
  assert.deepEqual(rankInterpreters(people, undefined).map((p) => p.name), ["Adam", "Bea", "Yusuf", "Zara"]);
});
