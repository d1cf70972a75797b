"""mitmproxy addons of paywitness; each module also runs standalone under `mitmdump -s`."""
