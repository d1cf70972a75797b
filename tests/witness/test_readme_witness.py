"""README "Check it yourself" says what the terminal and the step page say, word for word."""

from __future__ import annotations

import html
import io
import re
import ssl
from collections.abc import Callable
from pathlib import Path

import pytest
from witness_helpers import PhoneClient, WitnessThread, pay_by_hand

from paywitness.witness_mode.checklist import STEP_HELP
from paywitness.witness_mode.command import _banner
from paywitness.witness_mode.overlay import overlay_script
from paywitness.witness_mode.session import STEPS, WitnessOptions, WitnessSession

README = Path(__file__).parents[2] / "README.md"
# README placeholders and what they stand for in real output.
PLACEHOLDERS = {
    "HOST": r"\S+",
    "ROLE": r"\S+",
    "STEP": r"\S+",
    "DIR": r"\S+",
    "VERDICT": r"(?:pass|fail|inconclusive)",
    "CODE": r"\d",
    "<date> <id>": r"\d{4}-\d{2}-\d{2} [0-9a-f]{6}",
}


def section() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index("## Check it yourself")
    return text[start : text.index("\n## ", start + 1)]


def flat(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def pattern(quote: str) -> str:
    out = re.escape(flat(quote))
    for name, rx in PLACEHOLDERS.items():
        out = out.replace(re.escape(name), rx)
    return re.sub(r"\d+", r"\\d+", out) if "requests seen" in quote else out


def test_the_step_marks_table_is_the_one_the_tool_prints() -> None:
    rows = re.findall(r"^\| \*\*(\w+)\*\* \| (.+) \|$", section(), re.M)
    assert rows == [(s, STEP_HELP[s]) for s in STEPS]


@pytest.fixture
def what_a_person_sees(
    tmp_path: Path, witness_thread: Callable[[WitnessOptions], WitnessThread]
) -> str:
    """The terminal and step page of a phone run (setup refusal, a purchase, a refusal during
    it, Finish), the browser mode's banner and its panel."""
    w = witness_thread(
        WitnessOptions(demo=True, phone=True, output=tmp_path / "b", seed=4, max_minutes=2)
    )
    session = w.session
    assert session is not None
    with pytest.raises(ssl.SSLError):
        PhoneClient(session.proxy_port, session.password, None).call("GET", session.start_url)
    cafile = tmp_path / "ca.pem"
    cafile.write_bytes(session.ca_cert_path.read_bytes())
    phone = PhoneClient(session.proxy_port, session.password, cafile)
    pay_by_hand(phone, session)
    with pytest.raises(ssl.SSLError):
        PhoneClient(session.proxy_port, session.password, None).call("GET", session.start_url)
    pages = [phone.call("GET", f"http://paywitness.invalid/{p}").body for p in ("", "finish")]
    phone.finish()
    w.join()
    browser = WitnessSession(WitnessOptions(demo=True, output=tmp_path / "c"), io.StringIO())
    try:
        banner = _banner(browser)
    finally:
        browser.stop_services()
    page_text = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", p.decode())) for p in pages)
    return flat(" ".join([w.out.getvalue(), page_text, banner, overlay_script(STEPS)]))


def test_every_quote_in_the_readme_is_what_the_tool_says(what_a_person_sees: str) -> None:
    quotes = re.findall(r'"([^"]+)"', section())
    quotes += re.findall(r"`((?:report: |check the evidence|paywitness: verdict)[^`]+)`", section())
    assert len(quotes) > 15
    missing = [
        q for q in quotes if not re.search(pattern(q).replace(r"…", r"\S+"), what_a_person_sees)
    ]
    assert not missing, f"README quotes nothing the tool says: {missing}"
