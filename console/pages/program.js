// Program: the rules in force, every version (newest first, upcoming marked) and, for
// owners and managers, a change: a new version from an instant (by default as soon as
// every function's program cache has expired), confirmed with what changes and when.
// A change never rewrites a version; sales are priced by the version of their sale time.
import { api, newIdempotencyKey } from "../api.js";
import { h, field, showError, clearErrors, busy, notify, confirmDialog, formatDate, formatNumber, pageHeading, uid } from "../ui.js";

const STATUS = { in_force: "In force", upcoming: "Upcoming", superseded: "Superseded" };

export async function render(main, { role }) {
  const canChange = role === "owner" || role === "manager";
  const status = h("div", { class: "status-area" });
  const current = h("div", {});
  const editor = h("div", {});
  const versions = h("div", { class: "table-wrap" });
  main.replaceChildren(pageHeading("Program"), status, current, editor, versions);
  let program = null;

  async function load() {
    try {
      program = await api.program();
    } catch (error) {
      notify(status, error.message, "error");
      return;
    }
    current.replaceChildren(rulesPanel(program.current.rules, program));
    versions.replaceChildren(versionsTable(program.versions));
    editor.replaceChildren(changeButton());
  }

  const changeButton = () => (canChange
    ? h("div", { class: "actions" }, h("button", { type: "button", class: "primary", onclick: showEditor }, "Change rules"))
    : "");

  function showEditor() {
    // A change starts from the newest version (the rules in force at any later instant).
    const base = program.versions[0].rules;
    editor.replaceChildren(changeForm(base, program, async (message) => {
      notify(status, message);
      await load();
      status.querySelector(".notice")?.focus?.();
    }, () => editor.replaceChildren(changeButton())));
    editor.querySelector("input").focus();
  }

  await load();
}

const rate = (milli) => (Number(milli) / 1000).toLocaleString(undefined, { maximumFractionDigits: 3 });
const months = (n, none) => (n === null || n === undefined ? none : `${n} month${n === 1 ? "" : "s"}`);

