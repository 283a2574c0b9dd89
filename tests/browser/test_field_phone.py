"""A rep's field day on a phone in Chromium (issue 10): the installed app (a service worker in
control) checks in at a customer with no signal — a photo from the file input and a voice note
recorded with the fake microphone — the check-in waits in the phone's queue, and when the signal
comes back it is uploaded once. Five minutes later a check-in 20 km away is flagged
`impossible_speed`; the manager sees both visits on the rep's day and reviews the flag."""

from __future__ import annotations

import datetime as dt
import os

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from kedun.field.models import CheckIn, CheckInFlag, Review
from tests.factories import DepartmentFactory, UserFactory
from tests.field.conftest import PEOPLE_SQUARE, jpeg, located, north_of

from .conftest import CHROMIUM, LAUNCH_ARGS
from .test_collaboration_scene import log_in
from .test_pool_browser import log_out
from .test_shell import shot

pytestmark = pytest.mark.browser

FAKE_MEDIA = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]


@pytest.fixture(scope="module")
def browser():
    """Chromium with a fake camera and microphone that never asks for permission."""
    if not os.path.exists(CHROMIUM):
        pytest.skip("Debian's Chromium is not installed")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, args=[*LAUNCH_ARGS, *FAKE_MEDIA]
            )
            yield browser
            browser.close()
    finally:
        del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]


def phone_context(browser, at: tuple[float, float]):
    return browser.new_context(
        locale="zh-CN",
        timezone_id="Asia/Shanghai",
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
        geolocation={"latitude": at[0], "longitude": at[1], "accuracy": 15},
        permissions=["geolocation", "camera", "microphone"],
    )


def watch_errors(page) -> list[str]:
    errors: list[str] = []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


def until(page, expression: str, timeout_s: float = 30) -> None:
    """wait_for_function evaluates a string, which the page's CSP (rightly) refuses."""
    for _ in range(int(timeout_s * 10)):
        if page.evaluate(expression):
            return
        page.wait_for_timeout(100)
    state = page.evaluate(
        "navigator.serviceWorker.getRegistration().then(r => r ? JSON.stringify({"
        "installing: !!r.installing, waiting: !!r.waiting, active: r.active && r.active.state})"
        " : 'no registration')"
    )
    raise AssertionError(f"never true: {expression} (service worker: {state})")


def record_voice(page) -> None:
    page.locator("[data-voice-record]").click()
    expect(page.locator("[data-voice-stop]")).to_be_visible()
    page.wait_for_timeout(1200)
    page.locator("[data-voice-stop]").click()
    expect(page.locator("[data-voice-controls]")).to_have_attribute("data-recorded", "true")
    expect(page.locator("[data-voice-playback]")).to_be_visible()


