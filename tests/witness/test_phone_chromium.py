"""Phone mode played by a separate Chromium: the printed proxy settings, the CA downloaded from the
step page and trusted by its SPKI, steps tapped on the step page, a real purchase in the shop.

`paywitness witness --phone` runs as a person starts it (a subprocess with a terminal-like
stdin); everything the phone knows it reads from what paywitness printed or showed.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from playwright.sync_api import Browser, BrowserContext, Page, Playwright
from witness_helpers import WAIT

from paywitness.browser import CHROMIUM_ARGS, find_chromium
from paywitness.flow import BuyerValues, run_purchase
from paywitness.profile import Profile
from paywitness.proxy import spki_sha256_b64

CONTROL = "http://paywitness.invalid/"
PHONE = {"viewport": {"width": 412, "height": 915}, "has_touch": True}


@dataclass
class Terminal:
    """`paywitness witness --phone --demo` in a subprocess; its output read as it comes."""

    proc: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)
    changed: threading.Condition = field(default_factory=threading.Condition)

    def __post_init__(self) -> None:
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self.changed:
                self.lines.append(line.rstrip("\n"))
                self.changed.notify_all()
        with self.changed:
            self.changed.notify_all()

    @property
    def text(self) -> str:
        with self.changed:
            return "\n".join(self.lines)

    def wait_for(self, pattern: str) -> re.Match[str]:
        """The first match of `pattern` in the output so far, waiting (bounded) for it."""
        found: re.Match[str] | None = None

        def seen() -> bool:
            nonlocal found
            found = re.search(pattern, "\n".join(self.lines))
            return found is not None or self.proc.poll() is not None

        with self.changed:
            self.changed.wait_for(seen, timeout=WAIT)
        assert found is not None, f"{pattern!r} never printed:\n{self.text}"
        return found

    def finish(self) -> int:
        """The exit code, once every line the process printed has been read."""
        code = self.proc.wait(timeout=WAIT)
        self.reader.join(WAIT)
        return code


@pytest.fixture
def start_witness(tmp_path: Path) -> Iterator[object]:
    made: list[Terminal] = []

    def start(*violations: str) -> Terminal:
        args = [sys.executable, "-m", "paywitness.cli", "witness", "--phone", "--demo"]
        args += [f"--violation={v}" for v in violations]
        args += ["--output", str(tmp_path / "bundle"), "--seed", "7", "--max-minutes", "3"]
        proc = subprocess.Popen(
            args,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,  # a traceback anywhere would show in what we read
            text=True,
        )
        t = Terminal(proc)
        made.append(t)
        return t

    yield start
    for t in made:
        if t.proc.poll() is None:
            t.proc.kill()
            t.proc.wait(timeout=WAIT)


@dataclass
class Settings:
    """What the person copies from the terminal into the phone."""

    host: str
    port: int
    username: str
    password: str
    values: dict[str, str]

    @classmethod
    def read(cls, term: Terminal) -> Settings:
        term.wait_for(r"Keys \(then Enter\)")
        get = lambda label: term.wait_for(rf"{label}:\s+(.+)").group(1).strip()  # noqa: E731
        card = re.match(r"(\S+)\s+expiry (\S+)\s+CVC (\S+)", get("Card"))
        assert card
        return cls(
            host=get("Host"),
            port=int(get("Port")),
            username=get("Username"),
            password=get("Password"),
            values={
                "name": get("Name"),
                "email": get("Email"),
                "phone": get("Phone"),
                "address": get("Address"),
                "card_number": card.group(1),
                "card_expiry": card.group(2),
                "card_cvc": card.group(3),
            },
        )

    def proxy(self) -> dict[str, str]:
        return {
            "server": f"http://{self.host}:{self.port}",
            "username": self.username,
            "password": self.password,
        }


def phone_browser(pw: Playwright, chromium: str, settings: Settings, spki: str | None) -> Browser:
    args = list(CHROMIUM_ARGS)
    if spki:
        args.append(f"--ignore-certificate-errors-spki-list={spki}")
    return pw.chromium.launch(executable_path=chromium, proxy=settings.proxy(), args=args)  # type: ignore[arg-type]


class StepPagePerson:
    """Taps each step on the step page (its own tab), then goes on shopping in the shop tab."""

    def __init__(self, context: BrowserContext, start_url: str) -> None:
        self.start_url = start_url
        self.control = context.new_page()
        self.control.goto(CONTROL)
        self.tapped: list[str] = []

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        self.control.bring_to_front()
        self.control.locator(f"button[data-step={name}]").click()
        self.control.locator("#note").filter(has_text=f"Step is now {name}.").wait_for()
        self.tapped.append(name)
        yield

    def link(self, kind: str, url: str) -> None:
        """A person only sees the link; opening it is what the proxy records."""

    def finish(self) -> None:
        self.control.bring_to_front()
        self.control.locator("#finish").click()
        self.control.locator("#confirm-finish").click()
        self.control.get_by_text("Finished.").wait_for()


def download_ca(page: Page, tmp_path: Path) -> Path:
    """The person taps the certificate link on the step page; a phone installs what it saved."""
    page.goto(CONTROL)
    with page.expect_download() as dl:
        page.locator("#ca").click()
    der = tmp_path / dl.value.suggested_filename
    dl.value.save_as(der)
    assert der.name == "paywitness-ca.crt"
    pem = tmp_path / "downloaded-ca.pem"
    cert = x509.load_der_x509_certificate(der.read_bytes())
    pem.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    assert cert.subject.rfc4514_string().startswith("O=paywitness,CN=paywitness run ")
    return pem


@pytest.fixture(scope="module")
def chromium() -> str:
    path = find_chromium(None, prefer_playwright=False)
    if path is None:
        pytest.skip("no Chromium on this machine")
    return str(path)


def buy_on_the_phone(
    term: Terminal,
    chromium: str,
    demo_profile: Profile,
    tmp_path: Path,
    *,
    trust: bool,
    session: Playwright,
) -> Settings:
    settings = Settings.read(term)
    start_url = term.wait_for(r"start at (\S+)").group(1)
    with nullcontext(session) as pw:
        first = phone_browser(pw, chromium, settings, None)
        context = first.new_context(**PHONE)  # type: ignore[arg-type]
        with pytest.raises(Exception, match="ERR_CERT"):
            context.new_page().goto(start_url)  # too early: the certificate is not installed
        term.wait_for(r"setup: \S+ refused this run's certificate before the first step")
        cafile = download_ca(context.new_page(), tmp_path)
        first.close()
        spki = spki_sha256_b64(cafile) if trust else None
        browser = phone_browser(pw, chromium, settings, spki)
        context = browser.new_context(**PHONE)  # type: ignore[arg-type]
        me = StepPagePerson(context, start_url)
        me.control.reload()  # a reload of the step page marks nothing
        assert "Current step: none" in me.control.inner_text("body")
        shop = context.new_page()
        values = BuyerValues(**settings.values)
        try:
            run_purchase(shop, me, demo_profile.flow, values)
        except Exception:
            if trust:
                raise
        me.control.reload()
        me.finish()  # the shop tab still holds its connections open
        term.proc.wait(timeout=WAIT)
        browser.close()
    return settings


def test_a_phone_buys_after_installing_the_certificate(
    tmp_path: Path,
    chromium: str,
    demo_profile: Profile,
    start_witness: object,
    pw_session: Playwright,
) -> None:
    term = start_witness()  # type: ignore[operator]
    buy_on_the_phone(term, chromium, demo_profile, tmp_path, trust=True, session=pw_session)
    code = term.finish()
    text = term.text
    assert code == 0, text
    assert "Traceback" not in text
    assert "CancelledError" not in text
    assert text.rstrip().splitlines()[-1].startswith("paywitness: verdict pass")
    data = json.loads((tmp_path / "bundle" / "verdict.json").read_text())
    assert data["verdict"] == "pass"
    steps = ["browse", "checkout", "pay", "confirm", "shop", "orders"]
    assert data["meta"]["witness"]["steps"] == steps, "a reload or a re-sent form marked twice"
    assert "payment and data judged; seamless and merchant displays cannot be observed" in text


def test_a_phone_that_never_trusts_the_certificate_is_inconclusive(
    tmp_path: Path,
    chromium: str,
    demo_profile: Profile,
    start_witness: object,
    pw_session: Playwright,
) -> None:
    term = start_witness()  # type: ignore[operator]
    buy_on_the_phone(term, chromium, demo_profile, tmp_path, trust=False, session=pw_session)
    assert term.finish() == 3, term.text
    data = json.loads((tmp_path / "bundle" / "verdict.json").read_text())
    assert data["verdict"] == "inconclusive"
    reasons = " ".join(data["reasons"])
    assert "shop.social.test (social)" in reasons
    assert "Traceback" not in term.text


def test_a_phone_paying_on_social_fails_naming_the_url(
    tmp_path: Path,
    chromium: str,
    demo_profile: Profile,
    start_witness: object,
    pw_session: Playwright,
) -> None:
    term = start_witness("payment-on-social")  # type: ignore[operator]
    buy_on_the_phone(term, chromium, demo_profile, tmp_path, trust=True, session=pw_session)
    assert term.finish() == 1, term.text
    data = json.loads((tmp_path / "bundle" / "verdict.json").read_text())
    assert data["verdict"] == "fail"
    messages = " ".join(f["message"] for f in data["findings"])
    assert "https://api.social.test/" in messages


def test_the_step_page_fits_a_360_px_phone_and_offers_every_value(
    tmp_path: Path, chromium: str, start_witness: object, pw_session: Playwright
) -> None:
    term = start_witness()  # type: ignore[operator]
    settings = Settings.read(term)
    start_url = term.wait_for(r"start at (\S+)").group(1)
    with nullcontext(pw_session) as pw:
        browser = phone_browser(pw, chromium, settings, None)
        page = browser.new_page(viewport={"width": 360, "height": 740}, is_mobile=True)
        page.goto(CONTROL)
        page.screenshot(path=tmp_path / "step-page-360.png", full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth") <= 360, "wider than 360 px"
        start, *values = page.locator(".copy .v").all_inner_texts()
        assert start == start_url
        assert values == list(settings.values.values()), "the printed values, each copyable"
        page.locator("button[data-copy=v2]").click()  # the email
        assert page.evaluate("String(window.getSelection())") == settings.values["email"]
        for s in ("browse", "checkout", "pay", "confirm", "shop", "orders"):
            assert page.locator(f"button[data-step={s}] + span").inner_text()
        ca_name = page.locator("h1 + p").inner_text()
        assert re.fullmatch(r"paywitness run \d{4}-\d{2}-\d{2} [0-9a-f]{6}", ca_name)
        assert f'named "{ca_name}"' in term.text
        browser.close()
    term.proc.stdin.write("q\n")  # type: ignore[union-attr]
    term.proc.stdin.flush()  # type: ignore[union-attr]
    assert term.finish() == 3
