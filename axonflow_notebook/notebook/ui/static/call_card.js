// The live card of a governed call, or of a %%governed --code cell's calls (one row each).
// Shared helpers come from common.js (joined ahead of this file).

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
    if (p.pending && state.live) {
      row("Elapsed", fmtSeconds(p.elapsed_s), "axonflow-elapsed");
      row("Remaining", fmtSeconds(p.remaining_s), "axonflow-remaining");
    } else if (p.pending) {
      row("Requested", p.requested_at);
      row("Waits until", p.waits_until);
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

// -- a call's spend: what it added, and a bar of the budget used ----------------------------
// The payload comes from axonflow_notebook/notebook/ui/call_cards/spend.py (`spend_payload`),
// which also renders the same card as static HTML for the saved notebook. Text only here.
const NEW_SPEND_OPACITY = 0.45;  // this call's share: the tone's colour, lighter

function spendView() {
  const root = el("div");
  let drawn = "";
  const update = (s) => {
    const key = JSON.stringify(s || null);
    if (key === drawn) return;
    drawn = key;
    root.textContent = "";
    if (!s) return;
    const tone = TONES[s.tone] || TONES.info;
    const box = cardBox(s.tone);
    box.classList.add("axonflow-card", "axonflow-spend", ...NO_MATH);
    const title = el("div", `font-weight:600;color:${tone}`, s.title);
    if (s.flag) title.append(badge(s.flag, s.tone));
    const table = el("table", "border-collapse:collapse;margin:2px 0;border:0");
    for (const [k, v] of s.rows || []) {
      const tr = el("tr", "background:transparent");
      tr.append(el("td", `color:${FG2};padding:1px 12px 1px 0;vertical-align:top;white-space:nowrap;` +
        "border:0;text-align:left", k), el("td", "padding:1px 0;border:0;text-align:left", v));
      table.append(tr);
    }
    box.append(title, table);
    if (s.bar) {
      const pct = (n) => Math.max(0, Math.min(100, Number(n) || 0));
      const bar = el("div", "display:flex;width:100%;max-width:360px;height:8px;margin:4px 0 2px;" +
        "border-radius:4px;overflow:hidden;background:var(--jp-layout-color3,#e0e0e0)");
      bar.classList.add("axonflow-budget-bar");
      bar.setAttribute("role", "img");
      bar.setAttribute("aria-label", `budget used: ${s.bar.label || ""}`);
      bar.title = s.bar.label || "";
      const color = TONES[s.bar.tone] || TONES.info;
      const used = el("div", `width:${pct(s.bar.before)}%;background:${color}`);
      used.classList.add("axonflow-budget-used");
      const added = el("div", `width:${pct(s.bar.added)}%;background:${color};opacity:${NEW_SPEND_OPACITY}`);
      added.classList.add("axonflow-budget-added");
      bar.append(used, added);
      box.append(bar);
    }
    if (s.note) box.append(el("div", `color:${FG2};font-size:0.9em`, s.note));
    root.append(box);
  };
  return { root, update };
}

// -- a call (or a code cell's call): cards around the approval panel ------------------------
function callView(model, cardId, state) {
  const root = el("div");
  const top = el("div");
  const middle = el("div");
  const bottom = el("div");
  const spend = spendView();
  root.append(top, middle, bottom, spend.root);
  let panel = null;
  const view = { root };
  view.update = (c) => {
    setHtml(top, c.html_top || "");
    setHtml(bottom, c.html_bottom || "");
    spend.update(c.spend);
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

export default {
  render({ model, el }) {
    return mount(model, el, renderCalls);
  },
};
