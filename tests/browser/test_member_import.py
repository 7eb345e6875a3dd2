"""Members in bulk in the console: an owner imports opening balances from a small CSV
file and sees a result per row (a second import of the same file changes nothing), then
exports every member as one CSV download."""

import os
import random

from playwright.sync_api import expect

from conftest import SHOTS
from test_console import nav, sign_in


def test_an_owner_imports_opening_balances_and_exports_members(page, run, api, tmp_path):
    base = random.randrange(10**8, 9 * 10**8)
    first, second = f"9{base}", f"9{base + 1}"
    run_ref = f"br-{base}"
    csv_file = tmp_path / "opening.csv"
    csv_file.write_text(
        "mobile,name,email,points,reference\n"
        f"{first},\"Iyer, Lakshmi\",,1500,{run_ref}-1\n"
        f"{second},Joseph Mathew,joseph@example.com,800,{run_ref}-2\n"
        f"12,Nobody,,10,{run_ref}-3\n"
        f"9{base + 3},Negative,,-5,{run_ref}-4\n"
    )

    sign_in(page, run, "owner")
    nav(page, "Members")
    form = page.get_by_role("form", name="Import opening balances")
    form.get_by_label("CSV file").set_input_files(str(csv_file))
    form.get_by_role("button", name="Import").click()
    status = page.locator("#import-status")
    expect(status).to_have_text("2 imported, 0 already imported, 2 not imported.")
    results = page.get_by_role("table")
    expect(results).to_contain_text(f"{run_ref}-1")
    expect(results).to_contain_text("bad mobile")
    expect(results).to_contain_text("negative points")
    assert api.pos_customer(run["live_key"], first)[1]["found"] is True

    os.makedirs(SHOTS, exist_ok=True)
    for width, height in ((1280, 900), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        page.get_by_role("heading", name="Export and import").scroll_into_view_if_needed()
        page.screenshot(path=os.path.join(SHOTS, f"member-import-{width}.png"))
    page.set_viewport_size({"width": 1280, "height": 900})

    # The same file again: nothing changes.
    form.get_by_label("CSV file").set_input_files(str(csv_file))
    form.get_by_role("button", name="Import").click()
    expect(status).to_have_text("0 imported, 2 already imported, 2 not imported.")

    # Every member in one download, the imported ones among them.
    with page.expect_download() as info:
        page.get_by_role("button", name="Export members").click()
    exported = open(info.value.path(), encoding="utf-8").read()
    assert exported.startswith("customer_id,name,mobile,email,tier,balance,lifetime_points,enrolled_at\n")
    assert "\"Iyer, Lakshmi\"" in exported and "joseph@example.com" in exported
    expect(page.locator("#export-status")).to_contain_text("Exported")
