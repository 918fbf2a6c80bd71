// Buttons that only act in the browser (print the poster, go back), bound here rather
// than in inline onclick handlers or javascript: links, which the Content-Security-Policy
// forbids.
(function () {
  "use strict";
  var actions = {
    print: function () { window.print(); },
    back: function () { history.back(); }
  };
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-action]");
    var action = button && actions[button.dataset.action];
    if (action) { event.preventDefault(); action(); }
  });
})();
