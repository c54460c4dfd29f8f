"""EFGRNet (Nie et al., ICCV 2019) in TensorFlow/Keras: model, data, training, eval, export."""

from efgrnet_tf.config.loader import load_config

__version__ = "0.1.0"


def build_model(cfg):
    """Builds the EFGRNet Keras model described by `cfg` (an `ExperimentConfig`)."""
    from efgrnet_tf.modeling.efgrnet import build_model as _build_model

    return _build_model(cfg)


__all__ = ["__version__", "build_model", "load_config"]