function rulesPanel(r, program) {
  const upcoming = program.upcoming.length
    ? h("p", { class: "notice info" }, `${program.upcoming.length} change${program.upcoming.length === 1 ? "" : "s"} not yet in force: the next from ${formatDate(program.upcoming[program.upcoming.length - 1].effective_from)}.`)
    : "";
  return h("section", { "aria-labelledby": "rules-h" },
    h("h2", { id: "rules-h" }, "Rules in force now"),
    upcoming,
    h("dl", { class: "facts" },
      fact("Program", r.name),
      fact("Points are called", r.points_name),
      fact("Earn rate", `${rate(r.earn_rate_milli)} ${r.points_name} per 1 ${r.currency}`),
      fact("Redemption rate", `${formatNumber(r.redemption_rate)} ${r.points_name} buy 1 ${r.currency} off`),
      fact("Vouchers valid for", `${r.voucher_validity_days} days`),
      fact("Points expire", r.points_expiry_months ? `${months(r.points_expiry_months)} after the month earned` : "Never"),
      fact("Tiers qualify on", r.tier_qualifying_months ? `The last ${months(r.tier_qualifying_months)}, ${months(r.tier_grace_months)} grace` : "Lifetime points"),
      fact("One-time codes", `${formatNumber(r.otp_sms_per_hour)} an hour, ${formatNumber(r.otp_sms_per_day)} a day; ${r.otp_wrong_guesses_per_day} wrong guesses a day`)),
    h("div", { class: "table-wrap" }, h("table", {},
      h("caption", {}, "Tiers"),
      h("thead", {}, h("tr", {}, ["Tier", "From lifetime points", "Multiplier", "Priority service"].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, r.tiers.map((t) => h("tr", {},
        h("td", {}, t.color ? swatch(t.color) : "", t.name),
        h("td", { class: "num" }, formatNumber(t.min_lifetime_points)),
        h("td", { class: "num" }, `${rate(t.multiplier_milli)}×`),
        h("td", {}, t.priority_service ? "Yes" : "No")))))),
    r.category_bonuses.length
      ? h("p", {}, "Category bonuses: ", r.category_bonuses.map((b) => `${b.category} ${rate(b.multiplier_milli)}×`).join(", "))
      : h("p", { class: "muted" }, "No category bonuses."));
}

// A tier's colour beside its name (set through the style object: the CSP allows no
// inline style attributes).
function swatch(color) {
  const el = h("span", { class: "swatch", "aria-hidden": "true" });
  el.style.backgroundColor = color;
  return el;
}

function fact(term, value) {
  return [h("div", {}, h("dt", {}, term), h("dd", {}, value))];
}

function versionsTable(list) {
  return h("table", {},
    h("caption", {}, "Versions, newest first"),
    h("thead", {}, h("tr", {}, ["In force from", "Status", "Earn rate", "Tiers"].map((t) => h("th", { scope: "col" }, t)))),
    h("tbody", {}, list.map((v) => h("tr", { class: v.status === "upcoming" ? "upcoming" : null },
      h("td", {}, v.effective_from ? formatDate(v.effective_from) : "The start"),
      h("td", {}, v.status === "upcoming" ? h("strong", {}, STATUS[v.status]) : STATUS[v.status] || v.status),
      h("td", { class: "num" }, rate(v.rules.earn_rate_milli)),
      h("td", {}, v.rules.tiers.map((t) => t.name).join(", "))))));
}

// Numbers typed as people think of them: 2.5 points per unit, 1.5x.
const toMilli = (text) => {
  const t = String(text).trim();
  if (!/^\d+(\.\d{1,3})?$/.test(t)) return NaN;
  const [whole, frac = ""] = t.split(".");
  return Number(whole) * 1000 + Number(frac.padEnd(3, "0"));
};
const fromMilli = (milli) => String(Number(milli) / 1000);
const int = (text) => (String(text).trim() === "" ? NaN : Number(text));

function changeForm(base, program, done, cancel) {
  let key = newIdempotencyKey();
  let tiers = base.tiers.map((t) => ({ ...t }));
  let bonuses = base.category_bonuses.map((b) => ({ ...b }));
  const tierArea = h("div", {});
  const bonusArea = h("div", {});
  const whenId = uid("when");
  const later = field({ label: "In force from (your local time)", name: "effective_from", type: "datetime-local" });
  later.hidden = true;
  const soon = h("input", { type: "radio", name: "when", id: `${whenId}-soon`, value: "soon", checked: true });
  const pick = h("input", { type: "radio", name: "when", id: `${whenId}-later`, value: "later" });
  const form = h("form", { novalidate: true, "aria-labelledby": "program-form-h", class: "panel wide" },
    h("h2", { id: "program-form-h" }, "Change the rules"),
    h("p", { class: "hint" }, "A change is a new version: sales before it keep the rules of their time."),
    field({ label: "Program name", name: "name", value: base.name, required: true }),
    field({ label: "Points are called", name: "points_name", value: base.points_name, required: true }),
    field({ label: `Earn rate (points per 1 ${base.currency})`, name: "earn_rate_milli", value: fromMilli(base.earn_rate_milli),
      inputmode: "decimal", hint: "Up to three decimals, for example 2.5." }),
    field({ label: `Redemption rate (points that buy 1 ${base.currency} off)`, name: "redemption_rate", type: "number", min: 1, step: 1, value: base.redemption_rate }),
    field({ label: "Vouchers valid for (days)", name: "voucher_validity_days", type: "number", min: 1, step: 1, value: base.voucher_validity_days }),
    field({ label: "Points expire after (months)", name: "points_expiry_months", type: "number", min: 1, max: 120, step: 1,
      value: base.points_expiry_months ?? "", hint: "Empty: points never expire." }),
    field({ label: "Tiers qualify on the last (months)", name: "tier_qualifying_months", type: "number", min: 1, max: 36, step: 1,
      value: base.tier_qualifying_months ?? "", hint: "Empty: on lifetime points, never reviewed." }),
    field({ label: "Grace before moving down (months)", name: "tier_grace_months", type: "number", min: 0, max: 24, step: 1, value: base.tier_grace_months ?? 0 }),
    h("fieldset", { class: "group" }, h("legend", {}, "Tiers, lowest first"), tierArea,
      h("button", { type: "button", class: "secondary", onclick: () => { read(); tiers.push({ name: "", min_lifetime_points: "", multiplier_milli: 1000, priority_service: false, color: "#888888" }); drawTiers(true); } }, "Add tier")),
    h("fieldset", { class: "group" }, h("legend", {}, "Category bonuses"), bonusArea,
      h("button", { type: "button", class: "secondary", onclick: () => { read(); bonuses.push({ category: "", multiplier_milli: 2000 }); drawBonuses(true); } }, "Add category bonus")),
    h("fieldset", { class: "group" }, h("legend", {}, "One-time codes (OTP)"),
      field({ label: "SMS per hour", name: "otp_sms_per_hour", type: "number", min: 1, step: 1, value: base.otp_sms_per_hour }),
      field({ label: "SMS per day", name: "otp_sms_per_day", type: "number", min: 1, step: 1, value: base.otp_sms_per_day }),
      field({ label: "Wrong guesses per mobile per day", name: "otp_wrong_guesses_per_day", type: "number", min: 1, step: 1, value: base.otp_wrong_guesses_per_day })),
    h("fieldset", { class: "group" }, h("legend", {}, "When the new rules apply"),
      h("div", { class: "check" }, soon, h("label", { for: soon.id }, `As soon as every function sees it (about ${program.cache_seconds} s)`)),
      h("div", { class: "check" }, pick, h("label", { for: pick.id }, "At a later time")),
      later),
    h("div", { class: "actions" },
      h("button", { type: "submit", class: "primary" }, "Review change"),
      h("button", { type: "button", class: "secondary", onclick: cancel }, "Cancel")));

  const showWhen = () => { later.hidden = !pick.checked; };
  soon.addEventListener("change", showWhen);
  pick.addEventListener("change", showWhen);
  form.addEventListener("input", () => { key = newIdempotencyKey(); });

  function drawTiers(focusLast) {
    tierArea.replaceChildren(...tiers.map((t, i) => h("div", { class: "row-group", role: "group", "aria-label": `Tier ${i + 1}` },
      field({ label: `Tier ${i + 1} name`, name: `tiers[${i}].name`, value: t.name }),
      field({ label: "From lifetime points", name: `tiers[${i}].min_lifetime_points`, type: "number", min: 0, step: 1, value: t.min_lifetime_points }),
      field({ label: "Multiplier", name: `tiers[${i}].multiplier_milli`, inputmode: "decimal", value: fromMilli(t.multiplier_milli), hint: "1.5 for one and a half times" }),
      field({ label: "Colour", name: `tiers[${i}].color`, type: "color", value: t.color || "#888888" }),
      h("div", { class: "check" },
        h("input", { type: "checkbox", id: `tier-${i}-priority`, name: `tiers[${i}].priority_service`, checked: t.priority_service }),
        h("label", { for: `tier-${i}-priority` }, "Priority service")),
      tiers.length > 1 ? h("button", { type: "button", class: "secondary", "aria-label": `Remove tier ${t.name || i + 1}`,
        onclick: () => { read(); tiers.splice(i, 1); drawTiers(false); } }, "Remove") : "")));
    if (focusLast) tierArea.querySelector(".row-group:last-child input")?.focus();
  }

  function drawBonuses(focusLast) {
    bonusArea.replaceChildren(...(bonuses.length ? bonuses.map((b, i) => h("div", { class: "row-group", role: "group", "aria-label": `Category bonus ${i + 1}` },
      field({ label: `Category ${i + 1}`, name: `category_bonuses[${i}].category`, value: b.category }),
      field({ label: "Multiplier", name: `category_bonuses[${i}].multiplier_milli`, inputmode: "decimal", value: fromMilli(b.multiplier_milli) }),
      h("button", { type: "button", class: "secondary", "aria-label": `Remove category bonus ${b.category || i + 1}`,
        onclick: () => { read(); bonuses.splice(i, 1); drawBonuses(false); } }, "Remove"))) : [h("p", { class: "muted" }, "None.")]));
    if (focusLast) bonusArea.querySelector(".row-group:last-child input")?.focus();
  }

  // The rows' values back into the lists (before a row is added or removed).
  function read() {
    const value = (name) => form.querySelector(`[name="${CSS.escape(name)}"]`);
    tiers = tiers.map((_, i) => ({
      name: value(`tiers[${i}].name`).value.trim(),
      min_lifetime_points: int(value(`tiers[${i}].min_lifetime_points`).value),
      multiplier_milli: toMilli(value(`tiers[${i}].multiplier_milli`).value),
      priority_service: value(`tiers[${i}].priority_service`).checked,
      color: value(`tiers[${i}].color`).value.toUpperCase(),
    }));
    bonuses = bonuses.map((_, i) => ({
      category: value(`category_bonuses[${i}].category`).value.trim(),
      multiplier_milli: toMilli(value(`category_bonuses[${i}].multiplier_milli`).value),
    }));
  }
  drawTiers(false);
  drawBonuses(false);

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    clearErrors(form);
    read();
    const e = form.elements;
    const optional = (v) => (String(v).trim() === "" ? null : int(v));
    const wanted = {
      name: e.name.value.trim(),
      points_name: e.points_name.value.trim(),
      earn_rate_milli: toMilli(e.earn_rate_milli.value),
      redemption_rate: int(e.redemption_rate.value),
      voucher_validity_days: int(e.voucher_validity_days.value),
      points_expiry_months: optional(e.points_expiry_months.value),
      tier_qualifying_months: optional(e.tier_qualifying_months.value),
      tier_grace_months: int(e.tier_grace_months.value || "0"),
      tiers,
      category_bonuses: bonuses,
      otp_sms_per_hour: int(e.otp_sms_per_hour.value),
      otp_sms_per_day: int(e.otp_sms_per_day.value),
      otp_wrong_guesses_per_day: int(e.otp_wrong_guesses_per_day.value),
    };
    const problem = check(wanted);
    if (problem) return showError(form, problem);
    const body = {};
    for (const [k, v] of Object.entries(wanted)) {
      if (JSON.stringify(v) !== JSON.stringify(base[k])) body[k] = v;
    }
    let when = `in about ${program.cache_seconds} seconds, when every function sees it`;
    if (pick.checked) {
      const at = new Date(e.effective_from.value);
      if (!e.effective_from.value || Number.isNaN(at.getTime())) {
        return showError(form, { field: "effective_from", message: "Enter the date and time the new rules apply from." });
      }
      body.effective_from = at.toISOString();
      when = `from ${formatDate(at)}`;
    }
    const changes = Object.keys(body).filter((k) => k !== "effective_from");
    if (!changes.length) return showError(form, { message: "Nothing is changed: change a rule first." });
    confirmDialog({
      title: "Save the new rules?",
      body: [`They apply ${when}. Sales before then keep the rules of their time.`,
        h("ul", {}, changes.map((k) => h("li", {}, describe(k, base[k], body[k], base))))],
      confirmLabel: "Save new rules",
    }).then((ok) => ok && busy(form, async () => {
      try {
        const { version } = await api.changeProgram(body, key);
        await done(`New rules saved: in force ${version.effective_from ? `from ${formatDate(version.effective_from)}` : "now"}.`);
      } catch (error) {
        showError(form, error);
      }
    }));
  });
  return form;
}

