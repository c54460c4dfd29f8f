"""Queries a running TF Serving over REST or gRPC; see `efgrnet_tf/serving/client_cli.py`."""

from efgrnet_tf.serving.client_cli import run

if __name__ == "__main__":
    run()
