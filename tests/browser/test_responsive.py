"""Every page at a phone's width (390 px) and a laptop's (1280 px): the page never scrolls
sideways, the navigation folds behind "Menu" on the phone, each page has one h1 and its
headings in order; a screenshot of each at both widths goes to docs/console/."""

import os

import pytest
from conftest import SHOTS
from playwright.sync_api import expect
from test_console import sign_in

PAGES = [
    ("overview", "Overview"),
    ("members", "Members"),
    ("rewards", "Rewards"),
    ("settings/api-keys", "Settings > API Keys"),
    ("settings/webhooks", "Settings > Webhooks"),
    ("audit", "Audit log"),
]
WIDTHS = {"phone": (390, 844), "laptop": (1280, 800)}

FITS = "document.documentElement.scrollWidth <= window.innerWidth"
HEADINGS = """() => [...document.querySelectorAll('main h1, main h2, main h3, main h4')]
  .filter((h) => h.offsetParent !== null).map((h) => Number(h.tagName[1]))"""


def check_page(page, name):
    assert page.evaluate(FITS), (
        f"{name} scrolls sideways: {page.evaluate('document.documentElement.scrollWidth')} > "
        f"{page.evaluate('window.innerWidth')}")
    levels = page.evaluate(HEADINGS)
    assert levels and levels[0] == 1 and levels.count(1) == 1, f"{name}: headings {levels}"
    for before, after in zip(levels, levels[1:]):
        assert after <= before + 1, f"{name}: a heading level skipped in {levels}"


def shot(page, name, width):
    os.makedirs(SHOTS, exist_ok=True)
    page.screenshot(path=os.path.join(SHOTS, f"{name}-{width}.png"))


@pytest.mark.parametrize("width", list(WIDTHS))
def test_every_page_fits_a_phone_and_a_laptop(page, run, width):
    page.set_viewport_size(dict(zip(("width", "height"), WIDTHS[width])))
    page.goto("/")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    check_page(page, "sign-in")
    shot(page, "sign-in", width)

    sign_in(page, run, "owner")
    menu = page.get_by_role("button", name="Menu")
    for route, heading in PAGES:
        if width == "phone":
            # The navigation is folded until asked for; a chosen page folds it again.
            expect(page.get_by_role("navigation", name="Console")).to_be_hidden()
            menu.click()
            expect(menu).to_have_attribute("aria-expanded", "true")
        else:
            expect(menu).to_be_hidden()
        link = page.get_by_role("navigation", name="Console").get_by_role("link", name=heading, exact=True)
        link.focus()
        expect(link).to_be_focused()
        link.click()
        expect(page.get_by_role("heading", name=heading, level=1)).to_be_visible()
        expect(page.get_by_text("Loading…")).to_have_count(0)
        page.wait_for_load_state("networkidle")
        check_page(page, route)
        shot(page, route.replace("settings/", ""), width)
