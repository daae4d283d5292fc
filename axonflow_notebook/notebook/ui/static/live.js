// AxonFlow's live widgets, drawn in the browser from synced state (anywidget, no build step):
// `call` (one governed call), `code` (a %%governed --code cell's calls) and `queue` (the reviewer
// queue). Python renders every card that is static (escaped HTML); this module draws what moves:
// the approval countdown, Approve / Reject with the reviewer's comment, the queue's selection.
//
// Clicks travel as custom messages carrying everything the kernel needs (the comment text, the
// selected ids). The comment is never synced as widget state: ipywidgets' frontend sends a state
// update only after the kernel reports `idle` for the previous one (`_pending_msgs` in
// @jupyter-widgets/base widget.ts), and ipykernel >= 7.4 handles comm messages of an awaiting
// cell without publishing busy/idle (`dispatch_shell(concurrent=True)` in ipykernel's
// kernelbase.py), so every keystroke after the first stayed in the browser.
//
// A model restored from a saved notebook has no comm: then the widget shows its last state as a
// snapshot (no buttons, no ticking) instead of controls that cannot reach a kernel.

const NO_MATH = ["mathjax_ignore", "tex2jax_ignore"];
const TONES = {
  ok: "#2e7d32", warn: "#b26a00", bad: "#c62828", info: "#1565c0", mute: "#757575",
  redact: "#6a1b9a",
};
const FONT = "font-family:var(--jp-ui-font-family,system-ui,sans-serif);" +
  "font-size:var(--jp-ui-font-size1,13px);color:var(--jp-ui-font-color1,#1f1f1f)";
const FG2 = "var(--jp-ui-font-color2,#616161)";
const COMMENT_MAX = 4000;

// Typed comments and selections, kept across redraws and across views of the same model
// (JupyterLab draws a new view when a display is updated).
const drafts = new Map();

function el(tag, style, text) {
  const node = document.createElement(tag);
  if (style) node.setAttribute("style", style);
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

function fmtSeconds(seconds) {
  if (seconds === null || seconds === undefined) return "—";
  const s = Math.max(0, Math.round(seconds));
  const pad = (n) => String(n).padStart(2, "0");
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${pad(s % 60)}s`;
  return `${Math.floor(s / 3600)}h ${pad(Math.floor((s % 3600) / 60))}m`;
}

function badge(text, tone) {
  const c = TONES[tone] || TONES.mute;
  return el("span", `display:inline-block;border:1px solid ${c};color:${c};border-radius:9px;` +
    `padding:0 7px;margin-left:6px;font-size:0.85em;font-weight:600;line-height:1.5;` +
    `background:color-mix(in srgb,${c} 12%,transparent)`, text);
}

function button(label, tone, cls) {
  const c = TONES[tone] || TONES.mute;
  const b = el("button", `${FONT};color:#fff;background:${c};border:0;border-radius:3px;` +
    "padding:3px 14px;margin:4px 6px 4px 0;cursor:pointer;min-width:84px", label);
  b.type = "button";
  if (cls) b.classList.add(cls);
  return b;
}

function cardBox(tone) {
  return el("div", `${FONT};border:1px solid var(--jp-border-color2,#e0e0e0);border-left:4px ` +
    `solid ${TONES[tone] || TONES.mute};border-radius:4px;padding:6px 10px;margin:3px 0;` +
    "line-height:1.45;max-width:900px;box-sizing:border-box;overflow-wrap:anywhere;" +
    "background:var(--jp-layout-color1,transparent)");
}

function setHtml(node, html) {
  // `html` is rendered and escaped by the kernel (axonflow_notebook/notebook/ui/html.py).
  if (node.dataset.html !== html) {
    node.innerHTML = html;
    node.dataset.html = html;
  }
}

async function isLive(model) {
  const id = model.get("card_id");
  const manager = model.widget_manager;
  if (!id || !manager || typeof manager.get_model !== "function") return true;
  try {
    const backing = await manager.get_model(id);
    return Boolean(backing && backing.comm && backing.comm_live !== false);
  } catch (err) {
    return true;
  }
}

