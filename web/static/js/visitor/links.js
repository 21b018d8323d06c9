// Links marked `data-replace` replace the current history entry instead of adding one, so a
// visit leaves one entry in the browser's history at most (script cannot erase history).

document.addEventListener("click", (event) => {
  const link = event.target instanceof Element ? event.target.closest("a[data-replace]") : null;
  if (!link || event.defaultPrevented || event.button !== 0) return;
  if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  const url = new URL(link.href, window.location.href);
  if (url.origin !== window.location.origin) return;
  event.preventDefault();
  window.location.replace(url.href);
});
