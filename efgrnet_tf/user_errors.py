"""The base class of expected user mistakes, which the command-line tools report in one line."""


class UserInputError(Exception):
    """Something the user gave (a flag, a file, a run folder) cannot be used; says what and why."""


class ClassMismatchError(UserInputError, ValueError):
    """The classes a config gives differ from those of its data set (both are named)."""
