"""A cancel event for tests that looks at the disk at every check the code under test makes."""

from __future__ import annotations


class Watch:
    """Calls :meth:`look` at every ``is_set`` check; set (or raising ``interrupt``, as a second Ctrl-C does) from
    check ``after`` on, never when ``after`` is None. Subclasses record what they need in :meth:`look`."""

    def __init__(self, after: int | None = None, interrupt: type[BaseException] | None = None) -> None:
        self.after, self.interrupt = after, interrupt
        self.checks = 0

    def look(self) -> None:
        """Record what the test needs at this check."""

    def is_set(self) -> bool:
        self.checks += 1
        self.look()
        if self.after is None or self.checks < self.after:
            return False
        if self.interrupt is not None:
            raise self.interrupt
        return True
