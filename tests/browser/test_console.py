"""The console's stories, one test each, as a person does them in a browser: locate by
role and label, wait on what the page shows."""

import re
import secrets

from conftest import eventually
from playwright.sync_api import expect


def sign_in(page, run, person):
    user = run["users"][person]
    page.goto("/")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.get_by_label("Email").fill(user["email"])
    page.get_by_label("Password", exact=True).fill(user["password"])
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    expect(page.get_by_text(f"{user['email']} · {user['tenant']} · {user['role']}")).to_be_visible()


def nav(page, name):
    page.get_by_role("navigation", name="Console").get_by_role("link", name=name).click()


def test_sign_in_refuses_a_wrong_password_and_a_temporary_one_must_be_changed(page, run):
    owner = run["users"]["owner"]
    page.goto("/")
    page.get_by_label("Email").fill(owner["email"])
    page.get_by_label("Password", exact=True).fill(owner["password"] + "-wrong")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("Incorrect email or password.")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.get_by_role("navigation", name="Console")).to_be_hidden()

    sign_in(page, run, "owner")
    expect(page.get_by_role("link", name="Settings > API Keys")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.get_by_text("You are signed out.")).to_be_visible()

    # A person added with a temporary password chooses their own on first sign-in.
    fresh = run["users"]["manager"]
    page.get_by_label("Email").fill(fresh["email"])
    page.get_by_label("Password", exact=True).fill(fresh["temporary_password"])
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Choose a new password")).to_be_visible()
    page.get_by_label("New password", exact=True).fill(fresh["password"])
    page.get_by_label("Confirm new password").fill(fresh["password"])
    page.get_by_role("button", name="Set password and sign in").click()
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    expect(page.get_by_text(f"{fresh['email']} · {fresh['tenant']} · manager")).to_be_visible()


def test_an_issued_key_works_at_the_pos_until_it_is_revoked(page, run, api):
    sign_in(page, run, "owner")
    nav(page, "Settings > API Keys")
    expect(page.get_by_role("heading", name="Settings > API Keys")).to_be_visible()

    label = f"Browser till {secrets.token_hex(3)}"
    page.get_by_label("Label").fill(label)
    page.get_by_label("Mode").select_option("live")
    page.get_by_label("Channel").select_option("pos")
    expect(page.get_by_role("checkbox", name=re.compile("Read customers"))).to_be_checked()
    page.get_by_role("button", name="Issue key").click()

    expect(page.get_by_text("you will not see it again")).to_be_visible()
    expect(page.get_by_role("button", name="Copy secret")).to_be_visible()
    secret = page.get_by_label("Secret key").input_value()
    assert secret.startswith("mg_live_"), secret
    row = page.get_by_role("row").filter(has_text=label)
    expect(row).to_contain_text("Active")

    status, body = api.pos_customer(secret)
    assert status == 200 and body.get("found") is True, (status, body)

    page.get_by_role("button", name=f"Revoke {label}").click()
    dialog = page.get_by_role("dialog", name=f"Revoke “{label}”?")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Revoke key").click()
    expect(row).to_contain_text("Revoked")

    # The key cache lives 5 s under the local scripts.
    last = {}

    def refused():
        last["answer"] = api.pos_customer(secret)
        return last["answer"][0] == 401

    assert eventually(refused, seconds=8), f"the revoked key still answers: {last['answer']}"


def test_a_webhook_endpoint_added_in_the_console_is_listed_disabled_and_removed(page, run):
    sign_in(page, run, "owner")
    nav(page, "Settings > Webhooks")
    expect(page.get_by_role("heading", name="Settings > Webhooks")).to_be_visible()

    # A .test name never resolves: nothing is delivered anywhere.
    url = f"https://hooks-{secrets.token_hex(3)}.example.test/loyalty"
    page.get_by_label("URL").fill(url)
    page.get_by_role("checkbox", name=re.compile("Points earned")).check()
    page.get_by_role("button", name="Add endpoint").click()

    expect(page.get_by_text("you will not see it again")).to_be_visible()
    secret = page.get_by_role("textbox", name="Signing secret").input_value()
    assert secret.startswith("whsec_"), secret
    row = page.get_by_role("row").filter(has_text=url)
    expect(row).to_contain_text("points.earned")
    expect(row).to_contain_text("Active")
    expect(page.get_by_role("table")).not_to_contain_text(secret)

    page.get_by_role("button", name=f"Disable {url}").click()
    expect(row).to_contain_text("Disabled")
    page.get_by_role("button", name=f"Remove {url}").click()
    dialog = page.get_by_role("dialog", name=f"Remove {url}?")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Remove endpoint").click()
    expect(page.get_by_role("row").filter(has_text=url)).to_have_count(0)

def test_a_reward_added_in_the_console_is_in_the_public_catalogue(page, run, api):
    sign_in(page, run, "owner")
    nav(page, "Rewards")
    expect(page.get_by_role("heading", name="Rewards")).to_be_visible()

    reward_id = f"rwd-browser-{secrets.token_hex(3)}"
    name = f"Late checkout {reward_id[-6:]}"
    page.get_by_role("button", name="Add reward").click()
    page.get_by_label("Reward id").fill(reward_id)
    page.get_by_label("Name").fill(name)
    page.get_by_label("Description").fill("Keep the room until 2 pm.")
    page.get_by_label("Points cost").fill("700")
    page.get_by_label("Kind").select_option("fixed")
    page.get_by_label("Amount off").fill("150.00")
    page.get_by_role("button", name="Add reward").click()
    expect(page.get_by_role("status")).to_contain_text(f"“{name}” added.")
    expect(page.get_by_role("row").filter(has_text=reward_id)).to_contain_text("Active")

    last = {}

    def listed():
        last["answer"] = api.call("GET", "/v1/public/loyalty/rewards", {"X-API-Key": run["app_key"]})
        status, body = last["answer"]
        return status == 200 and any(r.get("publicId") == reward_id for r in body.get("data", []))

    assert eventually(listed, seconds=8), f"{reward_id} not in the Public catalogue: {last['answer']}"


