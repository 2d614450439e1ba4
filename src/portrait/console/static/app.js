// The console's shell: sign-in state, the navigation, the language switch and a hash router.
// Pages are modules exporting render(main, {args, query, me}) → optional cleanup function.

import { clearKey, getKey, onUnauthorized, whoami } from "./api.js";
import { disposeAll } from "./charts.js";
import { clear, errorBox, h } from "./dom.js";
import { getLang, onLangChange, setLang, t } from "./i18n.js";
import * as catalog from "./pages/catalog.js";
import * as insight from "./pages/insight.js";
import * as login from "./pages/login.js";
import * as profile from "./pages/profile.js";
import * as segments from "./pages/segments.js";
import { parseHash } from "./router.js";

const PAGES = { tags: catalog, profile, segments, insight };
const NAV = [["tags", "nav.tags"], ["profile", "nav.profile"], ["segments", "nav.segments"], ["insight", "nav.insight"]];

const main = document.getElementById("main");
let me = null; // {key_id, scopes} of the signed-in key
let cleanup = null;
let loginMessage = "";

function renderShell(route) {
  document.title = t("app.title");
  const nav = clear(document.getElementById("nav"));
  if (me) {
    for (const [page, label] of NAV) {
      const here = route.page === page;
      nav.append(h("a", { href: `#/${page}`, class: here ? "active" : "", "aria-current": here ? "page" : null, "data-page": page }, t(label)));
    }
  }
  const lang = document.getElementById("lang");
  lang.textContent = t("lang.switch");
  lang.title = t("lang.switch.title");
  const who = clear(document.getElementById("who"));
  const out = document.getElementById("signout");
  out.hidden = !me;
  out.textContent = t("auth.signout");
  if (me) {
    who.append(h("span", { class: "key", title: `${t("auth.scopes")}: ${me.scopes.join(", ")}` },
      h("code", {}, me.key_id), " ", me.scopes.map((s) => h("span", { class: "scope" }, s))));
  }
}

async function render() {
  if (cleanup) cleanup();
  cleanup = null;
  disposeAll();
  const route = parseHash();
  if (!getKey()) {
    me = null;
    renderShell(route);
    clear(main).append(login.render({ message: loginMessage, onSignedIn: signedIn }));
    return;
  }
  if (!me) {
    try {
      me = await whoami();
    } catch (e) {
      if (e.status === 401) return; // onUnauthorized already sent the user to sign in
      renderShell(route);
      clear(main).append(errorBox(e), h("button", { onclick: render }, t("common.retry")));
      return;
    }
  }
  renderShell(route);
  const page = PAGES[route.page] || catalog;
  clear(main);
  main.dataset.page = route.page in PAGES ? route.page : "tags";
  try {
    cleanup = (await page.render(main, { ...route, me })) || null;
  } catch (e) {
    main.append(errorBox(e));
  }
}

function signedIn(who) {
  me = who;
  loginMessage = "";
  if (!location.hash || location.hash === "#/" || location.hash === "#") location.hash = "#/tags";
  else render();
}

onUnauthorized(() => {
  clearKey();
  me = null;
  loginMessage = t("auth.expired");
  render();
});

document.getElementById("lang").addEventListener("click", () => setLang(getLang() === "zh" ? "en" : "zh"));
document.getElementById("signout").addEventListener("click", () => {
  clearKey();
  me = null;
  loginMessage = "";
  render();
});
onLangChange(render);
window.addEventListener("hashchange", render);
render();
