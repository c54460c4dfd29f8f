"""Runs detection on images and writes JSON + drawings; see `efgrnet_tf/cli/predict.py`."""

from efgrnet_tf.cli.predict import run

if __name__ == "__main__":
    run()
