"""`dilated_conv2d`: a stride-1 dilated convolution as one native `Conv2D` op.

Keras's TensorFlow backend runs every dilated convolution through `tf.nn.convolution`, which
splits it into SpaceToBatchND → Conv2D → BatchToSpaceND: block x block small images whose
gradient kernels run far below the rate of the dilated kernels oneDNN and cuDNN have. The same
convolution as one `tf.nn.conv2d(dilations=...)` gives the same outputs (within float rounding)
and made the 320 forward 0.90-0.92x and the bfloat16 training step 0.88-0.89x
(docs/performance.md).
Its forward runs on every TensorFlow CPU (TF Serving included); its gradients need a GPU or
oneDNN (TensorFlow's default on x86-64), so where the CPU gradient kernels refuse dilations
(`TF_ENABLE_ONEDNN_OPTS=0`, builds without oneDNN) it is Keras's path. `conv2d.Conv2D` runs it.
"""

import functools

import tensorflow as tf


@functools.cache
def native_dilated_conv_gradients():
    """Whether this process's CPU Conv2D gradient kernels accept dilations > 1 (oneDNN's do,
    TensorFlow's own do not); probed once, eagerly, on a 5x5 convolution."""
    conv = dict(strides=[1, 1, 1, 1], padding="SAME", dilations=[1, 2, 2, 1])
    with tf.init_scope(), tf.device("/CPU:0"):
        images, kernel = tf.ones([1, 5, 5, 1]), tf.ones([3, 3, 1, 1])
        try:
            tf.raw_ops.Conv2DBackpropInput(
                input_sizes=tf.shape(images), filter=kernel, out_backprop=images, **conv
            )
            tf.raw_ops.Conv2DBackpropFilter(
                input=images, filter_sizes=tf.shape(kernel), out_backprop=images, **conv
            )
        except (tf.errors.InvalidArgumentError, tf.errors.UnimplementedError):
            return False
    return True


def dilated_conv2d(inputs, kernel, padding, dilations):
    """Stride-1 NHWC convolution with `dilations` (int or pair) and `padding` ("SAME" or
    "VALID"): one `tf.nn.conv2d` where its gradients exist, else `tf.nn.convolution`
    (SpaceToBatchND → Conv2D → BatchToSpaceND, what Keras runs)."""
    if native_dilated_conv_gradients():
        return tf.nn.conv2d(inputs, kernel, 1, padding, dilations=dilations)
    return tf.nn.convolution(inputs, kernel, padding=padding, dilations=dilations)
