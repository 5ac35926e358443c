"""Puts the llem binary into the wheel, as ruff and uv ship theirs.

The binary named by $LLEM_BINARY (built beforehand with `go build`) goes into
the package as llem/bin/llem, where llem.binary() finds it at run time. The
wheel is then platform-specific: tagged py3-none-<platform>, the platform
taken from $LLEM_WHEEL_PLATFORM (for a cross-compiled binary, e.g.
linux_aarch64) or else from this interpreter. A plain linux_* tag, not
manylinux: the cgo binary links this machine's glibc, and we do not claim a
manylinux policy we have not audited.
"""

import os
import sysconfig

from hatchling.builders.hooks.plugin.interface import BuildHookInterface


class LlemBinaryHook(BuildHookInterface):
    def initialize(self, version, build_data):
        if self.target_name != "wheel":
            return
        binary = os.environ.get("LLEM_BINARY", "")
        if not binary:
            raise RuntimeError(
                "set LLEM_BINARY to the llem binary the wheel should carry "
                "(go build -o /tmp/llem ./cmd/llem, then LLEM_BINARY=/tmp/llem)"
            )
        if not (os.path.isfile(binary) and os.access(binary, os.X_OK)):
            raise RuntimeError(f"LLEM_BINARY={binary}: not an executable file")
        platform = os.environ.get("LLEM_WHEEL_PLATFORM") or sysconfig.get_platform()
        platform = platform.replace("-", "_").replace(".", "_")
        build_data["force_include"][os.path.abspath(binary)] = "llem/bin/llem"
        # The time-series table's column types (generated from the Go types),
        # so Study.timeseries() reads the CSV form with exact dtypes.
        columns = os.path.join(self.root, "..", "schema", "timeseries.columns.json")
        if not os.path.isfile(columns):
            raise RuntimeError(f"{columns}: missing; build the wheel from the llem repository")
        build_data["force_include"][os.path.abspath(columns)] = "llem/timeseries.columns.json"
        build_data["pure_python"] = False
        build_data["tag"] = f"py3-none-{platform}"
