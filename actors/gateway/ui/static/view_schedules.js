// Schedules: each with its next run and last fire, paused and resumed here, deleted,
// and defined or edited with the form. The API changes a schedule by deleting it and
// defining it again (its ticks then start afresh), so that is what saving an edit does.

import { del, get, post, seg } from "./api.js";
import { h, jobLink, panel, put, table, when } from "./dom.js";

function field(label, input) {
  return h("label", {}, label, input);
}

export async function mount(root, ctx) {
  const list = h("div", { id: "schedule-list" });
  const name = h("input", { id: "schedule-name", required: true });
  const cron = h("input", { id: "schedule-cron", placeholder: "*/5 * * * *" });
  const every = h("input", { id: "schedule-every", type: "number", min: "1", step: "any", placeholder: "seconds" });
  const timezone = h("input", { id: "schedule-timezone", placeholder: "UTC" });
  const catchUp = h("select", { id: "schedule-catch-up" },
    h("option", { value: "" }, "server default"),
    ["skip", "one", "all"].map((rule) => h("option", { value: rule }, rule)));
  const job = h("textarea", { id: "schedule-job", rows: 4 }, '{"type": "noop"}');
  let editing = null; // the name of the schedule the form was filled from
  const note = h("p", { class: "muted" }, "Saving an edited schedule deletes it and defines it again: its ticks start afresh.");
  const form = h("form", { id: "schedule-form", class: "stack" },
    field("name", name), field("cron", cron), field("or every (s)", every),
    field("timezone", timezone), field("catch up", catchUp), field("job (JSON)", job),
    h("button", { type: "submit", id: "schedule-save" }, "Save"), note);

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    let body;
    try {
      body = { name: name.value.trim(), job: JSON.parse(job.value) };
    } catch (error) {
      return ctx.flash(`job is not valid JSON: ${error.message}`, "error");
    }
    if (cron.value.trim()) body.cron = cron.value.trim();
    if (every.value) body.every_s = Number(every.value);
    if (timezone.value.trim()) body.timezone = timezone.value.trim();
    if (catchUp.value) body.catch_up = catchUp.value;
    if (editing === body.name) {
      const gone = await ctx.attempt(() => del(`/api/v1/schedules/${seg(editing)}`));
      if (gone === undefined) return;
    }
    const saved = await ctx.attempt(() => post("/api/v1/schedules", body), `saved schedule ${body.name}`);
    if (saved) editing = null;
    load();
  });

  function edit(schedule) {
    editing = schedule.name;
    name.value = schedule.name;
    cron.value = schedule.cron || "";
    every.value = schedule.every_s ?? "";
    timezone.value = schedule.timezone || "";
    catchUp.value = schedule.catch_up || "";
    const { owner: _owner, ...definition } = schedule.job;
    job.value = JSON.stringify(definition, null, 2);
    name.focus();
  }

  async function change(label, action) {
    await ctx.attempt(action, label);
    load();
  }

  root.append(h("div", { class: "split" }, panel("Schedules", "schedules-panel", list), panel("Define or edit", "schedule-edit", form)));

  async function load() {
    let listing;
    try {
      listing = await get("/api/v1/schedules");
    } catch (error) {
      if (error.status !== 401) put(list, h("p", { class: "error" }, error.message));
      return;
    }
    const rows = listing.schedules.map((sc) => {
      const path = `/api/v1/schedules/${seg(sc.name)}`;
      return h("tr", { "data-schedule": sc.name },
        h("td", {}, sc.name), h("td", { class: "mono" }, sc.cron || `every ${sc.every_s} s`),
        h("td", {}, sc.timezone), h("td", {}, sc.job.type),
        h("td", {}, sc.paused ? h("span", { class: "state state-paused" }, "paused") : when(sc.next_run_at)),
        h("td", {}, when(sc.last_fired)), h("td", {}, sc.last_job ? jobLink(sc.last_job) : ""),
        h("td", { class: "num" }, String(sc.fired)),
        h("td", { class: "actions" },
          sc.paused
            ? h("button", { class: "resume", onclick: () => change(`resumed ${sc.name}`, () => post(`${path}/resume`)) }, "Resume")
            : h("button", { class: "pause", onclick: () => change(`paused ${sc.name}`, () => post(`${path}/pause`)) }, "Pause"),
          h("button", { class: "edit", onclick: () => edit(sc) }, "Edit"),
          h("button", { class: "danger", onclick: () => change(`deleted ${sc.name}`, () => del(path)) }, "Delete")));
    });
    put(list, table(["name", "when", "timezone", "job", "next run", "last fired", "last job", "fired", ""], rows, "no schedules"));
  }
  await load();
  const timer = setInterval(load, 5000);
  return () => clearInterval(timer);
}
