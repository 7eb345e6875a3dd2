"""The Program page's stories: a manager raises the earn rate and adds a tier, confirmed
with what changes and when, and sees the new version listed as upcoming; a viewer reads
the rules and has no button to change them. Screenshots of the page at 390 and 1280 px
go to docs/console/."""

import os
import re

from conftest import SHOTS
from playwright.sync_api import expect
from test_console import sign_in



def open_program(page):
    page.get_by_role("navigation", name="Console").get_by_role("link", name="Program").click()
    expect(page.get_by_role("heading", name="Program", exact=True)).to_be_visible()
    expect(page.get_by_role("heading", name="Rules in force now")).to_be_visible()


def test_a_manager_raises_the_earn_rate_and_adds_a_tier(page, run, api):
    sign_in(page, run, "rules_manager")
    open_program(page)
    page.get_by_role("button", name="Change rules").click()
    form = page.get_by_role("form", name="Change the rules")
    # An error the server names is shown beside its field: a tier below the one before.
    form.get_by_role("button", name="Add tier").click()
    rows = form.get_by_role("group", name=re.compile(r"^Tier \d+$"))
    last = rows.last
    last.get_by_label(re.compile(r"^Tier \d+ name$")).fill("Diamond")
    last.get_by_label("From lifetime points").fill("1")
    last.get_by_label("Multiplier").fill("2")
    last.get_by_label("Colour").fill("#1e90ff")
    last.get_by_label("Priority service").check()
    form.get_by_label(re.compile(r"^Earn rate")).fill("150")
    form.get_by_role("button", name="Review change").click()
    page.get_by_role("dialog").get_by_role("button", name="Save new rules").click()
    expect(form.get_by_role("alert")).to_contain_text("is not valid")
    expect(last.get_by_label("From lifetime points")).to_have_attribute("aria-invalid", "true")
    # The summary's heading comes after the form's own, never before it.
    levels = form.locator("h2, h3").evaluate_all("hs => hs.map(h => h.tagName)")
    assert levels[:2] == ["H2", "H3"], levels

    last.get_by_label("From lifetime points").fill("5000000")
    form.get_by_role("button", name="Review change").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("Earn rate")
    expect(dialog).to_contain_text("150 per 1")
    expect(dialog).to_contain_text("Diamond from")
    expect(dialog).to_contain_text(re.compile(r"in about \d+ seconds"))
    dialog.get_by_role("button", name="Save new rules").click()
    expect(page.get_by_role("status")).to_contain_text("New rules saved")
    versions = page.get_by_role("table", name="Versions, newest first")
    expect(versions.get_by_role("row").nth(1)).to_contain_text("Upcoming")
    expect(versions.get_by_role("row").nth(1)).to_contain_text("Diamond")

    for width, height in ((1280, 900), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        expect(page.get_by_role("heading", name="Rules in force now")).to_be_visible()
        page.screenshot(path=os.path.join(SHOTS, f"program-{width}.png"), full_page=False)

    token = api.id_token("rules_manager")
    status, body = api.admin("GET", "/v1/admin/program", token)
    assert status == 200, body
    assert body["upcoming"][0]["rules"]["earn_rate_milli"] == 150_000, body
    assert body["upcoming"][0]["rules"]["tiers"][-1]["name"] == "Diamond", body


def test_a_viewer_reads_the_rules_and_has_no_edit_button(page, run, api):
    sign_in(page, run, "viewer")
    open_program(page)
    expect(page.get_by_role("table", name="Tiers")).to_be_visible()
    expect(page.get_by_role("table", name="Versions, newest first")).to_be_visible()
    expect(page.get_by_role("button", name="Change rules")).to_have_count(0)
    token = api.id_token("viewer")
    status, body = api.admin("POST", "/v1/admin/program/versions", token, {"earn_rate_milli": 1})
    assert status == 403, body
