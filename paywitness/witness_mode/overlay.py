"""The always-on-top step control injected into every top-level page of the witnessed browser."""

from __future__ import annotations

import json

__all__ = ["OVERLAY_ID", "overlay_script"]

OVERLAY_ID = "paywitness-overlay"

# Styles are set through the CSSOM (element.style), which a page's CSP does not block, and the
# calls go through Playwright bindings, which no CSP or CORS rule can stop.
_SCRIPT = r"""
(() => {
  // Not on the report opened at Finish (a file), nor twice, nor in frames.
  if (window.top !== window || window.__paywitnessOverlay || location.protocol === "file:") return;
  window.__paywitnessOverlay = true;
  const STEPS = __STEPS__;
  const ID = __ID__;
  // One mark id per page load: a double click or a re-sent click never marks twice.
  const TOKEN = Math.random().toString(36).slice(2) + Date.now().toString(36);
  let host = null, label = null;
  const buttons = {};
  const css = (el, props) => { for (const [k, v] of Object.entries(props)) el.style[k] = v; };
  const render = (state) => {
    if (!state || !label) return;
    label.textContent = state.finished ? "finished: judging" : "step: " + (state.step || "none");
    for (const s of STEPS) {
      css(buttons[s], {background: s === state.step ? "#2563eb" : "#fff",
                       color: s === state.step ? "#fff" : "#111"});
      buttons[s].disabled = !!state.finished;
    }
  };
  const build = () => {
    host = document.createElement("div");
    host.id = ID;
    css(host, {all: "initial", position: "fixed", right: "8px", bottom: "8px",
               zIndex: "2147483647"});
    const root = host.attachShadow({mode: "open"});
    const box = document.createElement("div");
    css(box, {font: "13px system-ui, sans-serif", background: "#f8fafc", color: "#111",
              border: "2px solid #2563eb", borderRadius: "8px", padding: "6px",
              boxShadow: "0 2px 8px rgba(0,0,0,.3)", display: "flex", gap: "4px",
              alignItems: "center", flexWrap: "wrap", maxWidth: "560px"});
    label = document.createElement("span");
    label.setAttribute("data-paywitness", "label");
    css(label, {fontWeight: "bold", marginRight: "4px"});
    label.textContent = "paywitness";
    box.appendChild(label);
    const button = (text, attr, onclick, bg) => {
      const b = document.createElement("button");
      b.textContent = text;
      b.setAttribute(attr[0], attr[1]);
      css(b, {font: "inherit", padding: "4px 8px", border: "1px solid #555",
              borderRadius: "5px", cursor: "pointer", background: bg || "#fff"});
      b.addEventListener("click", (e) => { e.preventDefault(); e.stopPropagation(); onclick(); });
      box.appendChild(b);
      return b;
    };
    for (const s of STEPS) {
      buttons[s] = button(s, ["data-paywitness-step", s],
                          () => window.paywitnessMark(s, TOKEN).then(render));
    }
    // Finish asks once more on the panel itself (Playwright dismisses window.confirm dialogs).
    let sure = null;
    const fin = button("Finish", ["data-paywitness", "finish"], () => {
      if (fin.disabled) return;
      if (!sure) {
        fin.textContent = "Finish? Yes";
        fin.setAttribute("data-paywitness", "confirm-finish");
        sure = button("No", ["data-paywitness", "cancel-finish"], () => {
          sure.remove(); sure = null;
          fin.textContent = "Finish";
          fin.setAttribute("data-paywitness", "finish");
        });
        return;
      }
      render({finished: true});
      fin.disabled = true; sure.remove();
      window.paywitnessFinish();
    }, "#bbf7d0");
    root.appendChild(box);
  };
  const attach = () => {
    if (!host) build();
    if (!host.isConnected) document.documentElement.appendChild(host);
  };
  const start = () => {
    attach();
    // A page that rebuilds its document must not lose the control.
    new MutationObserver(() => { if (!host.isConnected) attach(); })
      .observe(document.documentElement, {childList: true});
    window.paywitnessState().then(render);
  };
  if (document.documentElement) start();
  else document.addEventListener("DOMContentLoaded", start);
})();
"""


def overlay_script(steps: tuple[str, ...]) -> str:
    """The init script, with the step names filled in."""
    return _SCRIPT.replace("__STEPS__", json.dumps(list(steps))).replace(
        "__ID__", json.dumps(OVERLAY_ID)
    )