// -- one call's approval panel --------------------------------------------------------------
function approvalPanel(model, cardId, state) {
  const box = cardBox("info");
  box.classList.add("axonflow-approval");
  const title = el("div", "font-weight:600");
  const table = el("table", "border-collapse:collapse;margin:2px 0;border:0");
  const comment = el("textarea", `${FONT};width:100%;max-width:640px;box-sizing:border-box;` +
    "margin:4px 0;padding:3px 5px;border:1px solid var(--jp-border-color1,#bbb);" +
    "border-radius:3px;background:var(--jp-layout-color0,#fff)");
  comment.rows = 2;
  comment.maxLength = COMMENT_MAX;
  comment.placeholder = "Comment (optional)";
  comment.classList.add("axonflow-comment");
  const approve = button("Approve", "ok", "axonflow-approve");
  const reject = button("Reject", "bad", "axonflow-reject");
  const buttons = el("div");
  buttons.append(approve, reject);
  const noteLine = el("div", `font-size:0.9em;color:${FG2};margin:2px 0 4px`);
  box.append(title, table, comment, buttons, noteLine);

  const panel = { box, payload: null, at: 0, requestId: null, sent: false, live: state.live };
  const draftKey = () => `${cardId}:${panel.requestId}`;
  comment.addEventListener("input", () => drafts.set(draftKey(), comment.value));

  const send = (action) => {
    const p = panel.payload;
    if (!p || panel.sent || p.actions !== "buttons" || !state.live) return;
    panel.sent = true;
    approve.disabled = reject.disabled = comment.disabled = true;
    noteLine.textContent = "Sending…";
    model.send({ type: "decide", action, request_id: p.request_id, comment: comment.value });
  };
  approve.addEventListener("click", () => send("approve"));
  reject.addEventListener("click", () => send("reject"));

  panel.tick = () => {
    const p = panel.payload;
    if (!p || !p.pending || !state.live) return;
    const gone = (performance.now() - panel.at) / 1000;
    const e = table.querySelector(".axonflow-elapsed");
    const r = table.querySelector(".axonflow-remaining");
    if (e) e.textContent = fmtSeconds(p.elapsed_s + gone);
    if (r) r.textContent = fmtSeconds(Math.max(0, p.remaining_s - gone));
  };

  panel.update = (p) => {
    if (p.seq !== (panel.payload && panel.payload.seq)) panel.at = performance.now();
    panel.payload = p;
    if (panel.requestId !== p.request_id) {
      panel.requestId = p.request_id;
      comment.value = drafts.get(draftKey()) || "";
    }
    box.style.borderLeftColor = TONES[p.tone] || TONES.info;
    title.style.color = TONES[p.tone] || TONES.info;
    title.textContent = p.title;
    if (p.pending && state.live) title.append(badge("live", "info"));
    if (p.pending && !state.live) title.append(badge("snapshot", "mute"));
    table.textContent = "";
    const row = (label, value, cls) => {
      const tr = el("tr", "background:transparent");
      const k = el("td", `color:${FG2};padding:1px 12px 1px 0;vertical-align:top;` +
        "white-space:nowrap;border:0;text-align:left", label);
      const v = el("td", "padding:1px 0;border:0;text-align:left;word-break:break-word", value);
      if (cls) v.classList.add(cls);
      tr.append(k, v);
      table.append(tr);
    };
    for (const [k, v] of p.head) row(k, v);
    if (p.pending) {
      row(state.live ? "Elapsed" : "Elapsed when saved", fmtSeconds(p.elapsed_s), "axonflow-elapsed");
      row(state.live ? "Remaining" : "Remaining when saved", fmtSeconds(p.remaining_s),
        "axonflow-remaining");
    } else {
      row("Waited", p.waited);
    }
    for (const [k, v] of p.tail) row(k, v);
    const interactive = state.live && p.pending && p.actions !== "none";
    comment.style.display = buttons.style.display = interactive ? "" : "none";
    const locked = !interactive || p.actions !== "buttons" || Boolean(p.clicked) || panel.sent;
    approve.disabled = reject.disabled = comment.disabled = locked;
    if (p.clicked) panel.sent = true;
    let note = p.note || "";
    if (p.pending && !state.live) {
      note = "Saved while this call waited for approval: a snapshot, not live. " +
        "Decide with %axonflow queue or AxonFlow's console.";
    } else if (panel.sent && !p.clicked && p.pending) {
      note = "Sending…";
    }
    noteLine.textContent = note;
    noteLine.style.display = note ? "" : "none";
    panel.tick();
  };
  return panel;
}

// -- a call (or a code cell's call): cards around the approval panel ------------------------
function callView(model, cardId, state) {
  const root = el("div");
  const top = el("div");
  const middle = el("div");
  const bottom = el("div");
  root.append(top, middle, bottom);
  let panel = null;
  const view = { root };
  view.update = (c) => {
    setHtml(top, c.html_top || "");
    setHtml(bottom, c.html_bottom || "");
    if (c.approval) {
      if (!panel) {
        panel = approvalPanel(model, cardId, state);
        middle.append(panel.box);
      }
      panel.update(c.approval);
    } else if (panel) {
      panel.box.remove();
      panel = null;
    }
  };
  view.tick = () => panel && panel.tick();
  return view;
}

