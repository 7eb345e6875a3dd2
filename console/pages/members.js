// Members: find by mobile, email or customer id; a profile with balance, tier and codes;
// history with "Older" pages; "Edit details" (name, mobile, email), "Adjust points"
// (confirmed first), "Issue coupon" and, for owners, "Erase personal data" (confirmed
// with what goes and what stays). Owners and managers also export every member, or the
// ledger of a date range (pages joined into one CSV download), and import opening
// balances from a CSV file (sent in parts of 500 rows, with progress and a result per row).
import { api, newIdempotencyKey } from "../api.js";
import { h, field, showError, clearErrors, busy, notify, confirmDialog, formatDate, formatNumber, pageHeading, table } from "../ui.js";

export async function render(main, { role, params }) {
  const canChange = role === "owner" || role === "manager";
  if (params[0]) return profile(main, decodeURIComponent(params[0]), canChange, role === "owner");
  search(main);
  if (canChange) main.append(exportsAndImport());
}

/** Every page of an export joined into one CSV (the header comes with the first page). */
async function allPages(fetchPage, progress) {
  let text = "";
  let cursor;
  let pages = 0;
  do {
    const page = await fetchPage(cursor);
    text += page.text;
    cursor = page.next;
    pages += 1;
    progress(pages);
  } while (cursor);
  return text;
}

function download(name, text) {
  const url = URL.createObjectURL(new Blob([text], { type: "text/csv" }));
  const a = h("a", { href: url, download: name, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

/** The rows of a CSV file in parts of `size` data rows, each with the header first. */
function chunks(text, size) {
  const lines = text.replace(/\r\n?/g, "\n").split("\n").filter((l) => l.trim() !== "");
  const [header, ...rows] = lines;
  const parts = [];
  for (let i = 0; i < rows.length; i += size) parts.push({ first: i, csv: [header, ...rows.slice(i, i + size)].join("\n") + "\n" });
  return parts;
}

const STATUS_TEXT = { ok: "Imported", duplicate: "Already imported", error: "Not imported" };

function exportsAndImport() {
  const today = new Date().toISOString().slice(0, 10);
  const exportStatus = h("p", { role: "status", class: "muted", id: "export-status" });
  const exportMembers = h("button", { type: "button", class: "secondary" }, "Export members");
  exportMembers.addEventListener("click", async () => {
    exportMembers.disabled = true;
    try {
      const text = await allPages((c) => api.exportMembers(c), (n) => { exportStatus.textContent = `Exporting members: page ${n}…`; });
      download(`members-${today}.csv`, text);
      exportStatus.textContent = `Exported ${Math.max(0, text.split("\n").filter(Boolean).length - 1)} members.`;
    } catch (error) {
      exportStatus.textContent = error.message;
    } finally {
      exportMembers.disabled = false;
    }
  });

  const ledgerForm = h("form", { novalidate: true, "aria-label": "Export ledger" },
    h("div", { class: "field-row" },
      field({ label: "From", name: "from", type: "date", required: true, value: today.slice(0, 8) + "01" }),
      field({ label: "To", name: "to", type: "date", required: true, value: today })),
    h("div", { class: "actions" }, h("button", { type: "submit", class: "secondary" }, "Export ledger")));
  ledgerForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const from = ledgerForm.elements.from.value;
    const to = ledgerForm.elements.to.value;
    if (!from) return showError(ledgerForm, { field: "from", message: "Choose the first day." });
    if (!to || to < from) return showError(ledgerForm, { field: "to", message: "Choose a last day on or after the first." });
    clearErrors(ledgerForm);
    busy(ledgerForm, async () => {
      try {
        const text = await allPages((c) => api.exportLedger(from, to, c), (n) => { exportStatus.textContent = `Exporting the ledger: page ${n}…`; });
        download(`ledger-${from}-to-${to}.csv`, text);
        exportStatus.textContent = `Exported ${Math.max(0, text.split("\n").filter(Boolean).length - 1)} ledger entries.`;
      } catch (error) {
        showError(ledgerForm, error);
      }
    });
  });

  const progress = h("progress", { id: "import-progress", max: 1, value: 0, hidden: true, "aria-label": "Import progress" });
  const importStatus = h("p", { role: "status", id: "import-status" });
  const results = h("div", { class: "table-wrap", tabindex: "0", "aria-label": "Import results" });
  const importForm = h("form", { novalidate: true, "aria-label": "Import opening balances" },
    field({ label: "CSV file", name: "file", type: "file", accept: ".csv,text/csv", required: true,
      hint: "Columns mobile,name,email,points,reference. Each reference is imported once: importing the same file again changes nothing." }),
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, "Import")));
  importForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const file = importForm.elements.file.files[0];
    if (!file) return showError(importForm, { field: "file", message: "Choose a CSV file." });
    clearErrors(importForm);
    busy(importForm, async () => {
      const parts = chunks(await file.text(), 500);
      if (!parts.length) return showError(importForm, { field: "file", message: "The file has no rows." });
      progress.hidden = false;
      progress.max = parts.length;
      progress.value = 0;
      const rows = [];
      const counts = { ok: 0, duplicate: 0, error: 0 };
      try {
        for (const [i, part] of parts.entries()) {
          importStatus.textContent = `Importing part ${i + 1} of ${parts.length}…`;
          const report = await api.importMembers(part.csv);
          for (const r of report.rows) rows.push({ ...r, line: r.line + part.first });
          counts.ok += report.ok;
          counts.duplicate += report.duplicate;
          counts.error += report.error;
          progress.value = i + 1;
        }
        importStatus.textContent = `${counts.ok} imported, ${counts.duplicate} already imported, ${counts.error} not imported.`;
      } catch (error) {
        showError(importForm, error);
      }
      results.replaceChildren(table("Result per row", ["Line", "Reference", "Result", "Reason"],
        rows.map((r) => [String(r.line), r.reference || "—", STATUS_TEXT[r.status] || r.status, r.reason || ""])));
    });
  });

  return h("section", { "aria-labelledby": "bulk-h", class: "panel" },
    h("h2", { id: "bulk-h" }, "Export and import"),
    h("div", { class: "actions" }, exportMembers),
    h("h3", {}, "Ledger"),
    ledgerForm,
    exportStatus,
    h("h3", {}, "Import opening balances"),
    importForm, progress, importStatus, results);
}

