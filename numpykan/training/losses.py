"""Loss functions: each returns the scalar loss and its gradient.

Every function here is pure: it reads its arguments, never modifies them, and
returns ``(loss, grad)`` where ``loss`` is a Python ``float`` and ``grad`` has
the shape and the floating dtype of the prediction (a float32 model gets float32
gradients; nothing is silently upcast to float64).

Glossary: ``B`` batch size, ``O`` number of outputs, ``C`` number of classes.

Examples
--------
>>> import numpy as np
>>> loss, dpred = mse(np.array([[1.0], [3.0]]), np.array([0.0, 1.0]))
>>> loss                    # ((1 - 0)^2 + (3 - 1)^2) / 2
2.5
>>> dpred.ravel().tolist()  # 2 (pred - target) / 2
[1.0, 2.0]
"""

import numpy as np

__all__ = ["mse", "cross_entropy", "accuracy", "get_loss", "user_loss", "loss_name"]


# --------------------------------------------------------------------------- #
# validation helpers (shared by the public functions below)
# --------------------------------------------------------------------------- #

def _float_matrix(a, name, what):
    """Return ``a`` as a 2-D floating ndarray, or raise naming ``name``."""
    a = np.asarray(a)
    if not np.issubdtype(a.dtype, np.floating):
        raise TypeError(f"{name} must be a floating-point array, got dtype {a.dtype}")
    if a.ndim != 2:
        raise ValueError(f"{name} must have shape {what}, got shape {a.shape} ({a.ndim}-D)")
    if a.shape[0] == 0 or a.shape[1] == 0:
        raise ValueError(f"{name} must be non-empty with shape {what}, got shape {a.shape}")
    return a


def _check_finite(a, name):
    """Raise ``ValueError`` if ``a`` holds a NaN or an inf, showing the first one."""
    finite = np.isfinite(a)
    if not finite.all():
        first = tuple(int(i) for i in np.argwhere(~finite)[0])
        raise ValueError(
            f"{name} must be finite, got {a[first]} at index {first} "
            f"({int((~finite).sum())} non-finite values in total)"
        )


def _check_logits_labels(logits, labels):
    """Validate a (B, C) logits array and (B,) integer labels in [0, C)."""
    logits = _float_matrix(logits, "logits", "(batch, n_classes)")
    B, C = logits.shape
    labels = np.asarray(labels)
    if labels.dtype == bool or not np.issubdtype(labels.dtype, np.integer):
        raise TypeError(
            f"labels must be an integer array of class indices, got dtype {labels.dtype} "
            "(convert with labels.astype(int) if the values are whole numbers)"
        )
    if labels.shape != (B,):
        raise ValueError(
            f"labels must have shape (batch,) = ({B},) to match logits of shape "
            f"{logits.shape}, got shape {labels.shape}"
        )
    lo, hi = int(labels.min()), int(labels.max())
    if lo < 0 or hi >= C:
        raise ValueError(
            f"labels must lie in [0, {C}) for logits with {C} classes, "
            f"got values in [{lo}, {hi}]"
        )
    _check_finite(logits, "logits")
    return logits, labels


# --------------------------------------------------------------------------- #
# losses
# --------------------------------------------------------------------------- #

def mse(pred, target):
    r"""Mean squared error over all elements, with its gradient.

    Parameters
    ----------
    pred : ndarray, shape (B, O), floating
        Predictions.
    target : ndarray, shape (B, O), or shape (B,) when ``O == 1``
        Targets; cast to the dtype of ``pred``.

    Returns
    -------
    loss : float
        :math:`L`, see Notes.
    dpred : ndarray, shape (B, O), dtype of ``pred``
        :math:`\partial L / \partial \mathrm{pred}`.

    Raises
    ------
    TypeError
        If ``pred`` is not floating or ``target`` is not numeric.
    ValueError
        If the shapes do not match or an input holds NaN or inf.

    Notes
    -----
    With :math:`N = B \cdot O` the number of elements,

    .. math:: L = \frac{1}{N} \sum_{b, o} (\mathrm{pred}_{bo} - \mathrm{target}_{bo})^2

    and differentiating each term once,

    .. math:: \frac{\partial L}{\partial \mathrm{pred}_{bo}}
              = \frac{2}{N} (\mathrm{pred}_{bo} - \mathrm{target}_{bo}).

    The mean runs over outputs as well as samples (as ``torch.nn.MSELoss``
    does), so a model with more outputs does not get a larger loss.

    Examples
    --------
    >>> import numpy as np
    >>> loss, d = mse(np.array([[0.0, 1.0]]), np.array([[1.0, 1.0]]))
    >>> loss, d.tolist()
    (0.5, [[-1.0, 0.0]])
    """
    pred = _float_matrix(pred, "pred", "(batch, out)")
    B, O = pred.shape
    target = np.asarray(target)
    if target.dtype == bool or not np.issubdtype(target.dtype, np.number) \
            or np.issubdtype(target.dtype, np.complexfloating):
        raise TypeError(f"target must be a real numeric array, got dtype {target.dtype}")
    if target.ndim == 1 and O == 1:
        target = target[:, None]  # (B,) -> (B, 1)
    if target.shape != pred.shape:
        hint = f" or ({B},)" if O == 1 else ""
        raise ValueError(
            f"target must have the shape of pred, ({B}, {O}){hint}, got shape {target.shape}"
        )
    _check_finite(pred, "pred")
    _check_finite(target, "target")
    return _mse(pred, target.astype(pred.dtype, copy=False))


