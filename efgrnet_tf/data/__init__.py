"""Input pipelines: sources -> decoded examples -> augmentation/preprocessing -> batches.

Entry points: `pipeline.build_train_dataset`, `pipeline.build_eval_dataset`,
`info.dataset_info`, `preprocess.preprocess_for_eval`.
"""
