"""Training on `tf.distribute`.

- `strategy`: `default` / `mirrored` / `multi_worker_mirrored` (TF_CONFIG) by name;
- `optimizer`: SGD with momentum and PyTorch's coupled L2 weight decay (+ loss scaling);
- `schedule`: linear warm-up, then step values at epoch boundaries;
- `checkpointing`: model, optimizer, step, epoch, input position (the model's
  weights in the format of `efgrnet_tf.modeling.checkpoint_io`);
- `summaries`: TensorBoard scalars, the per-N-step log line with ETA, the end summary;
- `components`: what gets trained (model, data, loss, evaluation), as plain callables;
- `trainer`: the custom training loop; `experiment`: the loop for an EFGRNet config.
"""
