"""Members' data in the console: an owner edits a member's mobile (the till then finds
them by the new number only) and erases the member's personal data."""

import os
import random

from conftest import SHOTS
from playwright.sync_api import expect

from test_console import nav, sign_in



def enrol(api, run, mobile, name):
    status, body = api.call("POST", f"/api/{run['tenant']}/pos/bill", {"X-API-Key": run["live_key"]},
                            {"mobile": mobile, "name": name, "amount": 1200})
    assert status == 200, body
    return body["customer_id"]


def test_an_owner_edits_a_members_mobile_and_erases_their_personal_data(page, run, api):
    old, new = (f"9{random.randrange(10**8, 10**9)}" for _ in range(2))
    enrol(api, run, old, "Meera Iyer")

    sign_in(page, run, "owner")
    nav(page, "Members")
    page.get_by_label("Mobile, email or customer id").fill(old)
    page.get_by_role("button", name="Find member").click()
    page.get_by_role("link", name="Meera Iyer").click()
    expect(page.get_by_role("heading", name="Meera Iyer")).to_be_visible()

    form = page.get_by_role("form", name="Edit details")
    form.get_by_label("Mobile").fill(new)
    form.get_by_label("Email").fill("meera@example.com")
    form.get_by_role("button", name="Save details").click()
    expect(page.get_by_role("status")).to_contain_text("Details saved")
    expect(page.get_by_text(new, exact=True)).to_be_visible()
    assert api.pos_customer(run["live_key"], new)[1]["found"] is True
    assert api.pos_customer(run["live_key"], old)[1]["found"] is False

    os.makedirs(SHOTS, exist_ok=True)
    for width, height in ((1280, 900), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        page.get_by_role("heading", name="Edit details").scroll_into_view_if_needed()
        page.screenshot(path=os.path.join(SHOTS, f"member-data-{width}.png"))

    page.set_viewport_size({"width": 1280, "height": 900})
    page.get_by_role("form", name="Erase personal data").get_by_role("button", name="Erase personal data").click()
    dialog = page.get_by_role("dialog", name="Erase this member's personal data?")
    expect(dialog).to_contain_text(f"the mobile {new}")
    expect(dialog).to_contain_text("the email meera@example.com")
    expect(dialog).to_contain_text("cannot be undone")
    dialog.get_by_role("button", name="Erase for good").click()
    expect(page.get_by_role("status")).to_contain_text("Personal data erased")
    expect(page.get_by_role("form", name="Edit details").get_by_label("Mobile")).to_have_value("")
    assert api.pos_customer(run["live_key"], new)[1]["found"] is False
