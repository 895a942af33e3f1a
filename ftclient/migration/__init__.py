"""Moving a tuned model off a provider that retires it: inventory, capture, re-tune, judge, report.

``ftclient.inventory``, ``ftclient.capture`` and ``ftclient.migrate`` are the public entry points.
"""
