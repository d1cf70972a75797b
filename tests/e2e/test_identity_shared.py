"""One server answering commerce's name and social's shows in the identity table, without rules.

Read from the detection matrix's runs: the stored bundle is re-judged (`paywitness report`)
with the demo profile stripped of every identity rule, as a shop's first profile would be.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from demo_runs import DemoRuns

from paywitness.cli import main


def _rejudge_without_identity_rules(bundle: Path, tmp_path: Path) -> dict[str, object]:
    copy = tmp_path / "bundle"
    shutil.copytree(bundle, copy)
    profile = (copy / "profile.yaml").read_text(encoding="utf-8")
    stripped = re.sub(r"^\s+identity: .*\n", "", profile, flags=re.MULTILINE)
    assert "identity:" not in stripped
    (tmp_path / "no-identity.yaml").write_text(stripped, encoding="utf-8")
    main(["report", str(copy), "--profile", str(tmp_path / "no-identity.yaml")])
    (record,) = (copy / "rejudged").iterdir()
    data: dict[str, object] = json.loads((record / "verdict.json").read_text(encoding="utf-8"))
    report = (record / "report.html").read_text(encoding="utf-8")
    assert "Who answered, per role" in report
    return data


def test_a_commerce_host_on_socials_server_is_flagged_without_identity_rules(
    demo_runs: DemoRuns, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    verdict = _rejudge_without_identity_rules(
        demo_runs.matrix("commerce-host-on-social-server").output, tmp_path
    )
    capsys.readouterr()
    findings = [f for f in verdict["findings"] if f["rule_id"] == "payment.identity-shared"]  # type: ignore[index,union-attr]
    assert findings, "the shared identity was not noticed"
    assert all(f["severity"] == "info" for f in findings)  # a warning by default
    assert any("api.commerce.test" in f["message"] for f in findings)
    assert any("the same public key" in f["message"] for f in findings)
    commerce_side = [e for f in findings for e in f["evidence"] if e["role"] == "commerce"]
    assert {e["organization"] for e in commerce_side} == {"Social Demo Co"}
    table = verdict["categories"]["payment"]["observed"]["identities_by_role"]  # type: ignore[index]
    orgs = {i["organization"] for i in table["commerce"]}
    assert "Social Demo Co" in orgs  # commerce's names, answered by social's certificate


def test_the_compliant_demo_shares_no_identity(
    demo_runs: DemoRuns, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    verdict = _rejudge_without_identity_rules(demo_runs.matrix("(compliant)").output, tmp_path)
    capsys.readouterr()
    assert not [f for f in verdict["findings"] if f["rule_id"] == "payment.identity-shared"]  # type: ignore[index,union-attr]
    table = verdict["categories"]["payment"]["observed"]["identities_by_role"]  # type: ignore[index]
    assert {i["organization"] for i in table["commerce"]} == {"Commerce Demo Co"}
    assert {i["organization"] for i in table["social"]} == {"Social Demo Co"}
