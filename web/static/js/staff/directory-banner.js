// Admin pages: a banner when the published staff directory needs a new version (nothing
// published, expired or expiring, lists a deactivated account, misses someone, keys waiting).

import { el } from "../shared/dom.js";
import { staffApi } from "../shared/http.js";
import { format } from "../shared/strings.js";

const banner = document.getElementById("directory-banner");
const DATA_KEY = {
  missing: "missing",
  expired: "expired",
  expiring: "expiring",
  lists_deactivated: "listsDeactivated",
  not_listed: "notListed",
  waiting: "waiting",
};

/** Mark the banner out of date (tests and people wait for `data-checked`). */
export function bannerStale() {
  if (banner) delete banner.dataset.checked;
}

export async function refreshBanner() {
  if (!banner) return;
  bannerStale();
  let state;
  try {
    state = await staffApi("GET", "/api/admin/directory-status");
  } catch {
    return;
  }
  const list = document.getElementById("directory-problems");
  list.replaceChildren(
    ...state.problems.map((code) =>
      el("li", {
        "data-problem": code,
        text: format(banner.dataset[DATA_KEY[code]] || code, { names: state.deactivated_listed.join(", ") }),
      }),
    ),
  );
  banner.hidden = state.problems.length === 0;
  banner.dataset.checked = "yes";
}

refreshBanner();
