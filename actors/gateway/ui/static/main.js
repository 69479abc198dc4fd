// The page: one events stream, a router over "#/..." views, the session and messages.
// A view is a module whose mount(root, ctx) draws into `root` and returns what to
// call when the view is left (to stop its timers, listeners and streams).

import { get, onUnauthorized, session } from "./api.js";
import { LiveMetrics } from "./charts.js";
import { h, put } from "./dom.js";
import { Bus, EventStream } from "./sse.js";
import * as dead from "./view_dead.js";
import * as job from "./view_job.js";
import * as jobs from "./view_jobs.js";
import * as limits from "./view_limits.js";
import * as login from "./view_login.js";
import * as overview from "./view_overview.js";
import * as schedules from "./view_schedules.js";

const VIEWS = { "": overview, jobs, job, dead, schedules, limits, login };

const bus = new Bus();
const metrics = new LiveMetrics();
bus.on((event) => metrics.observe(event));
const stream = new EventStream("/api/v1/events?type=job,worker,leader", {
  onEvent: (event) => bus.emit(event),
  onState: (state) => {
    const el = document.getElementById("stream-state");
    el.textContent = state;
    el.className = `stream stream-${state}`;
  },
});

let leave = () => {};
let shown = 0; // which route() call drew the view now shown
let flashTimer = null;

/** A message at the top of the page; errors stay until the next one. */
function flash(text, kind = "ok") {
  const el = document.getElementById("flash");
  put(el, h("span", { class: `flash flash-${kind}` }, text));
  clearTimeout(flashTimer);
  if (kind === "ok") flashTimer = setTimeout(() => el.replaceChildren(), 4000);
}

/** Runs `action` (an API call), showing the API's error when it is refused. */
async function attempt(action, done) {
  try {
    const result = await action();
    if (done) flash(typeof done === "function" ? done(result) : done);
    return result;
  } catch (error) {
    if (error.status !== 401) flash(error.message, "error");
    return undefined;
  }
}

function parse(hash) {
  const [path, search] = hash.replace(/^#\/?/, "").split("?");
  const [name, ...rest] = path.split("/");
  return { name, arg: rest.length ? decodeURIComponent(rest.join("/")) : null,
           params: new URLSearchParams(search || "") };  // prettier-ignore
}

function showUser() {
  const user = session.user();
  const who = document.getElementById("who");
  if (!user) return who.replaceChildren();
  put(who, h("span", { id: "user" }, `${user.name} (${user.role})`), " ",
    h("button", { id: "logout", class: "link", onclick: logout }, "log out"));
}

function logout() {
  session.clear();
  stream.stop();
  location.hash = "#/login";
}

async function route() {
  leave();
  leave = () => {};
  const mine = ++shown;
  document.getElementById("flash").replaceChildren();
  const { name, arg, params } = parse(location.hash);
  const view = VIEWS[name] || overview;
  document.querySelectorAll("#nav a").forEach((a) => {
    a.classList.toggle("current", a.getAttribute("href") === `#/${name}`);
  });
  showUser();
  if (view !== login) stream.start();
  // each view draws into its own box: one left while it was loading draws nowhere
  const root = h("div", { class: `view view-${name || "overview"}` });
  document.getElementById("view").replaceChildren(root);
  const ctx = { arg, params, bus, metrics, flash, attempt, stream };
  const cleanup = (await view.mount(root, ctx)) || (() => {});
  if (mine === shown) leave = cleanup;
  else cleanup();
}

onUnauthorized((reason) => {
  stream.stop();
  session.clear();
  if (!location.hash.startsWith("#/login")) {
    const next = location.hash || "#/";
    location.hash = `#/login?${new URLSearchParams({ next, reason })}`;
  }
});

window.addEventListener("hashchange", route);
get("/health")
  .then((health) => {
    document.getElementById("served-by").textContent = `served by ${health.node}`;
  })
  .catch(() => {});
route();
