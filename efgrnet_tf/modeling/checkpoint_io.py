"""A model's weights in a training checkpoint: how they are keyed, finding a checkpoint, comparing
its weights with a model's variables (every difference named) and restoring them.

Training (`training/checkpointing.py`) writes the weights; evaluation, export and prediction
only read them, so this lives beside the model rather than in `training/`.
"""

from __future__ import annotations

import dataclasses

import keras
import tensorflow as tf

from efgrnet_tf.user_errors import UserInputError

MODEL_WEIGHTS_PREFIX = "model_weights/"
_VALUE_SUFFIX = "/.ATTRIBUTES/VARIABLE_VALUE"


class CheckpointError(UserInputError):
    """A checkpoint that is missing, unreadable or does not fit the model of the config."""


def resolve_checkpoint(checkpoint: str) -> str:
    """`checkpoint` itself, or the newest checkpoint when it is a folder.

    Raises:
      CheckpointError: the folder holds no checkpoint, or the path names none.
    """
    if tf.io.gfile.isdir(checkpoint):
        path = tf.train.latest_checkpoint(checkpoint)
        if path is None:
            raise CheckpointError(f"no checkpoint found in {checkpoint}")
        return path
    if not tf.io.gfile.exists(checkpoint + ".index"):
        raise CheckpointError(
            f"no checkpoint {checkpoint} (expected {checkpoint}.index; give a model_dir or a "
            f"`.../ckpt-N` path)"
        )
    return checkpoint


def checkpoint_key(variable_path: str) -> str:
    """The checkpoint key of a model weight saved under `model_weights/<variable.path>`."""
    escaped = variable_path.replace(".", "..").replace("/", ".S")
    return f"{MODEL_WEIGHTS_PREFIX}{escaped}{_VALUE_SUFFIX}"


def saved_model_weights(path: str) -> dict[str, tuple[int, ...]]:
    """`{checkpoint key: shape}` of the model weights in the checkpoint file `path`.

    Raises:
      CheckpointError: the file cannot be read as a checkpoint, or holds no model weights.
    """
    try:
        variables = tf.train.list_variables(path)
    except (tf.errors.OpError, ValueError) as e:
        reason = str(getattr(e, "message", e)).splitlines()[0]
        raise CheckpointError(f"cannot read checkpoint {path}: {reason}") from e
    weights = {name: tuple(shape) for name, shape in variables if name.startswith("model_weights")}
    if not weights:
        raise CheckpointError(f"{path} is not a training checkpoint: it has no model weights")
    return weights


@dataclasses.dataclass(frozen=True)
class WeightsComparison:
    """How a model's variables and a checkpoint's model weights differ (variable paths)."""

    missing: tuple[str, ...]
    unexpected: tuple[str, ...]
    # (variable path, model shape, checkpoint shape)
    mismatched: tuple[tuple[str, tuple[int, ...], tuple[int, ...]], ...]

    def describe(self, max_names: int = 10) -> str:
        """The differences in one line: each kind counted, its first `max_names` named."""
        shapes = [f"{p} {m} vs {c}" for p, m, c in self.mismatched]
        kinds = (
            ("model variables not in it", list(self.missing)),
            ("unknown to the model", list(self.unexpected)),
            ("shapes differ (model vs checkpoint)", shapes),
        )
        parts = []
        for label, names in kinds:
            if names:
                more = f" and {len(names) - max_names} more" if len(names) > max_names else ""
                parts.append(f"{len(names)} {label}: {names[:max_names]}{more}")
        return "; ".join(parts)


def compare_weights(model: keras.Model, saved: dict[str, tuple[int, ...]]) -> WeightsComparison:
    """Compares `model.weights` with `saved` (from `saved_model_weights`)."""
    by_key = {checkpoint_key(v.path): v for v in model.weights}
    key_to_path = {key: v.path for key, v in by_key.items()}
    missing = tuple(key_to_path[k] for k in by_key if k not in saved)
    unexpected = tuple(
        k[len(MODEL_WEIGHTS_PREFIX) : -len(_VALUE_SUFFIX)].replace(".S", "/").replace("..", ".")
        for k in saved
        if k not in by_key and k.endswith(_VALUE_SUFFIX)
    )
    mismatched = tuple(
        (key_to_path[k], tuple(v.shape), saved[k])
        for k, v in by_key.items()
        if k in saved and tuple(v.shape) != saved[k]
    )
    return WeightsComparison(missing, unexpected, mismatched)


def model_weights_by_path(model: keras.Model) -> dict[str, keras.Variable]:
    """`{variable.path: variable}` for all the model's weights, the form checkpoints store.

    Checkpoints keep each weight under `model_weights/<variable path>`: the format of every
    existing run and of imported PyTorch checkpoints, and the names `compare_weights` reports.
    """
    weights = {}
    for variable in model.weights:
        if variable.path in weights:
            raise ValueError(f"two model weights share the path {variable.path!r}")
        weights[variable.path] = variable
    return weights


def restore_model_weights(model: keras.Model, checkpoint: str) -> str:
    """Loads only the model's weights from a training checkpoint (evaluation, export).

    Each value is cast to its variable's dtype: checkpoints hold float32 weights, which the
    inference precision `bfloat16` keeps rounded to bfloat16.

    Args:
      model: a model built from the same config as the one trained (in any precision).
      checkpoint: a checkpoint path (`.../ckpt-1234`) or a folder whose newest checkpoint is used.
    Returns:
      The checkpoint path that was read.
    Raises:
      CheckpointError: no checkpoint there, an unreadable file, or weights that do not fit
        `model` (all differing variables named).
    """
    path = resolve_checkpoint(checkpoint)
    differences = compare_weights(model, saved_model_weights(path))
    if differences.missing or differences.unexpected or differences.mismatched:
        raise CheckpointError(
            f"{path} does not fit the model of this config: {differences.describe()}"
        )
    reader = tf.train.load_checkpoint(path)
    for variable_path, variable in model_weights_by_path(model).items():
        value = reader.get_tensor(checkpoint_key(variable_path))
        variable.assign(tf.cast(value, variable.dtype))
    return path
