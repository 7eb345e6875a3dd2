// Rewards: the catalogue, archived ones included; add, edit, archive (confirmed first).
// The Public catalogue (GET /v1/public/loyalty/rewards) shows the active ones.
import { api, newIdempotencyKey } from "../api.js";
import { h, field, showError, clearErrors, busy, notify, confirmDialog, formatNumber, pageHeading } from "../ui.js";

const KINDS = [["fixed", "An amount off"], ["percent", "A percentage off"], ["service", "A service (no amount)"]];

export async function render(main, { role }) {
  const canChange = role === "owner" || role === "manager";
  const status = h("div", { class: "status-area" });
  const list = h("div", { class: "table-wrap" });
  const editor = h("div", {});
  main.replaceChildren(pageHeading("Rewards"), status, list, editor);

  async function load() {
    try {
      const { rewards } = await api.rewards();
      list.replaceChildren(h("table", {},
        h("caption", {}, "Rewards, archived ones included"),
        h("thead", {}, h("tr", {}, ["Id", "Name", "Points", "Value", "Status", canChange ? "Actions" : null]
          .filter(Boolean).map((t) => h("th", { scope: "col" }, t)))),
        h("tbody", {}, rewards.length ? rewards.map((r) => h("tr", {},
          h("td", {}, h("code", {}, r.reward_id)),
          h("td", {}, r.name, r.description ? h("div", { class: "muted" }, r.description) : ""),
          h("td", { class: "num" }, formatNumber(r.points_cost)),
          h("td", {}, value(r)),
          h("td", {}, r.active ? "Active" : "Archived"),
          canChange ? h("td", { class: "row-actions" },
            h("button", { type: "button", class: "secondary", "aria-label": `Edit ${r.name}`,
              onclick: () => showEditor(r) }, "Edit"),
            r.active ? h("button", { type: "button", class: "danger", "aria-label": `Archive ${r.name}`,
              onclick: () => archive(r) }, "Archive") : "") : null))
          : h("tr", {}, h("td", { colspan: 6 }, "No rewards yet.")))));
    } catch (error) {
      notify(status, error.message, "error");
    }
  }

  async function archive(r) {
    const key = newIdempotencyKey();
    const ok = await confirmDialog({
      title: `Archive “${r.name}”?`,
      body: "Members can no longer redeem it, and it leaves the Public catalogue. Codes already issued stay valid.",
      confirmLabel: "Archive reward",
      danger: true,
    });
    if (!ok) return;
    try {
      await api.archiveReward(r.reward_id, key);
      notify(status, `“${r.name}” archived.`);
      await load();
    } catch (error) {
      notify(status, error.message, "error");
    }
  }

  function showEditor(existing) {
    editor.replaceChildren(rewardForm(existing, async (message) => {
      notify(status, message);
      editor.replaceChildren(addButton());
      await load();
    }, () => editor.replaceChildren(addButton())));
    editor.querySelector("input:not([readonly]), select").focus();
  }

  const addButton = () => (canChange
    ? h("div", { class: "actions" }, h("button", { type: "button", class: "primary", onclick: () => showEditor(null) }, "Add reward"))
    : "");
  editor.replaceChildren(addButton());
  await load();
}

function value(r) {
  if (r.kind === "percent") return `${r.discount_percent}% off`;
  if (r.kind === "fixed") return `${(Number(r.value_minor) / 100).toFixed(2)} off`;
  return "Service";
}

function rewardForm(existing, done, cancel) {
  let key = newIdempotencyKey();
  const editing = Boolean(existing);
  const r = existing || {};
  const title = editing ? `Edit “${r.name}”` : "Add a reward";
  const amount = field({ label: "Amount off", name: "value_minor", type: "number", min: "0.01", step: "0.01",
    hint: "In the program's currency, for example 200.00.",
    value: r.value_minor !== undefined && r.value_minor !== null ? (r.value_minor / 100).toFixed(2) : "" });
  const percent = field({ label: "Percent off", name: "discount_percent", type: "number", min: 1, max: 100, step: 1,
    value: r.discount_percent ?? "" });
  const form = h("form", { novalidate: true, "aria-labelledby": "reward-form-h", class: "panel" },
    h("h2", { id: "reward-form-h" }, title),
    field({ label: "Reward id", name: "reward_id", value: r.reward_id ?? "", readonly: editing, required: true,
      hint: editing ? "The id cannot change." : "Short and stable, for example rwd-spa-30. Apps redeem it by this id." }),
    field({ label: "Name", name: "name", value: r.name ?? "", required: true }),
    field({ label: "Description", name: "description", type: "textarea", rows: 2, value: r.description ?? "" }),
    field({ label: "Points cost", name: "points_cost", type: "number", min: 1, step: 1, value: r.points_cost ?? "", required: true }),
    field({ label: "Kind", name: "kind", options: KINDS, value: r.kind || "fixed" }),
    amount, percent,
    h("div", { class: "actions" },
      h("button", { type: "submit", class: "primary" }, editing ? "Save reward" : "Add reward"),
      h("button", { type: "button", class: "secondary", onclick: cancel }, "Cancel")));
  const showKind = () => {
    const kind = form.elements.kind.value;
    amount.hidden = kind !== "fixed";
    percent.hidden = kind !== "percent";
  };
  form.elements.kind.addEventListener("change", showKind);
  showKind();
  // A changed form is another request: a fresh key, so it is not refused as a replay.
  form.addEventListener("input", () => {
    key = newIdempotencyKey();
  });

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    clearErrors(form);
    const e = form.elements;
    const kind = e.kind.value;
    const body = {
      name: e.name.value.trim(),
      description: e.description.value.trim(),
      points_cost: Number(e.points_cost.value),
      kind,
      value_minor: kind === "fixed" ? Math.round(Number(e.value_minor.value) * 100) : null,
      discount_percent: kind === "percent" ? Number(e.discount_percent.value) : null,
    };
    const id = e.reward_id.value.trim();
    if (!id) return showError(form, { field: "reward_id", message: "Enter an id for the reward." });
    if (!body.name) return showError(form, { field: "name", message: "Enter the reward's name." });
    if (!Number.isInteger(body.points_cost) || body.points_cost <= 0) {
      return showError(form, { field: "points_cost", message: "Enter the points it costs, a whole number above zero." });
    }
    if (kind === "fixed" && !(body.value_minor > 0)) {
      return showError(form, { field: "value_minor", message: "Enter the amount off, greater than zero." });
    }
    if (kind === "percent" && !(Number.isInteger(body.discount_percent) && body.discount_percent >= 1 && body.discount_percent <= 100)) {
      return showError(form, { field: "discount_percent", message: "Enter a whole percentage from 1 to 100." });
    }
    busy(form, async () => {
      try {
        if (editing) {
          await api.editReward(id, body, key);
          await done(`“${body.name}” saved.`);
        } else {
          await api.addReward({ reward_id: id, ...body }, key);
          await done(`“${body.name}” added.`);
        }
      } catch (error) {
        showError(form, error);
      }
    });
  });
  return form;
}
