"""The authors' training augmentation (`data/data_augment.py`) as graph ops.

Every op takes an explicit stateless seed (int `[2]`), so that the pipeline is reproducible
when `data.deterministic` is set. `train_transform.augment_for_training` composes them.
"""
