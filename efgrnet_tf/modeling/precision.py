"""The model's numeric precision (`model.precision`): the Keras dtype policy it is built under,
and whether this CPU computes bfloat16 natively.

Keras mixed precision keeps variables in float32 and computes each layer in the policy's
compute dtype; `build_model` adds float32 casts before its head outputs, so losses, box
decoding and NMS see float32 under every policy.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import keras

PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")
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
