"""Stream endpoints without a simulator: a fake DUT whose ports are plain objects with a
``.value``, and a ready/valid channel emulated in Python one clock cycle at a time (a rising
edge transfers a word where ``valid`` and ``ready`` are both high, then the endpoints step at
the falling edge)."""

import itertools
import random
from types import SimpleNamespace

import pytest

from zeroskip.testbench.endpoints import (StreamSink, StreamSource, always_paused, no_pauses,
                                          random_pauses)


class _Signal:
    def __init__(self, value=0):
        self.value = value


class _Bits:
    """A payload value as cocotb gives it back to the sink."""

    def __init__(self, value):
        self._value = value

    def to_unsigned(self):
        return self._value


def _dut(prefix):
    """A DUT with one stream port ``prefix``; its valid/ready start undriven (None)."""
    return SimpleNamespace(**{f"{prefix}__{name}": _Signal(None)
                              for name in ("valid", "ready", "payload")})


def _port(dut, prefix):
    return SimpleNamespace(valid=getattr(dut, f"{prefix}__valid"),
                           ready=getattr(dut, f"{prefix}__ready"),
                           payload=getattr(dut, f"{prefix}__payload"))


class _Recorded:
    """An iterator of booleans that remembers what has been drawn from it."""

    def __init__(self, pattern):
        self._it = iter(pattern)
        self.drawn = []

    def __iter__(self):
        return self

    def __next__(self):
        value = next(self._it)
        self.drawn.append(value)
        return value


def _run_source(source, port, ready_pattern, cycles):
    """The DUT takes words from ``source``, its registered ``ready`` following
    ``ready_pattern``. Returns the words taken, and per cycle (taken last rising edge, what
    ``step`` returned, ``valid`` after the step)."""
    taken, trace = [], []
    for _ in range(cycles):
        took = bool(port.valid.value and port.ready.value)   # rising edge
        if took:
            taken.append(port.payload.value)
        port.ready.value = int(next(ready_pattern))
        returned = source.step()                              # falling edge
        trace.append((took, returned, port.valid.value))
    return taken, trace


def test_a_source_sends_its_words_in_order_and_counts_them():
    dut = _dut("weights")
    port = _port(dut, "weights")
    source = StreamSource(dut, "weights")
    assert port.valid.value == 0              # idle until started
    words = [0x5A, 7, 0, 0xFFFF, 3, 3, 12]
    pauses = _Recorded(random_pauses(0.4, seed=3))
    source.start(words, pauses)
    assert (source.sent, source.total, source.done) == (0, len(words), False)
    taken, trace = [], []
    ready = random_pauses(0.5, seed=11)       # True: the DUT is ready
    for _ in range(200):
        more, step = _run_source(source, port, ready, 1)
        taken += more
        trace += step
        assert source.sent == len(taken)      # sent counts the transfers of past edges
    assert taken == words
    assert source.done and source.sent == source.total == len(words)
    # step() reports exactly the transfers of the rising edge before it.
    assert [returned for _, returned, _ in trace] == [took for took, _, _ in trace]
    # The stream rules: a word on offer stays on offer (valid high) until it is taken.
    for (_, _, valid), (took_next, _, valid_next) in zip(trace, trace[1:]):
        assert not valid or took_next or valid_next
    # A pause is drawn exactly in the cycles where the source may start a new offer (no word
    # waiting, words left), and each drawn pause is a cycle without valid.
    may_start, waiting, sent = [], False, 0
    for took, _, valid in trace:
        sent += took
        free = (not waiting or took) and sent < len(words)
        may_start.append(free)
        waiting = bool(valid)
    assert len(pauses.drawn) == sum(may_start)
    offers = [bool(v) for (_, _, v), free in zip(trace, may_start) if free]
    assert offers == [not p for p in pauses.drawn]
    last = max(i for i, (took, _, _) in enumerate(trace) if took)
    assert not any(v for _, _, v in trace[last:])
    # A new start sends the new words.
    source.start([1, 2])
    more, _ = _run_source(source, port, itertools.repeat(True), 5)
    assert more == [1, 2] and source.sent == 2


def test_a_source_with_no_words_or_always_paused_never_offers():
    dut = _dut("cmd")
    port = _port(dut, "cmd")
    source = StreamSource(dut, "cmd")
    pauses = _Recorded(no_pauses())
    source.start([], pauses)
    taken, trace = _run_source(source, port, itertools.repeat(True), 10)
    assert taken == [] and not any(v for _, _, v in trace) and pauses.drawn == []
    assert source.done
    source.start([9, 8], always_paused())
    taken, trace = _run_source(source, port, itertools.repeat(True), 50)
    assert taken == [] and not any(v for _, _, v in trace) and source.sent == 0
    assert not source.done