def test_a_rep_checks_in_offline_and_the_visit_uploads_once(live_server, browser, tmp_path):
    base = live_server.url
    east = DepartmentFactory(name="华东销售部")
    manager = UserFactory(username="east_mgr", full_name="李经理", role="manager", department=east)
    rep = UserFactory(username="xiaozhang", full_name="小张", department=east, manager=manager)
    near = located(rep, name="杭州市蓝海科技有限公司")
    far_away = north_of(PEOPLE_SQUARE, 20_000)
    far = located(rep, name="上海宏远电子有限公司", at=far_away)
    first_photo, second_photo = tmp_path / "door.jpg", tmp_path / "sign.jpg"
    first_photo.write_bytes(jpeg(size=(320, 240)))
    second_photo.write_bytes(jpeg(size=(320, 240)))

    context = phone_context(browser, PEOPLE_SQUARE)
    # The phone's clock starts 20 minutes ago (the server refuses times in the future): the
    # first visit then, the second five minutes later, the check-out twelve after that.
    context.clock.install(time=timezone.now() - dt.timedelta(minutes=20))
    page = context.new_page()
    errors = watch_errors(page)

    # The rep opens the app: the service worker installs and takes control.
    log_in(page, base, "xiaozhang")
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    # The app as the rep meets it after installing: opened again, the worker in control.
    page.reload()
    until(page, "navigator.serviceWorker.controller !== null")
    manifest = page.evaluate(
        "fetch(document.querySelector('link[rel=manifest]').href).then(r => r.json())"
    )
    assert manifest["display"] == "standalone"
    assert {icon["sizes"] for icon in manifest["icons"]} >= {"192x192", "512x512"}
    # With signal he looks at the customer's card and its check-in page, as a rep does on the
    # way; the worker keeps them for later.
    page.goto(f"{base}/customers/{near.pk}/")
    page.goto(f"{base}/customers/{near.pk}/check-in/")

    # At the customer's there is no signal: the page still opens, from the phone.
    context.set_offline(True)
    page.goto(f"{base}/quotes/")  # never opened on this phone
    expect(page.locator("#offline-page")).to_be_visible()
    shot(page, "phone-offline-page")
    page.goto(f"{base}/customers/{near.pk}/check-in/")
    expect(page.locator("#check-in-form")).to_be_visible()
    expect(page.locator("#check-in-position")).to_have_attribute("data-accuracy", "15")
    page.set_input_files("[data-check-in-photo]", str(first_photo))
    record_voice(page)
    page.fill("#check-in-note", "约了王采购，下周报价")
    shot(page, "phone-check-in-offline")
    page.locator("#check-in-submit").click()
    expect(page.locator("[data-check-in-outcome]")).to_have_attribute("data-outcome", "queued")
    expect(page.locator("[data-upload-queue] [data-waiting]")).to_have_attribute(
        "data-waiting", "1"
    )
    # The form is ready for the next visit: this one waits with its own recording.
    expect(page.locator("[data-voice-playback]")).to_be_hidden()
    shot(page, "phone-check-in-queued")
    assert CheckIn.objects.count() == 0

    # The signal comes back: the queue uploads by itself, once.
    context.set_offline(False)
    expect(page.locator("[data-upload-queue]")).to_be_hidden(timeout=15_000)
    first = CheckIn.objects.get()
    assert (first.rep, first.customer) == (rep, near)
    assert first.note == "约了王采购，下周报价"
    assert first.audio, "the voice note is stored"
    assert first.accuracy_m == 15
    assert not first.flags.exists()
    # Every other way of retrying (a reload flushes the queue again) makes no second visit.
    page.reload()
    page.wait_for_timeout(500)
    assert CheckIn.objects.count() == 1
    assert page.evaluate("KedunUploadQueue.all().then(items => items.length)") == 0

    # Five minutes later, 20 km north: nobody drives 240 km/h through the city.
    context.clock.fast_forward("05:00")
    context.set_geolocation({"latitude": far_away[0], "longitude": far_away[1], "accuracy": 15})
    page.goto(f"{base}/customers/{far.pk}/check-in/")
    expect(page.locator("#check-in-position")).to_have_attribute("data-accuracy", "15")
    # This time with a live photo from the camera.
    page.locator("[data-camera-start]").click()
    page.locator("[data-camera-shoot]").click()
    expect(page.locator("[data-camera-preview]")).to_be_visible()
    page.locator("#check-in-submit").click()
    page.wait_for_url(f"{base}/customers/{far.pk}/#field")
    second = CheckIn.objects.exclude(pk=first.pk).get()
    assert second.customer == far
    assert [flag.kind for flag in second.flags.all()] == ["impossible_speed"]
    assert second.captured_at - first.captured_at == pytest.approx(
        dt.timedelta(minutes=5), abs=dt.timedelta(seconds=40)
    )
    # Leaving, he checks out from the customer's card: the time spent is recorded.
    context.clock.fast_forward("12:00")
    page.locator("#check-out-submit").click()
    expect(page.locator("#check-out-form")).to_have_count(0)
    expect(page.locator(".messages li.success")).to_be_visible()
    second.refresh_from_db()
    assert second.checked_out_at is not None
    assert second.checked_out_at - second.captured_at == pytest.approx(
        dt.timedelta(minutes=12), abs=dt.timedelta(seconds=40)
    )
    assert errors == []
    log_out(page)
    context.close()

    # The manager opens the rep's day: both visits on the trajectory, the second flagged.
    context = phone_context(browser, PEOPLE_SQUARE)
    page = context.new_page()
    errors = watch_errors(page)
    log_in(page, base, "east_mgr")
    page.goto(f"{base}/field/day/?user={rep.pk}")
    expect(page.locator("#day-visits tbody tr[data-check-in]")).to_have_count(2)
    expect(page.locator("#day-visits tr[data-flagged]")).to_have_count(1)
    expect(page.locator(f'#day-visits tr[data-check-in="{second.pk}"]')).to_have_attribute(
        "data-flagged", "true"
    )
    drawing = page.locator("#day-drawing svg")
    expect(drawing).to_be_visible()
    assert drawing.locator("circle").count() >= 2
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, "phone-manager-day")

    # He opens the flagged visit and questions it, with a note.
    page.locator(f'#day-visits tr[data-check-in="{second.pk}"] td a').first.click()
    page.wait_for_load_state("load")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.fill(f"#id_review-{second.pk}-note", "20 公里五分钟？请说明")
    page.locator("[data-review=question]").click()
    expect(page.locator(".messages li")).to_be_visible()
    second.refresh_from_db()
    assert second.review == Review.QUESTIONED
    assert CheckInFlag.objects.filter(check_in=second).count() == 1
    assert errors == []
    context.close()


def test_a_refused_upload_shows_the_server_s_reason_and_waits_to_be_discarded(
    live_server, browser, tmp_path
):
    base = live_server.url
    rep = UserFactory(username="xiaozhang", full_name="小张", department=DepartmentFactory())
    customer = located(rep, name="杭州市蓝海科技有限公司")
    not_a_photo = tmp_path / "notes.jpg"
    not_a_photo.write_bytes(b"this is a text file, not a photo")
    context = phone_context(browser, PEOPLE_SQUARE)
    page = context.new_page()
    log_in(page, base, "xiaozhang")
    page.goto(f"{base}/customers/{customer.pk}/check-in/")
    expect(page.locator("#check-in-position")).to_have_attribute("data-accuracy", "15")
    page.set_input_files("[data-check-in-photo]", str(not_a_photo))
    page.locator("#check-in-submit").click()

    # The server's own words, and the check-in kept on the phone for the rep to decide.
    outcome = page.locator("[data-check-in-outcome]")
    expect(outcome).to_have_attribute("data-outcome", "error")
    refused = page.locator("[data-upload-queue] [data-refused]")
    expect(refused).to_have_count(1)
    assert outcome.inner_text() and outcome.inner_text() in refused.inner_text()
    assert CheckIn.objects.count() == 0
    # Still there on the next page, never retried by itself.
    page.goto(f"{base}/")
    expect(page.locator("[data-upload-queue] [data-refused]")).to_have_count(1)
    assert CheckIn.objects.count() == 0
    page.on("dialog", lambda dialog: dialog.accept())
    page.locator("[data-upload-queue] [data-discard]").click()
    expect(page.locator("[data-upload-queue]")).to_be_hidden()
    assert page.evaluate("KedunUploadQueue.all().then(items => items.length)") == 0
    context.close()
