"""The pure-TF deformable conv converted to LiteRT builtin ops, run by the LiteRT interpreter,
against the NumPy reference.

Its tensors must stay within 4 dimensions: TensorFlow's own TFLite runtime rejects a 6-D
StridedSlice ("only supports 1D-5D input arrays"), and GPU/NPU delegates take at most 4-D.
"""

import numpy as np
import tensorflow as tf
from ai_edge_litert.interpreter import Interpreter
from deform_conv_cases import parametrize_cases, random_case
from deform_conv_reference import deform_conv2d_reference
from tensorflow.lite.tools import flatbuffer_utils

from efgrnet_tf.ops import deform_conv2d
from efgrnet_tf.serving.litert_converter import op_names

LITERT_CASES = ("3x3_plain", "2x3_stride2_groups2_mask", "3x3_pad3_dil3_small_offsets")


def litert_deform_conv(kernel, conv_args, arrays):
    """Converts `deform_conv2d(*arrays, kernel)` (pure TF) with builtin ops only.

    The batch dimension is left unknown, as in the SavedModel export, and set when run.

    Returns:
      The flatbuffer and a function running it on `arrays` in the LiteRT interpreter.
    """
    specs = [tf.TensorSpec([None, *array.shape[1:]], tf.float32) for array in arrays]

    @tf.function(input_signature=specs)
    def convolve(inputs, offsets, *mask):
        return deform_conv2d(
            inputs,
            offsets,
            kernel,
            mask=mask[0] if mask else None,
            implementation="pure_tf",
            **conv_args,
        )

    converter = tf.lite.TFLiteConverter.from_concrete_functions(
        [convolve.get_concrete_function()], convolve
    )
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    flatbuffer = converter.convert()

    def run():
        interpreter = Interpreter(model_content=flatbuffer)
        input_details = interpreter.get_input_details()
        for detail, array in zip(input_details, arrays, strict=True):
            interpreter.resize_tensor_input(detail["index"], array.shape)
        interpreter.allocate_tensors()
        for detail, array in zip(input_details, arrays, strict=True):
            interpreter.set_tensor(detail["index"], array)
        interpreter.invoke()
        return interpreter.get_tensor(interpreter.get_output_details()[0]["index"])

    return flatbuffer, run


def max_tensor_rank(flatbuffer: bytes) -> int:
    """The largest rank of a tensor in the model's graphs."""
    model = flatbuffer_utils.convert_bytearray_to_object(bytearray(flatbuffer))
    return max(len(t.shape) for graph in model.subgraphs for t in graph.tensors)


@parametrize_cases(*LITERT_CASES)
def test_litert_lowering_matches_numpy_reference(case):
    inputs, offsets, kernel, mask, conv_args = random_case(6, case)
    arrays = [inputs, offsets] if mask is None else [inputs, offsets, mask]

    flatbuffer, run = litert_deform_conv(kernel, conv_args, arrays)

    assert not any(name.startswith("Flex") or name == "CUSTOM" for name in op_names(flatbuffer))
    assert max_tensor_rank(flatbuffer) <= 4
    expected = deform_conv2d_reference(inputs, offsets, kernel, mask=mask, **conv_args)
    np.testing.assert_allclose(run(), expected, rtol=1e-4, atol=1e-4)