function search(main) {
  const results = h("div", { "aria-live": "polite" });
  const form = h("form", { role: "search", novalidate: true, "aria-label": "Find a member" },
    field({ label: "Mobile, email or customer id", name: "q", type: "search", required: true }),
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, "Find member")));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const q = form.elements.q.value.trim();
    if (!q) return showError(form, { field: "q", message: "Enter a mobile number, an email address or a customer id." });
    clearErrors(form);
    busy(form, async () => {
      try {
        const { members } = await api.findMembers(q);
        results.replaceChildren(members.length
          ? h("ul", { class: "results" }, members.map((m) =>
            h("li", {},
              h("a", { href: `#/members/${encodeURIComponent(m.customer_id)}` }, m.name || m.customer_id),
              ` ${m.mobile || ""} ${m.email || ""} · ${formatNumber(m.points_balance)} points · ${m.tier || "no tier"}`)))
          : h("p", {}, `No member matches “${q}”.`));
      } catch (error) {
        showError(form, error);
      }
    });
  });
  main.replaceChildren(pageHeading("Members"), form, results);
}

async function profile(main, customerId, canChange, canErase) {
  const status = h("div", { class: "status-area" });
  main.replaceChildren(
    h("p", {}, h("a", { href: "#/members" }, "Back to search")),
    pageHeading("Member"),
    status);
  let member;
  try {
    member = await api.member(customerId);
  } catch (error) {
    notify(status, error.status === 404 ? "No such member." : error.message, "error");
    return;
  }
  main.querySelector("#page-heading").textContent = member.name || member.customer_id;

  const summary = h("section", { "aria-labelledby": "summary-h" });
  const codes = h("section", { "aria-labelledby": "codes-h" });
  const history = h("section", { "aria-labelledby": "history-h" });

  function showSummary(m) {
    summary.replaceChildren(
      h("h2", { id: "summary-h", class: "visually-hidden" }, "Profile"),
      h("dl", { class: "facts" },
        fact("Customer id", m.customer_id),
        fact("Mobile", m.mobile || "—"),
        fact("Email", m.email || "—"),
        fact("Points balance", formatNumber(m.points_balance)),
        fact("Expiring next", m.points_expiring
          ? `${formatNumber(m.points_expiring)} points, usable until ${m.points_expiring_at}`
          : "Nothing"),
        fact("Tier", m.tier || "—"),
        fact("Lifetime points", formatNumber(m.lifetime_points)),
        fact("Segment", m.segment || "—"),
        fact("Member since", formatDate(m.created_at))));
    codes.replaceChildren(h("h2", { id: "codes-h" }, "Codes"),
      m.codes && m.codes.length
        ? h("div", { class: "table-wrap" }, h("table", {},
          h("thead", {}, h("tr", {}, ["Code", "Value", "Source", "Status", "Expires"].map((t) => h("th", { scope: "col" }, t)))),
          h("tbody", {}, m.codes.map((c) => h("tr", {},
            h("td", {}, h("code", {}, c.code)),
            h("td", {}, c.discount_percent ? `${c.discount_percent}% off` : `${formatMinor(c.value_minor)} off`),
            h("td", {}, c.source || "—"),
            h("td", {}, c.status),
            h("td", {}, c.expiry_date || formatDate(c.expires_at)))))))
        : h("p", {}, "No codes."));
  }
  showSummary(member);

  const rows = h("tbody", {});
  const older = h("button", { type: "button", class: "secondary", hidden: true }, "Older");
  history.append(h("h2", { id: "history-h" }, "History"),
    h("div", { class: "table-wrap" }, h("table", {},
      h("caption", { class: "visually-hidden" }, "Points history, newest first"),
      h("thead", {}, h("tr", {}, ["When", "Type", "Points", "Balance after", "Reference"].map((t) => h("th", { scope: "col" }, t)))),
      rows)),
    h("div", { class: "actions" }, older));
  let cursor = null;
  async function loadHistory(reset) {
    if (reset) {
      cursor = null;
      rows.replaceChildren();
    }
    try {
      const page = await api.history(customerId, cursor);
      for (const e of page.entries) {
        rows.append(h("tr", {},
          h("td", {}, formatDate(e.created_at)),
          h("td", {}, e.type),
          h("td", { class: "num" }, e.points > 0 ? `+${formatNumber(e.points)}` : formatNumber(e.points)),
          h("td", { class: "num" }, formatNumber(e.balance_after)),
          h("td", {}, e.description || e.reference || "—")));
      }
      if (!rows.children.length) rows.append(h("tr", {}, h("td", { colspan: 5 }, "No history yet.")));
      cursor = page.next_cursor;
      older.hidden = !cursor;
    } catch (error) {
      notify(status, error.message, "error");
    }
  }
  older.addEventListener("click", () => loadHistory(false));

  let edit = null;
  async function reload() {
    try {
      member = await api.member(customerId);
      showSummary(member);
      if (edit) {
        // The form shows the details as they now are (none, after an erasure).
        edit.elements.name.value = member.name || "";
        edit.elements.mobile.value = member.mobile || "";
        edit.elements.email.value = member.email || "";
      }
    } catch (error) {
      notify(status, error.message, "error");
    }
    await loadHistory(true);
  }

  main.append(summary, codes);
  if (canChange) {
    edit = editForm(customerId, () => member, status, reload);
    main.append(edit,
      adjustForm(customerId, status, reload), couponForm(customerId, status, reload));
  }
  main.append(history);
  if (canErase) main.append(eraseForm(customerId, () => member, status, reload));
  await loadHistory(true);
}

