"""`--name=A,B` flags of whole numbers: parsed into ints, a wrong count or a word rejected."""

import pytest
from absl import flags

from efgrnet_tf.cli.whole_number_flags import define_whole_numbers


@pytest.fixture
def flag_values():
    values = flags.FlagValues()
    define_whole_numbers("sizes", [320], "Sizes.", flag_values=values)
    define_whole_numbers("image_hw", [480, 640], "Height,width.", length=2, flag_values=values)
    return values


def test_defaults_and_given_values_are_lists_of_ints(flag_values):
    flag_values(["prog"])
    assert flag_values.sizes == [320] and flag_values.image_hw == [480, 640]
    flag_values(["prog", "--sizes=128, 512", "--image_hw=240,320"])
    assert flag_values.sizes == [128, 512] and flag_values.image_hw == [240, 320]


@pytest.mark.parametrize(
    ("arg", "message"),
    [
        ("--sizes=320,big", "takes whole numbers"),
        ("--sizes=-1", "takes whole numbers"),
        ("--image_hw=480", "takes 2 whole numbers, got 1"),
    ],
)
def test_mistakes_name_the_flag(flag_values, arg, message):
    with pytest.raises(flags.IllegalFlagValueError, match=message) as raised:
        flag_values(["prog", arg])
    assert arg in str(raised.value)


def test_the_flag_is_filed_under_the_defining_module(flag_values):
    assert "sizes" in [flag.name for flag in flag_values.flags_by_module_dict()[__name__]]