def test_abort_withdraws_valid_at_once_and_drops_the_rest():
    dut = _dut("activations")
    port = _port(dut, "activations")
    source = StreamSource(dut, "activations")
    pauses = _Recorded(no_pauses())
    source.start([10, 20, 30, 40], pauses)
    taken, _ = _run_source(source, port, itertools.repeat(True), 3)
    assert taken == [10, 20] and port.valid.value and port.ready.value
    drawn = len(pauses.drawn)
    source.abort()
    # valid drops before the next edge, so the word on offer is not transferred ...
    assert port.valid.value == 0
    assert (source.sent, source.total, source.done) == (0, 0, True)
    more, trace = _run_source(source, port, itertools.repeat(True), 5)
    # ... nor counted, and nothing else is offered or drawn.
    assert more == [] and not any(r or v for _, r, v in trace)
    assert source.sent == 0 and len(pauses.drawn) == drawn


def _run_sink(sink, port, words, idle_pattern, cycles):
    """The DUT offers ``words`` to ``sink``, idle where ``idle_pattern`` says (it never
    withdraws a word it has offered). Returns the words taken at rising edges and, per
    cycle, (valid seen by the step, ready after it, what step returned)."""
    queue = list(words)
    taken, trace = [], []
    offering = False
    for _ in range(cycles):
        if offering and port.ready.value:                    # rising edge
            taken.append(queue.pop(0))
            offering = False
        idle = next(idle_pattern)
        if not offering and queue and not idle:
            offering = True
            port.payload.value = _Bits(queue[0])
        port.valid.value = int(offering)
        returned = sink.step()                               # falling edge
        trace.append((port.valid.value, port.ready.value, returned, sink.offered))
    return taken, trace


def test_a_sink_holds_ready_low_until_started():
    dut = _dut("results")
    port = _port(dut, "results")
    sink = StreamSink(dut, "results")
    assert port.ready.value == 0
    taken, trace = _run_sink(sink, port, [1, 2, 3], no_pauses(), 20)
    assert taken == [] and sink.received == []
    assert all(ready == 0 and returned is None for _, ready, returned, _ in trace)
    # The DUT was offering all along: offered says so.
    assert all(offered for *_, offered in trace)
    sink.start()
    taken, _ = _run_sink(sink, port, [4, 5], no_pauses(), 6)
    assert taken == sink.received == [4, 5]


def test_a_sink_applies_its_pauses_and_records_words_in_order():
    dut = _dut("results")
    port = _port(dut, "results")
    sink = StreamSink(dut, "results")
    words = [random.Random(5).getrandbits(40) for _ in range(30)]
    pauses = _Recorded(random_pauses(0.35, seed=8))
    sink.start(pauses)
    taken, trace = _run_sink(sink, port, words, random_pauses(0.3, seed=2), 400)
    assert taken == words and sink.received == words
    # One pause drawn per step, and ready is its complement.
    assert len(pauses.drawn) == len(trace)
    assert [ready for _, ready, _, _ in trace] == [int(not p) for p in pauses.drawn]
    assert any(pauses.drawn) and not all(pauses.drawn)
    # A step returns the word exactly when valid and ready meet, and offered is valid.
    returned = [r for _, _, r, _ in trace if r is not None]
    assert returned == words
    assert all((r is not None) == bool(v and rd) for v, rd, r, _ in trace)
    assert [offered for *_, offered in trace] == [bool(v) for v, *_ in trace]
    # A new start forgets what was received.
    sink.start()
    assert sink.received == []


@pytest.mark.parametrize("probability", [0.0, 0.1, 0.25, 0.5, 0.9, 1.0])
def test_random_pauses_are_seeded_and_pause_at_their_rate(probability):
    cycles = 10000
    first = list(itertools.islice(random_pauses(probability, seed=42), cycles))
    random.seed(1)   # the global generator must not matter
    again = list(itertools.islice(random_pauses(probability, seed=42), cycles))
    assert first == again
    rate = sum(first) / cycles
    # Five standard deviations of a binomial rate over 10000 draws (at most 0.025).
    assert abs(rate - probability) <= 5 * (probability * (1 - probability) / cycles) ** 0.5
    if 0 < probability < 1:
        other = list(itertools.islice(random_pauses(probability, seed=43), cycles))
        assert other != first


def test_no_pauses_and_always_paused():
    assert not any(itertools.islice(no_pauses(), 1000))
    assert all(itertools.islice(always_paused(), 1000))
