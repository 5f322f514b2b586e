// Return inspection (issue #6): "Back to stock" follows the condition chosen. Only resellable conditions
// (their <option> carries data-resellable) may be ticked; the server refuses the others anyway. A separate
// file because the pages allow no inline scripts (CSP).
(function () {
  "use strict";

  function sync(select) {
    var box = document.getElementById(select.getAttribute("data-restock"));
    if (!box) { return; }
    var option = select.options[select.selectedIndex];
    var resellable = !!(option && option.hasAttribute("data-resellable"));
    box.checked = resellable;
    box.disabled = !resellable;
  }

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target && target.matches && target.matches("select[data-restock]")) { sync(target); }
  });
})();
