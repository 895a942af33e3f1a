"""The date provider deadlines are judged on.

OpenAI's fine-tuning ends on fixed dates (no new jobs from 2027-01-06; gpt-4o and gpt-4.1 models retire on
2027-01-14), and ftclient refuses or warns by them. ``FTCLIENT_TODAY=YYYY-MM-DD`` moves that date, to
rehearse a migration on either side of a deadline against the emulator (which starts its clock on the
same date when the variable is set) and to keep offline runs and tests independent of the day they run.
It changes only ftclient's own checks: a real provider still answers by its own calendar.
"""

from __future__ import annotations

import datetime as dt
import os

from ftclient.errors import UserInputError

TODAY_VAR = "FTCLIENT_TODAY"


def utc_today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def today() -> dt.date:
    """``FTCLIENT_TODAY`` when set, else the UTC date."""
    value = os.environ.get(TODAY_VAR, "").strip()
    if not value:
        return utc_today()
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise UserInputError(
            f"{TODAY_VAR}={value!r} is not a date", hint=f"write it as YYYY-MM-DD, or unset {TODAY_VAR}"
        ) from None
