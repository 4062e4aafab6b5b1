/* Baton: the log page. Opens at the end of the log, follows new lines while the
 * reader stays at the bottom, and keeps the reader's place when earlier lines
 * are loaded above. The fetching itself is htmx's (hx-get on the elements). */
(function () {
  "use strict";

  function start() {
    var box = document.getElementById("log-box");
    if (!box) return;
    var following = true;
    var fromBottom = null;

    function atBottom() { return box.scrollHeight - box.scrollTop - box.clientHeight < 40; }
    function toEnd() { box.scrollTop = box.scrollHeight; }

    box.addEventListener("scroll", function () { following = atBottom(); });
    if (!location.hash && !/[?&]before=/.test(location.search)) toEnd();

    document.body.addEventListener("htmx:beforeSwap", function (event) {
      if (event.detail.target && event.detail.target.id === "log-earlier") {
        fromBottom = box.scrollHeight - box.scrollTop;
      }
    });
    document.body.addEventListener("htmx:afterSettle", function () {
      if (fromBottom !== null) {
        box.scrollTop = box.scrollHeight - fromBottom;
        fromBottom = null;
      } else if (following) {
        toEnd();
      }
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
