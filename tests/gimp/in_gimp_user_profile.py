"""Run by the user-install test (conftest.py) in GIMP with its default per-user profile.

No GIMP3_DIRECTORY: GIMP uses ``~/.config/GIMP/3.x`` under the workspace's HOME, as it does for
a user. Writes to $KMQ_GIMP_RESULT whether ``plug-in-kmeans-quantize`` is registered, GIMP's
settings folder and version.
"""

# ruff: noqa: F821  (Gimp is a global given by python-fu-eval)

import json
import os

facts = {
    "registered": Gimp.get_pdb().lookup_procedure("plug-in-kmeans-quantize") is not None,
    "directory": Gimp.directory(),
    "gimp": Gimp.version(),
}
with open(os.environ["KMQ_GIMP_RESULT"], "w") as out:
    json.dump(facts, out)