function check(w) {
  const whole = (v) => Number.isInteger(v);
  if (!w.name) return { field: "name", message: "Enter the program's name." };
  if (!w.points_name) return { field: "points_name", message: "Enter what members call their points." };
  if (!whole(w.earn_rate_milli)) return { field: "earn_rate_milli", message: "Enter the points per currency unit, with at most three decimals." };
  if (!whole(w.redemption_rate) || w.redemption_rate < 1) return { field: "redemption_rate", message: "Enter a whole number of points, at least 1." };
  if (!whole(w.voucher_validity_days) || w.voucher_validity_days < 1) return { field: "voucher_validity_days", message: "Enter a whole number of days, at least 1." };
  for (const [i, t] of w.tiers.entries()) {
    if (!t.name) return { field: `tiers[${i}].name`, message: "Enter the tier's name." };
    if (!whole(t.min_lifetime_points)) return { field: `tiers[${i}].min_lifetime_points`, message: "Enter a whole number of points." };
    if (!whole(t.multiplier_milli)) return { field: `tiers[${i}].multiplier_milli`, message: "Enter a multiplier such as 1.5." };
  }
  for (const [i, b] of w.category_bonuses.entries()) {
    if (!b.category) return { field: `category_bonuses[${i}].category`, message: "Enter the category." };
    if (!whole(b.multiplier_milli)) return { field: `category_bonuses[${i}].multiplier_milli`, message: "Enter a multiplier such as 2." };
  }
  for (const k of ["otp_sms_per_hour", "otp_sms_per_day", "otp_wrong_guesses_per_day", "tier_grace_months"]) {
    if (!whole(w[k])) return { field: k, message: "Enter a whole number." };
  }
  return null;
}

