"""What the experiments of ``numpykan reproduce`` share: folders, results files, figures, progress.

:func:`_prepare` makes the output folder, :func:`_finish` writes ``results.json``
(configuration, numbers, curves, wall time, machine) and ``results.md`` (the
table), :func:`_save_figure` saves a figure (stamped "quick run" for quick runs),
:class:`Progress` is the epoch-level progress line of the long runs.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

__all__ = ["DataError", "machine_info", "default_out", "QUICK_STAMP", "Progress", "REPORT_INIT"]

#: the KANs of docs/RESULTS.md drew their base weights Xavier-uniform, numpykan's default
#: until it took pykan's U(-1, 1) / sqrt(I); pinned so that the published numbers rerun
#: (and so that the image runs resumed from their checkpoints keep the start they had)
REPORT_INIT = dict(scale_base_mu=None, scale_base_sigma=None)


class DataError(ValueError):
    """The data an experiment was pointed at cannot be used (missing, unreadable, wrong kind)."""


# ---------------------------------------------------------------------------
# Small helpers: machine, files, statistics
# ---------------------------------------------------------------------------

def machine_info():
    """Cores, CPU model, load average and library versions, for ``results.json``."""
    model = "unknown"
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        model = platform.processor() or "unknown"
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        usable = os.cpu_count()
    try:
        load = [round(v, 2) for v in os.getloadavg()]
    except OSError:
        load = None
    import matplotlib
    return {"cpu_count": os.cpu_count(), "usable_cores": usable, "cpu_model": model,
            "load_average_at_end": load, "platform": platform.platform(),
            "python": platform.python_version(), "numpy": np.__version__,
            "matplotlib": matplotlib.__version__}


def _jsonable(v):
    """``json.dump`` fallback for NumPy scalars and arrays."""
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, Path):
        return str(v)
    raise TypeError(f"cannot write {type(v).__name__} to JSON")


def _finish(out, results, table, t0):
    """Add wall time and machine, write ``results.json`` and ``results.md``; return results."""
    results["wall_time_s"] = round(time.perf_counter() - t0, 2)
    results["machine"] = machine_info()
    results["files"] = sorted(results.get("files", []) + ["results.json", "results.md"])
    with open(out / "results.json", "w") as fh:
        json.dump(results, fh, indent=1, default=_jsonable)
    m = results["machine"]
    quick = results["config"]["quick"]
    lines = [f"# numpykan reproduce {results['experiment']}"
             + (" (quick run)" if quick else ""), ""]
    if quick:
        lines += [f"**{QUICK_STAMP[0].upper() + QUICK_STAMP[1:]}.**", ""]
    lines += [f"Wall time {results['wall_time_s']:.1f} s on {m['usable_cores']} usable cores "
              f"({m['cpu_model']}); quick = {quick}.", "", *table, ""]
    (out / "results.md").write_text("\n".join(lines))
    return results


def _check_seeds(seeds):
    if isinstance(seeds, bool) or not isinstance(seeds, (int, np.integer)) or seeds < 1:
        raise ValueError(f"seeds must be an int >= 1, got {seeds!r}")
    return int(seeds)


def _count(value, name, lo):
    """``value`` as an int >= ``lo``, else a ValueError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < lo:
        raise ValueError(f"{name} must be an int >= {lo}, got {value!r}")
    return int(value)


def _prepare(out, experiment, seeds=None):
    """Check ``seeds`` (if given); create and return the output folder."""
    if seeds is not None:
        _check_seeds(seeds)
    out = Path(default_out(experiment) if out is None else out)
    out.mkdir(parents=True, exist_ok=True)
    return out


def default_out(experiment):
    """The output folder of ``numpykan reproduce EXPERIMENT`` without ``--out``."""
    return f"numpykan-results/{experiment}"


QUICK_STAMP = "quick run: tiny sizes, a smoke test; the numbers mean nothing"


def format_seconds(s):
    from ..training.progress import format_seconds as fmt
    return fmt(s)


def _plt():
    from ..interpretation.plot import pyplot
    return pyplot()


def _save_figure(fig, path, quick):
    """Save ``fig`` to ``path`` (stamped "quick run" across the top when ``quick``) and close it."""
    if quick:
        title = getattr(fig, "_suptitle", None)
        y = 1.0 if title is None else title.get_position()[1] + 0.07
        fig.text(0.5, y, QUICK_STAMP.upper(), ha="center", va="bottom", color="red",
                 fontsize=11, fontweight="bold", transform=fig.transFigure)
    fig.savefig(path, dpi=100, bbox_inches="tight")
    _plt().close(fig)


