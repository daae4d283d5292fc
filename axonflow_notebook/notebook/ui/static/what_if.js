// `what_if(...)`: browse what a draft policy set would change (axonflow_notebook/notebook/ui/what_if.py).
// Shared helpers come from common.js (joined ahead of this file). Every value is drawn with
// textContent (el()), never as markup: prompts are the user's text and may hold anything.

const WORDS = { allowed: "allowed", redacted: "redacted", needs_approval: "needs approval", blocked: "blocked" };
const DECISION_TONE = { allowed: "ok", redacted: "redact", needs_approval: "info", blocked: "bad" };

function cellStyle(head) {
  return `text-align:left;vertical-align:top;padding:3px 6px;overflow-wrap:anywhere;border-bottom:1px solid ` +
    (head ? `var(--jp-border-color1,#bbb);color:${FG2};white-space:nowrap` : "var(--jp-border-color2,#e0e0e0)");
}

function table(headers, rows, widths) {
  const node = el("table", `${FONT};border-collapse:collapse;margin:4px 0;width:100%` +
    (widths ? ";table-layout:fixed" : ""));
  if (widths) {
    const cols = el("colgroup");
    for (const w of widths) cols.append(el("col", `width:${w}`));
    node.append(cols);
  }
  const head = el("tr");
  for (const h of headers) head.append(el("th", cellStyle(true), h));
  const thead = el("thead");
  thead.append(head);
  const body = el("tbody");
  for (const row of rows) {
    const tr = el("tr");
    for (const cell of row) {
      const td = el("td", cellStyle(false));
      if (cell instanceof Node) td.append(cell); else td.textContent = String(cell ?? "");
      tr.append(td);
    }
    body.append(tr);
  }
  node.append(thead, body);
  return node;
}

function select(options, value) {
  const node = el("select", `${FONT};margin:0 8px 0 4px`);
  for (const [v, label] of options) {
    const o = el("option", "", label);
    o.value = v;
    node.append(o);
  }
  node.value = value;
  return node;
}

function renderWhatIf(model, root, state) {
  const cardId = model.get("card_id") || "what-if";
  const key = (name) => `${cardId}:${name}`;
  const box = cardBox(model.get("changes_total") ? "warn" : "ok");
  const title = el("div", "font-weight:600");
  const summary = el("div", `color:${FG2};white-space:pre-wrap;margin:2px 0`);
  const tabs = el("div", "margin:4px 0");
  const filters = el("div", "margin:4px 0");
  const content = el("div");
  box.append(title, summary, tabs, filters, content);
  root.append(box);

  const changesView = () => {
    const rows = model.get("changes") || [];
    const policy = drafts.get(key("policy")) || "";
    const move = drafts.get(key("move")) || "";
    const policies = [...new Set(rows.flatMap((r) => (r.decided_by || "").split(", ").filter(Boolean)))].sort();
    const moves = [...new Set(rows.map((r) => `${r.current}>${r.draft}`))].sort();
    const pick = select([["", "every policy"], ...policies.map((p) => [p, p])], policy);
    const pickMove = select([["", "every change"], ...moves.map((m) => {
      const [a, b] = m.split(">");
      return [m, `${WORDS[a] || a} → ${WORDS[b] || b}`];
    })], move);
    pick.classList.add("axonflow-what-if-policy");
    pickMove.classList.add("axonflow-what-if-move");
    pick.addEventListener("change", () => { drafts.set(key("policy"), pick.value); draw(); });
    pickMove.addEventListener("change", () => { drafts.set(key("move"), pickMove.value); draw(); });
    filters.append(el("span", "", "Decided by"), pick, el("span", "", "Change"), pickMove);
    const shown = rows.filter((r) => (!policy || (r.decided_by || "").split(", ").includes(policy)) &&
      (!move || `${r.current}>${r.draft}` === move));
    const labelled = rows.some((r) => r.expected);
    const headers = ["Row", "Prompt", "Now", "Draft", "Decided by", ...(labelled ? ["Expected"] : [])];
    const data = shown.map((r) => [r.row, r.prompt, badge(WORDS[r.current] || r.current, DECISION_TONE[r.current]),
      badge(WORDS[r.draft] || r.draft, DECISION_TONE[r.draft]), r.decided_by || "—",
      ...(labelled ? [WORDS[r.expected] || r.expected || "—"] : [])]);
    content.append(table(headers, data, ["7%", labelled ? "43%" : "53%", "12%", "12%", "16%",
      ...(labelled ? ["10%"] : [])]));
    const total = model.get("changes_total") || 0;
    const more = total > rows.length ? ` (the first ${rows.length} of ${total}: report.changes has them all)` : "";
    content.append(el("div", `color:${FG2}`, `${shown.length} shown${more}`));
  };
  const policiesView = () => {
    const rows = model.get("policies") || [];
    content.append(table(["Policy", "Action", "Status", "Matched now", "Matched in draft", "Gained", "Lost",
      "Decisions changed", "Precision", "Recall"], rows.map((r) => [r.policy, r.action, r.status || "—",
      r.matched_current, r.matched_draft, r.gained, r.lost, r.decisions_changed, r.precision, r.recall])));
  };
  const confusionView = () => {
    const c = model.get("confusion") || {};
    const labels = c.labels || [];
    content.append(table(["expected / draft", ...labels.map((l) => WORDS[l] || l)],
      (c.rows || []).map((row, i) => [WORDS[labels[i]] || labels[i], ...row])));
  };
  const skippedView = () => {
    const rows = model.get("skipped") || [];
    content.append(table(["Reason", "Prompts"], rows.map((r) => [r.reason, r.prompts])));
  };
  const views = () => [["changes", `Changes (${model.get("changes_total") || 0})`, changesView],
    ["policies", "Per policy", policiesView],
    ...(Object.keys(model.get("confusion") || {}).length ? [["confusion", "Confusion matrix", confusionView]] : []),
    ...((model.get("skipped") || []).length ? [["skipped", "Not evaluated", skippedView]] : [])];

  function draw() {
    title.textContent = model.get("title");
    summary.textContent = model.get("summary");
    tabs.replaceChildren();
    filters.replaceChildren();
    content.replaceChildren();
    const all = views();
    const current = all.some(([name]) => name === drafts.get(key("tab"))) ? drafts.get(key("tab")) : all[0][0];
    for (const [name, label, view] of all) {
      const tab = button(label, name === current ? "info" : "mute", `axonflow-what-if-tab-${name}`);
      tab.addEventListener("click", () => { drafts.set(key("tab"), name); draw(); });
      tabs.append(tab);
      if (name === current) view();
    }
  }
  return { draw, tick: () => {}, events: ["change:changes", "change:policies", "change:confusion",
    "change:skipped", "change:title", "change:summary"] };
}

export default {
  render({ model, el }) {
    return mount(model, el, renderWhatIf);
  },
};
