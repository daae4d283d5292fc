// The live widget of a governed batch (%%governed --over): a progress bar, counts by status, rows
// per second, ETA, spend against the budget, the last few rows, and one approval panel for the
// batch's held rows (grouped by policy, with prompt previews): Approve all, Reject all, a
// decision per row, one comment. Shared helpers come from common.js (joined ahead of this file).
// The kernel sends at most ten state updates a second (axonflow_notebook/notebook/ui/coalesce.py);
// a click travels as one message carrying the request ids and the comment.

function bar(height) {
  const outer = el("div", `height:${height}px;border-radius:${height / 2}px;max-width:640px;` +
    "background:var(--jp-layout-color3,#e0e0e0);overflow:hidden;margin:4px 0");
  const inner = el("div", "height:100%;width:0;background:#1565c0;transition:width .15s linear");
  outer.append(inner);
  return { outer, inner };
}

function smallButton(label, tone, cls) {
  const b = button(label, tone, cls);
  b.style.minWidth = "0";
  b.style.padding = "0 8px";
  b.style.margin = "1px 4px 1px 0";
  b.style.fontSize = "0.85em";
  return b;
}

function renderBatch(model, el0, state) {
  const cardId = model.get("card_id") || "batch";
  const header = el("div", `${FONT};font-weight:600;margin:2px 0`);
  const box = cardBox("info");
  box.classList.add("axonflow-batch-progress");
  const progress = bar(10);
  progress.outer.classList.add("axonflow-batch-bar");
  const counts = el("div", "margin:2px 0");
  counts.classList.add("axonflow-batch-counts");
  const doneLine = el("div", "font-weight:600");
  doneLine.classList.add("axonflow-batch-done");
  const rate = el("div", `color:${FG2}`);
  rate.classList.add("axonflow-batch-rate");
  const spend = el("div");
  spend.classList.add("axonflow-batch-spend");
  const budget = bar(6);
  const forecast = el("div", `color:${FG2};font-size:0.9em`);
  const note = el("div", `color:${TONES.warn}`);
  note.classList.add("axonflow-batch-note");
  const recent = el("table", "border-collapse:collapse;margin:4px 0;border:0;width:100%;" +
    "table-layout:fixed;max-width:900px");
  recent.classList.add("axonflow-batch-recent");
  box.append(doneLine, progress.outer, counts, rate, spend, budget.outer, forecast, note, recent);

  const panel = cardBox("info");
  panel.classList.add("axonflow-batch-approval");
  const panelTitle = el("div", "font-weight:600;color:" + TONES.info);
  const groups = el("div");
  const comment = el("textarea", `${FONT};width:100%;max-width:640px;box-sizing:border-box;` +
    "margin:4px 0;padding:3px 5px;border:1px solid var(--jp-border-color1,#bbb);" +
    "border-radius:3px;background:var(--jp-layout-color0,#fff)");
  comment.rows = 2;
  comment.maxLength = COMMENT_MAX;
  comment.placeholder = "Comment (optional, recorded with every decision)";
  comment.classList.add("axonflow-comment");
  comment.value = drafts.get(`${cardId}:comment`) || "";
  comment.addEventListener("input", () => drafts.set(`${cardId}:comment`, comment.value));
  const approveAll = button("Approve all", "ok", "axonflow-approve-all");
  const rejectAll = button("Reject all", "bad", "axonflow-reject-all");
  const controls = el("div");
  controls.append(approveAll, rejectAll);
  const panelNote = el("div", `font-size:0.9em;color:${FG2};margin:2px 0 4px`);
  panel.append(panelTitle, groups, comment, controls, panelNote);
  el0.append(header, box, panel);

  const sent = new Set();  // ids this view has sent, until the kernel reports them decided
  const pendingIds = () => {
    const ids = [];
    for (const g of model.get("held") || []) {
      for (const r of g.rows) if (r.status === "pending" && !sent.has(r.request_id)) ids.push(r.request_id);
    }
    return ids;
  };
  const canClick = () => state.live && (model.get("approval") || {}).actions === "buttons";
  const decide = (action, ids) => {
    if (!ids.length || !canClick()) return;
    for (const id of ids) sent.add(id);
    model.send({ type: "decide", action, request_ids: ids, comment: comment.value });
    draw();
  };
  approveAll.addEventListener("click", () => decide("approve", pendingIds()));
  rejectAll.addEventListener("click", () => decide("reject", pendingIds()));

  const row = (cells, styles) => {
    const tr = el("tr", "background:transparent");
    cells.forEach((cell, i) => {
      const td = el("td", "padding:1px 6px 1px 0;border:0;text-align:left;vertical-align:top;" +
        "overflow:hidden;text-overflow:ellipsis;white-space:nowrap;" + (styles[i] || ""));
      if (cell instanceof Node) td.append(cell); else td.textContent = cell;
      tr.append(td);
    });
    return tr;
  };

  const draw = () => {
    const p = model.get("progress") || {};
    header.textContent = model.get("header") || "";
    if (!state.live) header.append(badge("snapshot", "mute"));
    doneLine.textContent = `${p.done || 0} of ${p.total || 0} rows` + (p.finished ? " — done" : "");
    progress.inner.style.width = `${Math.round((p.share || 0) * 1000) / 10}%`;
    counts.textContent = "";
    for (const [status, n, tone] of p.counts || []) counts.append(badge(`${n} ${status}`, tone));
    rate.textContent = p.rate || "";
    spend.textContent = p.spend || "";
    spend.style.display = p.spend ? "" : "none";
    const share = p.budget_share;
    budget.outer.style.display = share === null || share === undefined ? "none" : "";
    budget.inner.style.width = `${Math.round((share || 0) * 1000) / 10}%`;
    budget.inner.style.background = (share || 0) >= 0.9 ? TONES.warn : TONES.ok;
    forecast.textContent = p.forecast || "";
    note.textContent = p.note || "";
    note.style.display = p.note ? "" : "none";

    recent.textContent = "";
    for (const r of model.get("recent") || []) {
      recent.append(row([`#${r.index}`, badge(r.status, r.tone), r.prompt, r.answer],
        ["width:6%", "width:14%", "width:40%", `width:40%;color:${FG2}`]));
    }

    const held = model.get("held") || [];
    const a = model.get("approval") || {};
    panel.style.display = held.length ? "" : "none";
    const waiting = pendingIds().length;
    panelTitle.textContent = `Held rows — ${a.pending || 0} waiting for a reviewer`;
    if (state.live && a.pending) panelTitle.append(badge("live", "info"));
    groups.textContent = "";
    const clickable = canClick();
    for (const g of held) {
      const title = el("div", "font-weight:600;margin:4px 0 1px", `Policy ${g.policy} (${g.rows.length})`);
      const table = el("table", "border-collapse:collapse;border:0;width:100%;table-layout:fixed;" +
        "max-width:900px");
      for (const r of g.rows) {
        const status = sent.has(r.request_id) && r.status === "pending" ? "sending" : r.status;
        const actions = el("span");
        if (status === "pending" && clickable) {
          const ok = smallButton("Approve", "ok", "axonflow-row-approve");
          const no = smallButton("Reject", "bad", "axonflow-row-reject");
          ok.addEventListener("click", () => decide("approve", [r.request_id]));
          no.addEventListener("click", () => decide("reject", [r.request_id]));
          actions.append(ok, no);
        }
        const tr = row([`#${r.index}`, r.prompt, badge(status, status === "sending" ? "mute" : r.tone),
          actions], ["width:6%", "width:54%", "width:16%", "width:24%"]);
        tr.classList.add("axonflow-held-row");
        tr.dataset.id = r.request_id;
        tr.children[1].title = r.prompt;
        table.append(tr);
      }
      groups.append(title, table);
    }
    const interactive = state.live && a.pending > 0 && a.actions !== "none";
    comment.style.display = controls.style.display = interactive ? "" : "none";
    approveAll.disabled = rejectAll.disabled = !clickable || waiting === 0;
    comment.disabled = !clickable;
    let text = a.note || "";
    if (!state.live && a.pending) {
      text = "Saved while rows waited for approval: a snapshot, not live. Decide with %axonflow queue.";
    } else if (clickable && a.decider) {
      text = `Decisions are sent as ${a.decider}, one per held row.` + (a.note ? ` ${a.note}` : "");
    }
    panelNote.textContent = text;
    panelNote.style.display = text ? "" : "none";
  };
  // A sent id stays "sending" here until the kernel has it: decided (forget it), or back to
  // pending after it said "sending" (the decision failed: it may be sent again).
  const acked = new Set();
  const forget = () => {
    const status = new Map();
    for (const g of model.get("held") || []) for (const r of g.rows) status.set(r.request_id, r.status);
    for (const id of [...sent]) {
      const s = status.get(id);
      if (s === "sending") acked.add(id);
      if ((s !== "pending" && s !== "sending") || (s === "pending" && acked.has(id))) {
        sent.delete(id);
        acked.delete(id);
      }
    }
  };
  model.on("change:held", forget);
  return { draw, tick: () => {}, off: () => model.off("change:held", forget),
    events: ["change:progress", "change:recent", "change:held", "change:approval", "change:header"] };
}

export default {
  render({ model, el }) {
    return mount(model, el, renderBatch);
  },
};
