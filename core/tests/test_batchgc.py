import gc

from core.batchgc import fewer_collections


def test_the_collector_sees_everything_again_and_keeps_its_thresholds_after_the_job():
    before = gc.get_threshold()
    held = [[n] for n in range(1000)]  # objects that exist when the job starts
    with fewer_collections(threshold=12_345):
        assert gc.get_freeze_count() >= len(held)
        assert gc.get_threshold()[0] == 12_345
    assert gc.get_freeze_count() == 0
    assert gc.get_threshold() == before


def test_a_job_that_fails_still_gives_the_collector_back():
    before = gc.get_threshold()
    try:
        with fewer_collections():
            raise RuntimeError("the job failed")
    except RuntimeError:
        pass
    assert gc.get_freeze_count() == 0 and gc.get_threshold() == before


def test_cyclic_garbage_made_during_the_job_is_still_collected_after_it():
    class Node:
        pass

    with fewer_collections():
        first, second = Node(), Node()
        first.other, second.other = second, first
        del first, second
    gc.collect()
    assert not any(isinstance(thing, Node) for thing in gc.get_objects())
