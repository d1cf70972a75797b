"""The pytest layer: a thin driver of `paywitness.session.RecordingSession`.

`hooks` (options, markers, the run's verdict; re-exported by the `pytest11` entry point
`paywitness.plugin`), `fixtures` (the session, browser settings, per-test handles), `evidence`
(screenshots, traces, masked reports), `outcomes` (how each scenario ended), `keys` (stash keys).
Nothing below this package imports it.
"""
