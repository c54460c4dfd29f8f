"""Converts a configured data set split to sharded TFRecords, once, for fast reading.

    python scripts/convert_to_tfrecord.py --config=configs/voc_vgg16_320.yaml --split=train \
        --output_prefix=/data/tfrecords/voc0712_trainval --num_shards=32

Then train with the overrides `data.source=tfrecord` and
`data.tfrecord.train_prefixes=[/data/tfrecords/voc0712_trainval]`.
"""

from __future__ import annotations

from absl import app, flags

from efgrnet_tf.cli import config_flags, launch
from efgrnet_tf.data.convert import convert_split

config_flags.define_config_flags("Experiment YAML naming the source.")
_SPLIT = flags.DEFINE_enum("split", "train", ["train", "eval"], "Which split to convert.")
_OUTPUT_PREFIX = flags.DEFINE_string("output_prefix", None, "Shard path prefix.")
_NUM_SHARDS = flags.DEFINE_integer("num_shards", 16, "Number of shard files.")


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    cfg = config_flags.config_from_flags()
    count = convert_split(cfg, _SPLIT.value, _OUTPUT_PREFIX.value, _NUM_SHARDS.value)
    print(f"wrote {count} records to {_OUTPUT_PREFIX.value}-*-of-{_NUM_SHARDS.value:05d}.tfrecord")


if __name__ == "__main__":
    flags.mark_flags_as_required(["config", "output_prefix"])
    launch.run_tool(main, [__name__, config_flags.MODULE])
