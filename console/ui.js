// Small DOM helpers: elements from data (never HTML strings), labelled fields, errors
// beside their field and in a summary, <dialog> confirmations, formatting.

/** h("p", {class: "x", onclick: f}, "text", child...) */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else if (v === true) el.setAttribute(k, "");
    else el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

let ids = 0;
export const uid = (prefix) => `${prefix}-${++ids}`;

/**
 * A labelled field: `field({label, name, type, hint, options, ...inputAttrs})`.
 * `options` (list of [value, text]) makes a <select>.
 */
export function field({ label, name, type = "text", hint, options, value, ...rest }) {
  const id = uid(name);
  const hintId = hint ? `${id}-hint` : undefined;
  const errorId = `${id}-error`;
  let control;
  if (options) {
    control = h("select", { id, name, "aria-describedby": hintId, ...rest },
      options.map(([v, t]) => h("option", { value: v, selected: String(v) === String(value ?? "") }, t)));
  } else if (type === "textarea") {
    control = h("textarea", { id, name, "aria-describedby": hintId, ...rest });
    if (value !== undefined && value !== null) control.value = value;
  } else {
    control = h("input", { id, name, type, "aria-describedby": hintId, ...rest });
    if (value !== undefined && value !== null) control.value = value;
  }
  return h("div", { class: "field", "data-field": name },
    h("label", { for: id }, label),
    hint && h("p", { class: "hint", id: hintId }, hint),
    h("p", { class: "field-error", id: errorId, hidden: true }),
    control);
}

/** A group of checkboxes with a legend: `checkboxes({legend, name, options: [[value, text]], checked})`. */
export function checkboxes({ legend, name, options, checked = [] }) {
  return h("fieldset", { class: "field", "data-field": name },
    h("legend", {}, legend),
    h("p", { class: "field-error", hidden: true }),
    options.map(([v, t]) => {
      const id = uid(name);
      return h("div", { class: "check" },
        h("input", { type: "checkbox", id, name, value: v, checked: checked.includes(v) }),
        h("label", { for: id }, t));
    }));
}

export function checkedValues(form, name) {
  return Array.from(form.querySelectorAll(`input[name="${name}"]:checked`), (i) => i.value);
}

/** Clears a form's errors. */
export function clearErrors(form) {
  form.querySelectorAll(".field-error").forEach((p) => {
    p.hidden = true;
    p.textContent = "";
  });
  form.querySelectorAll("[aria-invalid]").forEach((c) => c.removeAttribute("aria-invalid"));
  const summary = form.querySelector(".error-summary");
  if (summary) summary.remove();
}

/** Puts the error summary first in the form, after the form's own heading if it has one
 * (so the summary's h3 never comes before the h2 it belongs under). */
function placeSummary(form, summary) {
  const heading = form.querySelector(":scope > h2, :scope > h3");
  if (heading) heading.after(summary);
  else form.prepend(summary);
}

/**
 * Shows an error: beside its field when `field` names one in the form, else in the
 * form's general error area. Focus moves to the field (or the summary).
 */
export function showError(form, error) {
  clearErrors(form);
  const container = error.field && form.querySelector(`[data-field="${CSS.escape(error.field)}"]`);
  const summary = h("div", { class: "error-summary", role: "alert", tabindex: "-1" },
    h("h3", {}, "There is a problem"));
  if (container) {
    const p = container.querySelector(".field-error");
    p.textContent = error.message;
    p.hidden = false;
    const control = container.querySelector("input, select, textarea");
    if (control) {
      control.setAttribute("aria-invalid", "true");
      const describedBy = new Set((control.getAttribute("aria-describedby") || "").split(" ").filter(Boolean));
      if (p.id) describedBy.add(p.id);
      control.setAttribute("aria-describedby", [...describedBy].join(" "));
      const link = h("a", { href: "#", onclick: (e) => { e.preventDefault(); control.focus(); } }, error.message);
      summary.append(h("p", {}, link));
      placeSummary(form, summary);
      control.focus();
      return;
    }
  }
  summary.append(h("p", {}, error.message));
  placeSummary(form, summary);
  summary.focus();
}

