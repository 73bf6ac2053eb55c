"""A tally of named checks, shared by `scaffold check` and the platform modules."""

from __future__ import annotations

from dataclasses import dataclass, field

PASS, FAIL, SKIP = "pass", "fail", "skip"


@dataclass
class Check:
    scope: str
    name: str
    status: str
    detail: str = ""


@dataclass
class CheckReport:
    checks: list[Check] = field(default_factory=list)

    def add(self, scope: str, name: str, ok: bool, detail: str = "") -> bool:
        self.checks.append(Check(scope, name, PASS if ok else FAIL, detail))
        return ok

    def skip(self, scope: str, name: str, why: str) -> None:
        self.checks.append(Check(scope, name, SKIP, why))

    @property
    def failures(self) -> list[Check]:
        return [c for c in self.checks if c.status == FAIL]

    @property
    def ok(self) -> bool:
        return not self.failures

    def count(self, status: str) -> int:
        return sum(1 for c in self.checks if c.status == status)
