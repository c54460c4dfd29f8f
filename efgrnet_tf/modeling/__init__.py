"""The EFGRNet Keras model: backbones, MSCF, objectness module, FGRM, heads, build_model;
the model's weights in training checkpoints (`checkpoint_io`)."""
