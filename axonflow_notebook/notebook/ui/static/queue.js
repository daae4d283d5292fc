// The reviewer queue: pending requests, a selection and a comment, decided in one message.
// Shared helpers come from common.js (joined ahead of this file).

// -- the reviewer queue -------------------------------------------------------------------
function renderQueue(model, el0, state) {
  const cardId = model.get("card_id") || "queue";
  const sel = drafts.get(`${cardId}:selected`) || new Set();
  drafts.set(`${cardId}:selected`, sel);
  const title = el("div", `${FONT};font-weight:600;margin:2px 0`);
  const table = el("table", `${FONT};border-collapse:collapse;margin:4px 0;table-layout:fixed;` +
    "width:100%;max-width:940px");
  const colWidths = ["28px", "34%", "20%", "10%", "10%", "12%", "14%"];
  const colgroup = el("colgroup");
  for (const w of colWidths) colgroup.append(el("col", `width:${w}`));
  const head = el("thead");
  const body = el("tbody");
  table.append(colgroup, head, body);
  const all = el("input");
  all.type = "checkbox";
  const headRow = el("tr");
  const th = (text) => el("th", `text-align:left;padding:3px 6px;color:${FG2};` +
    "border-bottom:1px solid var(--jp-border-color1,#bbb)", text);
  const allCell = th("");
  allCell.append(all);
  const ageHead = th("Age");
  const expiresHead = th("Expires in");
  headRow.append(allCell, th("Request"), th("Policy"), th("Severity"), ageHead, expiresHead,
    th("Id"));
  head.append(headRow);
  const comment = el("textarea", `${FONT};width:100%;max-width:640px;box-sizing:border-box;` +
    "margin:4px 0;padding:3px 5px;border:1px solid var(--jp-border-color1,#bbb);" +
    "border-radius:3px;background:var(--jp-layout-color0,#fff)");
  comment.rows = 2;
  comment.maxLength = COMMENT_MAX;
  comment.placeholder = "Comment (optional)";
  comment.value = drafts.get(`${cardId}:comment`) || "";
  comment.addEventListener("input", () => drafts.set(`${cardId}:comment`, comment.value));
  const approve = button("Approve", "ok", "axonflow-queue-approve");
  const reject = button("Reject", "bad", "axonflow-queue-reject");
  const refresh = button("Refresh", "mute", "axonflow-queue-refresh");
  const controls = el("div");
  controls.append(approve, reject, refresh);
  const status = el("div", `${FONT};margin:2px 0`);
  el0.append(title, table, comment, controls, status);

  const rowsNow = () => model.get("rows") || [];
  const sync = () => {
    const ids = new Set(rowsNow().map((r) => r.request_id));
    for (const id of [...sel]) if (!ids.has(id)) sel.delete(id);
    const can = state.live && model.get("can_decide") && !model.get("busy");
    approve.disabled = reject.disabled = !can || sel.size === 0;
    refresh.disabled = !state.live;
    comment.disabled = !state.live || !model.get("can_decide");
    all.disabled = !state.live || ids.size === 0;
    all.checked = ids.size > 0 && sel.size === ids.size;
    comment.style.display = controls.style.display = state.live ? "" : "none";
  };
  all.addEventListener("change", () => {
    sel.clear();
    if (all.checked) for (const r of rowsNow()) sel.add(r.request_id);
    draw();
  });
  const decide = (action) => {
    if (!sel.size) return;
    model.send({ type: "decide", action, request_ids: [...sel], comment: comment.value });
    approve.disabled = reject.disabled = true;
  };
  approve.addEventListener("click", () => decide("approve"));
  reject.addEventListener("click", () => decide("reject"));
  refresh.addEventListener("click", () => model.send({ type: "refresh" }));
  let receivedAt = performance.now();

  const cell = (text, extra) => {
    const td = el("td", "text-align:left;vertical-align:top;padding:3px 6px;border-bottom:1px " +
      "solid var(--jp-border-color2,#e0e0e0);overflow:hidden;text-overflow:ellipsis;" +
      `white-space:nowrap;${extra || ""}`, text);
    td.title = text === undefined || text === null ? "" : String(text);
    return td;
  };
  const timing = () => {
    // Live: ages count up and expiries down in the browser. A snapshot shows times instead.
    ageHead.textContent = state.live ? "Age" : "Requested";
    expiresHead.textContent = state.live ? "Expires in" : "Expires";
    const gone = (performance.now() - receivedAt) / 1000;
    for (const tr of body.querySelectorAll("tr[data-id]")) {
      const r = rowsNow().find((x) => x.request_id === tr.dataset.id);
      if (!r) continue;
      if (!state.live) {
        tr.children[4].textContent = r.created_text;
        tr.children[5].textContent = r.expires_text;
        continue;
      }
      tr.children[4].textContent = r.age_s === null ? "—" : fmtSeconds(r.age_s + gone);
      tr.children[5].textContent = r.expires_in_s === null ? "—"
        : (r.expires_in_s - gone <= 0 ? "expired" : fmtSeconds(r.expires_in_s - gone));
    }
  };
  // A batch's held rows come together under one row that selects them all (the same bulk
  // Approve / Reject then decides each request on its own).
  const groupRow = (groupId, rows) => {
    const members = rows.filter((x) => x.group === groupId).map((x) => x.request_id);
    const tr = el("tr", "background:var(--jp-layout-color2,rgba(127,127,127,.08))");
    tr.classList.add("axonflow-queue-group");
    const box = el("input");
    box.type = "checkbox";
    box.checked = members.length > 0 && members.every((id) => sel.has(id));
    box.disabled = !state.live;
    box.addEventListener("change", () => {
      for (const id of members) if (box.checked) sel.add(id); else sel.delete(id);
      draw();
    });
    const first = el("td", "padding:3px 6px;vertical-align:top");
    first.append(box);
    const label = el("td", "padding:3px 6px;font-weight:600",
      `Batch ${groupId.slice(0, 8)} — ${members.length} held row${members.length === 1 ? "" : "s"}`);
    label.colSpan = 6;
    tr.append(first, label);
    return tr;
  };
  const draw = () => {
    const rows = rowsNow();
    title.textContent = model.get("title") || "AxonFlow approval queue";
    if (!state.live) title.append(badge("snapshot", "mute"));
    body.textContent = "";
    let group = "";
    for (const r of rows) {
      if (r.group && r.group !== group) body.append(groupRow(r.group, rows));
      group = r.group || "";
      const tr = el("tr");
      tr.dataset.id = r.request_id;
      tr.classList.add("axonflow-queue-row");
      const box = el("input");
      box.type = "checkbox";
      box.checked = sel.has(r.request_id);
      box.disabled = !state.live;
      box.addEventListener("change", () => {
        if (box.checked) sel.add(r.request_id); else sel.delete(r.request_id);
        sync();
      });
      const first = el("td", "padding:3px 6px;vertical-align:top");
      first.append(box);
      const sev = cell("");
      sev.append(badge(r.severity || "—", r.severity_tone || "mute"));
      tr.append(first, cell(r.group_label ? `${r.group_label}: ${r.query}` : r.query), cell(r.policy), sev,
        cell(""), cell(""),
        cell(r.id_label, "font-family:var(--jp-code-font-family,monospace);font-size:0.9em"));
      body.append(tr);
    }
    if (!rows.length) {
      const tr = el("tr");
      const td = el("td", `color:${FG2};padding:3px 6px`, model.get("empty") || "No pending requests.");
      td.colSpan = 7;
      tr.append(td);
      body.append(tr);
    }
    const s = model.get("status") || {};
    status.textContent = s.text || "";
    status.style.color = TONES[s.tone] || "inherit";
    sync();
    timing();
  };
  const onRows = () => { receivedAt = performance.now(); };
  const onReset = () => {
    comment.value = "";
    drafts.delete(`${cardId}:comment`);
    sel.clear();
  };
  model.on("change:rows", onRows);
  model.on("change:reset", onReset);
  const off = () => { model.off("change:rows", onRows); model.off("change:reset", onReset); };
  return { draw, tick: timing, off,
    events: ["change:rows", "change:title", "change:status", "change:can_decide", "change:busy",
      "change:reset"] };
}

export default {
  render({ model, el }) {
    return mount(model, el, renderQueue);
  },
};
