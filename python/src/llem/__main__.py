"""`llem` and `python -m llem`: the binary this package carries, as is."""

import os
import sys

from ._binary import LlemError, binary


def main():
    try:
        path = binary()
    except LlemError as e:
        print(f"llem: {e}", file=sys.stderr)
        return 1
    os.execv(path, [path, *sys.argv[1:]])


if __name__ == "__main__":
    sys.exit(main())
