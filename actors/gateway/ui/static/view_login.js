// The login form (auth on): POST /auth/login, the token kept in sessionStorage for
// this tab; then back to the page that asked for it.

import { ApiError, login } from "./api.js";
import { h, put } from "./dom.js";

export function mount(root, ctx) {
  const next = ctx.params.get("next") || "#/";
  const reason = ctx.params.get("reason");
  const error = h("p", { id: "login-error", class: "error" }, reason || "");
  const username = h("input", { id: "username", name: "username", autocomplete: "username", required: true });
  const password = h("input", { id: "password", name: "password", type: "password",
                                autocomplete: "current-password", required: true });  // prettier-ignore
  const form = h("form", { id: "login", class: "panel login" },
    h("h2", {}, "Log in to podium"),
    h("label", {}, "User", username),
    h("label", {}, "Password", password),
    h("button", { type: "submit" }, "Log in"),
    error);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await login(username.value, password.value);
    } catch (failure) {
      if (failure instanceof ApiError && failure.status === 404) {
        put(error, "Auth is off on this cluster: no login is needed.");
        location.hash = next;
        return;
      }
      put(error, failure.message);
      return;
    }
    location.hash = next.startsWith("#/login") ? "#/" : next;
  });
  root.append(form);
  username.focus();
}
