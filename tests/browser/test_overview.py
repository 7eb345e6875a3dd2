"""The Overview page (the landing page after sign-in): headline numbers, charts of points
earned, redeemed and expired per day with the table as their text alternative, a date
range picker and a CSV of the figures made in the browser."""

import csv
import io

from playwright.sync_api import expect
from test_console import sign_in


def test_the_overview_shows_the_figures_charts_and_table_and_downloads_them(page, run, api):
    sign_in(page, run, "viewer")
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    expect(page.get_by_role("link", name="Overview")).to_have_attribute("aria-current", "page")

    # The demo data, counted from the stream: what the page shows is what the API says.
    token = api.id_token("viewer")
    status, report = api.admin("GET", "/v1/admin/reports/daily", token)
    assert status == 200, report
    assert report["total"]["points_earned"] > 0, report["total"]
    facts = page.locator("dl.headline")
    expect(facts).to_contain_text(f"{report['total']['points_earned']:,}")
    expect(facts).to_contain_text(f"{report['members']:,}")

    # Three charts, each an image with a name and a description; the table has every day.
    for name in ["Points earned per day", "Points redeemed per day", "Points expired per day"]:
        expect(page.get_by_role("img", name=name)).to_be_visible()
    table = page.get_by_role("table", name="Figures per day")
    expect(table.get_by_role("row")).to_have_count(len(report["days"]) + 1)

    # Another range: seven days up to the last.
    page.get_by_role("button", name="Last 7 days").click()
    expect(table.get_by_role("row")).to_have_count(8)
    expect(page.get_by_label("From", exact=True)).to_have_value(report["days"][-7]["date"])

    # A range the page refuses before asking, named at its field.
    page.get_by_label("From", exact=True).fill("2026-12-31")
    page.get_by_label("To", exact=True).fill("2026-01-01")
    page.get_by_role("button", name="Show", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("on or before the last")
    expect(page.get_by_label("From", exact=True)).to_be_focused()

    # The CSV of what is shown: the 30 days up to the program's today again.
    page.get_by_label("To", exact=True).fill(report["to"])
    page.get_by_role("button", name="Last 30 days").click()
    expect(table.get_by_role("row")).to_have_count(31)
    with page.expect_download() as info:
        page.get_by_role("button", name="Download CSV").click()
    download = info.value
    assert download.suggested_filename.endswith(".csv"), download.suggested_filename
    with open(download.path(), newline="") as f:
        rows = list(csv.DictReader(io.StringIO(f.read())))
    assert len(rows) == 30, len(rows)
    assert sum(int(r["points_earned"]) for r in rows) == sum(d["points_earned"] for d in report["days"])
    assert rows[-1]["date"] == report["to"]
