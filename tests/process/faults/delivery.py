"""Judge what clients received against what was published."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from monitio import wire
from tests.sseclient import Event


@dataclass
class Verdict:
    missed: int = 0
    out_of_order: int = 0
    duplicates_raw: int = 0  # the same id delivered twice, before de-duplication
    duplicates_after_dedupe: int = 0
    foreign: int = 0  # ids that were never published for this client's user

    def add(self, other: Verdict) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))


def position(event_id: str) -> tuple[str, tuple[int, int]]:
    epoch, _, entry = event_id.partition(":")
    return epoch, wire.entry_key(entry)


def judge(sent: list[str], events: list[Event]) -> Verdict:
    """Compare one client's ``message`` events with its user's published ids."""
    ids = [e.id for e in events if e.type == wire.MESSAGE]
    deduped = list(dict.fromkeys(ids))
    expected = set(sent)
    verdict = Verdict(
        missed=len(expected - set(deduped)),
        duplicates_raw=len(ids) - len(deduped),
        duplicates_after_dedupe=len(deduped) - len(set(deduped)),
        foreign=len(set(deduped) - expected),
    )
    keys = [position(i) for i in deduped]
    verdict.out_of_order = sum(
        1 for a, b in itertools.pairwise(keys) if a[0] == b[0] and a >= b
    )
    return verdict


def received_all(sent: list[str], events: list[Event]) -> bool:
    return set(sent) <= {e.id for e in events}
