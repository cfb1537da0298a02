"""The progress display of :func:`numpykan.fit`: one line, or plain lines for logs.

On a terminal, one line is redrawn in place (``\\r``) at most ten times a
second and at every log point::

    epoch 3/20 | step 1200/8000 (15%) | train mse 1.23e-03 | test mse 1.51e-03 | 412 steps/s | 0:03 elapsed, 0:17 left

When the stream is not a terminal (a CI log, a file, a pipe), a ``\\r`` line
would pile up into one unreadable line, so the same text is written as plain
lines instead: one each time another tenth of the steps is done (but not
within a second of the previous line, so a short run writes only its last
line), one whenever ``log_every_seconds`` passed since the last line, and the
final one.

The losses are the last values known: the mean of the training batches since
the previous log point (``train``) and the test loss of the last log point
(``test``), named after the loss (``mse``, ``ce``) so that nobody reads an MSE
as an RMSE.
"""

from __future__ import annotations

import math
import sys
import time

__all__ = ["Progress", "format_seconds"]


def format_seconds(s):
    """``"m:ss"`` (or ``"h:mm:ss"`` from one hour on); ``"?"`` for an unknown time."""
    if s is None or not math.isfinite(s) or s < 0:
        return "?"
    s = int(round(s))
    h, rest = divmod(s, 3600)
    m, sec = divmod(rest, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"


def _is_terminal(stream):
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty()) if callable(isatty) else False
    except (ValueError, OSError):                  # a closed or detached stream
        return False


class Progress:
    """Progress of a run of ``total`` steps, written to ``stream``.

    Parameters
    ----------
    total : int
        Number of steps of the run.
    stream : file-like, default sys.stderr
        Where to write; a terminal gets one redrawn line, anything else plain lines.
    per_epoch : int, optional
        Steps per epoch, when the run counts epochs (the line then shows the epoch).
    loss_name : str
        Shown beside the losses (``"mse"``, ``"ce"``, or a callable's name).
    log_every_seconds : float, default 30
        Without a terminal: write a line at least this often (besides every tenth of the run).
    clock : callable, default time.perf_counter
        Seconds; tests pass a fake clock.

    Examples
    --------
    >>> import io
    >>> out = io.StringIO()
    >>> p = Progress(4, out, loss_name="mse", clock=iter([0.0, 1.0, 2.0, 3.0, 4.0]).__next__)
    >>> for step in range(4):
    ...     p.update(step + 1, train=0.5 / (step + 1))
    >>> p.close()
    >>> print(out.getvalue().splitlines()[-1])
    step 4/4 (100%) | train mse 1.25e-01 | 1.0 steps/s | 0:04 elapsed, 0:00 left
    """

    #: a terminal line is redrawn at most this often (seconds)
    redraw_every = 0.1
    #: without a terminal, a tenth-of-the-run line waits this long after the previous line
    min_interval = 1.0

    def __init__(self, total, stream=None, per_epoch=None, loss_name="loss", log_every_seconds=30.0,
                 clock=time.perf_counter):
        self.total = int(total)
        self.stream = sys.stderr if stream is None else stream
        self.per_epoch = per_epoch
        self.loss_name = loss_name
        self.log_every_seconds = float(log_every_seconds)
        self.clock = clock
        self.terminal = _is_terminal(self.stream)
        self.t0 = clock()
        self.last_write = self.t0
        self.last_tenth = 0
        self.done = 0
        self.text = ""
        self.width = 0

    def line(self, step, train=None, test=None, now=None):
        """The text for ``step`` steps done, with the last known losses."""
        elapsed = (self.clock() if now is None else now) - self.t0
        parts = []
        if self.per_epoch:
            epochs = math.ceil(self.total / self.per_epoch)
            parts.append(f"epoch {min(math.ceil(step / self.per_epoch), epochs)}/{epochs}")
        pct = 100 * step // self.total if self.total else 100
        parts.append(f"step {step}/{self.total} ({pct}%)")
        if train is not None:
            parts.append(f"train {self.loss_name} {train:.2e}")
        if test is not None:
            parts.append(f"test {self.loss_name} {test:.2e}")
        rate = step / elapsed if elapsed > 0 else None
        parts.append(f"{rate:.1f} steps/s" if rate and rate < 100 else
                     f"{rate:.0f} steps/s" if rate else "? steps/s")
        left = (self.total - step) / rate if rate else None
        parts.append(f"{format_seconds(elapsed)} elapsed, {format_seconds(left)} left")
        return " | ".join(parts)

    def update(self, step, train=None, test=None, force=False):
        """Report ``step`` steps done; writes only when a line is due (or ``force``)."""
        self.done = step
        now = self.clock()
        if self.terminal:
            due = force or step >= self.total or now - self.last_write >= self.redraw_every
        else:
            tenth = 10 * step // self.total if self.total else 10
            since = now - self.last_write
            due = (step >= self.total or since >= self.log_every_seconds
                   or (tenth > self.last_tenth and since >= self.min_interval))
            if due:
                self.last_tenth = tenth
        if not due:
            return
        self.text = self.line(step, train, test, now)
        self.last_write = now
        if self.terminal:
            self.width = max(self.width, len(self.text))
            self.stream.write("\r" + self.text.ljust(self.width))
        else:
            self.stream.write(self.text + "\n")
        self.stream.flush()

    def close(self):
        """End the display (a terminal's line gets its newline)."""
        if self.terminal and self.text:
            self.stream.write("\n")
            self.stream.flush()
