"""Fixtures of the console's browser tests (pytest + Playwright, sync API).

One headless Chromium (Debian's, at /usr/bin/chromium) for the whole run, a fresh
browser context (no cookies, no sessionStorage) per test. scripts/browser brings up the
stack and writes the run's facts (URLs, tenant, keys, people) to the JSON file named by
LOYALTY_BROWSER_RUN.
"""

import json
import os
import time
import urllib.error
import urllib.request

import pytest
from playwright.sync_api import expect, sync_playwright

CHROMIUM = os.environ.get("LOYALTY_CHROMIUM", "/usr/bin/chromium")
# Where the stories' screenshots go: docs/console/ only when asked
# (`scripts/browser --screenshots`), so a test run leaves the tree as it was.
SHOTS = os.environ.get("LOYALTY_SCREENSHOTS") or os.path.join(
    os.path.dirname(__file__), "..", "..", ".local", "screenshots")
os.makedirs(SHOTS, exist_ok=True)
# Waits on what the page shows; a first call to a function of `cargo lambda watch` may
# take a few seconds.
expect.set_options(timeout=20_000)


@pytest.fixture(scope="session")
def run():
    path = os.environ.get("LOYALTY_BROWSER_RUN")
    if not path:
        pytest.exit("LOYALTY_BROWSER_RUN is not set: run the browser tests through scripts/browser", 2)
    with open(path) as f:
        return json.load(f)


@pytest.fixture(scope="session")
def browser():
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield b
        b.close()


@pytest.fixture
def page(browser, run):
    context = browser.new_context(base_url=run["console_url"])
    context.set_default_timeout(20_000)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    # A Content-Security-Policy violation shows as a console error: fail on it.
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" and "Content Security Policy" in m.text else None)
    yield page
    context.close()
    assert not errors, f"errors in the page: {errors}"


class Api:
    """Plain HTTP calls beside the browser: the Partner/Public dialects with an API key,
    the management API with a person's ID token, Cognito through the console's origin."""

    def __init__(self, run):
        self.run = run

    def call(self, method, path, headers=None, body=None, base=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request((base or self.run["api_url"]) + path, data=data, method=method)
        headers = dict(headers or {})
        if data is not None:
            headers.setdefault("Content-Type", "application/json")
        for k, v in headers.items():
            req.add_header(k, v)
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                return r.status, json.loads(r.read() or b"null")
        except urllib.error.HTTPError as e:
            raw = e.read()
            try:
                return e.code, json.loads(raw or b"null")
            except ValueError:
                return e.code, raw.decode(errors="replace")

    def pos_customer(self, key, mobile=None):
        mobile = mobile or self.run["mobile"]
        return self.call("GET", f"/api/{self.run['tenant']}/pos/customer?mobile={mobile}", {"X-API-Key": key})

    def id_token(self, person):
        """Signs `person` (a key of run["users"]) in on Cognito; answers the ID token."""
        user = self.run["users"][person]
        status, body = self.call(
            "POST", "/", base=self.run["console_url"].rstrip("/") + "/cognito",
            headers={"X-Amz-Target": "AWSCognitoIdentityProviderService.InitiateAuth",
                     "Content-Type": "application/x-amz-json-1.1"},
            body={"AuthFlow": "USER_PASSWORD_AUTH", "ClientId": self.run["client_id"],
                  "AuthParameters": {"USERNAME": user["email"], "PASSWORD": user["password"]}})
        assert status == 200, f"sign-in of {user['email']} on cognito-local: {status} {body}"
        return body["AuthenticationResult"]["IdToken"]

    def admin(self, method, path, token, body=None, idempotency_key=None):
        headers = {"Authorization": f"Bearer {token}"}
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        return self.call(method, path, headers, body)


@pytest.fixture(scope="session")
def api(run):
    return Api(run)


def eventually(check, seconds=8.0, interval=0.25):
    """Calls `check` until it answers something true or `seconds` pass; answers the last result."""
    deadline = time.monotonic() + seconds
    while True:
        result = check()
        if result or time.monotonic() >= deadline:
            return result
        time.sleep(interval)
