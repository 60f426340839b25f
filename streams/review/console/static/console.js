// txscreen review console: the only script the pages load (CSP: script-src 'self', no inline script).
// It adds keyboard shortcuts to the queue and refreshes the live view; every page works without it.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const typing = () => {
    const el = document.activeElement;
    return el && (el.tagName === "INPUT" || el.tagName === "TEXTAREA" || el.tagName === "SELECT");
  };

  // Queue: "/" focuses the search, j/k move between cases, Enter opens the focused one.
  const links = Array.from(document.querySelectorAll("[data-keyboard-rows] a.case-link"));
  const search = document.querySelector("[data-shortcut='/']");
  let current = -1;
  const move = (step) => {
    if (!links.length) return;
    current = Math.max(0, Math.min(links.length - 1, current + step));
    links.forEach((link, i) => link.closest("tr").classList.toggle("current", i === current));
    links[current].focus();
  };
  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || typing()) return;
    if (event.key === "/" && search) { event.preventDefault(); search.focus(); }
    else if (event.key === "j") { move(1); }
    else if (event.key === "k") { move(-1); }
  });

  // Live view: reload every data-refresh seconds, unless the user is typing.
  const every = Number(document.body.dataset.refresh || 0);
  if (every > 0) {
    setInterval(() => { if (!typing() && document.visibilityState === "visible") window.location.reload(); }, every * 1000);
  }
});
