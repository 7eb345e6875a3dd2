"""Settings > Team, as an owner does it in a browser: invite a manager (the local stage
shows the temporary password once), the manager signs in with it and chooses their own,
the owner makes them a viewer, then removes them. Screenshots of the page at 1280 and 390
pixels wide go to docs/console/."""

import os
import secrets

from conftest import SHOTS
from playwright.sync_api import expect

from test_console import nav, sign_in



def shoot(page, name):
    os.makedirs(SHOTS, exist_ok=True)
    for width, height in [(1280, 900), (390, 844)]:
        page.set_viewport_size({"width": width, "height": height})
        page.screenshot(path=os.path.join(SHOTS, f"{name}-{width}.png"))
    page.set_viewport_size({"width": 1280, "height": 900})


def sign_out(page):
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


def test_the_owner_invites_a_manager_makes_them_a_viewer_and_removes_them(page, run):
    owner = run["users"]["owner"]
    email = f"team-{secrets.token_hex(3)}@{run['tenant']}.example"
    sign_in(page, run, "owner")
    nav(page, "Settings > Team")
    expect(page.get_by_role("heading", name="Settings > Team")).to_be_visible()
    expect(page.get_by_role("row").filter(has_text=owner["email"])).to_contain_text("Owner")

    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_label("Role", exact=True).select_option("manager")
    page.get_by_role("button", name="Invite person").click()
    expect(page.get_by_text("you will not see it again")).to_be_visible()
    temporary = page.get_by_role("textbox", name="Temporary password").input_value()
    assert len(temporary) >= 8, temporary
    row = page.get_by_role("row").filter(has_text=email)
    expect(row).to_contain_text("Manager")
    expect(row).to_contain_text("Invited")
    shoot(page, "team")
    sign_out(page)

    # The manager's first sign-in chooses their own password; they see no team page.
    chosen = f"Mgr-{secrets.token_hex(6)}-7a"
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill(temporary)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Choose a new password")).to_be_visible()
    page.get_by_label("New password", exact=True).fill(chosen)
    page.get_by_label("Confirm new password").fill(chosen)
    page.get_by_role("button", name="Set password and sign in").click()
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    expect(page.get_by_text(f"{email} · {run['tenant']} · manager")).to_be_visible()
    expect(page.get_by_role("link", name="Settings > Team")).to_be_hidden()
    sign_out(page)

    sign_in(page, run, "owner")
    nav(page, "Settings > Team")
    row = page.get_by_role("row").filter(has_text=email)
    expect(row).to_contain_text("Active")
    page.get_by_role("button", name=f"Change the role of {email}").click()
    page.get_by_label("New role").select_option("viewer")
    page.get_by_role("button", name="Change role", exact=True).click()
    expect(row).to_contain_text("Viewer")

    page.get_by_role("button", name=f"Remove {email}").click()
    dialog = page.get_by_role("dialog", name=f"Remove {email}?")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Remove person").click()
    expect(page.get_by_role("row").filter(has_text=email)).to_have_count(0)
