"""Queries a running TF Serving over REST or gRPC; see `efgrnet_tf/cli/serving_client.py`."""

from efgrnet_tf.cli.serving_client import run

if __name__ == "__main__":
    run()