function eraseForm(customerId, current, status, reload) {
  let key = newIdempotencyKey();
  const form = h("form", { novalidate: true, "aria-labelledby": "erase-h" },
    h("h2", { id: "erase-h" }, "Erase personal data"),
    h("p", {}, "Removes the member's name, mobile and email for good. The points balance and the history's amounts stay, so the books still add up."),
    h("div", { class: "actions" }, h("button", { type: "submit", class: "danger" }, "Erase personal data")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const m = current();
    const goes = [m.name && `the name “${m.name}”`, m.mobile && `the mobile ${m.mobile}`, m.email && `the email ${m.email}`]
      .filter(Boolean);
    const ok = await confirmDialog({
      title: "Erase this member's personal data?",
      body: [
        `This removes ${goes.length ? goes.join(", ") : "what personal data is left"}, the descriptions in the history and the reasons in the audit log. It cannot be undone.`,
        `The till and the Public API will no longer find member ${customerId}; a later bill with this mobile enrols a new member.`,
        `Stays: the balance (${formatNumber(m.points_balance)} points), each entry's type, points and date.`,
      ],
      confirmLabel: "Erase for good",
      danger: true,
    });
    if (!ok) return;
    await busy(form, async () => {
      try {
        await api.eraseMember(customerId, key);
        key = newIdempotencyKey();
        notify(status, "Personal data erased.");
        await reload();
      } catch (error) {
        showError(form, error);
      }
    });
  });
  return form;
}