def test_a_points_adjustment_shows_at_the_pos_and_in_the_audit_log(page, run, api):
    status, before = api.pos_customer(run["live_key"])
    assert status == 200, before

    sign_in(page, run, "owner")
    nav(page, "Members")
    page.get_by_label("Mobile, email or customer id").fill(run["mobile"])
    page.get_by_role("button", name="Find member").click()
    page.get_by_role("link", name=run["customer_name"]).click()
    expect(page.get_by_role("heading", name=run["customer_name"])).to_be_visible()

    reason = f"Goodwill for a late check-in {secrets.token_hex(3)}"
    form = page.get_by_role("form", name="Adjust points")
    form.get_by_label("Points").fill("250")
    form.get_by_label("Reason").fill(reason)
    form.get_by_role("button", name="Adjust points").click()
    dialog = page.get_by_role("dialog", name="Adjust points?")
    expect(dialog).to_contain_text("Add 250 points")
    dialog.get_by_role("button", name="Apply adjustment").click()
    expect(page.get_by_role("status")).to_contain_text("Points adjusted")
    expect(page.get_by_role("row").filter(has_text=re.compile("adjust")).first).to_contain_text("+250")

    status, after = api.pos_customer(run["live_key"])
    assert status == 200, after
    assert after["points_balance"] == before["points_balance"] + 250, (before, after)

    nav(page, "Audit log")
    expect(page.get_by_role("heading", name="Audit log")).to_be_visible()
    newest = page.get_by_role("row").nth(1)
    expect(newest).to_contain_text("member.adjust")
    expect(newest).to_contain_text(run["users"]["owner"]["email"])
    # Before and after: the balance the POS lookup shows now.
    expect(newest).to_contain_text(f'"points_balance":{after["points_balance"]}')


def test_a_viewer_sees_no_keys_and_changes_nothing(page, run, api):
    sign_in(page, run, "viewer")
    expect(page.get_by_role("link", name="Settings > API Keys")).to_be_hidden()
    page.goto("/#/settings/api-keys")
    expect(page.get_by_role("heading", name="Not available")).to_be_visible()
    expect(page.get_by_role("button", name="Issue key")).to_have_count(0)

    nav(page, "Rewards")
    expect(page.get_by_role("table")).to_contain_text(run["reward_names"][0])
    expect(page.get_by_role("button", name="Add reward")).to_have_count(0)
    expect(page.get_by_role("button", name=re.compile("^(Edit|Archive) "))).to_have_count(0)

    nav(page, "Members")
    page.get_by_label("Mobile, email or customer id").fill(run["mobile"])
    page.get_by_role("button", name="Find member").click()
    page.get_by_role("link", name=run["customer_name"]).click()
    expect(page.get_by_role("heading", name="History")).to_be_visible()
    expect(page.get_by_role("button", name="Adjust points")).to_have_count(0)
    expect(page.get_by_role("button", name="Issue coupon")).to_have_count(0)

    # The server refuses anyway.
    token = api.id_token("viewer")
    status, body = api.admin("GET", "/v1/admin/keys", token)
    assert status == 403 and body["error"]["code"] == "forbidden", (status, body)
    status, body = api.admin("POST", "/v1/admin/rewards", token, {
        "reward_id": "rwd-viewer", "name": "Nope", "description": "", "points_cost": 1, "kind": "service",
        "value_minor": None, "discount_percent": None}, idempotency_key=secrets.token_hex(8))
    assert status == 403 and body["error"]["code"] == "forbidden", (status, body)


def test_another_tenants_owner_sees_nothing_of_this_tenant(page, run, api):
    sign_in(page, run, "other_owner")
    nav(page, "Members")
    page.get_by_label("Mobile, email or customer id").fill(run["mobile"])
    page.get_by_role("button", name="Find member").click()
    expect(page.get_by_text(f"No member matches “{run['mobile']}”.")).to_be_visible()

    nav(page, "Rewards")
    expect(page.get_by_role("heading", name="Rewards")).to_be_visible()
    expect(page.get_by_role("table")).to_be_visible()
    for name in run["reward_names"]:
        expect(page.get_by_role("table")).not_to_contain_text(name)

    nav(page, "Settings > API Keys")
    expect(page.get_by_role("table")).to_be_visible()
    expect(page.get_by_role("table")).not_to_contain_text("Browser till")

    nav(page, "Audit log")
    expect(page.get_by_role("table")).to_be_visible()
    expect(page.get_by_role("table")).not_to_contain_text(run["users"]["owner"]["email"])

    # Ids of this tenant in URLs and bodies reach nothing.
    owner = api.id_token("owner")
    status, found = api.admin("GET", f"/v1/admin/members?q={run['mobile']}", owner)
    assert status == 200 and found["members"], (status, found)
    customer_id = found["members"][0]["customer_id"]
    other = api.id_token("other_owner")
    status, body = api.admin("GET", f"/v1/admin/members/{customer_id}", other)
    assert status == 404, (status, body)
    status, body = api.admin("POST", f"/v1/admin/members/{customer_id}/adjustments", other,
                             {"points": 100, "reason": "not mine"}, idempotency_key=secrets.token_hex(8))
    assert status == 404, (status, body)
    status, body = api.admin("GET", f"/v1/admin/members?q={run['mobile']}", other)
    assert status == 200 and body["members"] == [], (status, body)
