"""The EFGRNet Keras model: backbones, MSCF, objectness module, FGRM, heads, build_model."""
