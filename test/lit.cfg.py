# lit configuration of the moe-compiler test suites.
import os

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
