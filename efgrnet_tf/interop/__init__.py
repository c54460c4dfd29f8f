"""Interoperability with the authors' PyTorch release: their checkpoints into our models."""
