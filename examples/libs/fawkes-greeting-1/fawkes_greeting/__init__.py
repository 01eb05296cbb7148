"""fawkes-greeting 1.x: a plain greeting. The shop pins this major version."""

__version__ = "1.4.0"


def greet(name: str) -> str:
    """`Hello, <name>!` (2.x changed this: see examples/libs/fawkes-greeting-2)."""
    return f"Hello, {name}!"
