// Campaigns: a coupon for each member of a list of mobiles (pasted or a CSV file) or of a
// tier. The page creates the campaign, then calls run until it is done (each call works
// up to 20 s), showing the progress; then the result, with the skipped ones as a download.
// Running again never issues a member two coupons, so a closed tab can resume it.
import { api, newIdempotencyKey } from "../api.js";
import { h, field, showError, clearErrors, busy, notify, formatNumber, formatDate, pageHeading } from "../ui.js";

export async function render(main, { role }) {
  const canChange = role === "owner" || role === "manager";
  const status = h("div", { class: "status-area" });
  const progressArea = h("div", {});
  const list = h("div", { class: "table-wrap" });
  let tiers = [];
  if (canChange) {
    try {
      tiers = (await api.program()).current.rules.tiers.map((t) => t.name);
    } catch (error) {
      notify(status, error.message, "error");
    }
  }
  main.replaceChildren(pageHeading("Campaigns"), status, canChange ? newCampaignForm(start, tiers) : "", progressArea,
    h("h2", {}, "Past campaigns"), list);

  async function load() {
    try {
      const { campaigns } = await api.campaigns();
      list.replaceChildren(h("table", {},
        h("caption", {}, "Campaigns, newest first"),
        h("thead", {}, h("tr", {}, ["Name", "Coupon", "Created", "Status", "Issued", "Skipped", "Failed", "Actions"]
          .map((t) => h("th", { scope: "col" }, t)))),
        h("tbody", {}, campaigns.length ? campaigns.map((c) => h("tr", {},
          h("td", {}, c.audience === "tier" ? `${c.name} (every ${c.tier} member)` : c.name),
          h("td", {}, coupon(c)),
          h("td", {}, formatDate(c.created_at)),
          h("td", {}, `${c.status} (${formatNumber(c.done)} of ${formatNumber(c.total)})`),
          h("td", { class: "num" }, formatNumber(c.issued)),
          h("td", { class: "num" }, formatNumber(c.skipped_unknown + c.skipped_already)),
          h("td", { class: "num" }, formatNumber(c.failed)),
          h("td", { class: "row-actions" },
            c.status !== "done" && canChange
              ? h("button", { type: "button", class: "secondary", "aria-label": `Resume ${c.name}`, onclick: () => run(c) }, "Resume")
              : "",
            h("button", { type: "button", class: "secondary", "aria-label": `Download skipped mobiles of ${c.name}`,
              onclick: () => download(c) }, "Skipped (CSV)"))))
          : h("tr", {}, h("td", { colspan: 8 }, "No campaigns yet.")))));
    } catch (error) {
      notify(status, error.message, "error");
    }
  }

  async function start(body, key) {
    const created = await api.createCampaign(body, key);
    await run(created);
  }

  async function run(campaign) {
    const bar = h("progress", { id: "campaign-progress", max: campaign.total || 1, value: campaign.done });
    const label = h("p", { id: "campaign-progress-text", "aria-live": "polite" });
    const panel = h("section", { class: "panel", "aria-labelledby": "campaign-run-h" },
      h("h2", { id: "campaign-run-h" }, `Issuing “${campaign.name}”`),
      h("label", { for: "campaign-progress" }, "Progress"), bar, label);
    progressArea.replaceChildren(panel);
    const show = (c) => {
      bar.value = c.done;
      const of = c.audience === "tier" ? `${c.tier} members` : "mobiles";
      label.textContent = `${formatNumber(c.done)} of ${formatNumber(c.total)} ${of} done: ` +
        `${formatNumber(c.issued)} issued, ${formatNumber(c.skipped_unknown)} not members, ` +
        `${formatNumber(c.skipped_already)} had it already, ${formatNumber(c.failed)} failed.`;
    };
    show(campaign);
    let c = campaign;
    try {
      while (c.status !== "done") {
        c = await api.runCampaign(c.campaign_id);
        show(c);
      }
      panel.append(h("div", { class: "actions" },
        h("button", { type: "button", class: "secondary", onclick: () => download(c) }, "Download skipped mobiles (CSV)")));
      notify(status, `“${c.name}” is done: ${formatNumber(c.issued)} coupons issued.`);
    } catch (error) {
      notify(status, `${error.message} Resume it from the list: nobody gets a coupon twice.`, "error");
    }
    await load();
  }

  async function download(c) {
    try {
      const detail = await api.campaign(c.campaign_id);
      const lines = ["mobile,reason", ...detail.skipped.map((s) => `${s.mobile},${s.reason}`)];
      const url = URL.createObjectURL(new Blob([lines.join("\n") + "\n"], { type: "text/csv" }));
      const a = h("a", { href: url, download: `campaign-${c.campaign_id}-skipped.csv`, hidden: true });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 1000);
    } catch (error) {
      notify(status, error.message, "error");
    }
  }

  await load();
}

