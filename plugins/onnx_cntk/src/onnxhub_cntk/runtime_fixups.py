"""Fix-ups run by ``onnxhub runtime install cntk`` after pip (in the hub's interpreter)."""

from __future__ import annotations

import glob
import os
from pathlib import Path

from onnxhub.runtime.envs import InstallFailed, find_shared_library

# CNTK 2.7 links against OpenMPI 1.10's sonames; Debian ships OpenMPI 4 (``.so.40``), which
# serves CNTK's (non-distributed) use. Its loader searches ``cntk/libs``, so no LD_LIBRARY_PATH.
OPENMPI_LINKS = {"libmpi.so.12": "libmpi.so.40", "libmpi_cxx.so.1": "libmpi_cxx.so.40"}


def link_openmpi(env_dir, python) -> None:
    """Symlink the old OpenMPI sonames in ``site-packages/cntk/libs`` to the system's ``.so.40``."""
    found = glob.glob(os.path.join(str(env_dir), "lib", "python3*", "site-packages", "cntk", "libs"))
    if not found:
        raise InstallFailed(f"no site-packages/cntk/libs in {env_dir}: did cntk install?")
    libs = Path(found[0])
    for old, new in OPENMPI_LINKS.items():
        target = find_shared_library(new)
        if target is None:
            raise InstallFailed(f"{new} not found (apt-get install libopenmpi3)")
        link = libs / old
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(os.path.realpath(target))
