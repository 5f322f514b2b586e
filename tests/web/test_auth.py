"""Log-in, sessions, cookies, CSRF, rate limiting and the language switch (no browser)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.engine import Engine

from tests.web.conftest import PASSWORD, WebClient
from zakaz.db import unit_of_work
from zakaz.users.models import User, WebSession
from zakaz.web.settings import WebSettings


def test_pages_need_a_session(web: WebClient) -> None:
    r = web.get("/orders?status=new", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login?next=%2Forders%3Fstatus%3Dnew"
    hx = web.get("/orders", headers={"HX-Request": "true"}, follow_redirects=False)
    assert hx.headers["HX-Redirect"].startswith("/login")
    assert web.post("/orders/bulk", data={"action": "confirm"}, follow_redirects=False).status_code == 303


def test_log_in_sets_a_protected_cookie_and_log_out_ends_the_session(
    web: WebClient, web_users: dict[str, str], engine: Engine
) -> None:
    r = web.login(web_users["admin"])
    assert r.status_code == 303 and r.headers["location"] == "/"
    cookie = next(h for h in r.headers.get_list("set-cookie") if h.startswith("zakaz_session="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie
    stolen = web.cookies["zakaz_session"]
    with unit_of_work(engine, read_only=True) as session:
        row = session.scalar(select(WebSession))
        assert row is not None and row.token_hash != stolen  # only the hash is stored
        assert session.scalar(select(User.last_login_at).where(User.email == web_users["admin"]))
    assert web.submit("/logout").headers["location"] == "/login?bye=1"
    web.cookies.set("zakaz_session", stolen)  # a copied cookie is worthless after log-out
    assert web.get("/", follow_redirects=False).status_code == 303


def test_secure_flag_follows_https_or_the_setting(
    app: Any, web: WebClient, web_users: dict[str, str]
) -> None:
    with WebClient(app, base_url="https://testserver") as tls:
        r = tls.login(web_users["admin"])
        cookie = next(h for h in r.headers.get_list("set-cookie") if h.startswith("zakaz_session="))
        assert "Secure" in cookie
    app.state.web_settings = WebSettings(cookie_secure=True)  # behind a TLS-terminating proxy
    form = web.get("/login")
    assert "Secure" in form.headers["set-cookie"]


def test_wrong_password_unknown_user_and_disabled_user_are_refused_alike(
    web: WebClient, web_users: dict[str, str], engine: Engine
) -> None:
    assert web.login(web_users["admin"], "nope nope nope").status_code == 401
    assert web.login("ghost@example.test").status_code == 401
    assert web.login(web_users["operator"]).status_code == 303
    with unit_of_work(engine) as session:
        session.execute(update(User).where(User.email == web_users["operator"]).values(active=False))
    assert web.get("/", follow_redirects=False).status_code == 303  # the live session stops working
    failed = web.login(web_users["operator"])
    assert failed.status_code == 401 and "Wrong e-mail or password" in failed.text


def test_log_in_form_needs_its_csrf_token(web: WebClient, web_users: dict[str, str]) -> None:
    web.get("/login")
    r = web.post(
        "/login",
        data={"email": web_users["admin"], "password": PASSWORD, "csrf_token": "forged"},
        follow_redirects=False,
    )
    assert r.status_code == 403 and "zakaz_session" not in web.cookies


def test_failed_log_ins_are_rate_limited(web: WebClient, web_users: dict[str, str]) -> None:
    for _ in range(5):
        assert web.login(web_users["admin"], "guess guess guess").status_code == 401
    blocked = web.login(web_users["admin"])  # even the right password now waits
    assert blocked.status_code == 429 and int(blocked.headers["Retry-After"]) > 0
    assert "Too many failed attempts" in blocked.text
    assert web.login(web_users["operator"]).status_code == 303  # other accounts are not locked out


def test_every_post_needs_the_session_csrf_token(
    web: WebClient, web_users: dict[str, str], engine: Engine
) -> None:
    web.login(web_users["admin"])
    no_token = web.post("/account/language", data={"locale": "zh_Hans"}, follow_redirects=False)
    assert no_token.status_code == 403 and "The form has expired" in no_token.text
    wrong = web.post("/account/language", data={"locale": "zh_Hans", "csrf_token": "x" * 43})
    assert wrong.status_code == 403
    cross_site = web.submit(
        "/account/language", {"locale": "zh_Hans"}, headers={"Origin": "https://evil.example"}
    )
    assert cross_site.status_code == 403
    fetch_meta = web.submit(
        "/account/language", {"locale": "zh_Hans"}, headers={"Sec-Fetch-Site": "cross-site"}
    )
    assert fetch_meta.status_code == 403
    with unit_of_work(engine, read_only=True) as session:
        assert session.scalar(select(User.locale).where(User.email == web_users["admin"])) == "en"
    # HTMX sends the token in a header instead of a field.
    by_header = web.post(
        "/account/language",
        data={"locale": "zh_Hans"},
        headers={"X-CSRF-Token": web.csrf, "HX-Request": "true"},
        follow_redirects=False,
    )
    assert by_header.status_code == 303


def test_language_is_remembered_on_the_user(
    web: WebClient, web_users: dict[str, str], engine: Engine
) -> None:
    web.login(web_users["support"])
    r = web.submit("/account/language", {"locale": "zh_Hans", "next": "/stock?q=SKU"})
    assert r.headers["location"] == "/stock?q=SKU"
    with unit_of_work(engine, read_only=True) as session:
        assert session.scalar(select(User.locale).where(User.email == web_users["support"])) == "zh_Hans"
    page = web.get("/")
    assert '<html lang="zh-Hans"' in page.text and "仪表板" in page.text
    assert web.submit("/account/language", {"locale": "xx"}).status_code == 303  # ignored
    assert "仪表板" in web.get("/").text


def test_log_in_page_follows_the_browser_language(web: WebClient) -> None:
    assert "登录后台" in web.get("/login", headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"}).text
    assert "Log in to the back office" in web.get("/login", headers={"Accept-Language": "en-GB"}).text
    chosen = web.get("/login?lang=zh_Hans")
    assert "登录后台" in chosen.text
    assert "登录后台" in web.get("/login", headers={"Accept-Language": "en"}).text  # remembered choice


def test_next_must_stay_on_this_site(web: WebClient, web_users: dict[str, str]) -> None:
    form = web.get("/login?next=//evil.example/phish")
    assert "evil.example" not in form.text
    token = web.cookies["zakaz_login_csrf"]
    r = web.post(
        "/login",
        data={
            "email": web_users["admin"],
            "password": PASSWORD,
            "csrf_token": token,
            "next": "https://evil.example",
        },
        follow_redirects=False,
    )
    assert r.headers["location"] == "/"


def test_pages_carry_security_headers(web: WebClient, web_users: dict[str, str]) -> None:
    web.login(web_users["admin"])
    r = web.get("/")
    assert "frame-ancestors 'none'" in r.headers["Content-Security-Policy"]
    assert r.headers["X-Frame-Options"] == "DENY" and r.headers["Cache-Control"] == "no-store"
