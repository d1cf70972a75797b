"""The design card's layout holds: our `fixtures/` folder never shadows PyPI's `fixtures`."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_fixtures_folder_is_data_only() -> None:
    python = sorted(p.relative_to(ROOT) for p in (ROOT / "fixtures").rglob("*.py"))
    assert python == [], "fixtures/ must hold data only, or it would shadow the `fixtures` package"
    assert (ROOT / "fixtures" / "profiles" / "demo.yaml").is_file()


def test_every_proxy_addon_module_exports_addons() -> None:
    import importlib

    for path in sorted((ROOT / "proxy_addons").glob("*.py")):
        if path.name == "__init__.py":
            continue
        module = importlib.import_module(f"proxy_addons.{path.stem}")
        assert isinstance(module.addons, list), path
        assert module.addons, path
