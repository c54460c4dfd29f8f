"""SSD/RFBNet training augmentation as graph ops (SPEC: data and augmentation).

Every op takes an explicit stateless seed (int `[2]`), so that the pipeline is reproducible
when `data.deterministic` is set. `train_transform.augment_for_training` composes them.
"""
