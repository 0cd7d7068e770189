// The grading page: one question for the whole class, from the keyboard. No framework, no build step.
"use strict";
const api = location.pathname.replace(/\/(index\.html)?$/, "") + "/api";
const $ = (id) => document.getElementById(id);
const state = { question: null, index: 0, names: false, dirty: false, queue: Promise.resolve() };

function xsrf() {
  const match = document.cookie.match(/(?:^|; )_xsrf=([^;]*)/);
  return match ? decodeURIComponent(match[1]) : "";
}

async function call(method, path, body) {
  const response = await fetch(api + path, {
    method, headers: { "Content-Type": "application/json", "X-XSRFToken": xsrf() },
    body: body === undefined ? undefined : JSON.stringify(body), credentials: "same-origin" });
  const data = await response.json().catch(() => ({}));
  if (!response.ok && response.status !== 409) throw new Error(`${response.status} ${data.message || response.statusText}`);
  return { status: response.status, data };
}

function say(text, error = false) {
  $("status").textContent = text;
  $("status").className = error ? "error" : "";
}

async function showQuestions() {
  state.question = null;
  $("grading").hidden = true;
  $("questions").hidden = false;
  $("progress").textContent = "";
  const { data } = await call("GET", "/questions");
  const rows = data.map((q) => {
    const row = document.createElement("tr");
    row.className = "row";
    row.dataset.key = `${q.notebook}/${q.grade_id}`;
    for (const text of [q.notebook, q.title, q.points, `${q.graded} of ${q.answers}`]) {
      const cell = document.createElement("td");
      cell.textContent = text;
      row.appendChild(cell);
    }
    row.addEventListener("click", () => { location.hash = row.dataset.key; });
    return row;
  });
  $("question-list").replaceChildren(...rows);
}

function storageKey() { return `grade-by-question:${state.question.notebook}/${state.question.grade_id}`; }

async function openQuestion(key) {
  const { data } = await call("GET", `/questions/${key}` + (state.names ? "?names=1" : ""));
  state.question = data;
  $("questions").hidden = true;
  $("grading").hidden = false;
  $("prompt").innerHTML = data.prompt;          // rendered and sanitised by the server (answers.py)
  $("model").innerHTML = data.model_answer;
  $("notes").innerHTML = data.notes;
  const stale = data.answers.filter((a) => a.stale).length;
  $("stale").hidden = !stale;
  $("stale").textContent = `${stale} answers were graded with rubric items whose points or comments changed since: press r to rescore them.`;
  // come back to where you stopped: the first answer not graded yet, else where you were
  const first = data.answers.findIndex((a) => a.score === null);
  const saved = Number(localStorage.getItem(storageKey()) || 0);
  state.index = first >= 0 ? first : Math.min(saved, data.answers.length - 1);
  show();
}

function current() { return state.question.answers[state.index]; }

function scoreOf(answer) {
  const q = state.question;
  const sum = q.rubric.filter((i) => answer.items.includes(i.title)).reduce((s, i) => s + i.points, 0) + answer.adjustment;
  return Math.min(Math.max(sum, 0), q.points);
}

function show() {
  const q = state.question, answer = current();
  if (!answer) { $("answer").textContent = "No answers to this question yet."; return; }
  localStorage.setItem(storageKey(), String(state.index));
  const graded = q.answers.filter((a) => a.score !== null).length;
  $("progress").textContent = `${graded} of ${q.answers.length} graded`;
  $("answer-title").textContent = `Answer ${answer.number} of ${q.answers.length}` + (state.names ? ` · ${answer.name === answer.student ? answer.student : `${answer.name} (${answer.student})`}` : "");
  $("answer").innerHTML = answer.html || "<p><em>(empty)</em></p>";
  $("rubric").replaceChildren(...q.rubric.map((item) => {
    const li = document.createElement("li");
    li.className = (answer.items.includes(item.title) ? "applied " : "") + (item.points < 0 ? "deduction" : "");
    li.innerHTML = `<span class="key"></span><span class="points"></span><span class="title"></span><span class="comment">${item.comment}</span>`;
    li.querySelector(".key").textContent = item.key;
    li.querySelector(".points").textContent = (item.points > 0 ? "+" : "") + item.points;
    li.querySelector(".title").textContent = item.title;
    li.addEventListener("click", () => toggle(item.key));
    return li;
  }));
  $("adjustment").value = answer.adjustment;
  $("comment").value = answer.comment;
  const pending = answer.score === null || state.dirty;
  $("score").textContent = `${scoreOf(answer)} / ${q.points}` + (pending ? (answer.score === null && !state.dirty ? " · not graded" : " · not saved") : " · saved");
}

