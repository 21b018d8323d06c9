// Quick exit: the button, the Esc key, or Shift pressed three times leave at once.
//
// The page is hidden first (so nothing stays on screen while the next site
// loads), this tab's session storage and this site's local storage (a chat kept
// with "keep me signed in") are wiped, and the browser goes to /exit with
// location.replace, so the back button cannot return here.  /exit sends
// Clear-Site-Data and redirects to a neutral site; the storage is wiped here as
// well because /exit may never answer (no network, the server down), and a kept
// chat must not outlive quick exit then either.  Pattern after GOV.UK's "Exit
// this page" component.

const SHIFT_PRESSES = 3;
const SHIFT_WINDOW_MS = 5000;

export function quickExit(exitUrl = "/exit") {
  document.documentElement.classList.add("exiting");
  for (const storage of ["sessionStorage", "localStorage"]) {
    try {
      window[storage].clear();
    } catch {
      // storage may be unavailable (private mode); leaving matters more
    }
  }
  window.location.replace(exitUrl);
}

export function installQuickExit(doc = document) {
  const button = doc.getElementById("quick-exit");
  const exitUrl = button?.dataset.exitUrl || "/exit";
  button?.addEventListener("click", (event) => {
    event.preventDefault();
    quickExit(exitUrl);
  });

  let shiftTimes = [];
  doc.addEventListener("keydown", (event) => {
    if (event.isComposing) return;
    if (event.key === "Escape") {
      quickExit(exitUrl);
      return;
    }
    if (event.key === "Shift" && !event.repeat) {
      const now = Date.now();
      shiftTimes = shiftTimes.filter((t) => now - t < SHIFT_WINDOW_MS);
      shiftTimes.push(now);
      if (shiftTimes.length >= SHIFT_PRESSES) quickExit(exitUrl);
    } else {
      shiftTimes = [];
    }
  });

  // Coming back through the back/forward cache: show the page again (GOV.UK does the same).
  window.addEventListener("pageshow", (event) => {
    if (event.persisted) doc.documentElement.classList.remove("exiting");
  });
}

installQuickExit();