function fact(term, value) {
  return h("div", {}, h("dt", {}, term), h("dd", {}, value));
}

function formatMinor(minor) {
  if (minor === null || minor === undefined) return "—";
  return (Number(minor) / 100).toLocaleString(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
}

function editForm(customerId, current, status, reload) {
  let key = newIdempotencyKey();
  const m = current();
  const form = h("form", { novalidate: true, "aria-labelledby": "edit-h" },
    h("h2", { id: "edit-h" }, "Edit details"),
    field({ label: "Name", name: "name", maxlength: 100, required: true, autocomplete: "off", value: m.name }),
    field({ label: "Mobile", name: "mobile", type: "tel", inputmode: "tel", autocomplete: "off", value: m.mobile || "",
      hint: "10 digits, or with +91. The till finds the member by the new number only." }),
    field({ label: "Email", name: "email", type: "email", autocomplete: "off", value: m.email || "",
      hint: "The Public API finds the member by the new address only." }),
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, "Save details")));
  form.addEventListener("input", () => {
    key = newIdempotencyKey();
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    clearErrors(form);
    const was = current();
    const body = {};
    const name = form.elements.name.value.trim();
    const mobile = form.elements.mobile.value.trim();
    const email = form.elements.email.value.trim();
    if (!name) return showError(form, { field: "name", message: "Enter the member's name." });
    if (name !== was.name) body.name = name;
    if (mobile && mobile !== (was.mobile || "")) body.mobile = mobile;
    if (email && email !== (was.email || "")) body.email = email;
    if (!Object.keys(body).length) return notify(status, "Nothing to save: the details are as they were.");
    busy(form, async () => {
      try {
        await api.editMember(customerId, body, key);
        key = newIdempotencyKey();
        notify(status, "Details saved.");
        await reload();
      } catch (error) {
        // A mobile or email of another member: the message names the field.
        const taken = error.status === 409 && /^(mobile|email):/.exec(error.message || "");
        showError(form, taken ? { field: taken[1], message: error.message } : error);
      }
    });
  });
  return form;
}

