// Packing station (issue #4): after every scan, a short sound and a colour flash, and the scan field is
// ready for the next code at once. A separate file because the pages allow no inline scripts (CSP).
(function () {
  "use strict";

  var audio = null;

  function context() {
    var Ctor = window.AudioContext || window.webkitAudioContext;
    if (!Ctor) { return null; }
    if (!audio) { audio = new Ctor(); }
    if (audio.state === "suspended") { audio.resume(); }
    return audio;
  }

  function tone(freq, start, length, type) {
    var ctx = context();
    if (!ctx) { return; }
    var at = ctx.currentTime + start;
    var osc = ctx.createOscillator();
    var gain = ctx.createGain();
    osc.type = type;
    osc.frequency.value = freq;
    gain.gain.setValueAtTime(0.0001, at);
    gain.gain.exponentialRampToValueAtTime(0.25, at + 0.01);
    gain.gain.exponentialRampToValueAtTime(0.0001, at + length);
    osc.connect(gain);
    gain.connect(ctx.destination);
    osc.start(at);
    osc.stop(at + length + 0.02);
  }

  // Refused: two low buzzes. Accepted: one short high beep. Shipment complete: two rising beeps.
  function beep(kind) {
    try {
      if (kind === "error") {
        tone(220, 0, 0.18, "square");
        tone(165, 0.24, 0.3, "square");
      } else if (kind === "done") {
        tone(880, 0, 0.1, "sine");
        tone(1320, 0.13, 0.16, "sine");
      } else {
        tone(1175, 0, 0.08, "sine");
      }
    } catch (err) { /* no sound device: the colour cue still shows */ }
    document.body.setAttribute("data-last-cue", kind);
  }

  function cue(root) {
    var found = root && root.querySelector ? root.querySelector("[data-scan-result]") : null;
    if (!found) { return; }
    var kind = found.getAttribute("data-scan-result");
    beep(kind);
    var station = document.querySelector("[data-packing-station]");
    if (station) {
      station.classList.remove("cue-ok", "cue-error", "cue-done");
      void station.offsetWidth; // restart the animation
      station.classList.add("cue-" + kind);
    }
    focusScan();
  }

  function focusScan() {
    var input = document.querySelector("[data-scan-input]");
    if (input && document.activeElement !== input) { input.focus(); }
  }

  // The scanned code is already in the request: empty the field so the next scan starts clean.
  document.addEventListener("htmx:beforeRequest", function (event) {
    var form = event.detail.elt;
    if (form && form.matches && form.matches("[data-scan-form]")) {
      var input = form.querySelector("[data-scan-input]");
      if (input) { input.value = ""; }
    }
  });
  document.addEventListener("htmx:afterSwap", function (event) { cue(event.detail.target); });
  document.addEventListener("DOMContentLoaded", function () { cue(document); });
})();
