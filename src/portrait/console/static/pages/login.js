// Sign in with an API key: checked against GET /v1/me before it is stored.

import { setKey, whoami } from "../api.js";
import { h } from "../dom.js";
import { t } from "../i18n.js";

export function render({ message = "", onSignedIn }) {
  const input = h("input", { id: "api-key", type: "password", name: "api-key", autocomplete: "off",
    placeholder: t("auth.placeholder"), required: true, spellcheck: "false" });
  const remember = h("input", { id: "remember", type: "checkbox" });
  const status = h("div", { class: "error", role: "alert", hidden: !message }, message);
  const button = h("button", { type: "submit", class: "primary", id: "signin" }, t("auth.submit"));

  async function submit(ev) {
    ev.preventDefault();
    const key = input.value.trim();
    if (!key) return;
    button.disabled = true;
    status.hidden = true;
    try {
      const who = await whoami(key);
      setKey(key, remember.checked);
      onSignedIn(who);
    } catch (e) {
      status.textContent = e.status === 0 ? t("common.offline") : t("auth.invalid", { message: e.message });
      status.hidden = false;
    } finally {
      button.disabled = false;
    }
  }

  return h("section", { class: "login card" },
    h("h1", {}, t("auth.title")),
    h("p", { class: "muted" }, t("auth.intro")),
    h("form", { onsubmit: submit },
      h("label", { for: "api-key" }, t("auth.key")),
      input,
      h("label", { class: "check" }, remember, " ", t("auth.remember")),
      status,
      button),
    h("p", { class: "muted small" }, t("auth.howto")),
    h("pre", { class: "code" }, "portrait keys create --name me --scopes profiles:read,segments:write"));
}
