"""A training step as a transaction: it happens whole, or not at all.

A step of :func:`numpykan.fit` changes many arrays: the grids and spline
coefficients (on a grid-update step), the caches (forward), the gradients
(backward), the parameters, the optimizer's moments and step counts. An
exception, a non-finite value or a Ctrl-C can arrive between any two of these
changes. So before a step, fit takes a *snapshot* of the model
(:meth:`numpykan.network.Network.snapshot`) and of the optimizer
(``opt.snapshot()``), and if the step does not complete it *restores* both:
the model and the optimizer are then, bit for bit, as before the step. If it
completes, the snapshot of the new state is what the next step would restore.

The snapshots copy only what the step writes into *in place*: the parameters,
into one flat buffer reused from step to step (one ``np.concatenate``; the same
buffer answers "is it all finite?" in one more pass), and SGD's momenta.
Adam's fused step writes its new moments into the other of two buffer pairs,
so the moments before a step need no copy at all (``opt.snapshot(copy=False)``).
Everything a step *replaces* (gradients, caches, new grids and coefficients
from a grid update) is kept by reference, which costs nothing.

Which state a failure goes back to: an exception or a Ctrl-C inside a step
restores the state before that step. The divergence guard refuses a step
whose loss is not finite or too large; that loss was computed from the
parameters the *previous* step made (Adam, SGD: the loss comes before the
update), so the guard goes back to the state before the previous step, the
last one whose loss was accepted; hence two snapshots are kept.

This module holds the pieces: :class:`FlatCopy` (arrays copied into one
reused buffer and put back), :func:`atomic` (a block that a Ctrl-C cannot
cut in two), and :class:`StepSnapshots` (the two latest snapshots of a fit).
"""

from __future__ import annotations

import contextlib
import signal
import threading

import numpy as np

__all__ = ["FlatCopy", "atomic", "StepSnapshots"]


class FlatCopy:
    """Copies of a list of arrays, laid end to end in one buffer that is reused.

    ``take(arrays)`` copies them (one ``np.concatenate``), ``put_back()``
    writes the copies back into the same array objects, ``finite()`` says
    whether every copied value is finite. The buffer has the arrays' common
    dtype (float64 when they differ, which holds float32 values exactly).
    """

    def __init__(self):
        self.arrays = []
        self.buffer = np.empty(0)

    def take(self, arrays):
        """Copy ``arrays`` (a list of ndarrays); the buffer is reused when it fits."""
        self.arrays = arrays
        n = 0
        dtype = None
        for a in arrays:
            n += a.size
            dtype = a.dtype if dtype is None or dtype == a.dtype else np.result_type(dtype, a.dtype)
        buf = self.buffer
        if buf.size != n or (dtype is not None and buf.dtype != dtype):
            buf = self.buffer = np.empty(n, dtype=dtype or np.float64)
        if arrays:
            np.concatenate([a.reshape(-1) for a in arrays], out=buf)
        return self

    def put_back(self):
        """Write the copies back into the arrays they came from."""
        pos = 0
        for a in self.arrays:
            a[...] = self.buffer[pos:pos + a.size].reshape(a.shape)
            pos += a.size

    def finite(self):
        """True if every copied value is finite (one pass over the buffer)."""
        return bool(np.isfinite(self.buffer).all())


@contextlib.contextmanager
def atomic():
    """Run a block that Ctrl-C cannot cut in two: a SIGINT is held until the block ends.

    Python turns SIGINT into ``KeyboardInterrupt`` between any two bytecodes,
    so a restore that writes several arrays could be stopped half-way. Inside
    this block a SIGINT is only recorded; at its end the handler is put back
    and a recorded SIGINT is raised as ``KeyboardInterrupt``. Only in the
    main thread with Python's default handler installed (signal handlers
    can be set there only); elsewhere the block runs as it is.
    """
    if (threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGINT) is not signal.default_int_handler):
        yield
        return
    received = []
    signal.signal(signal.SIGINT, lambda signum, frame: received.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    if received:
        raise KeyboardInterrupt


class StepSnapshots:
    """The two latest states of a training run, as (model, optimizer) snapshots.

    ``current`` is the state before the running step; ``previous`` the state
    before the step before it (None at the first step). :meth:`commit` takes
    the state after a step into the older snapshot's buffers (so two sets of
    buffers serve the whole run) and makes it ``current``.

    Parameters
    ----------
    model : Network
    optimizer : an optimizer with ``snapshot(into=, copy=)`` and ``restore(snapshot)``
        Its snapshots are taken with ``copy=False``: they need to stay valid
        only until the optimizer's second step after them (fit restores at
        most the state before the previous step, and before that step's update).
    grids : bool
        Copy the grids and masks into the first snapshot too (see
        :meth:`~numpykan.network.Network.snapshot`).
    """

    def __init__(self, model, optimizer, grids=False):
        self.model, self.optimizer = model, optimizer
        self.current = (model.snapshot(grids=grids), optimizer.snapshot(copy=False))
        self.previous = None

    def finite(self, pair=None):
        """True if the parameters and optimizer state of ``pair`` (default: current) are finite."""
        m, o = self.current if pair is None else pair
        return m.finite() and o.finite()

    def commit(self, grids=False):
        """Snapshot the state after a step; return True (now ``current``) if it is all finite.

        When it is not, nothing is swapped: ``current`` still holds the state
        before the step, for :meth:`restore`.
        """
        spare, self.previous = self.previous or (None, None), None   # its buffers get the new state
        new = (self.model.snapshot(into=spare[0], grids=grids),
               self.optimizer.snapshot(into=spare[1], copy=False))
        if not self.finite(new):
            return False
        self.previous, self.current = self.current, new
        return True

    def retake(self, grids=False):
        """Snapshot the current state again into ``current`` (after a callback changed it)."""
        m, o = self.current
        self.current = (self.model.snapshot(into=m, grids=grids),
                        self.optimizer.snapshot(into=o, copy=False))

    def restore(self, back=0):
        """Put the model and the optimizer back to ``current`` (``back=0``) or ``previous`` (``back=1``).

        Returns the number of steps actually gone back (``previous`` may not
        exist). Ctrl-C cannot interrupt it half-way (:func:`atomic`).
        """
        pair = self.previous if back and self.previous is not None else self.current
        with atomic():
            self.model.restore(pair[0])
            self.optimizer.restore(pair[1])
        return 1 if pair is self.previous else 0