/** A page-level notice (success or failure) in the given area. */
export function notify(area, message, kind = "ok") {
  area.replaceChildren(h("div", { class: `notice ${kind}`, role: kind === "ok" ? "status" : "alert" }, message));
}

/**
 * Asks for confirmation in a modal <dialog>. Resolves true when the person confirms.
 * `confirmLabel` names the action ("Revoke key"); focus returns where it was.
 */
export function confirmDialog({ title, body, confirmLabel, danger = false }) {
  return new Promise((resolve) => {
    const returnFocus = document.activeElement;
    const titleId = uid("dialog-title");
    const dialog = h("dialog", { "aria-labelledby": titleId },
      h("form", { method: "dialog" },
        h("h2", { id: titleId }, title),
        ...(Array.isArray(body) ? body : [body]).map((b) => (b instanceof Node ? b : h("p", {}, b))),
        h("div", { class: "actions" },
          h("button", { value: "confirm", class: danger ? "danger" : "primary" }, confirmLabel),
          h("button", { value: "cancel", class: "secondary", autofocus: true }, "Cancel"))));
    dialog.addEventListener("close", () => {
      dialog.remove();
      if (returnFocus && returnFocus.focus) returnFocus.focus();
      resolve(dialog.returnValue === "confirm");
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}

/** Disables a form's submit button while `work` runs. */
export async function busy(form, work) {
  const buttons = form.querySelectorAll("button");
  buttons.forEach((b) => { b.disabled = true; });
  form.setAttribute("aria-busy", "true");
  try {
    return await work();
  } finally {
    buttons.forEach((b) => { b.disabled = false; });
    form.removeAttribute("aria-busy");
  }
}

export function formatDate(value) {
  if (!value) return "—";
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) return String(value);
  return d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

export const formatNumber = (n) => (n === null || n === undefined ? "—" : Number(n).toLocaleString());

/** A table from rows: `table(caption, ["Head", ...], rows.map(r => [cell, ...]))`. */
export function table(caption, heads, rows) {
  return h("table", {},
    h("caption", {}, caption),
    h("thead", {}, h("tr", {}, heads.map((t) => h("th", { scope: "col" }, t)))),
    h("tbody", {}, rows.map((cells) => h("tr", {}, cells.map((c) => h("td", {}, c))))));
}

/** A page heading that takes focus after navigation (screen readers hear the new page). */
export function pageHeading(text) {
  return h("h1", { tabindex: "-1", id: "page-heading" }, text);
}

// A secret shown once (a new API key's, a webhook endpoint's), in `area`: a warning, a
// read-only field with a copy button, and "I have stored it" to clear it. Focused.
export function showSecret(area, { title, advice, label, secret }) {
  const id = "new-secret";
  const input = h("input", { id, type: "text", readonly: true, class: "secret", value: secret, spellcheck: "false" });
  const copied = h("span", { role: "status", class: "muted" });
  const panel = h("section", { class: "panel secret-panel", "aria-labelledby": "secret-h", tabindex: "-1" },
    h("h2", { id: "secret-h" }, title),
    h("p", { class: "warning" }, h("strong", {}, "Copy it now: you will not see it again."), ` ${advice}`),
    h("label", { for: id }, label),
    h("div", { class: "copy-row" }, input,
      h("button", { type: "button", class: "primary", onclick: async () => {
        try {
          await navigator.clipboard.writeText(secret);
        } catch {
          input.select();
          document.execCommand("copy");
        }
        copied.textContent = "Copied.";
      } }, "Copy secret"), copied),
    h("div", { class: "actions" }, h("button", { type: "button", class: "secondary", onclick: () => area.replaceChildren() }, "I have stored it")));
  area.replaceChildren(panel);
  panel.focus();
}
