// Zakaz back office: small progressive enhancements. Every page works without this file.
(function () {
  "use strict";

  // HTMX requests carry this browser's CSRF token in a header (forms carry it in a hidden field).
  document.addEventListener("htmx:configRequest", function (event) {
    var meta = document.querySelector('meta[name="csrf-token"]');
    if (meta) {
      event.detail.headers["X-CSRF-Token"] = meta.getAttribute("content");
    }
  });

  function updateSelection() {
    var boxes = document.querySelectorAll('input[name="ids"]');
    var ticked = 0;
    boxes.forEach(function (box) { if (box.checked) { ticked += 1; } });
    var all = document.querySelector("[data-select-all]");
    if (all) {
      all.checked = boxes.length > 0 && ticked === boxes.length;
      all.indeterminate = ticked > 0 && ticked < boxes.length;
    }
    var counter = document.querySelector("[data-selected-count]");
    if (counter) {
      if (!counter.dataset.hint) { counter.dataset.hint = counter.textContent; }
      counter.textContent = ticked ? "✓ " + ticked : counter.dataset.hint;
    }
  }

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target.matches && target.matches("[data-select-all]")) {
      document.querySelectorAll('input[name="ids"]').forEach(function (box) { box.checked = target.checked; });
    }
    if (target.matches && (target.matches("[data-select-all]") || target.matches('input[name="ids"]'))) {
      updateSelection();
    }
  });

  // After HTMX swaps the results, move focus for screen-reader and keyboard users only when asked.
  document.addEventListener("htmx:afterSwap", updateSelection);
})();
