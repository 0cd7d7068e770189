// The grading page: one question for the whole class, from the keyboard. No framework, no build step.
"use strict";
const api = location.pathname.replace(/\/(index\.html)?$/, "") + "/api";
const $ = (id) => document.getElementById(id);
// entries: what the grader decides on, in turn: groups of alike answers first, then the answers on their own
// (or, with `g`, every answer; with `o`, one group's members; with `/`, the answers that hold some words)
const state = { question: null, entries: [], index: 0, mode: "grouped", only: null, filter: "", names: false,
                dirty: false, draft: null, suggesting: false, suggestedFor: null, undo: [], queue: Promise.resolve() };

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

async function openQuestion(key, keep = false) {
  const { data } = await call("GET", `/questions/${key}` + (state.names ? "?names=1" : ""));
  const at = keep && state.entries[state.index] ? entryKey(state.entries[state.index]) : null;
  if (!keep) { Object.assign(state, { mode: "grouped", only: null, filter: "", undo: [] }); $("search").value = ""; }
  state.question = data;
  state.byId = new Map(data.answers.map((a) => [a.grade_id, a]));
  Object.assign(state, { draft: null, suggesting: false, suggestedFor: null });  // (new answers: suggested afresh)
  $("questions").hidden = true;
  $("grading").hidden = false;
  $("prompt").innerHTML = data.prompt;          // rendered and sanitised by the server (answers.py)
  $("model").innerHTML = data.model_answer;
  $("notes").innerHTML = data.notes;
  const stale = data.answers.filter((a) => a.stale).length;
  $("stale").hidden = !stale;
  $("stale").textContent = `${stale} answers were graded with rubric items whose points or comments changed since: press r to rescore them.`;
  buildEntries();
  if (at !== null) {  // (the same entry if it is still there, else the first)
    state.index = Math.max(0, state.entries.findIndex((e) => entryKey(e) === at));
  } else {
    // come back to where you stopped: the first entry not graded yet, else where you were
    const first = state.entries.findIndex((e) => !graded(e));
    const saved = Number(localStorage.getItem(storageKey()) || 0);
    state.index = first >= 0 ? first : Math.min(saved, state.entries.length - 1);
  }
  state.dirty = false;
  show();
}

function words(text) { return text.toLowerCase().replace(/[^\p{L}\p{N}]+/gu, " ").trim(); }

function buildEntries() {
  const q = state.question, members = (g) => g.members.map((id) => state.byId.get(id));
  const query = words(state.filter);
  let answers = null;
  if (query) answers = q.answers.filter((a) => ` ${a.words} `.includes(` ${query}`));
  else if (state.only) answers = members(q.groups.find((g) => g.key === state.only) || { members: [] });
  else if (state.mode === "all") answers = q.answers;
  state.entries = answers ? answers.map((a) => ({ answer: a }))
    : [...q.groups.map((g) => ({ group: g, members: members(g) })), ...q.answers.filter((a) => !a.group).map((a) => ({ answer: a }))];
}

function entryKey(entry) { return entry.group ? `group:${entry.group.key}` : entry.answer.grade_id; }
function graded(entry) { return entry.group ? entry.members.every((a) => a.score !== null) : entry.answer.score !== null; }

function entry() { return state.entries[state.index]; }

// what the keys change: the answer shown, or for a group the mark that its members all get
function current() {
  const e = entry();
  if (!e || !e.group) return e && e.answer;
  if (!state.draft) {
    const [first, ...rest] = e.members, same = (a) => JSON.stringify([[...a.items].sort(), a.adjustment, a.comment]);
    state.draft = rest.every((a) => same(a) === same(first)) && first.score !== null
      ? { items: [...first.items], adjustment: first.adjustment, comment: first.comment, score: first.score }
      : { items: [], adjustment: 0, comment: "", score: null,
          suggested: first.suggested.filter((t) => rest.every((a) => a.suggested.includes(t))) };
  }
  return state.draft;
}

// An answer not graded yet starts with the items its text suggests (the rubric's `*Matches:*` lines) applied,
// not saved: Enter confirms them, the usual keys change them
function suggest() {
  const e = entry(), mark = current();
  state.suggesting = false;
  if (!e || graded(e) || state.dirty) return;
  const suggestion = e.group ? mark.suggested || [] : mark.suggested;
  if (suggestion.length && !mark.items.length && !mark.adjustment) {
    mark.items = [...suggestion];
    state.suggesting = true;
  }
}

