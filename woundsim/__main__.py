"""`python -m woundsim [COMMAND] ...`: the `woundsim` command; without a command, `woundsim run`."""

import sys

from woundsim.cli import main

_COMMANDS = {"run", "plot", "sweep", "viz", "-h", "--help", "help"}

if __name__ == "__main__":
    args = sys.argv[1:]
    main(args if args and args[0] in _COMMANDS else ["run", *args])
