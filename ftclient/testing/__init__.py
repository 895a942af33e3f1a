"""Helpers for test suites of ftclient and of packages that add providers to it (not used by ftclient itself)."""
