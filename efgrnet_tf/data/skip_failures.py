"""`map_skipping_failures`: `Dataset.map` minus the elements its function fails on, named.

Corruption that only shows inside the image decoder (a JPEG with valid markers and garbage in
between) cannot be caught when a folder is indexed without decoding every image twice. Each
element is therefore mapped in a one-element dataset with `ignore_errors`, followed by a flagged
placeholder: when the map fails, the placeholder comes out instead, is reported on stderr with
the element's name (its `source_file`, else its image id) and filtered away. The output order is
the input order (interleave with one element per input), and everything stays in the graph.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

import tensorflow as tf


def record_name(record: dict[str, tf.Tensor]) -> tf.Tensor:
    """The string that names a record in warnings: its `source_file`, else its image id."""
    if "source_file" in record:
        return record["source_file"]
    return tf.strings.format("image id {}", tf.cast(record["image_id"], tf.int64))


def map_skipping_failures(
    dataset: tf.data.Dataset,
    fn: Callable,
    name_fn: Callable[..., tf.Tensor],
    deterministic: bool,
) -> tf.data.Dataset:
    """`dataset.map(fn)` without the elements on which `fn` fails at run time.

    Args:
      dataset: the input elements (a tuple element is passed to `fn` and `name_fn` unpacked).
      fn: the per-element function, as for `Dataset.map`.
      name_fn: element -> scalar string naming it in the warning (e.g. `record_name`).
      deterministic: keep the input order (`Dataset.interleave`'s `deterministic`).
    """

    def attempt(*element):
        mapped = tf.data.Dataset.from_tensors(element).map(fn).ignore_errors()
        placeholder = tf.nest.map_structure(_empty_like, mapped.element_spec)
        flagged = mapped.map(lambda *x: (_single(x), True)).concatenate(
            tf.data.Dataset.from_tensors((placeholder, False))
        )
        name = name_fn(*element)
        return flagged.take(1).map(lambda value, ok: (value, ok, name))

    def keep(value, ok, name):
        def report():
            tf.print(
                "WARNING: skipping",
                name,
                "- it could not be decoded or transformed",
                output_stream=sys.stderr,
            )
            return ok

        return tf.cond(ok, lambda: ok, report)

    dataset = dataset.interleave(
        attempt,
        block_length=1,
        num_parallel_calls=tf.data.AUTOTUNE,
        deterministic=deterministic,
    )
    return dataset.filter(keep).map(lambda value, ok, name: value)


def _single(values: tuple):
    return values[0] if len(values) == 1 else values


def _empty_like(spec: tf.TensorSpec) -> tf.Tensor:
    """A tensor of `spec`'s dtype whose unknown dimensions are 0 (zeros, or "" for strings)."""
    shape = [0 if size is None else size for size in spec.shape]
    if spec.dtype == tf.string:
        return tf.fill(shape, "")
    return tf.zeros(shape, spec.dtype)
