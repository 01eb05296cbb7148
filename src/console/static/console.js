// The console's one script: live output by server-sent events, and a confirmation before the
// buttons that replace hosts or tear an environment down. Pages work without it, minus both.
"use strict";

for (const section of document.querySelectorAll("[data-stream]")) {
  const out = section.querySelector("pre");
  const state = section.querySelector(".state");
  const source = new EventSource(section.dataset.stream);
  let current = 0;
  source.addEventListener("start", (e) => {
    const d = JSON.parse(e.data);
    current = d.id;
    out.textContent = "";
    state.textContent = `${d.title} by ${d.who}: running`;
    section.dataset.state = "running";
  });
  source.addEventListener("line", (e) => {
    const d = JSON.parse(e.data);
    if (d.id !== current) return;
    const atBottom = out.scrollTop + out.clientHeight >= out.scrollHeight - 4;
    out.append(`${d.text}\n`);
    if (atBottom) out.scrollTop = out.scrollHeight;
  });
  source.addEventListener("end", (e) => {
    const d = JSON.parse(e.data);
    if (d.id !== current) return;
    state.textContent = `${state.textContent.replace(/: running$/, "")}: ${d.result}. ${d.message}`;
    section.dataset.state = d.result;
    const more = document.createElement("a");
    more.href = location.pathname;
    more.textContent = " Reload to see the pushes.";
    state.append(more);
  });
}

document.addEventListener("submit", (e) => {
  const question = e.target.dataset.confirm;
  if (question && !window.confirm(question)) e.preventDefault();
});
