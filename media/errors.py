"""One error base for everything a creator can fix: bad input, a missing item or key, a refused upload.

Every expected error of ``media/`` and ``jobs/`` derives from :class:`StudioError`. Its message is written
for the creator as it is: it names the problem (the file, the field, the limit) and never an absolute path
of the server's disk. The UI maps the base to ``gr.Error`` in one helper (``studio.common.user_errors``);
the job boundary (``jobs.runner``) stores the message on the job row.

Subclasses keep the builtin they replaced (``ValueError``, ``LookupError``...) as a second base, so code
that already catches those keeps working.
"""

from __future__ import annotations


class StudioError(Exception):
    """An error whose message is meant for the creator as it is (bad input, missing item or key...)."""


class InvalidInput(StudioError, ValueError):
    """A value outside its declared type, bounds or allowed set; the message names the field."""


class NotFound(StudioError, LookupError):
    """No catalog item with that id (or it was deleted); the message names the kind and the id."""


class LimitExceeded(StudioError, ValueError):
    """A request over a configured limit (size, length, count, spend); the message names the limit."""