def _duration(seconds):
    """``"42 s"``, ``"3 min 05 s"``, ``"2 h 07 min"``."""
    seconds = max(0.0, float(seconds))
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{int(seconds // 60)} min {int(seconds % 60):02d} s"
    return f"{int(seconds // 3600)} h {int(seconds % 3600 // 60):02d} min"


class Progress:
    """A progress line for a run of epochs (possibly resumed), on stderr.

    The epoch-level sibling of fit's step-level line (:mod:`numpykan.progress`), in
    the same format, for :func:`numpykan.resumable.train_epochs`, whose epochs each
    call ``fit`` once and whose rate counts only the epochs of this session.

    On a terminal the line is rewritten in place after every epoch; otherwise (a
    log file, CI) a plain line is printed for the first epoch, the last one, and
    whenever ``interval`` seconds have passed since the previous line, so logs stay
    readable. Each line: label, epoch, training loss, the latest PSNR measures,
    seconds per epoch and the time left at that rate.

    Use :meth:`epoch` as the ``progress`` callback of
    :func:`numpykan.resumable.train_epochs`, and :meth:`close` after the run.
    """

    def __init__(self, label, enabled=True, stream=None, interval=30.0):
        self.label, self.enabled = label, bool(enabled)
        self.stream = sys.stderr if stream is None else stream
        isatty = getattr(self.stream, "isatty", None)
        self.tty = bool(isatty and isatty())
        self.interval = float(interval)
        self.start = self.last_line = None
        self.first_epoch = None
        self.written = False

    def epoch(self, done, total, info):
        """Report that ``done`` of ``total`` epochs are done (``info`` as train_epochs gives it)."""
        if not self.enabled:
            return
        now = time.perf_counter()
        if self.start is None:                      # first call of this session
            self.start, self.first_epoch = now - info["seconds"], done - 1
        rate = (now - self.start) / max(1, done - self.first_epoch)
        parts = [self.label, f"epoch {done}/{total}", f"train mse {info['train_loss']:.2e}"]
        for key, name in (("train_psnr", "train"), ("heldout_psnr", "held-out")):
            if info.get("eval") and key in info["eval"]:
                parts.append(f"{name} {info['eval'][key]:.2f} dB")
        parts += [f"{rate:.2f} s/epoch", f"{format_seconds(now - self.start)} elapsed, "
                  f"{format_seconds(rate * (total - done))} left"]
        msg = " | ".join(parts)
        if self.tty:
            self.stream.write("\r" + msg[:150].ljust(150))
            self.stream.flush()
            self.written = True
        elif (self.last_line is None or done == total
              or now - self.last_line >= self.interval):
            self.stream.write(msg + "\n")
            self.stream.flush()
            self.last_line = now

    def close(self):
        if self.enabled and self.tty and self.written:
            self.stream.write("\n")
            self.stream.flush()
        self.written = False


def _dtype(dtype):
    dt = np.dtype(dtype)
    if dt not in (np.float32, np.float64):
        raise ValueError(f"dtype must be float32 or float64, got {dtype!r}")
    return dt.type


def _stats(values):
    a = np.asarray(values, dtype=np.float64)
    return {"mean": float(a.mean()), "std": float(a.std()), "min": float(a.min()),
            "max": float(a.max())}


def _fmt(x):
    return f"{x:.3e}"


def _summary_line(experiment, seed, name, history, epochs):
    """One line per trained model on stdout: final losses (and accuracy) and the time taken."""
    parts = [f"train {history['train_loss'][-1]:.3e}"]
    if history.get("test_loss"):
        parts.append(f"test {history['test_loss'][-1]:.3e}")
    if history.get("test_acc"):
        parts.append(f"test acc {100 * history['test_acc'][-1]:.2f}%")
    print(f"numpykan reproduce {experiment}: seed {seed} {name}: {', '.join(parts)} after "
          f"{epochs} epochs, {history['time'][-1]:.1f} s", flush=True)


def _steps_per_epoch(n, batch):
    return 1 if batch in (-1, None) or batch >= n else -(-n // batch)


def _schedule(num, start, stop):
    from ..training.train import grid_update_steps
    return grid_update_steps(True, num, start, stop)
