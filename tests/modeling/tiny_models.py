"""Small model configs for the modeling tests: narrow widths and 64x64 inputs keep a forward
pass of any variant well under a second on two CPU cores."""

from efgrnet_tf.config import config_from_dict


def tiny_config(width_multiplier=0.125, image_size=64, num_classes=5, **model_fields):
    """An `ExperimentConfig` whose model section is the paper's, narrowed and shrunk."""
    model = dict(width_multiplier=width_multiplier, image_size=image_size, num_classes=num_classes)
    model.update(model_fields)
    return config_from_dict({"model": model})