function toggle(key) {
  const item = state.question.rubric.find((i) => i.key === key);
  if (!item) return;
  const answer = current();
  answer.items = answer.items.includes(item.title) ? answer.items.filter((t) => t !== item.title) : [...answer.items, item.title];
  state.dirty = true;
  show();
}

async function save() {
  const q = state.question, answer = current();
  answer.adjustment = Number($("adjustment").value) || 0;
  answer.comment = $("comment").value;
  const { status, data } = await call("PUT", `/questions/${q.notebook}/${q.grade_id}/answers/${answer.grade_id}`,
    { items: answer.items, adjustment: answer.adjustment, comment: answer.comment, version: answer.version });
  if (status === 409) {  // another grader saved it first: show theirs, keep nothing of ours silently
    Object.assign(answer, { items: data.current.items, adjustment: data.current.adjustment, comment: data.current.comment,
                            version: data.current.version });
    answer.score = scoreOf(answer);
    state.dirty = false;
    show();
    say(`Answer ${answer.number} was saved by another grader meanwhile: theirs is shown. Grade it again to change it.`, true);
    return false;
  }
  Object.assign(answer, { version: data.version, score: data.score });
  state.dirty = false;
  say(`Saved answer ${answer.number}: ${data.score}`);
  return true;
}

async function move(step) {
  // what was changed here is saved first, whichever way the grader goes
  if (state.dirty && !(await save())) return;
  const index = state.index + step;
  if (index >= 0 && index < state.question.answers.length) state.index = index;
  else if (step > 0) say("That was the last answer.");
  state.dirty = false;
  show();
}

async function apply(items) {
  current().items = items;
  current().adjustment = 0;
  $("adjustment").value = 0;
  state.dirty = true;
  await move(1);
}

async function toggleNames() {
  // the server sends who wrote each answer only when asked
  state.names = !state.names;
  if (state.names && current() && current().student === undefined) {
    const { data } = await call("GET", `/questions/${state.question.notebook}/${state.question.grade_id}?names=1`);
    const byId = new Map(data.answers.map((a) => [a.grade_id, a]));
    for (const answer of state.question.answers) Object.assign(answer, { student: byId.get(answer.grade_id).student, name: byId.get(answer.grade_id).name });
  }
  show();
}

async function rescore() {
  const q = state.question, stale = q.answers.filter((a) => a.stale).length;
  if (!stale) { say("Every answer's score follows the rubric as it is."); return; }
  if (!confirm(`Rescore ${stale} answers with the rubric as it is now?`)) return;
  const { data } = await call("POST", `/questions/${q.notebook}/${q.grade_id}/rescore`);
  say(`Rescored ${data.rescored} answers.`);
  await openQuestion(`${q.notebook}/${q.grade_id}`);
}

document.addEventListener("keydown", async (event) => {
  const typing = ["TEXTAREA", "INPUT"].includes(document.activeElement.tagName);
  if (typing) {
    if (event.key === "Escape") { document.activeElement.blur(); state.dirty = true; }
    else if (event.key === "Enter" && !event.shiftKey && document.activeElement.id === "comment") {
      event.preventDefault(); document.activeElement.blur(); await guarded(() => move(1));
    }
    return;
  }
  if (!state.question || event.ctrlKey || event.metaKey || event.altKey) return;
  const q = state.question;
  const actions = {
    f: () => apply(q.rubric.filter((i) => i.points >= 1).map((i) => i.title)),
    0: () => apply([]),
    Enter: () => move(1), ArrowRight: () => move(1), j: () => move(1),
    ArrowLeft: () => move(-1), k: () => move(-1),
    c: () => $("comment").focus(),
    "+": () => { current().adjustment += 0.5; state.dirty = true; show(); },
    "-": () => { current().adjustment -= 0.5; state.dirty = true; show(); },
    n: () => toggleNames(),
    r: () => rescore(),
    q: () => { location.hash = ""; },
    "?": () => $("help").showModal(),
  };
  const action = /^[1-9]$/.test(event.key) ? () => toggle(Number(event.key)) : actions[event.key];
  if (!action) return;
  event.preventDefault();
  await guarded(action);
});

function guarded(action) {
  // one action at a time, in the order of the keys: a key pressed while an answer is saved waits its turn
  state.queue = state.queue.then(action).catch((error) => say(String(error.message || error), true));
  return state.queue;
}

$("adjustment").addEventListener("change", () => { current().adjustment = Number($("adjustment").value) || 0; state.dirty = true; show(); });
$("comment").addEventListener("input", () => { state.dirty = true; });

async function route() {
  try {
    if (location.hash.length > 1) await openQuestion(location.hash.slice(1));
    else await showQuestions();
  } catch (error) { say(String(error.message || error), true); }
}
window.addEventListener("hashchange", route);
route();
