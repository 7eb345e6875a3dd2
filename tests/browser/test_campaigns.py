"""Campaigns, as a manager does it in a browser: paste 20 mobiles (one a member, the rest
nobody's), create and run the campaign, watch the progress reach the end, read the
result (one coupon issued, 19 skipped) and find the campaign among past ones; then a
campaign to every member of the demo member's tier. Screenshots of the page at 1280 and
390 pixels wide."""

import datetime
import os
import re
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


def test_a_manager_pastes_twenty_mobiles_runs_the_campaign_and_reads_the_result(page, run):
    name = f"Welcome back {secrets.token_hex(2)}"
    # The demo member, and 19 numbers nobody has.
    mobiles = [run["mobile"]] + [f"93{secrets.randbelow(10**8):08d}" for _ in range(19)]
    expires = (datetime.date.today() + datetime.timedelta(days=60)).isoformat()
    sign_in(page, run, "owner")
    nav(page, "Campaigns")
    expect(page.get_by_role("heading", name="Campaigns", exact=True)).to_be_visible()

    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("Amount off").fill("150.00")
    page.get_by_label("Valid until").fill(expires)
    page.get_by_label("Mobiles", exact=True).fill("\n".join(mobiles))
    page.get_by_role("button", name="Create and run").click()

    progress = page.locator("#campaign-progress")
    expect(progress).to_have_attribute("max", "20")
    expect(page.locator("#campaign-progress-text")).to_contain_text("20 of 20 mobiles done", timeout=30_000)
    expect(page.locator("#campaign-progress-text")).to_contain_text("1 issued, 19 not members")
    expect(page.get_by_text(f"“{name}” is done: 1 coupons issued.")).to_be_visible()
    expect(page.get_by_role("button", name="Download skipped mobiles (CSV)")).to_be_visible()
    row = page.get_by_role("row").filter(has_text=name)
    expect(row).to_contain_text("done (20 of 20)")
    expect(row).to_contain_text("150.00 off")
    shoot(page, "campaigns")


def test_an_owner_gives_every_member_of_a_tier_a_coupon(page, run, api):
    status, member = api.pos_customer(run["live_key"])
    assert status == 200 and member["found"], member
    tier = member["tier"]
    name = f"Tier thanks {secrets.token_hex(2)}"
    expires = (datetime.date.today() + datetime.timedelta(days=30)).isoformat()
    sign_in(page, run, "owner")
    nav(page, "Campaigns")
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("Coupon", exact=True).select_option("percent")
    page.get_by_label("Percent off").fill("10")
    page.get_by_label("Valid until").fill(expires)
    page.get_by_label("Who gets it").select_option("tier")
    expect(page.get_by_label("Mobiles", exact=True)).to_be_hidden()
    page.get_by_label("Tier", exact=True).select_option(tier)
    page.get_by_role("button", name="Create and run").click()

    expect(page.get_by_text(re.compile(f"“{name}” is done: [1-9][0-9]* coupons issued."))).to_be_visible(timeout=30_000)
    row = page.get_by_role("row").filter(has_text=name)
    expect(row).to_contain_text(f"every {tier} member")
    expect(row).to_contain_text("10% off")
