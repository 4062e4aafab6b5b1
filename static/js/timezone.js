// Tell the server the browser's time zone (a cookie), so pages show times in it.
// The first signed-in page seen without it (or after a move) was drawn in the server's
// zone: it is drawn again once, in the right one.
(function () {
  var zone;
  try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (e) { return; }
  if (!zone) return;
  var current = document.cookie.match(/(?:^|; )baton_tz=([^;]*)/);
  if (current && decodeURIComponent(current[1]) === zone) return;
  // Zone names hold only letters, digits, "/", "_", "+" and "-": no escaping needed.
  document.cookie = "baton_tz=" + zone + "; path=/; max-age=31536000; SameSite=Lax";
  document.addEventListener("DOMContentLoaded", function () {
    var shown = document.querySelector("[data-testid=time-zone]");
    if (shown && shown.getAttribute("data-chosen") !== "true" && shown.textContent.trim() !== zone) {
      window.location.reload();
    }
  });
})();
