// The dead-letter queue: dead jobs, newest first, with their last error; retried one
// by one or by selection (POST /api/v1/jobs/{id}/retry, which needs the admin role).

import { get, post, query, seg } from "./api.js";
import { debounce, h, jobLink, panel, put, table, when } from "./dom.js";

const PAGE = 100;

export async function mount(root, ctx) {
  const type = ctx.params.get("type") || "";
  const selected = new Set();
  const list = h("div", { id: "dead-list" });
  const typeInput = h("input", { id: "dead-type", placeholder: "type", value: type });
  const filter = h("form", { class: "bar" }, typeInput, h("button", { type: "submit" }, "Filter"));
  filter.addEventListener("submit", (event) => {
    event.preventDefault();
    location.hash = `#/dead${query({ type: typeInput.value.trim() })}`;
  });

  async function retry(ids) {
    let done = 0;
    for (const id of ids) {
      const answer = await ctx.attempt(() => post(`/api/v1/jobs/${seg(id)}/retry`));
      if (answer === undefined) break; // refused: the API's error is shown
      done += 1;
      selected.delete(id);
    }
    if (done) ctx.flash(`retried ${done} job${done === 1 ? "" : "s"}`);
    load();
  }
  const retryPicked = h("button", { id: "retry-selected" }, "Retry selected");
  retryPicked.addEventListener("click", () => (selected.size ? retry([...selected]) : ctx.flash("select jobs first", "error")));
  root.append(panel("Dead letters", "dead-panel", filter, list, h("div", { class: "bar" }, retryPicked)));

  async function load() {
    let page;
    try {
      page = await get(`/api/v1/jobs${query({ status: "dead", type, limit: PAGE })}`);
    } catch (error) {
      if (error.status !== 401) put(list, h("p", { class: "error" }, error.message));
      return;
    }
    const rows = page.jobs.map((job) => {
      const box = h("input", { type: "checkbox", class: "pick" });
      box.checked = selected.has(job.id);
      box.addEventListener("change", () => (box.checked ? selected.add(job.id) : selected.delete(job.id)));
      return h("tr", { "data-job": job.id },
        h("td", {}, box), h("td", {}, jobLink(job.id)), h("td", {}, job.type),
        h("td", { class: "num" }, String(job.attempts)), h("td", {}, when(job.finished_at)),
        h("td", { class: "muted" }, (job.error || "").split("\n")[0].slice(0, 100)),
        h("td", {}, h("button", { class: "retry", onclick: () => retry([job.id]) }, "Retry")));
    });
    put(list, table(["", "id", "type", "attempts", "died", "error", ""], rows, "no dead jobs"));
  }
  await load();
  const again = debounce(load, 700);
  const off = ctx.bus.on((event) => {
    if (event.type === "job.dead" || (event.type === "job.retried" && event.reason === "manual")) again();
  });
  return () => {
    off();
    again.cancel();
  };
}
