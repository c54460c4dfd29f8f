"""`FusedTrainingBatchNormalization`: Keras's BatchNormalization, trained through TensorFlow's
fused batch-norm kernel.

Keras 3 on TensorFlow computes a training-mode batch norm as separate moment, normalisation and
gradient ops; with them batch norm and element-wise ops were 45% of a mixed_bfloat16 training
step of the demo model. `FusedBatchNormV3` does the forward in one pass and its gradient in
another (docs/performance.md has the measured step times).
"""

import keras
import tensorflow as tf

# The input dtypes FusedBatchNormV3 takes; it computes in float32 for all of them.
_FUSED_INPUT_DTYPES = (tf.float16, tf.bfloat16, tf.float32)


@keras.saving.register_keras_serializable(package="efgrnet_tf")
class FusedTrainingBatchNormalization(keras.layers.BatchNormalization):
    """`keras.layers.BatchNormalization` whose training-mode call runs `FusedBatchNormV3`.

    Same arguments, variables (gamma, beta, moving_mean, moving_variance, all float32), config
    and results as Keras's layer up to float rounding. The fused path covers training with
    trainable weights on 4-D channels-last inputs of float32/bfloat16/float16 without mask,
    renorm or synchronized statistics; everything else, inference included, is Keras's own path
    (in inference the fused op was slower than Keras's in bfloat16).
    """

    def call(self, inputs, training=None, mask=None):
        if training and self.trainable and self._fusable(inputs, mask):
            return self._fused_training_call(inputs)
        return super().call(inputs, training=training, mask=mask)

    def _fusable(self, inputs, mask):
        """Whether `FusedBatchNormV3` computes exactly what Keras's training path does."""
        return (
            mask is None
            and not self.renorm
            and not self.synchronized
            and len(inputs.shape) == 4
            and self.axis in (-1, 3)
            and inputs.dtype in _FUSED_INPUT_DTYPES
        )

    def _fused_training_call(self, inputs_nhwc):
        """Normalises with the batch moments and moves the moving statistics towards them."""
        channels = inputs_nhwc.shape[-1]
        gamma = keras.ops.cast(self.gamma, "float32") if self.scale else tf.ones([channels])
        beta = keras.ops.cast(self.beta, "float32") if self.center else tf.zeros([channels])
        no_statistics = tf.constant([], tf.float32)
        outputs, batch_mean, batch_variance_bessel, *_ = tf.raw_ops.FusedBatchNormV3(
            x=inputs_nhwc,
            scale=gamma,
            offset=beta,
            mean=no_statistics,
            variance=no_statistics,
            epsilon=self.epsilon,
            data_format="NHWC",
            is_training=True,
        )
        # The op returns the variance over n - 1 (for its own running average); Keras's moving
        # variance averages the variance over n, as tf.keras' fused path also did.
        count = tf.cast(tf.reduce_prod(tf.shape(inputs_nhwc)[:-1]), tf.float32)
        batch_variance = batch_variance_bessel * ((count - 1.0) / count)
        moving_mean = keras.ops.cast(self.moving_mean, "float32")
        moving_variance = keras.ops.cast(self.moving_variance, "float32")
        self.moving_mean.assign(moving_mean * self.momentum + batch_mean * (1.0 - self.momentum))
        self.moving_variance.assign(
            moving_variance * self.momentum + batch_variance * (1.0 - self.momentum)
        )
        return keras.ops.cast(outputs, self.compute_dtype)