// The words that made the view suggest an item, marked in the answer (text nodes split, nothing parsed as HTML)
function highlight(root, titles) {
  const sources = state.question.rubric.filter((i) => titles.includes(i.title) && i.highlight).map((i) => i.highlight);
  let pattern;
  try { pattern = sources.length && new RegExp(sources.join("|"), "giu"); } catch { return; }  // (a Python-only expression)
  if (!pattern) return;
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT), nodes = [];
  while (walker.nextNode()) nodes.push(walker.currentNode);
  for (const node of nodes) {
    if (node.parentElement.closest("math")) continue;
    const text = node.data, parts = [];
    let last = 0;
    for (const match of text.matchAll(pattern)) {
      if (!match[0]) continue;
      parts.push(document.createTextNode(text.slice(last, match.index)));
      const mark = document.createElement("mark");
      mark.textContent = match[0];
      parts.push(mark);
      last = match.index + match[0].length;
    }
    if (!parts.length) continue;
    parts.push(document.createTextNode(text.slice(last)));
    node.replaceWith(...parts);
  }
}

function scoreOf(answer) {
  const q = state.question;
  const sum = q.rubric.filter((i) => answer.items.includes(i.title)).reduce((s, i) => s + i.points, 0) + answer.adjustment;
  return Math.min(Math.max(sum, 0), q.points);
}

const KINDS = { blank: "blank", identical: "identical", near: "near-identical" };
const answerCount = (n) => `${n} ${n === 1 ? "answer" : "answers"}`;

function show() {
  // an entry's suggestion is applied once, when it is first shown (and again after the question is read again)
  const shown = entry() ? entryKey(entry()) : null;
  if (state.suggestedFor !== shown) {
    state.suggestedFor = shown;
    state.suggesting = false;
    if (!state.dirty) suggest();
  }
  const q = state.question, e = entry(), mark = current();
  const left = q.answers.filter((a) => a.score === null).length;
  const groups = state.entries.filter((x) => x.group), groupsLeft = groups.filter((x) => !graded(x)).length;
  $("progress").textContent = (groups.length ? `${groupsLeft} of ${groups.length} groups left · ` : "") +
    `${left} of ${q.answers.length} answers left` + (state.filter ? ` · matching “${state.filter}”` : state.only ? " · one group's answers" : state.mode === "all" ? " · every answer" : "");
  if (!e) { $("answer-title").textContent = ""; $("answer").textContent = state.filter ? "No answer holds these words." : "No answers to this question yet."; return; }
  localStorage.setItem(storageKey(), String(state.index));
  $("note").textContent = "";
  if (e.group) {
    const numbers = e.members.map((a) => a.number).join(", ");
    const [n, kind] = [e.members.length, e.group.kind];
    $("answer-title").textContent = `${e.group.proposed ? "Proposed group" : "Group"}: ${n} ${KINDS[kind]} ${n === 1 ? "answer" : "answers"}`
      + (kind === "blank" ? " (empty, or the placeholder left as it was)" : "") + ` (${n === 1 ? "answer" : "answers"} ${numbers})`;
    $("note").textContent = e.group.proposed
      ? "Alike, not the same: read them. Grading them accepts the group; x splits it; o opens them one by one."
      : "A mark given here goes to every answer of the group; o opens them one by one, x splits the group.";
    if (e.group.kind === "identical" && e.members[0].is_model_answer) $("note").textContent += " They are the model answer, word for word.";
    if (e.group.kind === "blank") $("answer").innerHTML = "<p><em>(blank)</em></p>";
    else if (e.group.kind === "identical") $("answer").innerHTML = e.members[0].html;
    else {
      $("answer").replaceChildren(...e.members.map((a) => {
        const part = document.createElement("section");
        part.className = "member";
        part.innerHTML = `<h3></h3>${a.html}`;      // (html: rendered and sanitised by the server)
        part.querySelector("h3").textContent = `Answer ${a.number}`;
        return part;
      }));
    }
  } else {
    const answer = e.answer;
    $("answer-title").textContent = `Answer ${answer.number} of ${q.answers.length}` + (state.names ? ` · ${answer.name === answer.student ? answer.student : `${answer.name} (${answer.student})`}` : "");
    $("answer").innerHTML = answer.html || "<p><em>(empty)</em></p>";
    if (answer.is_model_answer) $("note").textContent = "The model answer, word for word.";
    if (answer.group) $("note").textContent = "In a group: a mark saved here changes this answer alone.";
    if (answer.left_group) $("note").textContent = "Its text changed since it was graded with a group: grade it again.";
  }
  const suggestion = e.group ? mark.suggested || [] : e.answer.suggested;
  highlight($("answer"), suggestion);
  $("rubric").replaceChildren(...q.rubric.map((item) => {
    const li = document.createElement("li");
    li.className = (mark.items.includes(item.title) ? "applied " : "") + (item.points < 0 ? "deduction " : "") +
      (suggestion.includes(item.title) ? "suggested" : "");
    li.innerHTML = `<span class="key"></span><span class="points"></span><span class="title"></span><span class="comment">${item.comment}</span>`;
    li.querySelector(".key").textContent = item.key;
    li.querySelector(".points").textContent = (item.points > 0 ? "+" : "") + item.points;
    li.querySelector(".title").textContent = item.title;
    li.addEventListener("click", () => toggle(item.key));
    return li;
  }));
  $("adjustment").value = mark.adjustment;
  $("comment").value = mark.comment;
  const pending = !graded(e) || state.dirty;
  $("score").textContent = `${scoreOf(mark)} / ${q.points}` + (e.group ? ` each` : "") +
    (state.suggesting ? " · suggested: Enter confirms" : pending ? (!graded(e) && !state.dirty ? " · not graded" : " · not saved") : " · saved");
}

