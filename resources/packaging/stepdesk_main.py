"""Entry script of the frozen app (PyInstaller runs a script, not `python -m app`).

`freeze_support()` must run first: media transcoding starts a *spawned* child process, and in
a frozen app that child is this very executable started with multiprocessing's own arguments.
Without the call the child would start a second window instead of the transcoder.
"""

import multiprocessing
import sys

if __name__ == "__main__":
    multiprocessing.freeze_support()
    from app.main import main

    sys.exit(main())
