"""Imports the authors' trained PyTorch checkpoint; see `efgrnet_tf/cli/import_pytorch.py`."""

from efgrnet_tf.cli.import_pytorch import run

if __name__ == "__main__":
    run()
