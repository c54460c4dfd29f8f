"""Exports a checkpoint as a LiteRT (TFLite) model; see `efgrnet_tf/cli/export_litert.py`."""

from efgrnet_tf.cli.export_litert import run

if __name__ == "__main__":
    run()
