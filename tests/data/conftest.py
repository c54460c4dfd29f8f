"""Data tests: every test indexes its own fixture folders."""

import pytest


@pytest.fixture(autouse=True)
def _clear_index_caches():
    """Each test indexes its own folders: the per-process index caches must not leak."""
    from efgrnet_tf.data.sources.coco_json import index_coco
    from efgrnet_tf.data.sources.voc_folder import index_voc_split, voc_class_names

    index_coco.cache_clear()
    index_voc_split.cache_clear()
    voc_class_names.cache_clear()
    yield