const LABELS = {
  name: "Program name", points_name: "Points are called", earn_rate_milli: "Earn rate", redemption_rate: "Redemption rate",
  voucher_validity_days: "Vouchers valid for (days)", points_expiry_months: "Points expire after (months)",
  tier_qualifying_months: "Tiers qualify on (months)", tier_grace_months: "Grace (months)", tiers: "Tiers",
  category_bonuses: "Category bonuses", otp_sms_per_hour: "OTP SMS per hour", otp_sms_per_day: "OTP SMS per day",
  otp_wrong_guesses_per_day: "OTP wrong guesses per day",
};

function describe(k, before, after, base) {
  const show = (v) => {
    if (v === null || v === undefined) return k === "points_expiry_months" ? "never" : k === "tier_qualifying_months" ? "lifetime" : "—";
    if (k === "earn_rate_milli") return `${rate(v)} per 1 ${base.currency}`;
    if (k === "tiers") return v.map((t) => `${t.name} from ${formatNumber(t.min_lifetime_points)} (${rate(t.multiplier_milli)}×)`).join(", ");
    if (k === "category_bonuses") return v.length ? v.map((b) => `${b.category} ${rate(b.multiplier_milli)}×`).join(", ") : "none";
    return String(v);
  };
  return `${LABELS[k] || k}: ${show(before)} → ${show(after)}`;
}
