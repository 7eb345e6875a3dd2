// The console's shell: reads config.json, shows who is signed in (email, tenant, role),
// the navigation (folded behind "Menu" on a narrow screen), and one page per hash route
// (Overview the first after sign-in). A session that ends (401) returns to
// sign-in; a viewer sees no API keys page and no change buttons (the server refuses anyway).
import * as session from "./session.js";
import * as apiClient from "./api.js";
import { h } from "./ui.js";
import * as signin from "./pages/signin.js";
import * as overview from "./pages/overview.js";
import * as members from "./pages/members.js";
import * as rewards from "./pages/rewards.js";
import * as campaigns from "./pages/campaigns.js";
import * as keys from "./pages/keys.js";
import * as webhooks from "./pages/webhooks.js";
import * as team from "./pages/team.js";
import * as audit from "./pages/audit.js";
import * as program from "./pages/program.js";

const ROUTES = {
  overview: { page: overview, title: "Overview" },
  members: { page: members, title: "Members" },
  rewards: { page: rewards, title: "Rewards" },
  campaigns: { page: campaigns, title: "Campaigns" },
  program: { page: program, title: "Program" },
  "settings/api-keys": { page: keys, title: "Settings > API Keys", owner: true },
  "settings/webhooks": { page: webhooks, title: "Settings > Webhooks", owner: true },
  "settings/team": { page: team, title: "Settings > Team", owner: true },
  audit: { page: audit, title: "Audit log" },
};

const main = document.getElementById("main");
const nav = document.getElementById("nav");
const who = document.getElementById("who");
const menu = document.getElementById("menu-button");
let pendingNotice = null;

function parseRoute() {
  const path = location.hash.replace(/^#\/?/, "");
  if (path.startsWith("settings/api-keys")) return { name: "settings/api-keys", params: [] };
  if (path.startsWith("settings/webhooks")) return { name: "settings/webhooks", params: [] };
  if (path.startsWith("settings/team")) return { name: "settings/team", params: [] };
  const [name, ...params] = path.split("/");
  return { name, params };
}

function showShell(person) {
  nav.hidden = !person;
  menu.hidden = !person;
  who.hidden = !person;
  if (!person) return;
  document.getElementById("who-text").textContent = `${person.email} · ${person.tenant} · ${person.role}`;
  nav.querySelectorAll("[data-owner-only]").forEach((li) => {
    li.hidden = person.role !== "owner";
  });
}

// On a narrow screen the navigation folds behind "Menu"; a chosen page folds it again.
function setMenu(open) {
  menu.setAttribute("aria-expanded", String(open));
  nav.classList.toggle("open", open);
}

function markCurrent(name) {
  nav.querySelectorAll("a").forEach((a) => {
    const current = a.getAttribute("href") === `#/${name}`;
    if (current) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  });
}

async function route() {
  setMenu(false);
  const person = session.person();
  showShell(person);
  if (!person) {
    document.title = "Sign in · Loyalty console";
    markCurrent("");
    const notice = pendingNotice;
    pendingNotice = null;
    signin.render(main, {
      notice,
      onSignedIn: () => {
        if (!location.hash || location.hash === "#/sign-in") location.hash = "#/overview";
        else route();
      },
    });
    return;
  }
  let { name, params } = parseRoute();
  if (!ROUTES[name]) {
    location.replace("#/overview");
    return;
  }
  const r = ROUTES[name];
  document.title = `${r.title} · Loyalty console`;
  markCurrent(name);
  if (r.owner && person.role !== "owner") {
    main.replaceChildren(
      h("h1", { tabindex: "-1", id: "page-heading" }, "Not available"),
      h("p", {}, `${r.title.replace("Settings > ", "")} are managed by the program's owner. Your role (${person.role}) cannot see them.`));
    main.querySelector("h1").focus();
    return;
  }
  main.replaceChildren(h("p", {}, "Loading…"));
  const rendering = r.page.render(main, { role: person.role, params });
  const heading = main.querySelector("#page-heading");
  if (heading) heading.focus();
  await rendering;
}

function sessionEnded() {
  if (!session.person()) return;
  session.drop();
  pendingNotice = "Your session has ended. Sign in again.";
  route();
}

async function start() {
  let config;
  try {
    const response = await fetch("config.json", { cache: "no-store" });
    if (!response.ok) throw new Error(`config.json answered ${response.status}`);
    config = await response.json();
  } catch (error) {
    main.replaceChildren(h("h1", {}, "The console is not configured"),
      h("p", { role: "alert" }, `It could not read config.json (${error.message}).`));
    return;
  }
  session.configure(config);
  apiClient.configure(config, sessionEnded);
  session.resume();
  document.getElementById("sign-out").addEventListener("click", async () => {
    await session.signOut();
    pendingNotice = "You are signed out.";
    history.replaceState(null, "", "#/sign-in");
    route();
  });
  menu.addEventListener("click", () => setMenu(menu.getAttribute("aria-expanded") !== "true"));
  // The page already shown, chosen again, changes no hash: fold the menu here too.
  nav.addEventListener("click", (event) => {
    if (event.target.closest("a")) setMenu(false);
  });
  window.addEventListener("hashchange", route);
  route();
}

start();
