// One job: its status and progress as they change, payload, result, every attempt
// with its error (a handler's traceback in full), its output followed live, its
// dependency graph, and what may be done to it (cancel, retry, delete).

import { authHeaders, del, get, post, query, refused, seg } from "./api.js";
import { debounce, duration, h, panel, pretty, put, statusBadge, table, when } from "./dom.js";
import { dependencyGraph } from "./graph.js";

const LIVE = new Set(["pending", "scheduled", "blocked", "running"]);

function facts(job) {
  const items = [
    ["type", job.type], ["owner", job.owner], ["priority", job.priority],
    ["attempts", `${job.attempts} of ${job.max_retries + 1}`], ["worker", job.worker],
    ["timeout", duration(job.timeout_s)], ["created", when(job.created_at)],
    ["run at", when(job.run_at)], ["started", when(job.started_at)],
    ["finished", when(job.finished_at)], ["last reason", job.last_reason],
    ["schedule", job.schedule], ["idempotency key", job.idempotency_key],
    ["unique key", job.unique_key],
  ];  // prettier-ignore
  return h("dl", { class: "facts" }, items
    .filter(([, v]) => v !== null && v !== undefined && v !== "")
    .map(([k, v]) => [h("dt", {}, k), h("dd", {}, String(v))]));
}

function progressBar(fraction, message) {
  if (fraction === null || fraction === undefined) return "";
  const bar = h("span", { class: "bar-fill" });
  bar.style.width = `${Math.round(fraction * 100)}%`;
  return h("div", { class: "progress", id: "job-progress", "data-progress": fraction },
    h("span", { class: "bar-track" }, bar), ` ${Math.round(fraction * 100)}% ${message || ""}`);
}

function attemptsTable(log) {
  const rows = log.map((a) => {
    const [first, ...rest] = (a.error || "").split("\n");
    return h("tr", {},
      h("td", { class: "num" }, String(a.attempt)), h("td", {}, a.worker || ""),
      h("td", {}, a.reason || ""), h("td", {}, when(a.at)),
      h("td", {}, rest.length ? h("details", {}, h("summary", {}, first), h("pre", { class: "trace" }, a.error)) : first));
  });
  return table(["attempt", "worker", "reason", "at", "error"], rows, "no failed attempts");
}

export async function mount(root, ctx) {
  const id = ctx.arg;
  const head = h("div", { class: "job-head" });
  const body = h("div", { class: "grid" });
  const logText = h("pre", { id: "job-logs", class: "logs" });
  const logState = h("span", { id: "logs-state", class: "muted" });
  const logs = panel("Output", "logs-panel", logState, logText);
  root.append(head, body, logs);
  let job = null;

  async function act(label, action) {
    await ctx.attempt(action, `${label}: ${id}`);
    load();
  }

  function render(statuses) {
    const actions = [
      LIVE.has(job.status) ? h("button", { id: "job-cancel", class: "danger", onclick: () => act("cancelled", () => post(`/api/v1/jobs/${seg(id)}/cancel`)) }, "Cancel") : "",
      ["dead", "failed"].includes(job.status) ? h("button", { id: "job-retry", onclick: () => act("retried", () => post(`/api/v1/jobs/${seg(id)}/retry`)) }, "Retry") : "",
      LIVE.has(job.status) ? "" : h("button", { id: "job-delete", class: "danger", onclick: () => act("deleted", () => del(`/api/v1/jobs/${seg(id)}`)) }, "Delete"),
    ];  // prettier-ignore
    put(head, h("h1", {}, "Job ", h("span", { class: "mono" }, job.id), " ", statusBadge(job.status, { id: "job-status" })),
      h("div", { id: "progress-box" }, progressBar(job.progress, job.progress_message)),
      h("div", { class: "bar" }, actions));
    const graph = dependencyGraph(job, statuses);
    put(body,
      panel("Details", "details-panel", facts(job)),
      panel("Payload", "payload-panel", pretty(job.payload)),
      job.result !== null ? panel("Result", "result-panel", pretty(job.result)) : "",
      job.error ? panel("Error", "error-panel", h("pre", { class: "trace", id: "job-error" }, job.error)) : "",
      panel("Attempts", "attempts-panel", attemptsTable(job.attempts_log || [])),
      graph ? panel("Dependencies", "graph-panel", graph) : "");
  }

  async function neighbours() {
    const ids = [...(job.depends_on || []), ...(job.children || [])];
    const statuses = new Map();
    if (!ids.length) return statuses;
    try {
      const found = await post("/api/v1/jobs/status", { ids });
      for (const other of found.jobs) statuses.set(other.id, other.status);
    } catch {
      // drawn as "missing": the job's own page still shows
    }
    return statuses;
  }

  async function load() {
    try {
      job = await get(`/api/v1/jobs/${seg(id)}`);
    } catch (error) {
      if (error.status !== 401) put(head, h("h1", {}, "Job ", h("span", { class: "mono" }, id)), h("p", { class: "error" }, error.message));
      return;
    }
    render(await neighbours());
  }

  // -- output, followed live --------------------------------------------------------
  let following = null; // {attempt, controller, done}
  async function follow(attempt) {
    if (following) following.controller.abort();
    const mine = { attempt, controller: new AbortController(), done: false };
    following = mine;
    const path = `/api/v1/jobs/${seg(id)}/logs${query({ attempt, follow: "true" })}`;
    try {
      const response = await fetch(path, { headers: authHeaders(), signal: mine.controller.signal });
      if (!response.ok) throw await refused(response);
      mine.attempt = Number(response.headers.get("Podium-Attempt")) || attempt;
      logText.replaceChildren();
      put(logState, mine.attempt ? `attempt ${mine.attempt}, following` : "waiting for the first attempt");
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        logText.append(value);
        if (!mine.attempt) put(logState, "following");
      }
      put(logState, mine.attempt ? `attempt ${mine.attempt} ended` : "no attempt ran");
    } catch (error) {
      if (error.name === "AbortError") return;
      put(logState, h("span", { class: "error" }, error.message));
    }
    mine.done = true;
  }

  await load();
  follow(null);
  const refetch = debounce(load, 300);
  const off = ctx.bus.on((event) => {
    if (event.job !== id) return;
    if (event.type === "job.progress") {
      put(head.querySelector("#progress-box"), progressBar(event.progress, event.progress_message));
      return;
    }
    if (event.status) {
      const badge = head.querySelector("#job-status");
      if (badge) badge.replaceWith(statusBadge(event.status, { id: "job-status" }));
    }
    if (event.type === "job.started" && following && event.attempt > (following.attempt || 0)) {
      follow(event.attempt);
    }
    refetch();
  });
  return () => {
    off();
    refetch.cancel();
    if (following) following.controller.abort();
  };
}
