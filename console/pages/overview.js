// Overview (the landing page): the program's headline numbers for a range of days, its top
// rewards, charts of points earned, redeemed and expired per day (SVG drawn here; the table
// below them is their text alternative), a date range picker and "Download CSV" (made in
// the browser).
import { api } from "../api.js";
import { h, field, showError, clearErrors, busy, notify, formatNumber, pageHeading } from "../ui.js";

const SVG = "http://www.w3.org/2000/svg";
const DAY_MS = 24 * 60 * 60 * 1000;
const MAX_DAYS = 366;

// The figures of a day, in the table's and the CSV's order: [field, heading].
const COLUMNS = [
  ["points_earned", "Points earned"],
  ["points_redeemed", "Points redeemed"],
  ["points_expired", "Points expired"],
  ["points_refunded", "Points refunded"],
  ["points_adjusted", "Points adjusted"],
  ["new_members", "New members"],
  ["vouchers_issued", "Vouchers issued"],
  ["vouchers_used", "Vouchers used"],
  ["outstanding_points", "Outstanding points"],
  ["outstanding_value_minor", "Outstanding value (minor units)"],
];

// The charts: points per day, drawn as bars of their size (redemptions and expiries are
// negative in the figures).
const CHARTS = [
  ["points_earned", "Points earned per day", "chart-earned"],
  ["points_redeemed", "Points redeemed per day", "chart-redeemed"],
  ["points_expired", "Points expired per day", "chart-expired"],
];

function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  for (const c of children.flat()) if (c) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

const iso = (d) => d.toISOString().slice(0, 10);
const parseDay = (text) => new Date(`${text}T00:00:00Z`);

function money(minor, currency) {
  const value = Number(minor) / 100;
  try {
    return value.toLocaleString(undefined, { style: "currency", currency });
  } catch {
    return `${value.toFixed(2)} ${currency}`;
  }
}

/** A bar chart of one figure per day: `days` as the report gives them. */
export function barChart(days, name, title, id) {
  const width = 640;
  const height = 180;
  const pad = { top: 12, right: 8, bottom: 24, left: 48 };
  const values = days.map((d) => Math.abs(Number(d[name]) || 0));
  const max = Math.max(1, ...values);
  const plotW = width - pad.left - pad.right;
  const plotH = height - pad.top - pad.bottom;
  const step = plotW / Math.max(1, days.length);
  const barW = Math.max(1, step * 0.8);
  const total = values.reduce((a, b) => a + b, 0);
  const titleId = `${id}-title`;
  const descId = `${id}-desc`;
  const bars = days.map((d, i) => {
    const v = values[i];
    const barH = (v / max) * plotH;
    return svg("rect", {
      class: `bar ${id}`,
      x: (pad.left + i * step + (step - barW) / 2).toFixed(1),
      y: (pad.top + plotH - barH).toFixed(1),
      width: barW.toFixed(1),
      height: barH.toFixed(1),
    }, svg("title", {}, `${d.date}: ${formatNumber(v)}`));
  });
  const first = days[0] ? days[0].date : "";
  const last = days.length ? days[days.length - 1].date : "";
  return h("figure", { class: "chart" },
    svg("svg", {
      viewBox: `0 0 ${width} ${height}`, role: "img", "aria-labelledby": titleId, "aria-describedby": descId, class: "chart-svg",
    },
    svg("title", { id: titleId }, title),
    svg("desc", { id: descId }, `${formatNumber(total)} in all from ${first} to ${last}, at most ${formatNumber(max)} in a day. The table below has every day.`),
    svg("line", { class: "axis", x1: pad.left, y1: pad.top + plotH, x2: width - pad.right, y2: pad.top + plotH }),
    svg("text", { class: "tick", x: pad.left - 6, y: pad.top + 4, "text-anchor": "end" }, formatNumber(max)),
    svg("text", { class: "tick", x: pad.left - 6, y: pad.top + plotH, "text-anchor": "end" }, "0"),
    svg("text", { class: "tick", x: pad.left, y: height - 6 }, first),
    svg("text", { class: "tick", x: width - pad.right, y: height - 6, "text-anchor": "end" }, last),
    bars),
    h("figcaption", {}, title));
}

/** The report's days as CSV (one header row, one row per day). */
export function toCsv(report) {
  const heads = ["date", ...COLUMNS.map(([name]) => name)];
  const rows = report.days.map((d) => [d.date, ...COLUMNS.map(([name]) => d[name] ?? 0)]);
  return [heads, ...rows].map((r) => r.join(",")).join("\r\n") + "\r\n";
}

