// Building the page: elements from data (text only, never HTML, so nothing a job
// carries can become markup), and the small formatting every view shares.

const SVG_NS = "http://www.w3.org/2000/svg";

function fill(el, attrs, children) {
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "class") el.setAttribute("class", value);
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** An HTML element: h("a", {href: "#/"}, "home"). */
export function h(tag, attrs, ...children) {
  return fill(document.createElement(tag), attrs, children);
}

/** An SVG element, as h() makes HTML ones. */
export function s(tag, attrs, ...children) {
  return fill(document.createElementNS(SVG_NS, tag), attrs, children);
}

/** Replace what `el` holds with `children`. */
export function put(el, ...children) {
  el.replaceChildren();
  return fill(el, {}, children);
}

/** "2025-11-20 14:03:07" in the browser's time zone, from epoch seconds. */
export function when(seconds) {
  if (seconds === null || seconds === undefined) return "";
  const d = new Date(seconds * 1000);
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** A duration in seconds as people read it: "850 ms", "4.2 s", "3 min". */
export function duration(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return "";
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
  if (seconds < 120) return `${seconds.toFixed(1)} s`;
  return `${Math.round(seconds / 60)} min`;
}

export function statusBadge(status, attrs = {}) {
  return h("span", { ...attrs, class: `status status-${status}` }, status);
}

/** The job page's address. */
export function jobHref(id) {
  return `#/job/${encodeURIComponent(id)}`;
}

export function jobLink(id) {
  return h("a", { href: jobHref(id), class: "mono" }, id);
}

/** JSON as an indented block. */
export function pretty(value) {
  return h("pre", { class: "json" }, JSON.stringify(value, null, 2));
}

/** A table of `rows` under `headers`, or `empty` when there are none. */
export function table(headers, rows, empty = "none") {
  if (!rows.length) return h("p", { class: "empty" }, empty);
  return h(
    "table",
    {},
    h("thead", {}, h("tr", {}, headers.map((name) => h("th", {}, name)))),
    h("tbody", {}, rows),
  );
}

/** A panel: a titled box the views are made of. */
export function panel(title, id, ...children) {
  return h("section", { class: "panel", id }, h("h2", {}, title), children);
}

/**
 * Calls `fn` at most once per `wait_ms`, the last call winning: a burst of events
 * becomes one refresh.
 */
export function debounce(fn, wait_ms) {
  let timer = null;
  const call = () => {
    if (timer !== null) return;
    timer = setTimeout(() => {
      timer = null;
      fn();
    }, wait_ms);
  };
  call.cancel = () => {
    clearTimeout(timer);
    timer = null;
  };
  return call;
}
