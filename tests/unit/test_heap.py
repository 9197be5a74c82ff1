"""The build's garbage-collector settings: paused while planning, the live heap frozen while
running, and everything as it was afterwards."""
import gc
import threading
import weakref

from luisy.heap import alive_objects_frozen, collections_paused


def test_planning_pauses_collections_and_restores_the_setting():
    assert gc.isenabled()
    with collections_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with collections_paused():
            pass
        assert not gc.isenabled()  # a user's own choice is kept
    finally:
        gc.enable()


def test_the_live_heap_is_frozen_while_running_and_released_after():
    gc.unfreeze()
    with alive_objects_frozen():
        frozen = gc.get_freeze_count()
        assert frozen > 1000
        with alive_objects_frozen():  # a nested build shares the freeze
            assert gc.get_freeze_count() >= frozen
        assert gc.get_freeze_count() >= frozen  # the inner end does not lift it
    assert gc.get_freeze_count() == 0


def test_concurrent_builds_lift_the_freeze_when_the_last_ends():
    gc.unfreeze()
    inside, leave = threading.Event(), threading.Event()

    def other_build():
        with alive_objects_frozen():
            inside.set()
            leave.wait(10)

    thread = threading.Thread(target=other_build)
    with alive_objects_frozen():
        thread.start()
        inside.wait(10)
    assert gc.get_freeze_count() > 0  # the other build still runs
    leave.set()
    thread.join(10)
    assert gc.get_freeze_count() == 0


def test_garbage_frozen_during_a_run_is_collected_after_it():
    class Node:
        pass

    a, b = Node(), Node()
    a.other, b.other = b, a  # a cycle: only the cyclic collector frees it
    alive = weakref.ref(a)
    with alive_objects_frozen():
        del a, b
        gc.collect()
        assert alive() is not None  # frozen: left alone while the build runs
    gc.collect()
    assert alive() is None