export async function render(main) {
  const status = h("div", { class: "status-area" });
  const headline = h("div", {});
  const charts = h("div", { class: "charts" });
  const tableArea = h("div", { class: "table-wrap" });
  const rewardsArea = h("div", {});
  const download = h("button", { type: "button", class: "secondary", disabled: true }, "Download CSV");

  const today = new Date();
  const to0 = iso(today);
  const from0 = iso(new Date(parseDay(to0).getTime() - 29 * DAY_MS));
  const form = h("form", { novalidate: true, class: "range-form", "aria-labelledby": "range-h" },
    h("h2", { id: "range-h" }, "Days"),
    h("div", { class: "range-fields" },
      field({ label: "From", name: "from", type: "date", value: from0, required: true }),
      field({ label: "To", name: "to", type: "date", value: to0, required: true })),
    h("div", { class: "actions" },
      h("button", { type: "submit", class: "primary" }, "Show"),
      [7, 30, 90].map((n) => h("button", { type: "button", class: "secondary", onclick: () => preset(n) }, `Last ${n} days`)),
      download));

  main.replaceChildren(pageHeading("Overview"),
    h("p", {}, "The program's figures by its own days, counted from every change within seconds."),
    status, form, headline, rewardsArea,
    h("h2", { id: "charts-h" }, "Points per day"), charts,
    h("h2", { id: "days-h" }, "Every day"), tableArea);

  let report = null;

  function preset(n) {
    const to = form.elements.to.value || to0;
    form.elements.from.value = iso(new Date(parseDay(to).getTime() - (n - 1) * DAY_MS));
    form.requestSubmit();
  }

  function showHeadline(r) {
    const t = r.total;
    const last = r.days.length ? r.days[r.days.length - 1] : { outstanding_points: 0, outstanding_value_minor: 0 };
    const fact = (label, value) => h("div", {}, h("dt", {}, label), h("dd", {}, value));
    headline.replaceChildren(h("section", { "aria-labelledby": "headline-h" },
      h("h2", { id: "headline-h" }, `From ${r.from} to ${r.to}`),
      h("dl", { class: "facts headline" },
        fact("Points earned", formatNumber(t.points_earned)),
        fact("Points redeemed", formatNumber(Math.abs(t.points_redeemed))),
        fact("Points expired", formatNumber(Math.abs(t.points_expired))),
        fact("New members", formatNumber(t.new_members)),
        fact("Members", formatNumber(r.members)),
        fact("Vouchers issued / used", `${formatNumber(t.vouchers_issued)} / ${formatNumber(t.vouchers_used)}`),
        fact(`Outstanding points on ${r.to}`, formatNumber(last.outstanding_points)),
        fact("Their value", money(last.outstanding_value_minor, r.currency)))));
  }

  function showRewards(r) {
    const top = r.top_rewards || [];
    rewardsArea.replaceChildren(h("section", { "aria-labelledby": "top-rewards-h" },
      h("h2", { id: "top-rewards-h" }, "Top rewards"),
      top.length
        ? h("ol", { class: "top-rewards" }, top.map((t) => h("li", {},
          `${t.name || t.reward_id}: ${formatNumber(t.redemptions)} ${t.redemptions === 1 ? "redemption" : "redemptions"}`)))
        : h("p", {}, "No reward was redeemed in these days.")));
  }

  function showDays(r) {
    charts.replaceChildren(...CHARTS.map(([name, title, id]) => barChart(r.days, name, title, id)));
    tableArea.replaceChildren(h("table", { class: "figures" },
      h("caption", {}, `Figures per day, ${r.from} to ${r.to} (redemptions and expiries are negative)`),
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Day"), COLUMNS.map(([, head]) => h("th", { scope: "col" }, head)))),
      h("tbody", {}, r.days.map((d) => h("tr", {},
        h("th", { scope: "row" }, d.date),
        COLUMNS.map(([name]) => h("td", { class: "num" }, formatNumber(d[name] ?? 0))))))));
  }

  download.addEventListener("click", () => {
    if (!report) return;
    const blob = new Blob([toCsv(report)], { type: "text/csv" });
    const url = URL.createObjectURL(blob);
    const a = h("a", { href: url, download: `figures-${report.tenant}-${report.from}-${report.to}.csv`, hidden: true });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  });

  async function load(from, to) {
    try {
      report = await api.dailyReport(from, to);
      download.disabled = false;
      showHeadline(report);
      showRewards(report);
      showDays(report);
    } catch (error) {
      report = null;
      download.disabled = true;
      throw error;
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    clearErrors(form);
    const from = form.elements.from.value;
    const to = form.elements.to.value;
    if (!from) return showError(form, { field: "from", message: "Choose the first day." });
    if (!to) return showError(form, { field: "to", message: "Choose the last day." });
    if (from > to) return showError(form, { field: "from", message: "The first day must be on or before the last." });
    if ((parseDay(to) - parseDay(from)) / DAY_MS >= MAX_DAYS) {
      return showError(form, { field: "to", message: `Choose at most ${MAX_DAYS} days.` });
    }
    busy(form, async () => {
      try {
        await load(from, to);
      } catch (error) {
        showError(form, error);
      }
    });
  });

  try {
    // No range: the server's 30 days up to the program's today (its zone, not the browser's).
    await load();
    form.elements.from.value = report.from;
    form.elements.to.value = report.to;
  } catch (error) {
    notify(status, error.message, "error");
  }
}
