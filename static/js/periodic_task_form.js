/* Baton: django-celery-beat's periodic task form (admin), without its inline script.
 *
 * Under the crontab field, says the chosen crontab in words, as the package's
 * own inline script did (templates/admin/djcelery/change_periodictask_form.html).
 */
(function () {
  "use strict";
  var $ = django.jQuery;
  var script = document.getElementById("periodic-task-overrides");
  var readable = JSON.parse(document.getElementById("readable-crontabs").textContent);
  var originalHelp = script.getAttribute("data-crontab-help");

  function updateHelp() {
    var help = $(".field-crontab .help");
    help.text(originalHelp);
    help.append(document.createElement("br"));
    help.append(document.createTextNode("Translation: " + (readable[$("#id_crontab").val()] || "")));
  }

  $(".field-crontab_translation").hide();
  $(".field-crontab").change(updateHelp);
})();
