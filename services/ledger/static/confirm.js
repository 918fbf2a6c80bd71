// A form marked data-confirm="ID" asks in the <dialog id="ID"> before it is sent: the
// dialog's yes marks the form's `confirmed` field and sends it; no (or Escape) closes
// the dialog and nothing is sent. Without this script the server asks on a page of its
// own (pages/confirm.py), so an action that cannot be undone always takes two steps.
(function () {
  "use strict";
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    var dialog = document.getElementById(form.dataset.confirm);
    var confirmed = form.elements.namedItem("confirmed");
    if (!dialog || !dialog.showModal || !confirmed) { return; }
    form.addEventListener("submit", function (event) {
      if (confirmed.value === "yes") { return; }
      event.preventDefault();
      dialog.showModal();
    });
    dialog.querySelector("[data-confirm-yes]").addEventListener("click", function () {
      confirmed.value = "yes";
      dialog.close();
      if (form.requestSubmit) { form.requestSubmit(); } else { form.submit(); }
    });
    dialog.querySelector("[data-confirm-no]").addEventListener("click", function () {
      dialog.close();
    });
  });
})();
