// Settings > Team (owner only): the program's people in the stage's user pool; invite one
// with a role (the temporary password shown once where the stage answers it), change a
// role, remove someone (confirmed first). The last owner cannot step down or be removed:
// the server says so and the page shows its message.
import { api, newIdempotencyKey } from "../api.js";
import { h, field, showError, clearErrors, busy, notify, confirmDialog, formatDate, pageHeading, showSecret } from "../ui.js";

const ROLES = [
  ["viewer", "Viewer: reads everything but secrets, changes nothing"],
  ["manager", "Manager: rewards, members, point adjustments"],
  ["owner", "Owner: everything, API keys, webhooks and the team included"],
];
const ROLE_WORDS = { owner: "Owner", manager: "Manager", viewer: "Viewer" };
const STATUS_WORDS = { invited: "Invited (has not signed in yet)", active: "Active", disabled: "Disabled" };

export async function render(main, { role } = {}) {
  const owner = role === "owner";
  const status = h("div", { class: "status-area" });
  const secretArea = h("div", {});
  const list = h("div", { class: "table-wrap" });
  const inviteArea = h("div", {});
  main.replaceChildren(pageHeading("Settings > Team"),
    h("p", {}, "The people who sign in to this console for your program, and what each may do."),
    status, secretArea, list, inviteArea);

  async function load() {
    try {
      const { people } = await api.team();
      list.replaceChildren(h("table", {},
        h("caption", {}, "People"),
        h("thead", {}, h("tr", {}, ["Email", "Role", "Status", "Invited", owner && "Actions"].filter(Boolean)
          .map((t) => h("th", { scope: "col" }, t)))),
        h("tbody", {}, people.length ? people.map(row) : h("tr", {}, h("td", { colspan: 5 }, "No one yet.")))));
    } catch (error) {
      notify(status, error.message, "error");
    }
  }

  function row(p) {
    return h("tr", {},
      h("td", {}, p.email),
      h("td", {}, ROLE_WORDS[p.role] || "No role"),
      h("td", {}, STATUS_WORDS[p.status] || p.status),
      h("td", {}, p.created ? formatDate(p.created) : "—"),
      owner && h("td", { class: "row-actions" },
        h("button", { type: "button", class: "secondary", "aria-label": `Change the role of ${p.email}`, onclick: () => changeRole(p) }, "Change role"),
        h("button", { type: "button", class: "danger", "aria-label": `Remove ${p.email}`, onclick: () => remove(p) }, "Remove")));
  }

  function changeRole(p) {
    let key = newIdempotencyKey();
    const form = h("form", { novalidate: true, class: "panel", "aria-labelledby": "role-h" },
      h("h2", { id: "role-h" }, `Change the role of ${p.email}`),
      field({ label: "New role", name: "role", options: ROLES, value: p.role }),
      h("div", { class: "actions" },
        h("button", { type: "submit", class: "primary" }, "Change role"),
        h("button", { type: "button", class: "secondary", onclick: () => secretArea.replaceChildren() }, "Cancel")));
    form.addEventListener("input", () => {
      key = newIdempotencyKey();
    });
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      clearErrors(form);
      busy(form, async () => {
        try {
          const changed = await api.changeRole(p.email, { role: form.elements.role.value }, key);
          secretArea.replaceChildren();
          notify(status, `${changed.email} is now ${ROLE_WORDS[changed.role] || changed.role}.`);
          await load();
        } catch (error) {
          showError(form, error);
        }
      });
    });
    secretArea.replaceChildren(form);
    form.elements.role.focus();
  }

  async function remove(p) {
    const key = newIdempotencyKey();
    const ok = await confirmDialog({
      title: `Remove ${p.email}?`,
      body: "They are signed out everywhere and can no longer sign in. Their past changes stay in the audit log.",
      confirmLabel: "Remove person",
      danger: true,
    });
    if (!ok) return;
    try {
      await api.removePerson(p.email, key);
      notify(status, `${p.email} removed.`);
      await load();
    } catch (error) {
      notify(status, error.message, "error");
    }
  }

  function inviteForm() {
    let key = newIdempotencyKey();
    const form = h("form", { novalidate: true, class: "panel", "aria-labelledby": "invite-h" },
      h("h2", { id: "invite-h" }, "Invite a person"),
      field({ label: "Email", name: "email", type: "email", required: true, autocomplete: "off", hint: "They receive an invitation with a temporary password." }),
      field({ label: "Role", name: "role", options: ROLES, value: "viewer" }),
      h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, "Invite person")));
    form.addEventListener("input", () => {
      key = newIdempotencyKey();
    });
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      clearErrors(form);
      const body = { email: form.elements.email.value.trim(), role: form.elements.role.value };
      if (!body.email) return showError(form, { field: "email", message: "Enter the person's email address." });
      busy(form, async () => {
        try {
          const invited = await api.invitePerson(body, key);
          form.reset();
          key = newIdempotencyKey();
          await load();
          if (invited.temporary_password) {
            showSecret(secretArea, {
              title: `Temporary password of ${invited.person.email}`,
              advice: "Pass it on to them: their first sign-in chooses a new one.",
              label: "Temporary password",
              secret: invited.temporary_password,
            });
          } else {
            notify(status, `${invited.person.email} is invited: the invitation email carries their temporary password.`);
          }
        } catch (error) {
          showError(form, error);
        }
      });
    });
    return form;
  }

  if (owner) inviteArea.replaceChildren(inviteForm());
  await load();
}
