"""What one heartbeat of the player earns: pure rules, no database, so that properties can be
tested over any sequence of beats (learning/tests/test_study_time.py).

The browser reports what it saw; the server decides what counts:

- credited time = the wall time since the last accepted beat, capped at `cap_seconds` (two
  beat intervals: a tab that stopped beating for a while earns no back pay), and only while
  the page was visible and the video was playing — no more than the media seconds accepted,
  so a stalled video earns nothing — or, for reading, visible with recent input;
- watched media = the played ranges the beat reports, each accepted only as a contiguous
  extension of what is already known — starting where the last beat left the position (a seek
  is reported as a new position, so the range after it starts there), inside or at the end of
  a watched interval, or at 0 — and never more media seconds in all than the wall time times
  `max_rate`; seeking ahead is allowed, but what was skipped stays unwatched.

So whatever a client sends, credited seconds never exceed the wall time elapsed, and coverage
never grows faster than wall time × `max_rate`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# How far (media seconds) a range may start from its anchor: timeupdate events come every
# ~250 ms and the position is sampled a little after the range closed.
ANCHOR_TOLERANCE = 2.0

MIN_RANGE = 0.01  # media seconds: shorter ranges are noise

Interval = tuple[float, float]


@dataclass(frozen=True)
class BeatReport:
    """What the browser says about the time since its previous beat."""

    position: float  # where the media (or page) is now
    ranges: tuple[Interval, ...] = ()  # media played, in order
    visible: bool = False  # the page was visible throughout
    playing: bool = False  # video: playing throughout
    active: bool = False  # reading: input within the idle limit


@dataclass
class BeatOutcome:
    credited_seconds: float
    watched: list[Interval]
    position: float
    played_seconds: float  # media seconds accepted from this beat
    refused_ranges: int = 0
    notes: list[str] = field(default_factory=list)


def merged(intervals: list[Interval]) -> list[Interval]:
    """Sorted, overlapping or touching intervals joined."""
    result: list[Interval] = []
    for start, end in sorted(intervals):
        if result and start <= result[-1][1]:
            result[-1] = (result[-1][0], max(result[-1][1], end))
        else:
            result.append((start, end))
    return result


def covered(intervals: list[Interval]) -> float:
    return sum(end - start for start, end in intervals)


def _anchored(start: float, anchor: float, watched: list[Interval]) -> bool:
    if start <= ANCHOR_TOLERANCE or abs(start - anchor) <= ANCHOR_TOLERANCE:
        return True
    return any(low - ANCHOR_TOLERANCE <= start <= high + ANCHOR_TOLERANCE for low, high in watched)


def _clamp(value: float, low: float, high: float) -> float:
    return min(max(value, low), high)


def judge_beat(*, elapsed: float, report: BeatReport, watched: list[Interval], position: float, duration: float,
               reading: bool, cap_seconds: float, max_rate: float) -> BeatOutcome:
    """The outcome of one beat that passed the session checks (signature, sequence, session).
    `elapsed` is the server's wall time since the previous accepted beat."""
    wall = _clamp(elapsed, 0.0, cap_seconds)
    if reading:
        credited = wall if report.visible and report.active else 0.0
        return BeatOutcome(credited_seconds=credited, watched=list(watched), played_seconds=0.0,
                           position=_clamp(report.position, 0.0, max(duration, 0.0)))
    budget = wall * max_rate
    new_watched = list(watched)
    anchor = _clamp(position, 0.0, duration)
    played = 0.0
    refused = 0
    for raw_start, raw_end in report.ranges:
        start, end = _clamp(raw_start, 0.0, duration), _clamp(raw_end, 0.0, duration)
        if end <= start:
            continue
        if not _anchored(start, anchor, new_watched):
            refused += 1
            continue
        length = min(end - start, budget - played)
        if length < MIN_RANGE:  # the beat's budget is spent (or the range is a mere instant)
            refused += 1
            continue
        played += length
        new_watched = merged([*new_watched, (start, start + length)])
        anchor = start + length
    # Wall time, but no more than the media accepted: a paused or stalled video earns nothing, and
    # 2× playback earns the wall time, not the media's.
    credited = min(wall, played) if report.visible and report.playing else 0.0
    return BeatOutcome(credited_seconds=credited, watched=new_watched, played_seconds=played, refused_ranges=refused,
                       position=_clamp(report.position, 0.0, duration))
