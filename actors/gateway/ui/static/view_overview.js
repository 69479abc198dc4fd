// The overview: the cluster (this master's view and every master's), workers, queues
// by type and priority, and the live charts. The panels are read again every few
// seconds and soon after events; the charts redraw from the events alone.

import { get } from "./api.js";
import { liveCharts } from "./charts.js";
import { debounce, h, panel, put, statusBadge, table, when } from "./dom.js";

const REFRESH_MS = 3000;
const STATUSES = ["pending", "scheduled", "blocked", "running", "succeeded", "failed", "dead", "cancelled"];

function refusal(error) {
  return h("p", { class: "error" }, error.message);
}

function clusterPanel(view, masters) {
  const facts = h("dl", { class: "facts" },
    h("dt", {}, "leader"), h("dd", { id: "leader" }, view.leader ?? "being elected"),
    h("dt", {}, "term"), h("dd", { id: "term" }, String(view.term)),
    h("dt", {}, "this master"), h("dd", {}, `${view.node} (${view.role})`));
  if (masters instanceof Error) return [facts, refusal(masters)];
  const rows = masters.masters.map((m) =>
    h("tr", { "data-master": m.node },
      h("td", {}, m.node),
      h("td", {}, m.reachable ? m.role : ""),
      h("td", {}, m.reachable ? String(m.term) : ""),
      h("td", { class: "num" }, m.reachable ? String(m.commit_index) : ""),
      h("td", { class: "num" }, m.reachable ? String(m.applied_index) : ""),
      h("td", { class: "health" }, health(m))));
  return [facts, table(["master", "role", "term", "commit", "applied", "health"], rows)];
}

function health(master) {
  if (!master.reachable) return h("span", { class: "bad" }, `unreachable: ${master.error}`);
  if (master.disk_full) return h("span", { class: "bad" }, `disk full: ${master.disk_full}`);
  return master.ready ? h("span", { class: "good" }, "ready")
    : h("span", { class: "warn" }, master.leader ? "catching up" : "no leader");  // prettier-ignore
}

function workersPanel(workers) {
  if (workers instanceof Error) return refusal(workers);
  const rows = workers.workers.map((w) =>
    h("tr", { "data-worker": w.id },
      h("td", {}, w.id),
      h("td", {}, h("span", { class: `state state-${w.state}` }, w.state),
        w.draining ? h("span", { class: "state state-draining" }, "draining") : ""),
      h("td", { class: "num" }, String(w.slots)),
      h("td", { class: "num" }, String(w.running)),
      h("td", {}, when(w.last_heartbeat)),
      h("td", { class: "muted" }, (w.types || []).join(", "))));
  return table(["worker", "state", "slots", "running", "last heartbeat", "types"], rows, "no workers");
}

function queuesPanel(stats) {
  const totals = h("div", { class: "tiles" }, STATUSES.map((status) =>
    h("a", { class: "tile", href: `#/jobs?status=${status}`, "data-count": status },
      h("b", {}, String(stats.jobs[status] ?? 0)), statusBadge(status))));
  const types = Object.keys(stats.by_type).sort();
  const paused = new Set(stats.limits.filter((l) => l.paused).map((l) => l.type));
  const rows = types.map((type) =>
    h("tr", { "data-type": type },
      h("td", {}, h("a", { href: `#/jobs?type=${encodeURIComponent(type)}` }, type),
        paused.has(type) ? h("span", { class: "state state-paused" }, "paused") : ""),
      STATUSES.map((status) => h("td", { class: "num" }, String(stats.by_type[type][status] || "")))));
  const depth = Object.entries(stats.queue_depth).sort((a, b) => Number(a[0]) - Number(b[0]));
  return [
    totals,
    table(["type", ...STATUSES], rows, "no jobs yet"),
    h("p", { class: "muted", id: "queue-depth" }, "due now, by priority (0 first): ",
      depth.length ? depth.map(([p, n]) => `${p}: ${n}`).join(" · ") : "none waiting"),
  ];
}

async function settle(promise) {
  try {
    return await promise;
  } catch (error) {
    if (error.status === 401) throw error;
    return error;
  }
}

export async function mount(root, ctx) {
  const cluster = panel("Cluster", "cluster-panel");
  const workers = panel("Workers", "workers-panel");
  const queues = panel("Queues", "queues-panel");
  const charts = panel("Live", "charts-panel");
  root.append(h("div", { class: "grid" }, charts, queues, cluster, workers));
  const title = (el) => el.querySelector("h2");

  let busy = false;
  async function refresh() {
    if (busy) return;
    busy = true;
    try {
      const [view, masters, listing, stats] = await Promise.all([
        settle(get("/api/v1/cluster")), settle(get("/api/v1/cluster/masters")),
        settle(get("/api/v1/workers")), settle(get("/api/v1/stats")),
      ]);  // prettier-ignore
      put(cluster, title(cluster), view instanceof Error ? refusal(view) : clusterPanel(view, masters));
      put(workers, title(workers), workersPanel(listing));
      put(queues, title(queues), stats instanceof Error ? refusal(stats) : queuesPanel(stats));
    } catch {
      // 401: the page has gone to the login form
    } finally {
      busy = false;
    }
  }
  const draw = () => put(charts, title(charts), liveCharts(ctx.metrics));
  draw();
  await refresh();
  const soon = debounce(refresh, 500);
  const off = ctx.bus.on((event) => {
    if (event.type !== "job.progress") soon();
  });
  const timers = [setInterval(refresh, REFRESH_MS), setInterval(draw, 1000)];
  return () => {
    off();
    soon.cancel();
    timers.forEach(clearInterval);
  };
}