function toggle(key) {
  const item = state.question.rubric.find((i) => i.key === key);
  if (!item) return;
  const answer = current();
  answer.items = answer.items.includes(item.title) ? answer.items.filter((t) => t !== item.title) : [...answer.items, item.title];
  state.dirty = true;
  state.suggesting = false;
  show();
}

// what an answer was before a change, for `u`
function before(answer) {
  return { grade_id: answer.grade_id, items: [...answer.items], adjustment: answer.adjustment, comment: answer.comment,
           score: answer.score, feedback: answer.feedback, version: answer.version };
}

async function save() {
  const q = state.question, e = entry(), mark = current();
  mark.adjustment = Number($("adjustment").value) || 0;
  mark.comment = $("comment").value;
  if (e.group) return saveGroup(e, mark);
  const answer = e.answer, previous = before(answer);
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
  state.suggesting = false;  // (confirmed: the items are the answer's now)
  state.undo.push({ what: `answer ${answer.number}`, changes: [restore(previous, data.version)] });
  state.dirty = false;
  say(`Saved answer ${answer.number}: ${data.score}`);
  return true;
}

// the change that puts an answer's mark back as it was `before`, from its mark's version `now`
function restore(before, now) {
  return { grade_id: before.grade_id, version: now, score: before.score, feedback: before.feedback,
           mark: before.version === 0 ? null : { items: before.items, adjustment: before.adjustment, comment: before.comment } };
}

// Several answers changed in one transaction (marks.apply); the question read again after, groups included
async function change(changes, done) {
  const q = state.question;
  const { status } = await call("POST", `/questions/${q.notebook}/${q.grade_id}/marks`, { changes });
  if (status === 409) {
    await openQuestion(`${q.notebook}/${q.grade_id}`, true);
    say("Another grader saved some of these answers meanwhile: theirs are shown. Nothing was changed.", true);
    return false;
  }
  await openQuestion(`${q.notebook}/${q.grade_id}`, true);
  say(done);
  return true;
}

async function saveGroup(e, mark) {
  const previous = e.members.map(before);
  const decision = { how: "member", key: e.group.key };
  const ok = await change(e.members.map((a) => ({
    grade_id: a.grade_id, version: a.version, decision,
    mark: { items: mark.items, adjustment: mark.adjustment, comment: mark.comment } })),
    `Saved ${answerCount(e.members.length)} of the group: ${scoreOf(mark)} each`);
  if (ok) {  // (an accepted group stays one; a proposal goes back to being one)
    const undecided = e.group.proposed ? null : decision;
    state.undo.push({ what: `the group of ${e.members.length}`,
                      changes: previous.map((p) => ({ ...restore(p, state.byId.get(p.grade_id).version), decision: undecided })) });
  }
  state.draft = null;
  return ok;
}

