# lit configuration of the moe-compiler test suites.
import os
import subprocess
import tempfile

import lit.formats

config.name = "moe-compiler"
config.test_format = lit.formats.ShTest(execute_external=False)
config.suffixes = [".mlir", ".test"]
config.excludes = ["CMakeLists.txt", "lit.cfg.py", "lit.site.cfg.py", "Inputs"]

config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.moe_obj_root, "test")

# The project's tools first, then FileCheck, not and count from LLVM.
config.environment["PATH"] = os.pathsep.join(
    [config.moe_tools_dir, config.llvm_tools_dir, config.environment.get("PATH", "")]
)
config.substitutions.append(("%moe_src_root", config.moe_src_root))

# The PyTorch oracle runs on Debian's interpreter, which has python3-torch
# (scripts/install-deps.sh installs it; without it the oracle tests fail).
config.substitutions.append(("%python", config.python))
# Tests of multi-rank launches need `REQUIRES: mpi`.
if config.mpirun:
    config.available_features.add("mpi")
    config.substitutions.append(("%mpirun", config.mpirun))

# The plot script, on the same interpreter (it needs python3-matplotlib).
config.substitutions.append(
    ("%moe-plot", config.python + " " + os.path.join(config.moe_tools_dir, "moe-plot"))
)


# Tests that fill or freeze a small file system mount a tmpfs (as root);
# elsewhere they are reported unsupported.
def can_mount_tmpfs():
    directory = tempfile.mkdtemp()
    try:
        mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs",
                                  directory], capture_output=True).returncode == 0
        if mounted:
            subprocess.run(["umount", directory], capture_output=True)
        return mounted
    except OSError:
        return False
    finally:
        os.rmdir(directory)


if can_mount_tmpfs():
    config.available_features.add("tmpfs")
