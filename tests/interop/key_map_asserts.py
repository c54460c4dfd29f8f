"""The check every key map must pass: torch state_dict and model variables in one-to-one
correspondence, shapes equal after the layout change."""

from efgrnet_tf.interop.layouts import to_keras


def assert_maps_one_to_one(keys, state, model):
    """`keys` (torch key → `TensorTarget`) covers exactly the keys of `state` (torch key → NumPy
    array, `num_batches_tracked` left out) and each variable of `model` exactly once, and every
    tensor has its variable's shape once converted."""
    assert set(keys) == set(state)
    targets = [id(t.variable) for t in keys.values()]
    assert len(set(targets)) == len(targets)
    assert set(targets) == {id(v) for v in model.weights}
    wrong = {
        k: (state[k].shape, t.variable.shape)
        for k, t in keys.items()
        if to_keras(state[k], t.layout).shape != tuple(t.variable.shape)
    }
    assert not wrong, wrong