function renderCalls(model, el0, state) {
  const header = el("div", `${FONT};font-weight:600;margin:2px 0`);
  const list = el("div");
  el0.append(header, list);
  const views = new Map();
  const opened = new Set();
  const cardId = model.get("card_id") || "card";
  const draw = () => {
    const kind = model.get("kind");
    const calls = model.get("calls") || [];
    header.textContent = model.get("header") || "";
    header.style.display = kind === "code" && header.textContent ? "" : "none";
    const seen = new Set();
    calls.forEach((c, i) => {
      seen.add(c.key);
      let entry = views.get(c.key);
      if (!entry) {
        const v = callView(model, cardId, state);
        if (kind === "code") {
          const details = el("details", "margin:2px 0");
          const summary = el("summary", `${FONT};cursor:pointer`);
          details.append(summary, v.root);
          details.addEventListener("toggle", () => {
            if (details.open) opened.add(c.key); else opened.delete(c.key);
          });
          entry = { v, node: details, summary };
        } else {
          entry = { v, node: v.root, summary: null };
        }
        views.set(c.key, entry);
      }
      if (entry.summary) {
        entry.summary.textContent = c.title || "";
        entry.summary.append(badge(c.outcome_word || "", c.tone || "mute"));
        const pending = Boolean(c.approval && c.approval.pending);
        if (pending && !entry.autoOpened) {  // a held call's buttons must be in view
          entry.autoOpened = true;
          opened.add(c.key);
        }
        entry.node.open = opened.has(c.key);
      }
      entry.v.update(c);
      if (list.children[i] !== entry.node) list.insertBefore(entry.node, list.children[i] || null);
    });
    for (const [key, entry] of views) {
      if (!seen.has(key)) {
        entry.node.remove();
        views.delete(key);
      }
    }
  };
  const tick = () => { for (const entry of views.values()) entry.v.tick(); };
  return { draw, tick, events: ["change:calls", "change:header", "change:kind"] };
}

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
  headRow.append(allCell, th("Request"), th("Policy"), th("Severity"), th("Age"),
    th("Expires in"), th("Id"));
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
    const gone = state.live ? (performance.now() - receivedAt) / 1000 : 0;
    for (const tr of body.querySelectorAll("tr[data-id]")) {
      const r = rowsNow().find((x) => x.request_id === tr.dataset.id);
      if (!r) continue;
      tr.children[4].textContent = r.age_s === null ? "—" : fmtSeconds(r.age_s + gone);
      tr.children[5].textContent = r.expires_in_s === null ? "—"
        : (r.expires_in_s - gone <= 0 ? "expired" : fmtSeconds(r.expires_in_s - gone));
    }
  };
  const draw = () => {
    const rows = rowsNow();
    title.textContent = model.get("title") || "AxonFlow approval queue";
    if (!state.live) title.append(badge("snapshot", "mute"));
    body.textContent = "";
    for (const r of rows) {
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
      tr.append(first, cell(r.query), cell(r.policy), sev, cell(""), cell(""),
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
  model.on("change:rows", () => { receivedAt = performance.now(); });
  model.on("change:reset", () => {
    comment.value = "";
    drafts.delete(`${cardId}:comment`);
    sel.clear();
  });
  return { draw, tick: timing,
    events: ["change:rows", "change:title", "change:status", "change:can_decide", "change:busy",
      "change:reset"] };
}

export default {
  render({ model, el: host }) {
    host.classList.add(`axonflow-${model.get("kind")}`, "axonflow-live", ...NO_MATH);
    host.setAttribute("style", `${FONT};max-width:940px`);
    const state = { live: true };
    const view = model.get("kind") === "queue" ? renderQueue(model, host, state)
      : renderCalls(model, host, state);
    const draw = () => view.draw();
    for (const name of view.events) model.on(name, draw);
    draw();
    isLive(model).then((live) => {
      if (live !== state.live) {
        state.live = live;
        host.classList.toggle("axonflow-snapshot", !live);
        draw();
      }
    });
    // One timer per view; anywidget calls the cleanup below when the view or its model goes.
    const timer = setInterval(() => view.tick(), 1000);
    return () => {
      clearInterval(timer);
      for (const name of view.events) model.off(name, draw);
    };
  },
};
