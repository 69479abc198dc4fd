// A job's dependency graph: its parents (depends_on) on the left, the job, its
// children on the right, each box coloured by status and linking to that job's page.

import { jobHref, s } from "./dom.js";

const BOX_W = 190;
const BOX_H = 28;
const GAP_Y = 10;
const COL_X = [10, 280, 550];
const SHOWN = 20;

function box(x, y, id, status, current) {
  const label = `…${id.slice(-12)} ${status}`;
  return s("a", { href: jobHref(id), class: "node" },
    s("title", {}, `${id} (${status})`),
    s("rect", { x, y, width: BOX_W, height: BOX_H, rx: 5,
                class: `box status-${status}${current ? " current" : ""}` }),  // prettier-ignore
    s("text", { x: x + 8, y: y + 18, class: "box-label" }, label));
}

function column(ids, statuses, x, height) {
  const shown = ids.slice(0, SHOWN);
  const top = (height - (shown.length * (BOX_H + GAP_Y) - GAP_Y)) / 2;
  return shown.map((id, i) => ({ id, status: statuses.get(id) || "missing", x, y: top + i * (BOX_H + GAP_Y) }));
}

/**
 * The graph around `job`, with `statuses` (id -> status) of its neighbours; null
 * when it has none.
 */
export function dependencyGraph(job, statuses) {
  const parents = job.depends_on || [];
  const children = job.children || [];
  if (!parents.length && !children.length) return null;
  const rows = Math.min(SHOWN, Math.max(parents.length, children.length, 1));
  const height = rows * (BOX_H + GAP_Y) + GAP_Y;
  const me = { id: job.id, status: job.status, x: COL_X[1], y: (height - BOX_H) / 2 };
  const left = column(parents, statuses, COL_X[0], height);
  const right = column(children, statuses, COL_X[2], height);
  const edge = (a, b) => s("line", { x1: a.x + BOX_W, y1: a.y + BOX_H / 2, x2: b.x, y2: b.y + BOX_H / 2, class: "edge" });
  return s("svg", { viewBox: `0 0 ${COL_X[2] + BOX_W + 10} ${height}`, class: "graph", id: "job-graph" },
    left.map((p) => edge(p, me)), right.map((c) => edge(me, c)),
    left.map((p) => box(p.x, p.y, p.id, p.status, false)),
    box(me.x, me.y, me.id, me.status, true),
    right.map((c) => box(c.x, c.y, c.id, c.status, false)));
}
