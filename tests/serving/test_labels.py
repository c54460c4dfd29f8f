"""labels.txt and label_map.pbtxt name the data set's own ids, dense or sparse."""

from __future__ import annotations

import pytest
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory, text_format

from efgrnet_tf.data.classes import LabelMap
from efgrnet_tf.serving.labels import read_labels_file, write_label_map_pbtxt, write_labels_file

SPARSE = LabelMap(("car", "dog", 'kite "red"'), (3, 7, 11))


def string_int_label_map_class():
    """The TF Object Detection API's `StringIntLabelMap` message (its fields by number), built
    here so that the written file is parsed by protobuf itself."""
    file_proto = descriptor_pb2.FileDescriptorProto(name="label_map.proto", package="od")
    item = file_proto.message_type.add(name="StringIntLabelMapItem")
    for name, number, kind in (
        ("name", 1, descriptor_pb2.FieldDescriptorProto.TYPE_STRING),
        ("id", 2, descriptor_pb2.FieldDescriptorProto.TYPE_INT32),
        ("display_name", 3, descriptor_pb2.FieldDescriptorProto.TYPE_STRING),
    ):
        item.field.add(name=name, number=number, type=kind, label=1)
    label_map = file_proto.message_type.add(name="StringIntLabelMap")
    label_map.field.add(
        name="item", number=1, type=11, label=3, type_name=".od.StringIntLabelMapItem"
    )
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file_proto)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("od.StringIntLabelMap"))


def test_labels_file_numbers_lines_by_data_id_with_empty_lines_for_unused_ids(tmp_path):
    path = tmp_path / "labels.txt"
    write_labels_file(SPARSE, path)
    assert path.read_text(encoding="utf-8") == '\n\ncar\n\n\n\ndog\n\n\n\nkite "red"\n'
    assert read_labels_file(path) == {3: "car", 7: "dog", 11: 'kite "red"'}


def test_labels_file_of_a_numbered_label_map_is_one_name_per_line(tmp_path):
    path = tmp_path / "labels.txt"
    write_labels_file(LabelMap.numbered(("cat", "traffic light", "dog")), path)
    assert path.read_text(encoding="utf-8") == "cat\ntraffic light\ndog\n"
    assert read_labels_file(path) == {1: "cat", 2: "traffic light", 3: "dog"}


def test_label_map_pbtxt_parses_as_the_od_api_message(tmp_path):
    path = tmp_path / "label_map.pbtxt"
    write_label_map_pbtxt(SPARSE, path)
    parsed = text_format.Parse(path.read_text(encoding="utf-8"), string_int_label_map_class()())
    assert [(i.id, i.name, i.display_name) for i in parsed.item] == [
        (3, "car", "car"),
        (7, "dog", "dog"),
        (11, 'kite "red"', 'kite "red"'),
    ]


@pytest.mark.parametrize(
    ("names", "data_ids", "match"),
    [
        (("a", "b"), (1,), "2 class names but 1 data ids"),
        (("a", "b"), (4, 4), "distinct"),
        (("a",), (0,), ">= 1"),
        (("a", "b\nc"), (1, 2), "line break"),
        (("a", " "), (1, 2), "empty"),
    ],
)
def test_label_map_refuses_what_the_files_could_not_say(names, data_ids, match):
    with pytest.raises(ValueError, match=match):
        LabelMap(names, data_ids)


def test_label_map_converts_classes_to_data_ids_and_back():
    classes = [[2, 0, 3], [1, 1, 0]]
    data_ids = SPARSE.to_data_ids(classes).numpy().tolist()
    assert data_ids == [[7, 0, 11], [3, 3, 0]]
    assert SPARSE.to_classes(data_ids).numpy().tolist() == classes
    assert SPARSE.to_classes([5, 12]).numpy().tolist() == [0, 0]
