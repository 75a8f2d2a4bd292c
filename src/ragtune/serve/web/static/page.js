// Every page: an API error (JSON, e.g. the body limit's 413) reaching an htmx swap is shown as its message.
"use strict";

document.addEventListener("htmx:beforeSwap", (event) => {
  const xhr = event.detail.xhr;
  if (!(xhr.getResponseHeader("Content-Type") || "").startsWith("application/json")) return;
  let message;
  try {
    message = JSON.parse(xhr.responseText).error.message;
  } catch {
    message = `the server answered ${xhr.status}`;
  }
  const p = document.createElement("p");
  p.className = "error";
  p.setAttribute("role", "alert");
  p.textContent = message;
  event.detail.serverResponse = p.outerHTML;
  event.detail.shouldSwap = true;
});
