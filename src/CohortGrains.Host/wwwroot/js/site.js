// The only script of the UI, loaded as a file (the CSP allows no inline script). Everything works without it:
// it only adds a "Copy" button behaviour for the portal link.
"use strict";
document.addEventListener("click", function (event) {
  var button = event.target.closest("[data-copy]");
  if (!button) return;
  var field = document.getElementById(button.getAttribute("data-copy"));
  if (!field) return;
  field.select();
  var done = function () { button.textContent = "Copied"; };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(field.value).then(done, function () { /* selection stays for a manual copy */ });
  } else {
    button.textContent = "Selected: copy it";
  }
});
