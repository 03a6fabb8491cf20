"""`python -m woundsim [COMMAND] ...`: the `woundsim` command; without a command, `woundsim run`."""

import sys

from woundsim.cli import COMMANDS, main

if __name__ == "__main__":
    args = sys.argv[1:]
    main(args if args and args[0] in {*COMMANDS, "-h", "--help", "help"} else ["run", *args])
