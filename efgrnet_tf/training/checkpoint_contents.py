"""What a training checkpoint holds for the model: finding it, reading its weights, comparing
them with a model's variables (every difference named, not only the first)."""

from __future__ import annotations

import dataclasses

import keras
import numpy as np
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


def read_weight(path: str, variable_path: str) -> np.ndarray:
    """The saved value of the model weight `variable_path` in the checkpoint file `path`."""
    return tf.train.load_checkpoint(path).get_tensor(checkpoint_key(variable_path))
