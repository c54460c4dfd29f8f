"""Reading PyTorch weight files and assigning their tensors, all or none (torch imported lazily).

`read_state_dict` accepts what the authors and torchvision save: a bare state_dict or the
authors' training checkpoint (`train_coco.save_checkpoint`: a dict with the state_dict under
`model`, plus `epoch`, `size`, `batch_size`, `optimizer`), with or without DataParallel's
`module.` key prefix, in torch's zip format or the legacy format of PyTorch < 1.6 (the authors
used 0.4.1). It loads with `weights_only=True`, so a file can never run code.
"""

from __future__ import annotations

import numpy as np

from efgrnet_tf.interop.layouts import to_keras
from efgrnet_tf.user_errors import UserInputError

DATA_PARALLEL_PREFIX = "module."
# The authors' training checkpoint keeps the network's state_dict under this key.
TRAINING_CHECKPOINT_MODEL_KEY = "model"
# How torch's "Weights only load failed" message introduces the actual reason.
_WEIGHTS_ONLY_REASON = "WeightsUnpickler error:"


class StateDictError(UserInputError, ValueError):
    """A weight file that cannot be read, or whose tensors do not fit the model."""


class MissingPyTorchError(UserInputError, ImportError):
    """A `.pth` file is to be read and PyTorch is not installed."""


def read_state_dict(path: str) -> dict[str, np.ndarray]:
    """The network tensors of the torch file `path`, keys without DataParallel's `module.`.

    Returns:
        dict state_dict key → NumPy array (non-tensor entries, e.g. an `epoch`, left out).
    Raises:
        MissingPyTorchError: PyTorch is not installed.
        StateDictError: the file is no torch file, holds something that is not a state_dict,
            or needs code to load (torch's "Weights only load failed", in one line).
    """
    try:
        import torch
    except ImportError as error:
        raise MissingPyTorchError(
            f"reading {path!r} needs PyTorch: pip install torch (or the package's [pytorch] extra)"
        ) from error
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises UnpicklingError, RuntimeError, EOFError, ...
        raise StateDictError(
            f"{path!r} cannot be read with torch.load(weights_only=True), which never runs code "
            f"from a file: {_one_line_reason(error)}"
        ) from error
    if isinstance(state, dict) and isinstance(state.get(TRAINING_CHECKPOINT_MODEL_KEY), dict):
        state = state[TRAINING_CHECKPOINT_MODEL_KEY]
    if not isinstance(state, dict):
        raise StateDictError(f"{path!r} holds a {type(state).__name__}, not a state_dict")
    return {
        key.removeprefix(DATA_PARALLEL_PREFIX): value.numpy()
        for key, value in state.items()
        if isinstance(value, torch.Tensor)
    }


def assign_state_dict(targets, state, source, ignored_prefixes=()):
    """Assigns `state[key]` to every `targets[key]`, all or none.

    Args:
        targets: dict torch key → `TensorTarget`.
        state: dict torch key → NumPy array (`num_batches_tracked` and keys starting with one
            of `ignored_prefixes` are skipped).
        source: what `state` is, for the message (e.g. the file and the config).
    Raises:
        StateDictError: one message naming every missing key, unexpected key and shape
            mismatch; no variable is changed.
    """
    state = {
        k: v
        for k, v in state.items()
        if not k.endswith("num_batches_tracked") and not k.startswith(tuple(ignored_prefixes))
    }
    problems = [f"missing key {k!r}" for k in targets if k not in state]
    problems += [f"unexpected key {k!r}" for k in state if k not in targets]
    converted = {}
    for key, target in targets.items():
        if key in state:
            value = to_keras(state[key], target.layout)
            if tuple(value.shape) != tuple(target.variable.shape):
                problems.append(
                    f"shape of {key!r}: {tuple(state[key].shape)} does not fit "
                    f"{target.variable.path} {tuple(target.variable.shape)}"
                )
            converted[key] = value
    if problems:
        raise StateDictError(f"{source}: {len(problems)} differences: " + "; ".join(problems))
    for key, target in targets.items():
        target.variable.assign(converted[key])


def _one_line_reason(error):
    """The gist of a `torch.load` error: the weights-only unpickler's own sentence, when it is
    one (torch wraps it in a dozen lines of advice), else the first line."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    for line in lines:
        if line.startswith(_WEIGHTS_ONLY_REASON):
            return line.removeprefix(_WEIGHTS_ONLY_REASON).strip().split(". ")[0]
    return f"{type(error).__name__}: {lines[0] if lines else ''}"
