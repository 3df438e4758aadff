"""The commands of the ``zeroskip`` command line, one module each.

Every module has ``NAME``, ``HELP`` (one line for the command list), ``DESCRIPTION``,
``add_arguments(parser)`` and ``run(args)`` returning the exit status; shared argument types
and the configuration flags are in :mod:`.options`.
"""

from . import demo, generate, run, sim, sweep, synth

__all__ = ["COMMANDS"]

COMMANDS = (generate, sim, run, demo, synth, sweep)
