"""`python -m calibration COMMAND ...` (see calibration.cli)."""

from calibration.cli import main

if __name__ == "__main__":
    main()
