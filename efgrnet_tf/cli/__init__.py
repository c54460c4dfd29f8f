"""Command-line tools (absl): train, evaluate, export, predict; started by `launch.run_tool`.

Importing this package loads TensorFlow without its C++ start-up lines (`tf_startup`), so every
tool is quiet by default; set TF_CPP_MIN_LOG_LEVEL yourself to see them.
"""

from efgrnet_tf.cli.tf_startup import import_tensorflow_quietly

import_tensorflow_quietly()
