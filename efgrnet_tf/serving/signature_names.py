"""Names shared by the exported signatures and the clients that call them (TF OD API style)."""

# Signature keys of an export.
IMAGE_TENSOR_SIGNATURE = "serving_default"
IMAGE_BYTES_SIGNATURE = "serve_image_bytes"
SIGNATURES = (IMAGE_TENSOR_SIGNATURE, IMAGE_BYTES_SIGNATURE)

# Input name of each signature: uint8 `[batch, height, width, 3]` RGB images, or a string
# `[batch]` of encoded JPEG/PNG/GIF/BMP/WebP images.
INPUT_NAMES = {IMAGE_TENSOR_SIGNATURE: "images", IMAGE_BYTES_SIGNATURE: "encoded_images"}

# Outputs of both signatures, all float32 as in the TF Object Detection API:
# detection_boxes [batch, K, 4] yxyx normalised to the input image, detection_scores [batch, K],
# detection_classes [batch, K] (the data set's class ids, e.g. COCO category ids; 0 past
# num_detections), num_detections [batch].
OUTPUT_NAMES = ("detection_boxes", "detection_scores", "detection_classes", "num_detections")

# A signature without inputs that describes the export: `precision` (`model.precision`, e.g.
# "mixed_bfloat16"), `compute_dtype` and `variable_dtype` of its convs, each a string scalar
# (`saved_model_cli show --all` lists the signature; `loaded.signatures["model_info"]()` reads it).
MODEL_INFO_SIGNATURE = "model_info"
MODEL_INFO_OUTPUT_NAMES = ("precision", "compute_dtype", "variable_dtype")
