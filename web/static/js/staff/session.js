// On every staff page: the unlocked key is forgotten when the person logs out, when the login
// page shows (the session ended), and when another account is logged in (identity.js checks
// the staff id on every load).

import { forget, loadIdentity } from "./identity.js";

const form = document.getElementById("logout-form");
if (form) {
  form.addEventListener("submit", async (event) => {
    if (form.dataset.forgotten === "yes") return;
    event.preventDefault();
    await forget();
    form.dataset.forgotten = "yes";
    form.submit();
  });
  loadIdentity(); // drops another account's key at once
} else {
  forget();
}
