"""Imports TensorFlow without its C++ start-up lines, unless the user set TF_CPP_MIN_LOG_LEVEL.

TensorFlow logs the oneDNN notice, "Could not find cuda drivers" and a cuInit error (twice, once
per library it loads) before `TF_CPP_MIN_LOG_LEVEL` takes effect, so the only way to hide them
is to catch file descriptor 2 while it loads and probes its devices. Other lines are replayed.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile

LOG_LEVEL_VARIABLE = "TF_CPP_MIN_LOG_LEVEL"
# Start-up lines: absl C++ info/warning lines, the absl pre-init notice, the CPU-only cuInit error.
_START_UP_LINE = re.compile(
    r"^([IW]\d{4} |WARNING: All log messages before absl::InitializeLog"
    r"|E\d{4} .*(cuInit|cuda_platform|cuda_dnn|cuda_blas|cuda_fft))"
)


def import_tensorflow_quietly() -> None:
    """Imports TensorFlow (and lists its devices) with the start-up lines hidden.

    Does nothing but the import when the user chose `TF_CPP_MIN_LOG_LEVEL` or TensorFlow is
    already loaded; then every line TensorFlow prints is shown as usual.
    """
    if "tensorflow" in sys.modules or LOG_LEVEL_VARIABLE in os.environ:
        import tensorflow  # noqa: F401

        return
    os.environ[LOG_LEVEL_VARIABLE] = "2"
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        succeeded = False
        try:
            import tensorflow as tf

            tf.config.list_physical_devices()
            succeeded = True
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            lines = captured.read().decode("utf-8", "replace").splitlines()
            shown = [line for line in lines if not (succeeded and _START_UP_LINE.match(line))]
            if shown:
                print("\n".join(shown), file=sys.stderr)
