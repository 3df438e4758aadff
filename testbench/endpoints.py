"""Cycle-stepped cocotb stream endpoints for ``amaranth.lib.stream`` ports.

Named as cocotbext-axi names its endpoints: a :class:`StreamSource` drives ``valid`` and the
payload, a :class:`StreamSink` drives ``ready``; each is started with the words to send or
the pauses to apply (``start``) and read through its properties, never by poking its fields.

All endpoints of a testbench are stepped by one coroutine at each falling clock edge, which
keeps the Python scheduler cost to one trigger per cycle. The engine guarantees that none of
its outputs depends combinationally on an input in the same cycle, so ``ready``/``valid`` read
at the falling edge are the values the next rising edge will see.

Pauses come from generators yielding ``True`` for an idle cycle (source) or a cycle of
backpressure (sink): :func:`no_pauses`, :func:`random_pauses` or any iterator of booleans.
A source follows the stream rules of ``amaranth.lib.stream`` and AXI4-Stream: once it offers
a word it keeps ``valid`` high and the payload unchanged until the word is taken, so it draws
a pause only in cycles where it could start offering its next word. A sink draws one every
cycle. :func:`pause_bits` gives the same patterns as arrays, for the stream player.
"""

import itertools

import numpy as np

__all__ = ["StreamSource", "StreamSink", "no_pauses", "random_pauses", "always_paused",
           "pause_bits"]

# Pauses are drawn in blocks from NumPy's generator: a block of n draws is the same sequence
# whatever the block size, so the cocotb endpoints and the stream player's pause files agree
# bit for bit.
_BLOCK = 4096


def no_pauses():
    return itertools.repeat(False)


def always_paused():
    return itertools.repeat(True)


def pause_bits(probability, seed, count):
    """The first ``count`` pauses of :func:`random_pauses` as a boolean array."""
    return np.random.default_rng(seed).random(count) < probability


def random_pauses(probability, seed):
    """Seeded pause pattern: each draw is a pause with ``probability``."""
    rng = np.random.default_rng(seed)
    while True:
        yield from (bool(b) for b in rng.random(_BLOCK) < probability)


class _StreamPort:
    """The ``{prefix}__valid``/``__ready``/``__payload`` signals of one stream port."""

    def __init__(self, dut, prefix):
        self._valid = getattr(dut, f"{prefix}__valid")
        self._ready = getattr(dut, f"{prefix}__ready")
        self._payload = getattr(dut, f"{prefix}__payload")


class StreamSource(_StreamPort):
    """Offers payload words on a stream port. Idle (``valid`` low) until :meth:`start`."""

    def __init__(self, dut, prefix):
        super().__init__(dut, prefix)
        self._words = []
        self._pauses = no_pauses()
        self._sent = 0
        self._offered = False
        self._ready_seen = False
        self._valid.value = 0

    def start(self, words, pauses=None):
        """Send ``words`` (payload integers) in order, pausing where ``pauses`` says."""
        self._words = list(words)
        self._pauses = pauses or no_pauses()
        self._sent = 0

    def abort(self):
        """Drop the remaining words and withdraw ``valid`` at once (the DUT is being
        reset)."""
        self._words = []
        self._sent = 0
        self._offered = False
        self._ready_seen = False
        self._valid.value = 0

    @property
    def sent(self):
        """Words transferred so far."""
        return self._sent

    @property
    def total(self):
        """Words given to :meth:`start`."""
        return len(self._words)

    @property
    def done(self):
        return self._sent == len(self._words)

    def step(self):
        """Call once per falling edge; returns True if a word was transferred last cycle."""
        transferred = self._offered and self._ready_seen
        if transferred:
            self._sent += 1
        # A word on offer stays on offer until it is taken.
        offer = (self._offered and not transferred) or \
            (not self.done and not next(self._pauses))
        if offer:
            self._payload.value = self._words[self._sent]
        if offer != self._offered:
            self._valid.value = int(offer)
        self._offered = offer
        self._ready_seen = bool(self._ready.value)
        return transferred


class StreamSink(_StreamPort):
    """Accepts words from a stream port. Holds ``ready`` low until :meth:`start`."""

    def __init__(self, dut, prefix):
        super().__init__(dut, prefix)
        self._received = []
        self._pauses = always_paused()
        self._ready_driven = False
        self._ready.value = 0

    def start(self, pauses=None):
        """Forget what was received and accept words from now on, with backpressure where
        ``pauses`` says."""
        self._received = []
        self._pauses = pauses or no_pauses()

    @property
    def received(self):
        """The words received since :meth:`start`, in order."""
        return self._received

    @property
    def offered(self):
        """The DUT is offering a word this cycle (``valid`` high)."""
        return bool(self._valid.value)

    def step(self):
        """Call once per falling edge; returns the word transferred this cycle, or None."""
        ready = not next(self._pauses)
        if ready != self._ready_driven:
            self._ready.value = int(ready)
            self._ready_driven = ready
        if ready and self._valid.value:
            word = self._payload.value.to_unsigned()
            self._received.append(word)
            return word
        return None
