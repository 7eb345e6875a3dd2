// Settings > Webhooks (owner only): the program's webhook endpoints; add one (its signing
// secret shown once), rotate the secret, disable or enable, send a test event, see recent
// deliveries (status, attempts, last result, next attempt) and replay a dead one or all,
// remove (rotate and remove are confirmed first).
import { api, newIdempotencyKey } from "../api.js";
import { h, field, checkboxes, checkedValues, showError, clearErrors, busy, notify, confirmDialog, formatDate, pageHeading, showSecret as showSecretPanel } from "../ui.js";

const EVENT_TYPES = [
  ["points.earned", "Points earned (a bill or an earn)"],
  ["points.redeemed", "Points redeemed"],
  ["points.refunded", "Points refunded"],
  ["points.adjusted", "Points adjusted (by staff)"],
  ["points.expired", "Points expired"],
  ["member.enrolled", "Member enrolled"],
  ["member.tier_changed", "Member's tier changed"],
  ["voucher.issued", "Voucher issued"],
  ["coupon.redeemed", "Coupon redeemed"],
];
const STATUS_WORDS = { pending: "Pending", delivered: "Delivered", dead: "Dead (gave up)" };

export async function render(main) {
  const status = h("div", { class: "status-area" });
  const secretArea = h("div", {});
  const list = h("div", { class: "table-wrap" });
  const deliveriesArea = h("div", {});
  const addArea = h("div", {});
  main.replaceChildren(pageHeading("Settings > Webhooks"),
    h("p", {}, "Webhooks send your other systems (CRM, shop, app) a signed message seconds after points move. Receivers verify each one with the endpoint's signing secret (Standard Webhooks)."),
    status, secretArea, list, deliveriesArea, addArea);

  async function load() {
    try {
      const { endpoints } = await api.webhooks();
      list.replaceChildren(h("table", {},
        h("caption", {}, "Webhook endpoints"),
        h("thead", {}, h("tr", {}, ["URL", "Events", "Status", "Created", "Actions"]
          .map((t) => h("th", { scope: "col" }, t)))),
        h("tbody", {}, endpoints.length ? endpoints.map(row) : h("tr", {}, h("td", { colspan: 5 }, "No endpoints yet.")))));
    } catch (error) {
      notify(status, error.message, "error");
    }
  }

  function statusText(e) {
    if (e.status === "active") return e.failing_since ? `Active, failing since ${formatDate(e.failing_since)}` : "Active";
    return `Disabled${e.disabled_reason ? ` (${e.disabled_reason})` : ""}`;
  }

  function row(e) {
    const active = e.status === "active";
    return h("tr", {},
      h("td", {}, h("code", {}, e.url), h("div", { class: "muted" }, h("code", {}, e.endpoint_id))),
      h("td", {}, e.event_types.length ? h("ul", { class: "plain" }, e.event_types.map((t) => h("li", {}, t))) : "All events"),
      h("td", {}, statusText(e),
        e.previous_secret_until && h("div", { class: "muted" }, `Previous secret signs until ${formatDate(e.previous_secret_until)}`)),
      h("td", {}, formatDate(e.created_at)),
      h("td", { class: "row-actions" },
        h("button", { type: "button", class: "secondary", "aria-label": `Send a test event to ${e.url}`, onclick: () => sendTest(e) }, "Send test"),
        h("button", { type: "button", class: "secondary", "aria-label": `Recent deliveries to ${e.url}`, onclick: () => showDeliveries(e) }, "Deliveries"),
        h("button", { type: "button", class: "secondary", "aria-label": `Rotate the secret of ${e.url}`, onclick: () => rotate(e) }, "Rotate secret"),
        active
          ? h("button", { type: "button", class: "secondary", "aria-label": `Disable ${e.url}`, onclick: () => setActive(e, false) }, "Disable")
          : h("button", { type: "button", class: "secondary", "aria-label": `Enable ${e.url}`, onclick: () => setActive(e, true) }, "Enable"),
        h("button", { type: "button", class: "danger", "aria-label": `Remove ${e.url}`, onclick: () => remove(e) }, "Remove")));
  }

  function showSecret(endpoint, secret) {
    showSecretPanel(secretArea, {
      title: `Signing secret of ${endpoint.url}`,
      advice: "The receiver verifies every webhook with it. If it is lost, rotate the secret.",
      label: "Signing secret",
      secret,
    });
  }

  async function rotate(e) {
    const key = newIdempotencyKey();
    const ok = await confirmDialog({
      title: `Rotate the secret of ${e.url}?`,
      body: "A new secret signs every webhook from now on. The old one still signs too for 24 hours, so the receiver can switch without missing one.",
      confirmLabel: "Rotate secret",
      danger: true,
    });
    if (!ok) return;
    try {
      const rotated = await api.rotateWebhook(e.endpoint_id, key);
      await load();
      if (rotated.secret) showSecret(rotated.endpoint, rotated.secret);
      else notify(status, "The secret was already rotated; it was shown then.");
    } catch (error) {
      notify(status, error.message, "error");
    }
  }

  async function remove(e) {
    const key = newIdempotencyKey();
    const ok = await confirmDialog({
      title: `Remove ${e.url}?`,
      body: "Nothing more is sent to it, including deliveries still waiting. This cannot be undone.",
      confirmLabel: "Remove endpoint",
      danger: true,
    });
    if (!ok) return;
    try {
      await api.removeWebhook(e.endpoint_id, key);
      notify(status, `${e.url} removed.`);
      deliveriesArea.replaceChildren();
      await load();
    } catch (error) {
      notify(status, error.message, "error");
    }
  }

  async function setActive(e, active) {
    try {
      if (active) await api.enableWebhook(e.endpoint_id, newIdempotencyKey());
      else await api.disableWebhook(e.endpoint_id, newIdempotencyKey());
      notify(status, `${e.url} ${active ? "enabled" : "disabled"}.`);
      await load();
    } catch (error) {
      notify(status, error.message, "error");
    }
  }

  async function sendTest(e) {
    try {
      const { event_id } = await api.testWebhook(e.endpoint_id);
      notify(status, `A test event (${event_id}) is on its way to ${e.url}.`);
      await showDeliveries(e);
    } catch (error) {
      notify(status, error.message, "error");
    }
  }

  async function showDeliveries(e) {
    try {
      const { deliveries } = await api.webhookDeliveries(e.endpoint_id);
      const dead = deliveries.some((d) => d.status === "dead");
      const panel = h("section", { class: "panel", "aria-labelledby": "deliveries-h" },
        h("h2", { id: "deliveries-h" }, `Recent deliveries to ${e.url}`),
        h("div", { class: "table-wrap" }, h("table", {},
          h("caption", {}, "Newest first"),
          h("thead", {}, h("tr", {}, ["Event", "Status", "Attempts", "Last result", "Next attempt", "Actions"]
            .map((t) => h("th", { scope: "col" }, t)))),
          h("tbody", {}, deliveries.length ? deliveries.map((d) => h("tr", { "data-event": d.event_id },
            h("td", {}, d.event_type, h("div", { class: "muted" }, h("code", {}, d.event_id))),
            h("td", {}, STATUS_WORDS[d.status] || d.status),
            h("td", {}, String(d.attempts)),
            h("td", {}, d.last_result ? `${d.last_result}${d.last_attempt_at ? `, ${formatDate(d.last_attempt_at)}` : ""}` : "—"),
            h("td", {}, d.next_attempt_at ? formatDate(d.next_attempt_at) : "—"),
            h("td", {}, d.status === "dead"
              ? h("button", { type: "button", class: "secondary", "aria-label": `Replay ${d.event_type} ${d.event_id}`, onclick: () => replay(e, d) }, "Replay")
              : "—")))
            : h("tr", {}, h("td", { colspan: 6 }, "No deliveries yet."))))),
        h("div", { class: "actions" },
          dead && h("button", { type: "button", class: "primary", onclick: () => replay(e) }, "Replay all dead deliveries"),
          h("button", { type: "button", class: "secondary", onclick: () => showDeliveries(e) }, "Refresh"),
          h("button", { type: "button", class: "secondary", onclick: () => deliveriesArea.replaceChildren() }, "Close")));
      deliveriesArea.replaceChildren(panel);
    } catch (error) {
      notify(status, error.message, "error");
    }
  }

  // Every dead delivery of the endpoint, or only `d`'s.
  async function replay(e, d) {
    try {
      const { replayed } = await api.replayWebhook(e.endpoint_id, d && d.event_id);
      notify(status, `${replayed} dead ${replayed === 1 ? "delivery" : "deliveries"} sent again.`);
      await showDeliveries(e);
    } catch (error) {
      notify(status, error.message, "error");
    }
  }

  function addForm() {
    let key = newIdempotencyKey();
    const form = h("form", { novalidate: true, class: "panel", "aria-labelledby": "add-h" },
      h("h2", { id: "add-h" }, "Add an endpoint"),
      field({ label: "URL", name: "url", type: "url", required: true, hint: "An https address of your receiver, for example https://crm.example.com/loyalty-hooks." }),
      checkboxes({ legend: "Events (none chosen: every event)", name: "event_types", options: EVENT_TYPES }),
      h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, "Add endpoint")));
    form.addEventListener("input", () => {
      key = newIdempotencyKey();
    });
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      clearErrors(form);
      const body = { url: form.elements.url.value.trim(), event_types: checkedValues(form, "event_types") };
      if (!body.url) return showError(form, { field: "url", message: "Enter the receiver's URL." });
      busy(form, async () => {
        try {
          const added = await api.addWebhook(body, key);
          form.reset();
          key = newIdempotencyKey();
          await load();
          if (added.secret) showSecret(added.endpoint, added.secret);
          else notify(status, "This endpoint was already added; its secret was shown then.");
        } catch (error) {
          showError(form, error);
        }
      });
    });
    return form;
  }

  addArea.replaceChildren(addForm());
  await load();
}
