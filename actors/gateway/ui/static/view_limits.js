// Job types: every type with jobs or a limit, paused and resumed here, and its rate
// and concurrency limit set (PUT replaces it whole) or cleared.

import { del, get, post, put as putJson, seg } from "./api.js";
import { h, panel, put, table } from "./dom.js";

function number(id, placeholder) {
  return h("input", { id, type: "number", min: "0", step: "any", placeholder });
}

export async function mount(root, ctx) {
  const list = h("div", { id: "type-list" });
  const type = h("input", { id: "limit-type", required: true, placeholder: "type" });
  const rate = number("limit-rate", "jobs per second");
  const burst = number("limit-burst", "tokens");
  const running = number("limit-running", "at once");
  const form = h("form", { id: "limit-form", class: "stack" },
    h("label", {}, "type", type), h("label", {}, "rate_per_s", rate),
    h("label", {}, "burst", burst), h("label", {}, "max_running", running),
    h("div", { class: "bar" },
      h("button", { type: "submit", id: "limit-save" }, "Set limit"),
      h("button", { type: "button", id: "type-pause", onclick: () => pause(type.value.trim(), true) }, "Pause type"),
      h("button", { type: "button", id: "type-resume", onclick: () => pause(type.value.trim(), false) }, "Resume type")),
    h("p", { class: "muted" }, "A limit replaces the type's old one; a field left empty is no limit of that kind."));

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = {};
    if (rate.value) body.rate_per_s = Number(rate.value);
    if (burst.value) body.burst = Number(burst.value);
    if (running.value) body.max_running = Number(running.value);
    await ctx.attempt(() => putJson(`/api/v1/limits/${seg(type.value.trim())}`, body), `limit set on ${type.value.trim()}`);
    load();
  });

  async function pause(name, paused) {
    if (!name) return ctx.flash("name a type first", "error");
    const verb = paused ? "pause" : "resume";
    await ctx.attempt(() => post(`/api/v1/types/${seg(name)}/${verb}`), `${verb}d ${name}`);
    load();
  }

  function edit(limit) {
    type.value = limit.type;
    rate.value = limit.rate_per_s ?? "";
    burst.value = limit.burst ?? "";
    running.value = limit.max_running ?? "";
    type.focus();
  }

  root.append(h("div", { class: "split" }, panel("Types", "types-panel", list), panel("Limit or pause a type", "limit-edit", form)));

  async function load() {
    let limits;
    let stats;
    try {
      [limits, stats] = await Promise.all([get("/api/v1/limits"), get("/api/v1/stats")]);
    } catch (error) {
      if (error.status !== 401) put(list, h("p", { class: "error" }, error.message));
      return;
    }
    const byType = new Map(limits.limits.map((l) => [l.type, l]));
    const names = [...new Set([...byType.keys(), ...Object.keys(stats.by_type)])].sort();
    const rows = names.map((name) => {
      const limit = byType.get(name) || { type: name, paused: false };
      const counts = stats.by_type[name] || {};
      const limited = limit.rate_per_s != null || limit.max_running != null;
      return h("tr", { "data-type": name },
        h("td", {}, name),
        h("td", { class: "cell-paused" }, limit.paused ? h("span", { class: "state state-paused" }, "paused") : "running"),
        h("td", { class: "num" }, limit.rate_per_s != null ? `${limit.rate_per_s}/s (burst ${limit.burst})` : ""),
        h("td", { class: "num" }, limit.max_running != null ? String(limit.max_running) : ""),
        h("td", { class: "num" }, String(counts.pending || 0)),
        h("td", { class: "num" }, String(counts.running || 0)),
        h("td", { class: "num" }, limit.throttled ? String(limit.throttled) : ""),
        h("td", { class: "actions" },
          limit.paused
            ? h("button", { class: "resume", onclick: () => pause(name, false) }, "Resume")
            : h("button", { class: "pause", onclick: () => pause(name, true) }, "Pause"),
          h("button", { class: "edit", onclick: () => edit(limit) }, "Edit limit"),
          limited ? h("button", { class: "danger", onclick: async () => {
            await ctx.attempt(() => del(`/api/v1/limits/${seg(name)}`), `limit cleared on ${name}`);
            load();
          } }, "Clear limit") : ""));  // prettier-ignore
    });
    put(list, table(["type", "state", "rate", "max running", "pending", "running", "throttled", ""], rows, "no types yet"));
  }
  await load();
  const timer = setInterval(load, 3000);
  return () => clearInterval(timer);
}
