"""Project-local pytest wiring only: the paywitness fixtures come from its pytest11 plugin."""

pytest_plugins = ["pytester"]
