// paywitness continuity probe: runs in every frame (context init script). It reports layout
// shifts, LCP, slow interactions, buyer actions and first feedback to the binding
// `__paywitnessProbe`; every time is epoch milliseconds so Python can place it in a step.
(() => {
  "use strict";
  if (window.__paywitnessProbeInstalled) return;
  window.__paywitnessProbeInstalled = true;
  const send = (payload) => {
    const b = window.__paywitnessProbe;
    if (typeof b !== "function") return;
    payload.top = window === window.top;
    payload.frame_url = location.href.split("?")[0];
    try { b(payload).catch(() => {}); } catch (e) { /* binding gone with the page */ }
  };
  const epoch = (t) => performance.timeOrigin + t;
  const target = (el) => {
    const e = el && el.closest ? el.closest("[data-testid], [name], [id]") : null;
    if (!e) return el && el.tagName ? el.tagName.toLowerCase() : "";
    return e.getAttribute("data-testid") || e.getAttribute("name") || e.id;
  };
  const observe = (type, cb, extra) => {
    try {
      new PerformanceObserver((list) => list.getEntries().forEach(cb))
        .observe(Object.assign({type: type, buffered: true}, extra || {}));
    } catch (e) { /* entry type not supported by this browser */ }
  };
  observe("layout-shift", (e) => {
    send({probe: "vital", metric: "layout-shift", value: e.value, recent_input: e.hadRecentInput,
          at: epoch(e.startTime)});
  });
  observe("largest-contentful-paint", (e) => {
    send({probe: "vital", metric: "lcp", value: e.startTime, at: epoch(e.startTime)});
  });
  observe("event", (e) => {
    if (!e.interactionId) return;
    send({probe: "vital", metric: "interaction", value: e.duration, interaction: e.interactionId,
          name: e.name, at: epoch(e.startTime)});
  }, {durationThreshold: 16});
  observe("first-input", (e) => {
    send({probe: "vital", metric: "interaction", value: e.duration, interaction: -1,
          name: e.name, at: epoch(e.startTime)});
  });
  // CLS, INP and LCP as Chrome defines them (Google's web-vitals, attribution build), each with
  // what caused it; reported on every change, the last report of a page is its value.
  const wv = window.__paywitnessWebVitals;
  if (wv) {
    const all = {reportAllChanges: true};
    const report = (metric, cause) => (m) => {
      let why = "";
      try { why = String(cause(m.attribution || {}) || ""); } catch (e) { /* no attribution */ }
      send({probe: "vital", metric: metric, value: m.value, cause: why.slice(0, 160),
            at: epoch(performance.now())});
    };
    try {
      wv.onCLS(report("cls", (a) => a.largestShiftTarget), all);
      wv.onINP(report("inp", (a) => `${a.interactionType || ""} on ${a.interactionTarget || "?"}`),
               all);
      wv.onLCP(report("lcp-wv", (a) => a.element || a.url), all);
    } catch (e) { /* a browser without these entry types: the raw observers below remain */ }
  }
  // Buyer actions and the first visible answer to each click (first DOM change after it).
  let pending = null;
  const mo = new MutationObserver(() => {
    if (pending === null) return;
    const now = performance.now();
    send({probe: "feedback", target: pending.target, value: now - pending.t, at: epoch(now)});
    pending = null;
  });
  const start = () => mo.observe(document, {subtree: true, childList: true, attributes: true,
                                             characterData: true});
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
  document.addEventListener("click", (ev) => {
    if (!ev.isTrusted) return;
    const t = target(ev.target);
    pending = {target: t, t: performance.now()};
    send({probe: "action", kind: "click", target: t, at: epoch(performance.now())});
  }, true);
  document.addEventListener("input", (ev) => {
    if (!ev.isTrusted) return;
    send({probe: "action", kind: "input", target: target(ev.target), at: epoch(performance.now())});
  }, true);
})();