function coupon(c) {
  const value = c.percent ? `${c.percent}% off` : `${(Number(c.value_minor) / 100).toFixed(2)} off`;
  return `${value}, until ${c.expires}`;
}

function newCampaignForm(start, tiers) {
  let key = newIdempotencyKey();
  const amount = field({ label: "Amount off", name: "value_minor", type: "number", min: "0.01", step: "0.01",
    hint: "In the program's currency, for example 200.00." });
  const percent = field({ label: "Percent off", name: "percent", type: "number", min: 1, max: 100, step: 1 });
  const tierField = field({ label: "Tier", name: "tier", options: tiers.map((t) => [t, t]),
    hint: "Its members when the campaign is created." });
  const form = h("form", { novalidate: true, "aria-labelledby": "campaign-form-h", class: "panel" },
    h("h2", { id: "campaign-form-h" }, "New campaign"),
    field({ label: "Name", name: "name", required: true, maxlength: 80, hint: "Members see it as the coupon's name." }),
    field({ label: "Coupon", name: "kind", options: [["fixed", "An amount off"], ["percent", "A percentage off"]], value: "fixed" }),
    amount, percent,
    field({ label: "Valid until", name: "expires", type: "date", required: true, hint: "The last day it can be used." }),
    field({ label: "Who gets it", name: "audience", value: "mobiles",
      options: [["mobiles", "A list of mobiles"], ...(tiers.length ? [["tier", "Every member of a tier"]] : [])] }),
    tierField,
    field({ label: "Mobiles", name: "mobiles", type: "textarea", rows: 6,
      hint: "One a line: 10 digits, or + and the country code. Up to 50,000; duplicates count once." }),
    field({ label: "Or a CSV file", name: "file", type: "file", accept: ".csv,text/csv,text/plain",
      hint: "The first column is the mobile; a header line is skipped." }),
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, "Create and run")));
  const showKind = () => {
    const kind = form.elements.kind.value;
    amount.hidden = kind !== "fixed";
    percent.hidden = kind !== "percent";
    const byTier = form.elements.audience.value === "tier";
    tierField.hidden = !byTier;
    form.querySelector('[data-field="mobiles"]').hidden = byTier;
    form.querySelector('[data-field="file"]').hidden = byTier;
  };
  form.elements.kind.addEventListener("change", showKind);
  form.elements.audience.addEventListener("change", showKind);
  showKind();
  form.addEventListener("input", () => {
    key = newIdempotencyKey();
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    clearErrors(form);
    const e = form.elements;
    const kind = e.kind.value;
    busy(form, async () => {
      const byTier = e.audience.value === "tier";
      const file = e.file.files && e.file.files[0];
      const text = byTier ? "" : file ? await file.text() : e.mobiles.value;
      // Only the first column goes: a CSV's other columns are not needed.
      const mobiles = text.split(/\r?\n/).map((l) => l.split(/[,;\t]/)[0].replace(/"/g, "").trim()).join("\n");
      const body = {
        name: e.name.value.trim(),
        value_minor: kind === "fixed" ? Math.round(Number(e.value_minor.value) * 100) : null,
        percent: kind === "percent" ? Number(e.percent.value) : null,
        expires: e.expires.value,
        ...(byTier ? { tier: e.tier.value } : { mobiles }),
      };
      if (!body.name) return showError(form, { field: "name", message: "Enter the campaign's name." });
      if (kind === "fixed" && !(body.value_minor > 0)) {
        return showError(form, { field: "value_minor", message: "Enter the amount off, greater than zero." });
      }
      if (kind === "percent" && !(Number.isInteger(body.percent) && body.percent >= 1 && body.percent <= 100)) {
        return showError(form, { field: "percent", message: "Enter a whole percentage from 1 to 100." });
      }
      if (!body.expires) return showError(form, { field: "expires", message: "Choose the last day it can be used." });
      if (!byTier && !mobiles.trim()) {
        return showError(form, { field: "mobiles", message: "Paste mobiles or choose a CSV file." });
      }
      try {
        await start(body, key);
        form.reset();
        showKind();
        key = newIdempotencyKey();
      } catch (error) {
        showError(form, error);
      }
    });
  });
  return form;
}
