// The copy button of the personal-link page. Without JavaScript the button stays hidden
// and the link is plain, selectable text. With it, the Clipboard API copies where the
// browser allows it (https or localhost); elsewhere (an intranet over plain http) the
// link's text is selected and the older copy command tried, and the page says which.
(function () {
  "use strict";
  function select(node) {
    var range = document.createRange();
    range.selectNodeContents(node);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }
  function legacyCopy(node) {
    select(node);
    try { return document.execCommand("copy"); } catch (e) { return false; }
  }
  document.querySelectorAll("[data-copy]").forEach(function (button) {
    var source = document.getElementById(button.dataset.copy);
    var result = button.parentNode.querySelector(".copy-result");
    if (!source || !result) { return; }
    function say(ok) {
      result.textContent = ok ? result.dataset.copied : result.dataset.byHand;
      if (!ok) { select(source); }
    }
    button.hidden = false;
    button.addEventListener("click", function () {
      var text = source.href || source.textContent;
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(function () { say(true); },
          function () { say(legacyCopy(source)); });
      } else {
        say(legacyCopy(source));
      }
    });
  });
})();
