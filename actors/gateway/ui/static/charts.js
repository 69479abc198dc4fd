// Throughput and latency, counted from the events stream as it arrives (nothing is
// asked of the server for them), and drawn as small SVG line charts.

import { duration, h, s } from "./dom.js";

// jobs whose submission was seen and whose end was not yet: enough for a busy minute
const SUBMITTED_KEPT = 50000;
const FINAL = new Set(["job.finished", "job.dead"]);

function quantile(sorted, q) {
  if (!sorted.length) return null;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

/**
 * Per-bucket counts of jobs ended and their latencies (submitted to ended, from the
 * events' own times: both are the leader's log times), for the last `spanS` seconds
 * of the browser's clock.
 */
export class LiveMetrics {
  constructor({ spanS = 120, bucketS = 2, now = () => Date.now() / 1000 } = {}) {
    this.spanS = spanS;
    this.bucketS = bucketS;
    this.now = now;
    this.buckets = new Map(); // bucket number -> {ended, latencies}
    this.submitted = new Map(); // job id -> submit time
    this.ended = 0;
  }

  observe(event) {
    if (event.type === "job.submitted") {
      this.submitted.set(event.job, event.time);
      if (this.submitted.size > SUBMITTED_KEPT) {
        this.submitted.delete(this.submitted.keys().next().value);
      }
      return;
    }
    if (!FINAL.has(event.type)) return;
    this.ended += 1;
    const bucket = this.bucket(Math.floor(this.now() / this.bucketS));
    bucket.ended += 1;
    const at = this.submitted.get(event.job);
    if (at !== undefined) {
      bucket.latencies.push(Math.max(0, event.time - at));
      this.submitted.delete(event.job);
    }
  }

  bucket(n) {
    let found = this.buckets.get(n);
    if (!found) {
      found = { ended: 0, latencies: [] };
      this.buckets.set(n, found);
      const oldest = n - Math.ceil(this.spanS / this.bucketS) - 1;
      for (const key of this.buckets.keys()) if (key < oldest) this.buckets.delete(key);
    }
    return found;
  }

  /** [{t, rate, p50, p95}] for each bucket of the span, oldest first (t: seconds ago). */
  series() {
    const last = Math.floor(this.now() / this.bucketS);
    const count = Math.ceil(this.spanS / this.bucketS);
    const out = [];
    for (let n = last - count + 1; n <= last; n += 1) {
      const bucket = this.buckets.get(n) || { ended: 0, latencies: [] };
      const sorted = [...bucket.latencies].sort((a, b) => a - b);
      out.push({
        t: (last - n) * this.bucketS,
        rate: bucket.ended / this.bucketS,
        p50: quantile(sorted, 0.5),
        p95: quantile(sorted, 0.95),
      });
    }
    return out;
  }
}

const W = 560;
const H = 150;
const PAD = { left: 54, right: 10, top: 10, bottom: 22 };

function path(points, x, y) {
  let d = "";
  let pen = false;
  for (const p of points) {
    if (p.v === null) {
      pen = false;
      continue;
    }
    d += `${pen ? "L" : "M"}${x(p.t).toFixed(1)},${y(p.v).toFixed(1)} `;
    pen = true;
  }
  return d.trim();
}

/**
 * A line chart of `lines` ([{name, cls, points: [{t, v}]}], t in seconds ago over
 * `spanS`), its y axis labelled with `format`.
 */
export function lineChart(lines, spanS, format) {
  const values = lines.flatMap((line) => line.points.map((p) => p.v)).filter((v) => v !== null);
  const top = Math.max(...values, 0) * 1.15 || 1;
  const x = (t) => PAD.left + (1 - t / spanS) * (W - PAD.left - PAD.right);
  const y = (v) => PAD.top + (1 - v / top) * (H - PAD.top - PAD.bottom);
  const grid = [0, 0.5, 1].map((f) =>
    s("g", {},
      s("line", { x1: PAD.left, x2: W - PAD.right, y1: y(top * f), y2: y(top * f), class: "gridline" }),
      s("text", { x: PAD.left - 6, y: y(top * f) + 4, class: "axis", "text-anchor": "end" },
        format(top * f))),
  );
  const ticks = [spanS, spanS / 2, 0].map((t) =>
    s("text", { x: x(t), y: H - 6, class: "axis", "text-anchor": "middle" },
      t === 0 ? "now" : `-${Math.round(t)} s`),
  );
  const drawn = lines.map((line) => s("path", { d: path(line.points, x, y), class: `line ${line.cls}` }));
  return s("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart", role: "img" }, grid, ticks, drawn);
}

/** The two charts of the overview, from `metrics` as they are now. */
export function liveCharts(metrics) {
  const points = metrics.series();
  const latest = points.slice(-5);
  const rate = latest.reduce((sum, p) => sum + p.rate, 0) / latest.length;
  const p95s = points.map((p) => p.p95).filter((v) => v !== null);
  const rateLine = { name: "jobs/s", cls: "rate", points: points.map((p) => ({ t: p.t, v: p.rate })) };
  const p50Line = { name: "p50", cls: "p50", points: points.map((p) => ({ t: p.t, v: p.p50 })) };
  const p95Line = { name: "p95", cls: "p95", points: points.map((p) => ({ t: p.t, v: p.p95 })) };
  return [
    h("figure", { class: "chart-box" },
      h("figcaption", {}, "Throughput: jobs ended per second ",
        h("b", { id: "rate-now" }, rate.toFixed(1)), " now, ",
        h("b", { id: "live-ended" }, String(metrics.ended)), " since this page opened"),
      lineChart([rateLine], metrics.spanS, (v) => v.toFixed(v < 10 ? 1 : 0))),
    h("figure", { class: "chart-box" },
      h("figcaption", {}, "Latency, submitted to ended: ",
        h("span", { class: "key p50" }, "p50"), " ", h("span", { class: "key p95" }, "p95"),
        p95s.length ? ` (latest p95 ${duration(p95s[p95s.length - 1])})` : ""),
      lineChart([p50Line, p95Line], metrics.spanS, duration)),
  ];
}
