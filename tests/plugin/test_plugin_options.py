"""The pytest plugin, tested in a subprocess with pytester."""

from __future__ import annotations

import pytest


def test_fixtures_explain_themselves(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess("--fixtures")
    # Each group on its own: pytest lists a plugin's fixtures in the order they were used.
    for lines in (
        ["*fixtures defined from paywitness.pytest_plugin.fixtures*"],
        ["paywitness_proxy [[]session scope[]] -- *pytest_plugin/fixtures.py:*",
         "*The intercepting proxy*"],
        ["browser_type_launch_args [[]session scope[]] -- *pytest_plugin/fixtures.py:*"],
        ["witness -- *pytest_plugin/fixtures.py:*",
         "*This test's witness: label steps, record shown links, judge*"],
    ):  # fmt: skip
        result.stdout.fnmatch_lines(lines)


def test_options_are_grouped(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess("--help")
    result.stdout.fnmatch_lines(
        ["paywitness: payment routing evidence:", "*--paywitness-profile=PATH*"]
    )


def test_bad_profile_is_a_usage_error(pytester: pytest.Pytester) -> None:
    bad = pytester.makefile(".yaml", profile="name: x\nroles: [1]\n")
    result = pytester.runpytest_subprocess(f"--paywitness-profile={bad}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*paywitness: profile {bad} is invalid:*"])
    assert "Traceback" not in result.stderr.str()


def test_unknown_violation_is_a_usage_error(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess("--paywitness-violation=no-such-thing")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*no-such-thing*payment-on-social*"])


def test_violation_needs_the_demo(pytester: pytest.Pytester, demo_profile_file: str) -> None:
    result = pytester.runpytest_subprocess(
        f"--paywitness-profile={demo_profile_file}", "--paywitness-violation=payment-on-social"
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*add --paywitness-demo*"])


def test_plain_tests_leave_no_bundle(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_nothing():\n    assert 1 + 1 == 2\n")
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(passed=1)
    assert not (pytester.path / "reports").exists()


def test_a_bad_proxy_mode_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\npaywitness_proxy = fork\n")
    result = pytester.runpytest_subprocess()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*paywitness_proxy = 'fork' is not a proxy mode*thread, process*"])
    assert "Traceback" not in result.stderr.str()


@pytest.mark.parametrize(
    ("args", "kind"),
    [((), "ProxyRunner"), (("--paywitness-proxy=process",), "ProxyProcess")],
    ids=["default", "process"],
)
def test_the_proxy_runs_where_asked(
    pytester: pytest.Pytester, args: tuple[str, ...], kind: str
) -> None:
    pytester.makepyfile(
        f"""
        import os

        def test_where(paywitness_proxy):
            assert type(paywitness_proxy).__name__ == {kind!r}
            if {kind!r} == "ProxyProcess":
                assert paywitness_proxy.pid not in (None, os.getpid())
        """
    )
    result = pytester.runpytest_subprocess(*args, "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


@pytest.fixture
def demo_profile_file() -> str:
    from paywitness.profile import demo_profile_path

    return str(demo_profile_path())
