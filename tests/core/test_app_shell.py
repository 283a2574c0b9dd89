"""The installable app: the manifest, the service worker served for the whole site with a cache
name that changes with the shell, and the offline page drawn for no one."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from kedun.core import views

pytestmark = pytest.mark.django_db


def test_the_manifest_names_the_app_and_its_icons(client):
    response = client.get(reverse("manifest"))
    assert response["Content-Type"] == "application/manifest+json"
    manifest = json.loads(response.content)
    assert manifest["name"] == "客盾"
    assert manifest["display"] == "standalone"
    assert manifest["start_url"].startswith("/")
    icons = {(icon["sizes"], icon["purpose"]): icon["src"] for icon in manifest["icons"]}
    assert icons[("192x192", "any")] == "/static/kedun/icon-192.png"
    assert icons[("512x512", "any")] == "/static/kedun/icon-512.png"
    assert icons[("512x512", "maskable")] == "/static/kedun/icon-maskable-512.png"


def test_the_service_worker_is_served_from_the_root_for_the_whole_site(client):
    response = client.get("/sw.js")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/javascript; charset=utf-8"
    assert response["Service-Worker-Allowed"] == "/"
    assert "no-cache" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]
    body = response.content.decode()
    for url in ("/static/kedun/app.css", "/static/kedun/check-in.js", "/offline/"):
        assert url in body
    assert f'const VERSION = "{views._shell_version()}";' in body


def test_the_cache_name_changes_when_the_shell_changes(monkeypatch, tmp_path):
    before = views._shell_version()
    assert views._shell_version() == before
    changed = tmp_path / "app.css"
    changed.write_text("body { color: red; }")
    real_find = views.finders.find
    monkeypatch.setattr(
        views.finders,
        "find",
        lambda name, *a, **k: str(changed) if name == "kedun/app.css" else real_find(name, *a, **k),
    )
    assert views._shell_version() != before


def test_the_offline_page_shows_no_one_and_keeps_the_flash_messages(client, cast):
    client.force_login(cast.by_role("sales"))
    page = client.get(reverse("offline")).content.decode()
    assert 'id="offline-page"' in page
    assert cast.by_role("sales").display_name not in page
    assert 'id="nav"' not in page


def test_every_page_links_the_manifest_and_the_phone_scripts(client, cast):
    client.force_login(cast.by_role("sales"))
    page = client.get(reverse("home")).content.decode()
    assert 'rel="manifest"' in page
    assert "/static/kedun/upload-queue.js" in page
    assert "/static/kedun/check-in.js" in page
    assert f'data-signed-in="{cast.by_role("sales").pk}"' in page
    assert "data-upload-queue" in page


def test_voice_reports_may_be_played_back_before_sending(client):
    policy = client.get(reverse("login"))["Content-Security-Policy"]
    assert "media-src 'self' blob:" in policy
    assert "unsafe-inline" not in policy