def _mse(pred, target):
    """:func:`mse` without the checks: ``pred``, ``target`` finite ``(B, O)`` of one float dtype."""
    diff = pred - target                                 # (B, O)
    loss = float(np.vdot(diff, diff)) / diff.size        # mean of diff^2
    dpred = diff                                         # (B, O), dtype of pred, reused
    dpred *= 2.0 / pred.size
    return loss, dpred


def cross_entropy(logits, labels):
    r"""Softmax cross-entropy averaged over the batch, with its gradient.

    Parameters
    ----------
    logits : ndarray, shape (B, C), floating
        Unnormalized class scores.
    labels : ndarray of int, shape (B,)
        Class index of each sample, in ``[0, C)``.

    Returns
    -------
    loss : float
        :math:`L`, see Notes.
    dlogits : ndarray, shape (B, C), dtype of ``logits``
        :math:`\partial L / \partial \mathrm{logits}`.

    Raises
    ------
    TypeError
        If ``logits`` is not floating or ``labels`` is not an integer array.
    ValueError
        If the shapes do not match, a label is out of range, or ``logits``
        holds NaN or inf.

    Notes
    -----
    Writing :math:`z_b` for row ``b`` of the logits and :math:`y_b` for its label,

    .. math:: L = \frac{1}{B} \sum_b \Big[\log \sum_c e^{z_{bc}} - z_{b y_b}\Big].

    The log-sum-exp is evaluated as
    :math:`m_b + \log \sum_c e^{z_{bc} - m_b}` with :math:`m_b = \max_c z_{bc}`,
    so no exponent exceeds 0 and logits of size 1e3 do not overflow (the loss
    is unchanged because the shift cancels). Since
    :math:`\partial \log \sum_c e^{z_{bc}} / \partial z_{bc} = \mathrm{softmax}(z_b)_c = p_{bc}`,

    .. math:: \frac{\partial L}{\partial z_{bc}} = \frac{1}{B} (p_{bc} - [c = y_b]).

    Examples
    --------
    >>> import numpy as np
    >>> loss, d = cross_entropy(np.zeros((1, 4)), np.array([2]))
    >>> round(loss, 12) == round(float(np.log(4)), 12)   # uniform over 4 classes
    True
    >>> d.tolist()
    [[0.25, 0.25, -0.75, 0.25]]
    """
    logits, labels = _check_logits_labels(logits, labels)
    return _cross_entropy(logits, labels)


def _cross_entropy(logits, labels):
    """:func:`cross_entropy` without the checks: finite ``(B, C)`` logits, int labels in ``[0, C)``."""
    B, C = logits.shape
    rows = np.arange(B)

    z = logits - logits.max(axis=1, keepdims=True)  # (B, C), every row max is 0
    e = np.exp(z)                                   # (B, C), in (0, 1]
    s = e.sum(axis=1)                               # (B,), in [1, C]
    lse = np.log(s)                                 # (B,), log-sum-exp of shifted rows
    loss = float(np.mean(lse - z[rows, labels]))

    dlogits = e / s[:, None]                        # (B, C) softmax p
    dlogits[rows, labels] -= 1                      # p - onehot
    dlogits /= B                                    # (B, C), dtype of logits
    return loss, dlogits


def accuracy(logits, labels):
    """Fraction of samples whose largest logit is at the true label.

    Parameters
    ----------
    logits : ndarray, shape (B, C), floating
        Class scores (ties go to the lowest index, as in ``np.argmax``).
    labels : ndarray of int, shape (B,)
        Class index of each sample, in ``[0, C)``.

    Returns
    -------
    float
        ``mean_b [argmax_c logits[b, c] == labels[b]]``, in ``[0, 1]``.

    Examples
    --------
    >>> import numpy as np
    >>> accuracy(np.array([[2.0, 1.0], [0.0, 3.0]]), np.array([0, 0]))
    0.5
    """
    logits, labels = _check_logits_labels(logits, labels)
    return float(np.mean(np.argmax(logits, axis=1) == labels))


_LOSSES = {"mse": mse, "ce": cross_entropy, "cross_entropy": cross_entropy}
_UNCHECKED = {mse: _mse, cross_entropy: _cross_entropy}


