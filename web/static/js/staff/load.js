// /staff/admin/load: counts and waiting times, refreshed every 15 seconds; never content.

import { el } from "../shared/dom.js";
import { staffApi } from "../shared/http.js";
import { format, pageStrings } from "../shared/strings.js";

const t = pageStrings();
const $ = (id) => document.getElementById(id);
const EVERY_MS = 15000;

async function refresh() {
  try {
    const figures = await staffApi("GET", "/api/admin/load");
    $("load-queued").textContent = String(figures.queued);
    $("load-longest").textContent = figures.longest_wait_minutes === null ? "–" : String(figures.longest_wait_minutes);
    $("load-active").textContent = String(figures.active);
    $("load-on-duty").textContent = String(figures.on_duty);
    $("load-closed").textContent = String(figures.closed_today);
    const rows = figures.waits_minutes.map((minutes, index) =>
      el("tr", {}, el("td", { text: String(index + 1) }), el("td", { text: String(minutes) })),
    );
    $("load-waits").replaceChildren(...(rows.length ? rows : [el("tr", {}, el("td", { colspan: "2", text: t.nobody }))]));
    const time = new Date().toLocaleTimeString(document.documentElement.lang || undefined);
    $("load-updated").textContent = format(t.updated, { time });
    document.body.dataset.refreshed = String(Number(document.body.dataset.refreshed || 0) + 1);
  } catch {
    $("load-updated").textContent = t.failed;
  }
}

refresh();
setInterval(refresh, EVERY_MS);
