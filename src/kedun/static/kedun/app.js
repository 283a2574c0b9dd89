// Kedun's own small behaviours. No inline scripts: the Content-Security-Policy forbids them.
document.addEventListener("change", (event) => {
  const select = event.target.closest("select[data-autosubmit]");
  if (select) select.form.submit();
});
document.addEventListener("click", (event) => {
  const toggle = event.target.closest("[data-menu-toggle]");
  if (!toggle) return;
  const nav = document.getElementById(toggle.getAttribute("aria-controls"));
  const open = nav.classList.toggle("open");
  toggle.setAttribute("aria-expanded", open ? "true" : "false");
});
document.addEventListener("submit", (event) => {
  const message = event.target.getAttribute("data-confirm");
  if (message && !window.confirm(message)) event.preventDefault();
});
// The installable app: a service worker for the whole site (served from /sw.js for that scope).
if ("serviceWorker" in navigator && window.isSecureContext) {
  window.addEventListener("load", () => {
    navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(() => {});
  });
}
// Logging out: the pages kept for offline use go with the session, and so does the rep whose
// check-ins the worker may upload.
document.addEventListener("submit", (event) => {
  if (event.defaultPrevented || !event.target.matches("form[action='/logout/']")) return;
  if (navigator.serviceWorker && navigator.serviceWorker.controller) {
    navigator.serviceWorker.controller.postMessage({ type: "logout" });
  }
  if (window.KedunUploadQueue) window.KedunUploadQueue.setRep("").catch(() => {});
});
// On a phone a list table reads as cards (app.css): each cell carries its column's heading,
// copied here from the table's head so the templates stay plain tables. Without the script the
// table scrolls inside its box.
function labelTables(root) {
  root.querySelectorAll("table.list").forEach((table) => {
    const heads = [];
    table.querySelectorAll("thead th").forEach((th) => {
      for (let i = 0; i < th.colSpan; i += 1) heads.push(th.textContent.trim());
    });
    if (!heads.length) return;
    table.querySelectorAll("tbody tr").forEach((row) => {
      let column = 0;
      for (const cell of row.children) {
        if (cell.colSpan === 1 && heads[column] && !cell.hasAttribute("data-label")) {
          cell.setAttribute("data-label", heads[column]);
        }
        column += cell.colSpan;
      }
    });
    table.classList.add("labelled");
  });
}
document.addEventListener("DOMContentLoaded", () => labelTables(document));
document.addEventListener("htmx:afterSettle", (event) => labelTables(event.target));
