// Settings > API Keys (owner only): list, issue (the secret shown once), change scopes,
// revoke and rotate (each confirmed first).
import { api, newIdempotencyKey } from "../api.js";
import { h, field, checkboxes, checkedValues, showError, clearErrors, busy, notify, confirmDialog, formatDate, pageHeading, showSecret as showSecretPanel } from "../ui.js";

const SCOPES = [
  ["read:customers", "Read customers (look up members, balances, history)"],
  ["write:transactions", "Write transactions (bills, refunds, coupons, redemptions)"],
];
const SCOPE_WORDS = { "read:customers": "Read customers", "write:transactions": "Write transactions" };

export async function render(main) {
  const status = h("div", { class: "status-area" });
  const secretArea = h("div", {});
  const list = h("div", { class: "table-wrap" });
  const issueArea = h("div", {});
  main.replaceChildren(pageHeading("Settings > API Keys"),
    h("p", {}, "Keys let your tills (POS channel) and apps (app channel) call the loyalty API. Live keys change real balances; test keys answer as a sandbox."),
    status, secretArea, list, issueArea);

  async function load() {
    try {
      const { keys } = await api.keys();
      list.replaceChildren(h("table", {},
        h("caption", {}, "API keys, newest first"),
        h("thead", {}, h("tr", {}, ["Label", "Mode", "Channel", "Scopes", "Created", "Last used", "Status", "Actions"]
          .map((t) => h("th", { scope: "col" }, t)))),
        h("tbody", {}, keys.length ? keys.map(row) : h("tr", {}, h("td", { colspan: 8 }, "No keys yet.")))));
    } catch (error) {
      notify(status, error.message, "error");
    }
  }

  function row(k) {
    const active = k.status === "active";
    return h("tr", {},
      h("td", {}, k.label || "—", h("div", { class: "muted" }, h("code", {}, k.key_id))),
      h("td", {}, k.mode === "live" ? "Live" : "Test"),
      h("td", {}, k.channel === "app" ? "App" : "POS"),
      h("td", {}, h("ul", { class: "plain" }, k.scopes.map((s) => h("li", {}, SCOPE_WORDS[s] || s)))),
      h("td", {}, formatDate(k.created_at)),
      h("td", {}, k.last_used_on || "Never"),
      h("td", {}, active ? "Active" : `Revoked ${k.revoked_at ? formatDate(k.revoked_at) : ""}`),
      h("td", { class: "row-actions" }, active ? [
        h("button", { type: "button", class: "secondary", "aria-label": `Change scopes of ${k.label}`, onclick: () => editScopes(k) }, "Change scopes"),
        h("button", { type: "button", class: "secondary", "aria-label": `Rotate ${k.label}`, onclick: () => rotate(k) }, "Rotate"),
        h("button", { type: "button", class: "danger", "aria-label": `Revoke ${k.label}`, onclick: () => revoke(k) }, "Revoke"),
      ] : "—"));
  }

  function showSecret(key, secret) {
    showSecretPanel(secretArea, {
      title: `Secret of “${key.label}”`,
      advice: "Store it where the till or app keeps its settings. If it is lost, rotate the key.",
      label: "Secret key",
      secret,
    });
  }

  async function revoke(k) {
    const key = newIdempotencyKey();
    const ok = await confirmDialog({
      title: `Revoke “${k.label}”?`,
      body: "Every till or app using this key stops working within seconds. This cannot be undone.",
      confirmLabel: "Revoke key",
      danger: true,
    });
    if (!ok) return;
    try {
      await api.revokeKey(k.key_id, key);
      notify(status, `“${k.label}” revoked.`);
      await load();
    } catch (error) {
      notify(status, error.message, "error");
    }
  }

  async function rotate(k) {
    const key = newIdempotencyKey();
    const ok = await confirmDialog({
      title: `Rotate “${k.label}”?`,
      body: "A new key with the same label, mode, channel and scopes replaces it; the old one stops working within seconds.",
      confirmLabel: "Rotate key",
      danger: true,
    });
    if (!ok) return;
    try {
      const issued = await api.rotateKey(k.key_id, key);
      await load();
      if (issued.secret) showSecret(issued.key, issued.secret);
      else notify(status, "The key was already rotated; its secret was shown then.");
    } catch (error) {
      notify(status, error.message, "error");
    }
  }

  function editScopes(k) {
    let key = newIdempotencyKey();
    const form = h("form", { novalidate: true, class: "panel", "aria-labelledby": "scopes-h" },
      h("h2", { id: "scopes-h" }, `Scopes of “${k.label}”`),
      checkboxes({ legend: "What this key may do", name: "scopes", options: SCOPES, checked: k.scopes }),
      h("div", { class: "actions" },
        h("button", { type: "submit", class: "primary" }, "Save scopes"),
        h("button", { type: "button", class: "secondary", onclick: () => issueArea.replaceChildren(issueForm()) }, "Cancel")));
    form.addEventListener("input", () => {
      key = newIdempotencyKey();
    });
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      clearErrors(form);
      const scopes = checkedValues(form, "scopes");
      if (!scopes.length) return showError(form, { field: "scopes", message: "Choose at least one scope." });
      busy(form, async () => {
        try {
          await api.keyScopes(k.key_id, scopes, key);
          notify(status, `Scopes of “${k.label}” saved.`);
          issueArea.replaceChildren(issueForm());
          await load();
        } catch (error) {
          showError(form, error);
        }
      });
    });
    issueArea.replaceChildren(form);
    form.querySelector("input").focus();
  }

  function issueForm() {
    let key = newIdempotencyKey();
    const form = h("form", { novalidate: true, class: "panel", "aria-labelledby": "issue-h" },
      h("h2", { id: "issue-h" }, "Issue a key"),
      field({ label: "Label", name: "label", required: true, hint: "Where it is used, for example “Front desk till”." }),
      field({ label: "Mode", name: "mode", options: [["live", "Live"], ["test", "Test (sandbox)"]] }),
      field({ label: "Channel", name: "channel", options: [["pos", "POS (a till)"], ["app", "App (may also redeem rewards)"]] }),
      checkboxes({ legend: "Scopes", name: "scopes", options: SCOPES, checked: ["read:customers", "write:transactions"] }),
      h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, "Issue key")));
    form.addEventListener("input", () => {
      key = newIdempotencyKey();
    });
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      clearErrors(form);
      const body = {
        label: form.elements.label.value.trim(),
        mode: form.elements.mode.value,
        channel: form.elements.channel.value,
        scopes: checkedValues(form, "scopes"),
      };
      if (!body.label) return showError(form, { field: "label", message: "Enter a label for the key." });
      if (!body.scopes.length) return showError(form, { field: "scopes", message: "Choose at least one scope." });
      busy(form, async () => {
        try {
          const issued = await api.issueKey(body, key);
          form.reset();
          key = newIdempotencyKey();
          await load();
          if (issued.secret) showSecret(issued.key, issued.secret);
          else notify(status, "This key was already issued; its secret was shown then.");
        } catch (error) {
          showError(form, error);
        }
      });
    });
    return form;
  }

  issueArea.replaceChildren(issueForm());
  await load();
}
