"""Settings > Webhooks, the delivery log: an endpoint's deliveries with their status,
attempts, last result and next attempt; a dead delivery replayed; a test event sent."""

from playwright.sync_api import expect
from test_console import nav, sign_in


def test_a_dead_delivery_is_replayed_from_the_delivery_log(page, run, api):
    dead = run["dead_delivery"]
    sign_in(page, run, "owner")
    nav(page, "Settings > Webhooks")
    page.get_by_role("button", name=f"Recent deliveries to {dead['url']}").click()
    log = page.get_by_role("region", name=f"Recent deliveries to {dead['url']}")
    row = log.get_by_role("row").filter(has_text=dead["event_id"])
    expect(row).to_contain_text("Dead (gave up)")
    expect(row).to_contain_text("12")
    expect(row).to_contain_text("503")
    expect(log.get_by_role("button", name="Replay all dead deliveries")).to_be_visible()

    row.get_by_role("button", name=f"Replay webhook.test {dead['event_id']}").click()
    expect(page.get_by_text("1 dead delivery sent again.")).to_be_visible()
    expect(row).to_contain_text("Pending")
    expect(row.get_by_role("button", name="Replay")).to_have_count(0)

    # The API agrees: pending again, due now.
    token = api.id_token("owner")
    status, body = api.admin("GET", f"/v1/admin/webhooks/{dead['endpoint_id']}/deliveries", token)
    assert status == 200, body
    mine = [d for d in body["deliveries"] if d["event_id"] == dead["event_id"]]
    assert mine and mine[0]["status"] == "pending" and mine[0]["next_attempt_at"], mine

    # A test event joins the log.
    before = log.get_by_role("row").count()
    page.get_by_role("button", name=f"Send a test event to {dead['url']}").click()
    expect(page.get_by_text("A test event")).to_be_visible()
    log = page.get_by_role("region", name=f"Recent deliveries to {dead['url']}")
    expect(log.get_by_role("row")).to_have_count(before + 1)
