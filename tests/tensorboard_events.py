"""Reads back the TensorBoard scalars a run folder's `train/` or `eval/` holds."""

import os

import tensorflow as tf


def read_scalars(events_dir):
    """`{tag: [(step, value), ...]}` of the TensorBoard scalar events in `events_dir`, in
    writing order; every event must carry the scalars plugin's metadata."""
    scalars = {}
    for path in sorted(tf.io.gfile.glob(os.path.join(str(events_dir), "events.out.tfevents.*"))):
        for record in tf.data.TFRecordDataset(path):
            event = tf.compat.v1.Event.FromString(record.numpy())
            for value in event.summary.value:
                assert value.metadata.plugin_data.plugin_name == "scalars", value.tag
                scalars.setdefault(value.tag, []).append(
                    (event.step, float(tf.make_ndarray(value.tensor)))
                )
    return scalars
