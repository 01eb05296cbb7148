"""fawkes-greeting 2.x: formal greetings; greet() is not compatible with 1.x. The blog pins 2.x."""

__version__ = "2.1.0"

STYLES = {"formal": "Good day, {name}.", "casual": "Hi {name}"}


def greet(name: str, *, style: str = "formal") -> str:
    """`Good day, <name>.` by default (1.x said `Hello, <name>!`); `style` picks another form."""
    try:
        return STYLES[style].format(name=name)
    except KeyError:
        raise ValueError(f"unknown style {style!r}; styles: {', '.join(sorted(STYLES))}") from None
