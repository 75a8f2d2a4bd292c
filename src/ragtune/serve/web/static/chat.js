// The chat page's only script: it streams an answer from the API's own /v1/chat/completions (server-sent
// events read with fetch, since EventSource cannot POST), shows the citations the last event carries, and
// sends ratings to /v1/feedback. Everything it shows comes from those two endpoints; the sign-in cookie
// authenticates it, and the X-Ragtune-Web header marks it as the page's own request.
"use strict";

const HEADERS = { "Content-Type": "application/json", "X-Ragtune-Web": "1" };
let history = [];

function clone(id) {
  return document.getElementById(id).content.firstElementChild.cloneNode(true);
}

async function errorText(response) {
  try {
    return (await response.json()).error.message;
  } catch {
    return `the server answered ${response.status}`;
  }
}

// Each parsed event of an SSE body, as it arrives.
async function* events(response) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true });
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      for (const line of block.split("\n")) {
        if (line.startsWith("data: ") && line !== "data: [DONE]") yield JSON.parse(line.slice(6));
      }
    }
  }
}

function showCitations(turn, citations) {
  const list = turn.querySelector(".citations ul");
  for (const c of citations) {
    const item = clone("citation-template");
    item.querySelector(".n").textContent = `[${c.n}]`;
    item.querySelector(".title").textContent = c.title || c.doc_id;
    item.querySelector(".doc").textContent = c.doc_id;
    item.querySelector(".src").textContent = c.source;
    const details = item.querySelector("details");
    const body = item.querySelector(".passage-body");
    details.addEventListener("toggle", () => {
      if (details.open && !body.dataset.loaded) {
        body.dataset.loaded = "1";
        htmx.ajax("GET", "/ui/passage?chunk_id=" + encodeURIComponent(c.chunk_id), { target: body, swap: "innerHTML" });
      }
    });
    list.appendChild(item);
  }
  turn.querySelector(".citations").hidden = citations.length === 0;
}

function describe(info) {
  const how = info.assigned ? "assigned by the A/B weights" : "chosen";
  return `· ${info.variant} (${how})`;
}

function enableFeedback(turn, interactionId) {
  const form = turn.querySelector(".feedback");
  form.hidden = false;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const rating = event.submitter.value;
    const corrected = form.corrected.value.trim();
    const saved = form.querySelector(".saved");
    const body = { interaction_id: interactionId, rating };
    if (corrected) body.corrected_answer = corrected;
    const response = await fetch("/v1/feedback", { method: "POST", headers: HEADERS, body: JSON.stringify(body) });
    if (!response.ok) {
      saved.textContent = await errorText(response);
      return;
    }
    const thumb = rating === "up" ? "thumbs up" : "thumbs down";
    saved.textContent = `Saved: ${thumb}${corrected ? " with your corrected answer" : ""}.`;
  });
}

async function ask(form) {
  const question = form.question.value.trim();
  const error = document.getElementById("ask-error");
  if (!question) return;
  error.hidden = true;
  const turn = clone("turn-template");
  turn.querySelector(".question .text").textContent = question;
  const answer = turn.querySelector(".answer");
  answer.setAttribute("aria-busy", "true");
  document.getElementById("conversation").appendChild(turn);
  form.question.value = "";
  const messages = [...history, { role: "user", content: question }];
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  try {
    const response = await fetch("/v1/chat/completions", {
      method: "POST", headers: HEADERS, body: JSON.stringify({ model: form.model.value, messages, stream: true }),
    });
    if (!response.ok) throw new Error(await errorText(response));
    let text = "";
    let deltas = 0;
    for await (const event of events(response)) {
      if (event.error) throw new Error(event.error.message);
      for (const choice of event.choices) {
        if (choice.delta.content) {
          text += choice.delta.content;
          deltas += 1;
          answer.textContent = text;
          answer.dataset.deltas = String(deltas);
        }
      }
      if (event.ragtune) {
        const info = event.ragtune;
        turn.querySelector(".meta").textContent = describe(info);
        const note = turn.querySelector(".note");
        if (info.refused || info.check === "replaced") {
          note.textContent = info.refused ? `Refused: ${info.reason}`
            : `The passage's answer (its sentence, or the yes or no it gives), shown instead of the model's: ${info.reason}`;
          note.hidden = false;
        }
        if (info.query && info.query.trim() !== question) {  // a follow-up, asked with its topic question
          const asked = turn.querySelector(".asked");
          asked.textContent = `Searched for: ${info.query}`;
          asked.hidden = false;
        }
        showCitations(turn, info.citations);
        enableFeedback(turn, info.interaction_id);
      }
    }
    history = [...messages, { role: "assistant", content: text }];
  } catch (e) {
    turn.remove();
    form.question.value = question;
    error.textContent = e.message;
    error.hidden = false;
  } finally {
    answer.removeAttribute("aria-busy");
    button.disabled = false;
  }
}

document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("ask");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    ask(form);
  });
  form.question.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  document.getElementById("new-conversation").addEventListener("click", () => {
    history = [];
    document.getElementById("conversation").replaceChildren();
    form.question.focus();
  });
});
