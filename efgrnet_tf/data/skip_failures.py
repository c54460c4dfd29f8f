"""`map_records`: `Dataset.map` over records, skipping (and naming) those that fail to decode.

Corruption that only shows inside the image decoder (a JPEG with valid markers and garbage in
between) cannot be caught when a folder is indexed without decoding every image twice. Each
record that holds an image file is therefore mapped in a one-element dataset with
`ignore_errors`, followed by a flagged placeholder: when the map fails, the placeholder comes out
instead, is reported on stderr with the record's name (its `source_file`, else its image id) and
filtered away. The output order is the input order (interleave with one element per input), and
everything stays in the graph.
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


def map_records(dataset: tf.data.Dataset, fn: Callable, deterministic: bool) -> tf.data.Dataset:
    """`dataset.map(fn)` over records, or over tuples whose first item is the record.

    Records that hold image files (`image_encoded`) can fail to decode on bad data: such
    elements are skipped with a warning naming the record (`record_name`). Records of sources
    that render their images (synthetic) are mapped plainly, so a failure there, a bug, raises.

    Args:
      dataset: the records (a tuple element is passed to `fn` unpacked).
      fn: the per-element function, as for `Dataset.map`.
      deterministic: keep the input order.
    """
    spec = dataset.element_spec
    record_spec = spec[0] if isinstance(spec, tuple) else spec
    if "image_encoded" not in record_spec:
        return dataset.map(fn, num_parallel_calls=tf.data.AUTOTUNE, deterministic=deterministic)

    def attempt(*element):
        mapped = tf.data.Dataset.from_tensors(element).map(fn).ignore_errors()
        placeholder = tf.nest.map_structure(_empty_like, mapped.element_spec)
        flagged = mapped.map(lambda *x: (_single(x), True)).concatenate(
            tf.data.Dataset.from_tensors((placeholder, False))
        )
        name = record_name(element[0])
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
