"""The authors' PyTorch tensors → our variables: reading `.pth` files, layouts, key maps.

Used by `modeling/pretrained.py` (ImageNet trunks) and `training/import_pytorch.py` (the
authors' trained checkpoints); it imports nothing above `config`.
"""
