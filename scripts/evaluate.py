"""Evaluates a checkpoint or a SavedModel on an eval split; see `efgrnet_tf/cli/evaluate.py`."""

from efgrnet_tf.cli.evaluate import run

if __name__ == "__main__":
    run()
