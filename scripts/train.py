"""Trains EFGRNet; see `efgrnet_tf/cli/train.py` for the flags."""

from efgrnet_tf.cli.train import run

if __name__ == "__main__":
    run()
