"""Small programs the components run at deploy time (`python -m phoenix_aws.helpers.<name>`),
on the machine that runs `pulumi up`, with the interpreter that runs the Pulumi program. They
ship inside the package, so a consumer needs nothing from this repository's other folders."""

import shlex
import sys
from pathlib import Path


def helper_command(module: str, *args: str) -> str:
    """The shell command that runs helper `module` with the interpreter running this program.

    Inside a project (the interpreter lives under the working directory, e.g. Pulumi's `venv/`)
    the interpreter is written relative to it, so the command reads the same on every machine
    that deploys the project and `pulumi preview` shows no spurious diff between them.
    """
    interpreter = Path(sys.executable)
    try:
        shown = interpreter.relative_to(Path.cwd()).as_posix()
    except ValueError:
        shown = interpreter.as_posix()
    return shlex.join([shown, "-m", f"{__name__}.{module}", *args])
