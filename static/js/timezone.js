// Tell the server the browser's time zone (a cookie), so pages show times in it.
(function () {
  var zone;
  try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (e) { return; }
  if (!zone) return;
  var current = document.cookie.match(/(?:^|; )baton_tz=([^;]*)/);
  if (current && decodeURIComponent(current[1]) === zone) return;
  document.cookie = "baton_tz=" + encodeURIComponent(zone) + "; path=/; max-age=31536000; SameSite=Lax";
})();
