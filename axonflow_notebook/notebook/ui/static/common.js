// AxonFlow's live widgets, drawn in the browser from synced state (anywidget, no build step).
// This file holds what every widget shares; axonflow_notebook/notebook/ui/live_widget.py joins it
// with `call_card.js` (a governed call or a --code cell's calls) or `queue.js` (the reviewer
// queue) into one ES module. Python renders every card that is static (escaped HTML); these
// modules draw what moves: the approval countdown, Approve / Reject with the reviewer's comment,
// the queue's selection.
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

// Draws `renderView` into the widget's element, redraws on its events, ticks once a second.
function mount(model, host, renderView) {
  host.classList.add(`axonflow-${model.get("kind")}`, "axonflow-live", ...NO_MATH);
  host.setAttribute("style", `${FONT};max-width:940px`);
  const state = { live: true };
  const view = renderView(model, host, state);
  const draw = () => view.draw();
  for (const name of view.events) model.on(name, draw);
  draw();
  const recheck = () => isLive(model).then((live) => {
    if (live !== state.live) {
      state.live = live;
      host.classList.toggle("axonflow-snapshot", !live);
      draw();
    }
  });
  recheck();
  // The kernel went away under an open page (shut down, restarted): stop offering controls.
  model.on("comm_live_update", recheck);
  // One timer per view; anywidget calls the cleanup below when the view or its model goes.
  const timer = setInterval(() => view.tick(), 1000);
  return () => {
    clearInterval(timer);
    for (const name of view.events) model.off(name, draw);
    model.off("comm_live_update", recheck);
    if (view.off) view.off();
  };
}
