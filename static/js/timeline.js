/* Baton: places the bars of a run's timeline.
 *
 * <span class="gantt-bar" data-left="12.5" data-width="30"></span>
 *
 * The Content-Security-Policy refuses style attributes in the page, so the
 * server writes each bar's position (percent of the track) as data, and this
 * sets it through the style object, which the policy allows. It runs again
 * after each htmx swap (the live run page refreshes its timeline out of band).
 */
(function () {
  "use strict";

  function place(root) {
    root.querySelectorAll(".gantt-bar[data-left]").forEach(function (bar) {
      bar.style.left = bar.getAttribute("data-left") + "%";
      bar.style.width = bar.getAttribute("data-width") + "%";
    });
  }

  document.addEventListener("htmx:afterSettle", function () { place(document); });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { place(document); });
  } else {
    place(document);
  }
})();
