"""The time rules of one heartbeat (learning.study_time), over any sequence of beats a client
could send: credited seconds never exceed the wall time, coverage never grows faster than wall
time × the highest playback rate, skipped media stays unwatched."""

from hypothesis import given, settings
from hypothesis import strategies as st

from learning.study_time import BeatReport, covered, judge_beat, merged

CAP, RATE, DURATION = 30.0, 2.0, 600.0

seconds = st.floats(min_value=-100, max_value=DURATION + 100, allow_nan=False, allow_infinity=False)
beats = st.lists(st.tuples(
    st.floats(min_value=0, max_value=400, allow_nan=False),  # wall time since the previous beat
    st.lists(st.tuples(seconds, seconds), max_size=5),  # the ranges claimed
    seconds,  # the position claimed
    st.booleans(), st.booleans(), st.booleans(),
), max_size=40)


def _play(sequence, *, reading=False):
    watched: list = []
    position = 0.0
    for elapsed, ranges, claimed, visible, playing, active in sequence:
        before = covered(watched)
        outcome = judge_beat(elapsed=elapsed, report=BeatReport(position=claimed, ranges=tuple(ranges), visible=visible,
                                                                playing=playing, active=active),
                             watched=watched, position=position, duration=DURATION, reading=reading, cap_seconds=CAP,
                             max_rate=RATE)
        yield elapsed, before, outcome
        watched, position = outcome.watched, outcome.position


@settings(max_examples=300, deadline=None)
@given(beats)
def test_credited_time_never_exceeds_wall_time_and_coverage_never_outruns_it(sequence):
    wall = credited = 0.0
    for elapsed, before, outcome in _play(sequence):
        wall += elapsed
        credited += outcome.credited_seconds
        assert 0 <= outcome.credited_seconds <= min(elapsed, CAP)
        assert covered(outcome.watched) - before <= min(elapsed, CAP) * RATE + 1e-6
        assert all(0 <= start < end <= DURATION for start, end in outcome.watched)
        assert outcome.watched == merged(outcome.watched)
    assert credited <= wall + 1e-6


@settings(max_examples=200, deadline=None)
@given(beats)
def test_reading_credits_only_visible_active_time_and_watches_nothing(sequence):
    for elapsed, _, outcome in _play(sequence, reading=True):
        report_visible_active = outcome.credited_seconds > 0
        assert outcome.watched == [] and outcome.credited_seconds <= min(elapsed, CAP)
        if report_visible_active:
            assert outcome.credited_seconds == min(elapsed, CAP)


def _beat(ranges, *, elapsed=15.0, watched=(), position=0.0, visible=True, playing=True, claimed=None):
    end = ranges[-1][1] if ranges else position
    return judge_beat(elapsed=elapsed, report=BeatReport(position=end if claimed is None else claimed,
                                                         ranges=tuple(ranges), visible=visible, playing=playing),
                      watched=list(watched), position=position, duration=DURATION, reading=False, cap_seconds=CAP,
                      max_rate=RATE)


def test_watching_in_real_time_counts_and_credits_the_wall_time():
    outcome = _beat([(0, 15)])
    assert outcome.watched == [(0, 15)] and outcome.credited_seconds == 15


def test_hidden_or_paused_time_is_not_credited_and_a_stalled_video_earns_nothing():
    assert _beat([(0, 15)], visible=False).credited_seconds == 0
    assert _beat([(0, 15)], playing=False).credited_seconds == 0
    assert _beat([], playing=True).credited_seconds == 0  # "playing", but the media never moved


def test_a_claim_of_the_whole_video_gets_at_most_the_wall_time_times_the_rate():
    outcome = _beat([(0, DURATION)])
    assert outcome.watched == [(0, 30)]


def test_a_long_silence_earns_no_back_pay():
    outcome = _beat([(0, 300)], elapsed=300)
    assert outcome.credited_seconds == CAP and outcome.watched == [(0, CAP * RATE)]


def test_seeking_ahead_is_allowed_but_the_skipped_part_stays_unwatched():
    # watched 0–15, then a beat reports the seek (position 500) …
    seek = _beat([(0, 15)], claimed=500)
    assert seek.watched == [(0, 15)] and seek.position == 500
    # … and the next range starts there: it counts, what lies between does not
    after = _beat([(500, 515)], watched=seek.watched, position=seek.position)
    assert after.watched == [(0, 15), (500, 515)]
    assert covered(after.watched) == 30


def test_a_range_far_from_anything_known_is_refused():
    outcome = _beat([(570, 585)], watched=[(0, 15)], position=15)
    assert outcome.watched == [(0, 15)] and outcome.refused_ranges == 1 and outcome.credited_seconds == 0


def test_rewatching_inside_what_was_watched_is_accepted_and_costs_budget():
    outcome = _beat([(5, 15), (15, 40)], watched=[(0, 20)], position=20)
    # 10 s again, then 20 of the 25 new: the beat's budget (15 s × 2) is spent
    assert outcome.watched == [(0, 35)] and outcome.played_seconds == 30
