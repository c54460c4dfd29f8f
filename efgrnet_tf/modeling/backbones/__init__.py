"""Backbone trunks returning the four detection sources at strides 8, 16, 32, 64, by name.

`BACKBONES` maps each `model.backbone` value to the `BackboneSpec` its file defines.
"""

from efgrnet_tf.modeling.backbones.resnet101 import RESNET101
from efgrnet_tf.modeling.backbones.vgg16 import VGG16

BACKBONES = {"vgg16": VGG16, "resnet101": RESNET101}
