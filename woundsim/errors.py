"""Errors that woundsim raises for bad input: one line, naming the parameter and the allowed range."""


class InputError(ValueError):
    """Invalid user input (configuration, patient, treatment or study specification)."""


def require(condition: bool, message: str) -> None:
    """Raise `InputError(message)` unless `condition` holds."""
    if not condition:
        raise InputError(message)


def require_range(name: str, value: float, low: float, high: float, *, low_open: bool = False,
                  high_open: bool = False, unit: str = "") -> None:
    """Check `low <= value <= high` (open ends when asked) and that `value` is a finite number.

    Raises:
        InputError: naming the parameter, its value and the allowed range.
    """
    import math

    unit_s = f" {unit}" if unit else ""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a number, got {value!r}") from None
    if math.isnan(v):
        raise InputError(f"{name} is NaN; allowed range {_fmt_range(low, high, low_open, high_open)}{unit_s}")
    too_low = v <= low if low_open else v < low
    too_high = v >= high if high_open else v > high
    if too_low or too_high:
        raise InputError(
            f"{name} = {value}{unit_s} is out of range; allowed {_fmt_range(low, high, low_open, high_open)}{unit_s}"
        )


def _fmt_range(low: float, high: float, low_open: bool, high_open: bool) -> str:
    return f"{'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"


def require_parquet_file(path, what: str, remedy: str) -> None:
    """Refuse a missing file, or one that does not begin and end with Parquet's magic bytes (a truncated or
    damaged file), in one line naming it (`what`) and what to do (`remedy`)."""
    from pathlib import Path

    path = Path(path)
    require(path.is_file(), f"{what} {path} not found; {remedy}")
    with open(path, "rb") as f:
        head = f.read(4)
        f.seek(max(path.stat().st_size - 4, 0))
        tail = f.read(4)
    require(head == tail == b"PAR1" and path.stat().st_size > 8,
            f"{what} {path} is damaged (not a whole Parquet file); {remedy}")


class NumericalError(RuntimeError):
    """A simulation state went bad during a run (NaN, infinity or a negative concentration)."""


def renamed(module: str, new_names: dict[str, str]):
    """A module's `__getattr__` for public names it renamed: importing an old name fails in one line naming
    the new one. Use: `__getattr__ = renamed(__name__, {"write_report": "write_trial_report"})`."""

    def __getattr__(name: str):
        if name in new_names:
            raise ImportError(f"{module}.{name} is now {new_names[name]}")
        raise AttributeError(f"module {module!r} has no attribute {name!r}")

    return __getattr__
