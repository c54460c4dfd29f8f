"""Runs a LiteRT export with the LiteRT interpreter (`ai-edge-litert`), builtin ops only.

No Flex delegate is involved: the interpreter of `ai-edge-litert` has none, and
`TFLite_Detection_PostProcess` is one of its built-in custom ops.
"""

from __future__ import annotations

import os

import numpy as np

from efgrnet_tf.serving.litert_module import OUTPUT_NAMES

SIGNATURE = "serving_default"


class LiteRTDetector:
    """A `.tflite` EFGRNet export loaded in the LiteRT interpreter (XNNPACK on CPU).

    Args:
      model_path: the `.tflite` file of `efgrnet-export-litert`.
      num_threads: CPU threads of the interpreter and XNNPACK; None: LiteRT's default.
    """

    def __init__(self, model_path: str | os.PathLike, num_threads: int | None = None):
        from ai_edge_litert.interpreter import Interpreter

        self.interpreter = Interpreter(model_path=os.fspath(model_path), num_threads=num_threads)
        self._runner = self.interpreter.get_signature_runner(SIGNATURE)
        (input_details,) = self._runner.get_input_details().values()
        self.image_size = int(input_details["shape"][1])
        self.input_dtype = input_details["dtype"]
        self._input_scale, self._input_zero_point = input_details["quantization"]

    def detect(self, pixels_rgb: np.ndarray) -> dict[str, np.ndarray]:
        """Detections of one image already resized to the model's square.

        Args:
          pixels_rgb: `[S, S, 3]` RGB pixels in [0, 255] (any real or integer dtype), resized
            as `efgrnet_tf.data.preprocess.resize_to_square` does.
        Returns:
          `OUTPUT_NAMES` -> the batch-1 outputs without their batch dimension:
          `detection_boxes` `[K, 4]` yxyx normalised, `detection_classes` `[K]`,
          `detection_scores` `[K]`, `num_detections` scalar; all float32.
        """
        outputs = self._runner(images=self.model_input(pixels_rgb))
        return {name: outputs[name][0] for name in OUTPUT_NAMES}

    def model_input(self, pixels_rgb: np.ndarray) -> np.ndarray:
        """`[1, S, S, 3]` input of the interpreter: float32 or uint8 pixels.

        A quantized uint8 input (scale != 0) gets its pixels quantized; exports of
        `efgrnet-export-litert` have none (their uint8 input is the pixels themselves).
        """
        pixels = np.asarray(pixels_rgb, np.float32)[None]
        if self.input_dtype == np.float32:
            return pixels
        if self._input_scale:
            pixels = pixels / self._input_scale + self._input_zero_point
        return np.clip(np.round(pixels), 0, 255).astype(np.uint8)
