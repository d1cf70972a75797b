(() => {
  if (window.__pwRecorder) return;
  window.__pwRecorder = true;
  const q = (v) => JSON.stringify(String(v));
  const unique = (sel, el) => {
    try { return document.querySelectorAll(sel).length === 1 && document.querySelector(sel) === el; }
    catch (e) { return false; }
  };
  window.__pwSelector = (el) => {
    const tid = el.closest("[data-testid]");
    if (tid && (tid === el || el.matches("input,select,textarea") === false)) {
      const sel = `[data-testid=${q(tid.dataset.testid)}]`;
      if (tid === el || unique(sel, tid)) return sel;
    }
    if (el.id && /^[A-Za-z][\w-]*$/.test(el.id)) return "#" + el.id;
    const tag = el.tagName.toLowerCase();
    if (el.name) { const s = `${tag}[name=${q(el.name)}]`; if (unique(s, el)) return s; }
    if (tid) return `[data-testid=${q(tid.dataset.testid)}]`;
    const label = (el.getAttribute("aria-label") || el.innerText || "").trim().slice(0, 40);
    if (label && /^(a|button)$/.test(tag)) return `${tag}:has-text(${q(label)})`;
    let path = tag, node = el;
    while (node.parentElement && node.parentElement !== document.body) {
      node = node.parentElement;
      if (node.id) { path = `#${node.id} ${path}`; break; }
    }
    return path;
  };
  const target = (ev) => {
    const el = ev.target.closest("a,button,input,select,textarea,label,[role=button],[data-testid]")
      || ev.target;
    return el;
  };
  const send = (kind, el, extra) => {
    if (!window.paywitnessRecord) return;
    // The page's own clock (ms since the epoch, shared by every frame's process): events of a
    // cross-site frame can reach the recorder after a later event of another frame.
    const at = performance.timeOrigin + performance.now();
    window.paywitnessRecord({kind: kind, selector: window.__pwSelector(el), at: at, ...extra});
  };
  document.addEventListener("click", (ev) => {
    const el = target(ev);
    if (el.matches("input[type=text],input[type=email],input[type=tel],input:not([type]),textarea,select")) return;
    if (el.matches("input[type=checkbox],input[type=radio]")) { send("check", el, {}); return; }
    send("click", el, {});
  }, true);
  // Typing is reported as it happens (a change event comes only on blur, which can arrive
  // after the click in another frame that caused it); the recording keeps the last value.
  document.addEventListener("input", (ev) => {
    const el = ev.target;
    if (el.matches && el.matches("input,textarea") && !el.matches("[type=checkbox],[type=radio]"))
      send("fill", el, {value: el.value});
  }, true);
  document.addEventListener("change", (ev) => {
    const el = ev.target;
    if (el.matches && el.matches("select")) send("select", el, {value: el.value});
  }, true);
  document.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" && ev.target.matches && ev.target.matches("input")) {
      const el = ev.target;
      send("fill", el, {value: el.value});
      send("press", el, {key: "Enter"});
    }
  }, true);
})();
