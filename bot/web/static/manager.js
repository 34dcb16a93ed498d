// Recobra manager pages: small progressive enhancements (the pages work without JavaScript).
(function () {
  "use strict";
  // Changing the time zone submits its form at once.
  document.querySelectorAll("select[data-autosubmit]").forEach(function (el) {
    el.addEventListener("change", function () { el.form.submit(); });
  });
  // The dashboard's A/B results load after the page is shown (their own link stays if this fails).
  var ab = document.querySelector("#ab[data-fragment]");
  if (ab && window.fetch) {
    var abBody = ab.querySelector(".ab-body");
    abBody.setAttribute("aria-busy", "true");
    fetch(ab.getAttribute("data-fragment"), { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (r) {
        if (!r.ok || r.redirected) { throw new Error("A/B: " + r.status); }
        return r.text();
      })
      .then(function (html) { abBody.innerHTML = html; ab.setAttribute("data-loaded", "true"); })
      .catch(function () { /* the link to /manager/ab stays */ })
      .then(function () { abBody.removeAttribute("aria-busy"); });
  }
  var filters = document.getElementById("filters");
  if (!filters) { return; }
  // Empty filters stay out of the URL, so links and bookmarks read like the filters chosen.
  filters.addEventListener("submit", function () {
    filters.querySelectorAll("input, select").forEach(function (el) {
      if (el.name && !el.value) { el.disabled = true; }
    });
  });
  window.addEventListener("pageshow", function () {
    filters.querySelectorAll("[disabled]").forEach(function (el) { el.disabled = false; });
  });
  // Filter selects apply at once; date and text fields wait for "Aplicar".
  filters.querySelectorAll("select").forEach(function (el) {
    el.addEventListener("change", function () { filters.requestSubmit(); });
  });
})();
