"""Cycle-stepped cocotb stream endpoints for ``amaranth.lib.stream`` ports.

All endpoints of a testbench are stepped by one coroutine at each falling clock edge, which
keeps the Python scheduler cost to one trigger per cycle. The engine guarantees that none of
its outputs depends combinationally on an input in the same cycle, so ``ready``/``valid`` read
at the falling edge are the values the next rising edge will see.

Pauses come from generators yielding ``True`` for an idle cycle (driver) or a cycle of
backpressure (monitor): :func:`no_pauses` or :func:`random_pauses`.
"""

import itertools
import random

__all__ = ["StreamDriver", "StreamMonitor", "no_pauses", "random_pauses"]


def no_pauses():
    return itertools.repeat(False)


def random_pauses(probability, seed):
    """Seeded pause pattern: each cycle is a pause with ``probability``."""
    rng = random.Random(seed)
    while True:
        yield rng.random() < probability


class _StreamPort:
    """The ``{prefix}__valid``/``__ready``/``__payload`` signals of one stream port."""

    def __init__(self, dut, prefix, pauses):
        self.valid = getattr(dut, f"{prefix}__valid")
        self.ready = getattr(dut, f"{prefix}__ready")
        self.payload = getattr(dut, f"{prefix}__payload")
        self.pauses = pauses or no_pauses()


class StreamDriver(_StreamPort):
    """Offers a queue of payload words on a stream port."""

    def __init__(self, dut, prefix, *, pauses=None):
        super().__init__(dut, prefix, pauses)
        self.queue = []
        self.sent = 0
        self._offered = False
        self._ready_seen = False
        self.valid.value = 0

    def load(self, words, pauses=None):
        self.queue = list(words)
        self.sent = 0
        if pauses is not None:
            self.pauses = pauses

    def abort(self):
        """Drop the queue and withdraw ``valid`` at once (the engine is being reset)."""
        self.queue = []
        self.sent = 0
        self._offered = False
        self._ready_seen = False
        self.valid.value = 0

    @property
    def done(self):
        return self.sent == len(self.queue)

    def step(self):
        """Call once per falling edge; returns True if a word was transferred last cycle."""
        transferred = self._offered and self._ready_seen
        if transferred:
            self.sent += 1
        offer = not self.done and not next(self.pauses)
        if offer:
            self.payload.value = self.queue[self.sent]
        if offer != self._offered:
            self.valid.value = int(offer)
        self._offered = offer
        self._ready_seen = bool(self.ready.value)
        return transferred


class StreamMonitor(_StreamPort):
    """Accepts words from a stream port, with optional backpressure."""

    def __init__(self, dut, prefix, *, pauses=None):
        super().__init__(dut, prefix, pauses)
        self.words = []
        self._ready = None

    def step(self):
        """Call once per falling edge; returns the word transferred this cycle, or None."""
        ready = not next(self.pauses)
        if ready != self._ready:
            self.ready.value = int(ready)
            self._ready = ready
        if ready and self.valid.value:
            word = self.payload.value.to_unsigned()
            self.words.append(word)
            return word
        return None