function adjustForm(customerId, status, reload) {
  let key = newIdempotencyKey();
  const form = h("form", { novalidate: true, "aria-labelledby": "adjust-h" },
    h("h2", { id: "adjust-h" }, "Adjust points"),
    field({ label: "Points", name: "points", type: "number", step: 1, inputmode: "numeric", required: true,
      hint: "A whole number: positive adds points, negative takes them away. The balance never goes below zero." }),
    field({ label: "Reason", name: "reason", type: "textarea", maxlength: 500, required: true, rows: 2,
      hint: "Required. Shown in the member's history and the audit log." }),
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, "Adjust points")));
  form.addEventListener("input", () => {
    // A changed form is another request: a fresh key, so it is not refused as a replay.
    key = newIdempotencyKey();
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const raw = form.elements.points.value.trim();
    const points = Number(raw);
    const reason = form.elements.reason.value.trim();
    if (!raw || !Number.isInteger(points) || points === 0) {
      return showError(form, { field: "points", message: "Enter a whole number of points other than zero." });
    }
    if (!reason) return showError(form, { field: "reason", message: "Enter the reason for the adjustment." });
    const sign = points > 0 ? `Add ${formatNumber(points)} points` : `Take away ${formatNumber(-points)} points`;
    const ok = await confirmDialog({
      title: "Adjust points?",
      body: [`${sign} (member ${customerId}).`, `Reason: ${reason}`],
      confirmLabel: "Apply adjustment",
    });
    if (!ok) return;
    await busy(form, async () => {
      try {
        const result = await api.adjust(customerId, { points, reason }, key);
        key = newIdempotencyKey();
        form.reset();
        notify(status, `Points adjusted: balance ${formatNumber(result.balance_before)} → ${formatNumber(result.balance_after)}.`);
        await reload();
      } catch (error) {
        showError(form, error);
      }
    });
  });
  return form;
}

function couponForm(customerId, status, reload) {
  let key = newIdempotencyKey();
  const amount = field({ label: "Amount off", name: "value_minor", type: "number", min: "0.01", step: "0.01",
    hint: "In the program's currency, for example 200.00." });
  const percent = field({ label: "Percent off", name: "percent", type: "number", min: 1, max: 100, step: 1 });
  percent.hidden = true;
  const kind = field({ label: "Kind of coupon", name: "kind", options: [["amount", "An amount off"], ["percent", "A percentage off"]] });
  const form = h("form", { novalidate: true, "aria-labelledby": "coupon-h" },
    h("h2", { id: "coupon-h" }, "Issue coupon"),
    kind, amount, percent,
    field({ label: "Expires on", name: "expires", type: "date", required: true,
      hint: "The last day it can be used, in the program's time zone." }),
    field({ label: "Code (optional)", name: "code", hint: "Leave empty for a generated code.", autocomplete: "off" }),
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, "Issue coupon")));
  const showKind = () => {
    const isPercent = form.elements.kind.value === "percent";
    percent.hidden = !isPercent;
    amount.hidden = isPercent;
  };
  form.elements.kind.addEventListener("change", showKind);
  form.addEventListener("reset", () => setTimeout(showKind));
  form.addEventListener("input", () => {
    key = newIdempotencyKey();
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    clearErrors(form);
    const body = { expires: form.elements.expires.value };
    if (form.elements.kind.value === "percent") {
      const p = Number(form.elements.percent.value);
      if (!Number.isInteger(p) || p < 1 || p > 100) return showError(form, { field: "percent", message: "Enter a whole percentage from 1 to 100." });
      body.percent = p;
    } else {
      const v = Math.round(Number(form.elements.value_minor.value) * 100);
      if (!Number.isFinite(v) || v <= 0) return showError(form, { field: "value_minor", message: "Enter an amount greater than zero." });
      body.value_minor = v;
    }
    if (!body.expires) return showError(form, { field: "expires", message: "Enter the day the coupon expires." });
    const code = form.elements.code.value.trim();
    if (code) body.code = code;
    busy(form, async () => {
      try {
        const coupon = await api.issueCoupon(customerId, body, key);
        key = newIdempotencyKey();
        form.reset();
        notify(status, `Coupon ${coupon.code} issued.`);
        await reload();
      } catch (error) {
        showError(form, error);
      }
    });
  });
  return form;
}