def user_loss(fn):
    """Wrap a user's loss ``fn(y_pred, y) -> (value, dL/dy_pred)`` so that what it returns is checked.

    The wrapper returns ``(value, grad)`` with ``value`` a Python float and
    ``grad`` an array of ``y_pred``'s shape and dtype. It raises

    - ``TypeError`` if ``fn`` does not return a pair, the value is not a real
      number (a 0-d or one-element real array counts), or the gradient is
      not real numeric (complex, bool, object, strings);
    - ``ValueError`` if the gradient's shape differs from ``y_pred``'s;
    - ``FloatingPointError`` if the value or the gradient is not finite (in
      :func:`numpykan.fit` that stops the run like any non-finite loss).

    Examples
    --------
    >>> def mae(pred, y):                     # mean absolute error and its (sub)gradient
    ...     return float(np.mean(np.abs(pred - y))), np.sign(pred - y) / pred.size
    >>> value, grad = user_loss(mae)(np.array([[1.0], [3.0]]), np.array([[0.0], [1.0]]))
    >>> value, grad.ravel().tolist()
    (1.5, [0.5, 0.5])
    >>> user_loss(lambda p, y: 0.0)(np.zeros((2, 1)), np.zeros((2, 1)))
    Traceback (most recent call last):
    ...
    TypeError: loss <lambda>(y_pred, y) must return a pair (value, dL/dy_pred), got float
    """
    name = getattr(fn, "__name__", type(fn).__name__)
    what = f"loss {name}(y_pred, y)"

    def checked_loss(pred, target):
        out = fn(pred, target)
        if not (isinstance(out, tuple) and len(out) == 2):
            raise TypeError(f"{what} must return a pair (value, dL/dy_pred), got {type(out).__name__}")
        value, grad = out
        v = np.asarray(value)
        if v.size != 1 or v.dtype.kind not in "fiu":
            raise TypeError(f"{what}: the value must be a real number, got {type(value).__name__} "
                            f"of dtype {v.dtype} and shape {v.shape}")
        value = float(v.reshape(()))
        grad = np.asarray(grad)
        if grad.dtype.kind not in "fiu":
            raise TypeError(f"{what}: dL/dy_pred must be a real numeric array, got dtype {grad.dtype}")
        if grad.shape != pred.shape:
            raise ValueError(f"{what}: dL/dy_pred must have the shape of y_pred {pred.shape}, "
                             f"got {grad.shape}")
        grad = grad.astype(pred.dtype, copy=False)
        if not np.isfinite(value):
            raise FloatingPointError(f"{what} returned the non-finite value {value}")
        if not np.isfinite(grad).all():
            raise FloatingPointError(f"{what} returned a non-finite dL/dy_pred "
                                     f"({int((~np.isfinite(grad)).sum())} values)")
        return value, grad

    checked_loss.__name__ = name
    checked_loss.user_fn = fn
    return checked_loss


def loss_name(loss):
    """A short name for ``loss`` (progress lines, messages): ``"mse"``, ``"ce"`` or the function's name."""
    if isinstance(loss, str):
        return "ce" if _takes_labels(loss) else loss.lower()
    if loss is mse or loss is cross_entropy:
        return "mse" if loss is mse else "ce"
    return getattr(loss, "__name__", "loss")


def get_loss(name, checked=True):
    """Return the loss function called ``name``, or a checked wrapper of a callable loss.

    Parameters
    ----------
    name : str or callable
        ``"mse"``, or ``"ce"`` / ``"cross_entropy"`` (case-insensitive); or a
        function ``loss(y_pred, y) -> (value, dL/dy_pred)``, which is wrapped
        by :func:`user_loss` so that what it returns is checked (whatever
        ``checked`` says: numpykan cannot know what a user's function
        returns). :func:`mse` and :func:`cross_entropy` themselves are read
        as their names.
    checked : bool, default True
        ``False`` returns the same computation without input validation, for
        callers that validated the targets and outputs already (a model's
        ``loss_and_grad``); it saves a pass over them per step.

    Returns
    -------
    callable
        ``f(pred, target) -> (loss, dpred)``.

    Raises
    ------
    TypeError
        If ``name`` is neither a string nor callable.
    ValueError
        If ``name`` is not one of the valid names.

    Examples
    --------
    >>> get_loss("CE").__name__
    'cross_entropy'
    """
    if name is mse or name is cross_entropy:
        return name if checked else _UNCHECKED[name]
    if callable(name) and not isinstance(name, str):
        return name if getattr(name, "user_fn", None) is not None else user_loss(name)
    if not isinstance(name, str):
        raise TypeError(f"loss must be a name ('mse', 'ce') or a callable loss(y_pred, y) -> "
                        f"(value, dL/dy_pred), got {type(name).__name__}")
    try:
        fn = _LOSSES[name.lower()]
    except KeyError:
        valid = ", ".join(repr(n) for n in _LOSSES)
        raise ValueError(f"unknown loss name {name!r}; valid names are {valid}") from None
    return fn if checked else _UNCHECKED[fn]


def _takes_labels(name):
    """True if the loss ``name`` (any case, as :func:`get_loss` reads it) takes integer
    class labels, False if it takes targets shaped like the output (or is a callable)."""
    return get_loss(name) is cross_entropy
