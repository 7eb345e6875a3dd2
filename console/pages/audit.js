// Audit log: every change, newest first (who, when, what, target, before and after).
import { api } from "../api.js";
import { h, formatDate, notify, pageHeading } from "../ui.js";

const ACTIONS = {
  "key.issue": "Issued an API key",
  "key.scopes": "Changed a key's scopes",
  "key.revoke": "Revoked an API key",
  "key.rotate": "Rotated an API key",
  "reward.add": "Added a reward",
  "reward.edit": "Edited a reward",
  "reward.archive": "Archived a reward",
  "member.adjust": "Adjusted points",
  "member.coupon": "Issued a coupon",
};

function change(value) {
  if (value === null || value === undefined) return "—";
  return h("code", { class: "json" }, typeof value === "string" ? value : JSON.stringify(value));
}

export async function render(main) {
  const status = h("div", { class: "status-area" });
  const rows = h("tbody", {});
  const older = h("button", { type: "button", class: "secondary", hidden: true }, "Older");
  const heads = ["When", "Who", "What", "Target", "Before", "After"];
  main.replaceChildren(
    pageHeading("Audit log"),
    status,
    h("div", { class: "table-wrap" },
      h("table", {},
        h("caption", {}, "Changes, newest first"),
        h("thead", {}, h("tr", {}, heads.map((t) => h("th", { scope: "col" }, t)))),
        rows)),
    h("div", { class: "actions" }, older));

  let cursor = null;
  async function load() {
    try {
      const page = await api.audit(cursor);
      for (const e of page.entries) {
        rows.append(h("tr", {},
          h("td", {}, h("time", { datetime: e.at }, formatDate(e.at))),
          h("td", {}, e.who, e.role ? h("span", { class: "muted" }, ` (${e.role})`) : ""),
          h("td", {}, ACTIONS[e.action] || e.action, " ", h("span", { class: "muted" }, e.action)),
          h("td", {}, e.target || "—"),
          h("td", {}, change(e.before)),
          h("td", {}, change(e.after))));
      }
      if (!rows.children.length) rows.append(h("tr", {}, h("td", { colspan: 6 }, "No changes yet.")));
      cursor = page.next_cursor;
      older.hidden = !cursor;
    } catch (error) {
      notify(status, error.message, "error");
    }
  }
  older.addEventListener("click", load);
  await load();
}
