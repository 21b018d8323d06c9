// The date helpers of the visitor booking pages (web/static/js/visitor/booking-api.js): local
// dates in the centre's zone, across midnight and the daylight-saving changes.

import assert from "node:assert/strict";
import { test } from "node:test";

import { dateHeading, localDate, nextDate, whenText } from "../../web/static/js/visitor/booking-api.js";

test("nextDate steps one calendar day, also over the DST changes and month ends", () => {
  assert.equal(nextDate("2026-03-28"), "2026-03-29");
  assert.equal(nextDate("2026-03-29"), "2026-03-30");
  assert.equal(nextDate("2026-10-25"), "2026-10-26");
  assert.equal(nextDate("2026-12-31"), "2027-01-01");
  assert.equal(nextDate("2028-02-28"), "2028-02-29");
});

test("localDate is the date in the centre's zone, not the browser's", () => {
  assert.equal(localDate(new Date("2026-11-23T23:30:00Z"), "Europe/Oslo"), "2026-11-24");
  assert.equal(localDate(new Date("2026-11-23T22:59:00Z"), "Europe/Oslo"), "2026-11-23");
  assert.equal(localDate(new Date("2026-06-30T22:30:00Z"), "Europe/Stockholm"), "2026-07-01");
  assert.equal(localDate(new Date("2026-06-30T22:30:00Z"), "America/New_York"), "2026-06-30");
});

test("headings name the local day in the page's language", () => {
  const nb = dateHeading("2026-03-29", "nb", "Europe/Oslo");
  const sv = dateHeading("2026-03-29", "sv", "Europe/Stockholm");
  const en = dateHeading("2026-03-29", "en", "Europe/Oslo");
  assert.match(nb, /søndag/i);
  assert.match(nb, /29/);
  assert.match(sv, /söndag/i);
  assert.match(en, /Sunday/);
  assert.match(en, /March/);
  assert.equal(dateHeading("not-a-date", "en", "Europe/Oslo"), "not-a-date");
  assert.match(whenText({ date: "2026-10-25", time: "02:30" }, "en", "Europe/Oslo"), /Sunday.*2026, 02:30$/);
});
