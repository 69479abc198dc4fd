// Job search: a page of jobs by status and type (newest first), opened by id, and
// cancelled one by one, by selection, or all that match the filters. Rows on the page
// follow their jobs' events; new jobs that match bring the first page up to date.

import { get, post, query, seg } from "./api.js";
import { debounce, h, jobLink, put, statusBadge, table, when } from "./dom.js";

const STATUSES = ["pending", "scheduled", "blocked", "running", "succeeded", "failed", "dead", "cancelled"];
const LIVE = new Set(["pending", "scheduled", "blocked", "running"]);
const PAGE = 50;

function row(job, selected) {
  const box = h("input", { type: "checkbox", class: "pick", value: job.id });
  box.checked = selected.has(job.id);
  box.addEventListener("change", () => (box.checked ? selected.add(job.id) : selected.delete(job.id)));
  return h("tr", { "data-job": job.id },
    h("td", {}, box),
    h("td", {}, jobLink(job.id)),
    h("td", {}, job.type),
    h("td", { class: "cell-status" }, statusBadge(job.status)),
    h("td", { class: "num" }, String(job.attempts)),
    h("td", {}, job.worker || ""),
    h("td", {}, when(job.created_at)),
    h("td", { class: "muted" }, job.error ? job.error.split("\n")[0].slice(0, 80) : ""));
}

export async function mount(root, ctx) {
  const status = ctx.params.get("status") || "";
  const type = ctx.params.get("type") || "";
  const cursor = ctx.params.get("cursor") || "";
  const selected = new Set();

  const statusSelect = h("select", { name: "status", id: "filter-status" },
    h("option", { value: "" }, "any status"),
    STATUSES.map((s) => h("option", { value: s, selected: s === status }, s)));
  const typeInput = h("input", { name: "type", id: "filter-type", placeholder: "type", value: type });
  const search = h("form", { class: "bar", id: "job-search" }, statusSelect, typeInput,
    h("button", { type: "submit" }, "Search"));
  search.addEventListener("submit", (event) => {
    event.preventDefault();
    location.hash = `#/jobs${query({ status: statusSelect.value, type: typeInput.value.trim() })}`;
  });
  const idInput = h("input", { name: "id", id: "open-id", placeholder: "job id", class: "mono" });
  const open = h("form", { class: "bar" }, idInput, h("button", { type: "submit" }, "Open job"));
  open.addEventListener("submit", (event) => {
    event.preventDefault();
    if (idInput.value.trim()) location.hash = `#/job/${seg(idInput.value.trim())}`;
  });

  const list = h("div", { id: "job-list" });
  const pager = h("div", { class: "bar" });
  const cancelPicked = h("button", { id: "cancel-selected", class: "danger" }, "Cancel selected");
  cancelPicked.addEventListener("click", async () => {
    if (!selected.size) return ctx.flash("select jobs first", "error");
    const ids = [...selected];
    const done = await ctx.attempt(() => post("/api/v1/jobs/cancel", { ids }), (r) => `cancelled ${r.cancelled}`);
    if (done) selected.clear();
    load();
  });
  const cancelAll = h("button", { id: "cancel-matching", class: "danger" }, "Cancel all matching");
  cancelAll.addEventListener("click", async () => {
    const filters = {};
    if (type) filters.type = type;
    if (status) filters.status = status;
    await ctx.attempt(() => post("/api/v1/jobs/cancel", filters), (r) => `cancelled ${r.cancelled}`);
    load();
  });
  root.append(h("section", { class: "panel" }, h("h2", {}, "Jobs"), h("div", { class: "bar" }, search, open),
    list, h("div", { class: "bar" }, cancelPicked, cancelAll), pager));

  let shown = new Set();
  async function load() {
    let page;
    try {
      page = await get(`/api/v1/jobs${query({ status, type, cursor, limit: PAGE })}`);
    } catch (error) {
      if (error.status !== 401) put(list, h("p", { class: "error" }, error.message));
      return;
    }
    shown = new Set(page.jobs.map((job) => job.id));
    put(list, table(["", "id", "type", "status", "attempts", "worker", "created", "error"],
      page.jobs.map((job) => row(job, selected)), "no jobs match"));
    put(pager,
      cursor ? h("a", { href: `#/jobs${query({ status, type })}` }, "newest") : "",
      page.cursor ? h("a", { id: "next-page", href: `#/jobs${query({ status, type, cursor: page.cursor })}` }, "next page") : "");
  }
  await load();
  const again = debounce(load, 1000);
  const off = ctx.bus.on((event) => {
    if (!event.type.startsWith("job.")) return;
    if (shown.has(event.job) && event.status) {
      const cell = list.querySelector(`tr[data-job="${CSS.escape(event.job)}"] .cell-status`);
      if (cell) put(cell, statusBadge(event.status));
      if (status && event.status !== status) again();
    } else if (!cursor && (!type || event.job_type === type) && (!status || event.status === status
               || (event.type === "job.submitted" && LIVE.has(status)))) {  // prettier-ignore
      again();
    }
  });
  return () => {
    off();
    again.cancel();
  };
}
