// Recobra manager pages: small progressive enhancements (the pages work without JavaScript).
(function () {
  "use strict";
  // Changing the time zone submits its form at once.
  document.querySelectorAll("select[data-autosubmit]").forEach(function (el) {
    el.addEventListener("change", function () { el.form.submit(); });
  });
  // Filter selects on the list apply at once; date and text fields wait for "Aplicar".
  var filters = document.getElementById("filters");
  if (filters) {
    filters.querySelectorAll("select").forEach(function (el) {
      el.addEventListener("change", function () { filters.submit(); });
    });
  }
})();