async function undo() {
  const last = state.undo.pop();
  if (!last) { say("Nothing to undo."); return; }
  if (!(await change(last.changes, `Undone: ${last.what}`))) return;
  showAnswer(last.changes[0].grade_id);  // back to what was undone
}

// show the entry that holds answer `id` (itself, or its group)
function showAnswer(id) {
  const at = state.entries.findIndex((e) => (e.group ? e.members.some((a) => a.grade_id === id) : e.answer.grade_id === id));
  if (at >= 0) { state.index = at; state.draft = null; show(); }
}

async function split() {
  const e = entry();
  if (!e || !e.group) { say("x splits a group: this is a single answer."); return; }
  if (await change(e.members.map((a) => ({ grade_id: a.grade_id, decision: { how: "single" } })),
                   `Split: ${answerCount(e.members.length)}, each on its own now`)) {
    state.undo.push({ what: "the split", changes: e.members.map((a) => ({ grade_id: a.grade_id, decision: null })) });
    showAnswer(e.members[0].grade_id);
  }
}

function openGroup() {
  const e = entry(), back = state.only;
  if (back) setMode({ only: null });
  else if (e && e.group) setMode({ only: e.group.key });
  else { say("o opens a group's answers one by one: this is a single answer."); return; }
  if (back) { state.index = Math.max(0, state.entries.findIndex((x) => x.group && x.group.key === back)); show(); }
}

async function move(step, confirm = false) {
  // what was changed here is saved first, whichever way the grader goes; suggested items only when confirmed
  if ((state.dirty || (confirm && state.suggesting)) && !(await save())) return;
  dropSuggestion();
  const index = state.index + step;
  if (index >= 0 && index < state.entries.length) state.index = index;
  else if (step > 0) say(state.entries.some((e) => !graded(e)) ? "That was the last one here; some earlier ones are not graded yet." : "That was the last one: every answer here is graded.");
  state.dirty = false;
  state.draft = null;
  show();
}

// an unconfirmed suggestion is dropped when the grader goes elsewhere
function dropSuggestion() {
  const e = entry();
  if (state.suggesting && e) { if (e.group) state.draft = null; else e.answer.items = []; }
  Object.assign(state, { suggesting: false, suggestedFor: null });
}

function setMode(changes) {
  dropSuggestion();
  Object.assign(state, changes);
  buildEntries();
  state.index = 0;
  state.draft = null;
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
  if (state.names && state.question.answers.length && state.question.answers[0].student === undefined) {
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
    if (event.key === "Escape" && document.activeElement.id === "search") { $("search").value = ""; document.activeElement.blur(); setMode({ filter: "" }); }
    else if (event.key === "Enter" && document.activeElement.id === "search") { event.preventDefault(); document.activeElement.blur(); }
    else if (event.key === "Escape") { document.activeElement.blur(); state.dirty = true; }
    else if (event.key === "Enter" && !event.shiftKey && document.activeElement.id === "comment") {
      event.preventDefault(); document.activeElement.blur(); await guarded(() => move(1, true));
    }
    return;
  }
  if (!state.question || event.ctrlKey || event.metaKey || event.altKey) return;
  const q = state.question;
  const actions = {
    f: () => apply(q.rubric.filter((i) => i.points >= 1).map((i) => i.title)),
    0: () => apply([]),
    Enter: () => move(1, true), ArrowRight: () => move(1), j: () => move(1),
    ArrowLeft: () => move(-1), k: () => move(-1),
    c: () => $("comment").focus(),
    "+": () => { current().adjustment += 0.5; state.dirty = true; show(); },
    "-": () => { current().adjustment -= 0.5; state.dirty = true; show(); },
    n: () => toggleNames(),
    u: () => undo(),
    x: () => split(),
    o: () => openGroup(),
    g: () => setMode({ mode: state.mode === "all" ? "grouped" : "all", only: null }),
    "/": () => $("search").focus(),
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
$("search").addEventListener("input", () => { if (state.question) setMode({ filter: $("search").value, only: null }); });

async function route() {
  try {
    if (location.hash.length > 1) await openQuestion(location.hash.slice(1));
    else await showQuestions();
  } catch (error) { say(String(error.message || error), true); }
}
window.addEventListener("hashchange", route);
route();
