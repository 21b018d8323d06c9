// Every navigation from a visitor page replaces the current history entry instead of adding
// one, so a visit leaves one entry in the browser's history at most, and quick exit (which
// replaces that one too) leaves none: Back after leaving never shows this site. Script cannot
// erase history, so this has to hold for every link and form, here in one place rather than
// as an attribute on each link that someone could forget (docs/THREAT-MODEL.md, quick exit).

/** Where following `link` would take this tab, or null when it is not a plain navigation here. */
export function replaceableTarget(link, location = window.location) {
  if (link.hasAttribute("download")) return null; // a file, not a page
  const target = (link.getAttribute("target") || "_self").toLowerCase();
  if (target !== "_self" && target !== "_top" && target !== "_parent") return null; // another tab
  const url = new URL(link.getAttribute("href") ?? "", location.href);
  if (url.protocol !== "http:" && url.protocol !== "https:") return null; // tel:, mailto:: no page
  return url;
}

/** The URL a GET form would navigate to, or null for any other form (visitor pages have none). */
export function formTarget(form, submitter, location = window.location) {
  const method = (submitter?.getAttribute("formmethod") || form.getAttribute("method") || "get").toLowerCase();
  if (method !== "get") return null;
  const url = new URL(submitter?.getAttribute("formaction") || form.getAttribute("action") || location.href, location.href);
  if (url.protocol !== "http:" && url.protocol !== "https:") return null;
  url.search = new URLSearchParams(new FormData(form, submitter ?? undefined)).toString();
  return url;
}

export function installReplacingNavigation(doc = document, win = window) {
  // Bubbling to the document: the page's own handlers (quick exit, a script's button) ran first.
  doc.addEventListener("click", (event) => {
    if (event.defaultPrevented || event.button !== 0) return;
    if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return; // a new tab or window
    const link = event.target instanceof Element ? event.target.closest("a[href], area[href]") : null;
    const url = link ? replaceableTarget(link, win.location) : null;
    if (!url) return;
    event.preventDefault();
    win.location.replace(url.href);
  });

  doc.addEventListener("submit", (event) => {
    if (event.defaultPrevented) return; // a script handles this form
    const form = event.target;
    const url = form instanceof HTMLFormElement ? formTarget(form, event.submitter, win.location) : null;
    // A form that would post and add an entry is stopped: a page must handle it in script.
    event.preventDefault();
    if (url) win.location.replace(url.href);
  });
}

installReplacingNavigation();
