"""Exports a checkpoint for TF Serving; see `efgrnet_tf/cli/export.py`."""

from efgrnet_tf.cli.export import run

if __name__ == "__main__":
    run()
