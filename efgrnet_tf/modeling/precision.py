"""The model's numeric precision (`model.precision`): the Keras dtype policy it is built under,
and whether this CPU computes bfloat16 natively.

Keras mixed precision keeps variables in float32 and computes each layer in the policy's
compute dtype; `build_model` adds float32 casts before its head outputs, so losses, box
decoding and NMS see float32 under every policy. `bfloat16` is for inference only: the weights
are stored in bfloat16 (rounded once when a checkpoint is loaded, as mixed_bfloat16 rounds them
on every call), except the BatchNorm statistics and the heads' final convs, which stay float32;
outputs equal mixed_bfloat16's.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import keras
import tensorflow as tf

PRECISIONS = ("float32", "mixed_bfloat16", "bfloat16", "mixed_float16")
# Precisions for inference only (evaluate, export, predict), with the one to train in instead:
# weights stored in bfloat16 would lose the optimizer's small updates.
INFERENCE_ONLY_PRECISIONS = {"bfloat16": "mixed_bfloat16"}
# /proc/cpuinfo flags of the x86 instructions that compute bfloat16 dot products natively:
# AMX tiles (Sapphire Rapids and later) and AVX512-BF16 (Cooper Lake and later).
BFLOAT16_CPU_FLAGS = ("amx_bf16", "avx512_bf16")


@contextlib.contextmanager
def dtype_policy_scope(precision: str) -> Iterator[None]:
    """Sets Keras' global dtype policy to `precision` inside the block, restoring it after.

    Layers take the global policy when they are created, so a model built inside the block
    keeps `precision` afterwards.
    """
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(precision)
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(previous)


def inference_precision(precision: str) -> str:
    """The precision to evaluate, export and serve a model trained in `precision`: its
    inference-only twin where it has one (`bfloat16` for `mixed_bfloat16`, the same outputs
    with bfloat16 weights), else `precision` itself."""
    twins = {trained: inference for inference, trained in INFERENCE_ONLY_PRECISIONS.items()}
    return twins.get(precision, precision)


def batch_norm_dtype_policy(dtype=None):
    """`dtype` (a dtype policy, its name, or None: the global one) for a BatchNormalization:
    `mixed_bfloat16` in place of `bfloat16`, so statistics, gamma and beta stay float32."""
    policy = (
        keras.mixed_precision.global_policy() if dtype is None else keras.dtype_policies.get(dtype)
    )
    return "mixed_bfloat16" if policy.name == "bfloat16" else dtype


def cpu_bfloat16_flags(cpuinfo_path: str | os.PathLike = "/proc/cpuinfo") -> tuple[str, ...]:
    """The `BFLOAT16_CPU_FLAGS` this CPU reports (empty where none or no /proc/cpuinfo)."""
    try:
        with open(cpuinfo_path, encoding="utf-8") as f:
            for line in f:
                if line.startswith("flags"):
                    flags = set(line.partition(":")[2].split())
                    return tuple(flag for flag in BFLOAT16_CPU_FLAGS if flag in flags)
    except OSError:
        pass
    return ()


def native_bfloat16_support() -> str:
    """What computes bfloat16 natively here: "GPU" when TensorFlow sees one, else this CPU's
    `BFLOAT16_CPU_FLAGS` joined by spaces; "" when neither, where bfloat16 is emulated and
    slower than float32."""
    if tf.config.list_logical_devices("GPU"):
        return "GPU"
    return " ".join(cpu_bfloat16_flags())
