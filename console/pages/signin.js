// Sign in: email and password; a temporary password leads to "Choose a new password".
import { signIn } from "../session.js";
import { h, field, showError, busy, pageHeading } from "../ui.js";

const MESSAGES = {
  NotAuthorizedException: "Incorrect email or password.",
  UserNotFoundException: "Incorrect email or password.",
  PasswordResetRequiredException: "Your password was reset. Ask your program's owner or the operator for a new one.",
  TooManyRequestsException: "Too many attempts. Wait a minute and try again.",
};

function explain(error) {
  return MESSAGES[error.type] || error.message || "Sign-in failed.";
}

// cognito-local answers a wrong password with InvalidPasswordException; Cognito with
// NotAuthorizedException. At sign-in both mean the same.
function explainSignIn(error) {
  return error.type === "InvalidPasswordException" ? MESSAGES.NotAuthorizedException : explain(error);
}

export function render(main, { notice, onSignedIn }) {
  const form = h("form", { novalidate: true, "aria-labelledby": "page-heading" },
    field({ label: "Email", name: "email", type: "email", autocomplete: "username", required: true }),
    field({ label: "Password", name: "password", type: "password", autocomplete: "current-password", required: true }),
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, "Sign in")));

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const email = form.elements.email.value.trim();
    const password = form.elements.password.value;
    if (!email) return showError(form, { field: "email", message: "Enter your email address." });
    if (!password) return showError(form, { field: "password", message: "Enter your password." });
    busy(form, async () => {
      try {
        const result = await signIn(email, password);
        if (result.challenge) chooseNewPassword(main, result, onSignedIn);
        else onSignedIn();
      } catch (error) {
        showError(form, { message: explainSignIn(error) });
      }
    });
  });

  main.replaceChildren(
    pageHeading("Sign in"),
    notice ? h("div", { class: "notice info", role: "status" }, notice) : "",
    form);
  form.elements.email.focus();
}

function chooseNewPassword(main, challenge, onSignedIn) {
  const form = h("form", { novalidate: true, "aria-labelledby": "page-heading" },
    h("p", {}, "You signed in with a temporary password. Choose your own to continue."),
    field({ label: "New password", name: "password", type: "password", autocomplete: "new-password", required: true,
      hint: "At least 8 characters, with upper and lower case letters, a number and a symbol." }),
    field({ label: "Confirm new password", name: "confirm", type: "password", autocomplete: "new-password", required: true }),
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, "Set password and sign in")));

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const password = form.elements.password.value;
    if (!password) return showError(form, { field: "password", message: "Enter a new password." });
    if (password !== form.elements.confirm.value) {
      return showError(form, { field: "confirm", message: "The two passwords are not the same." });
    }
    busy(form, async () => {
      try {
        await challenge.answer(password);
        onSignedIn();
      } catch (error) {
        const field = error.type === "InvalidPasswordException" ? "password" : undefined;
        showError(form, { field, message: explain(error) });
      }
    });
  });

  main.replaceChildren(pageHeading("Choose a new password"), form);
  form.elements.password.focus();
}
