"""Create a numbered run directory and run a function in it (locally)."""

import copy
import fnmatch
import os
import pathlib
import pickle
import platform
import pprint
import re
import shutil
import time
import traceback
from enum import Enum

from .. import util


class SubmitTarget(Enum):
    """Where the function runs. Only local runs exist in this project."""
    LOCAL = 1


class PathType(Enum):
    """How a path template is rendered."""
    WINDOWS = 1
    LINUX = 2
    AUTO = 3


_user_name_override = None


class SubmitConfig(util.EasyDict):
    """Settings of a run. Set run_dir_root, run_desc and num_gpus; submit_run() fills in the rest.

    Attributes:
        run_dir_root: Root of the run directories (may contain <USERNAME>).
        run_desc: Description, used in the run directory name.
        run_dir_ignore: File patterns not copied to the run's src/ directory.
        run_dir_extra_files: Extra (abs_path, rel_path) pairs copied to src/.
        copy_source: Copy the source tree into <run_dir>/src (the original always did).
        submit_target: Always SubmitTarget.LOCAL.
        num_gpus: Number of GPUs (towers) of the run.
        print_info: Print the config when submitting.
        ask_confirmation: Ask before starting.
        run_id, run_name, run_dir, run_func_name, run_func_kwargs, user_name, task_name, host_name: filled in by submit_run().
    """

    def __init__(self):
        super().__init__()
        self.run_dir_root = ""
        self.run_desc = ""
        self.run_dir_ignore = ["__pycache__", "*.pyproj", "*.sln", "*.suo", ".cache", ".idea", ".vs", ".vscode",
                               ".venv", ".git", "results", "datasets", "cache", ".pytest_cache"]
        self.run_dir_extra_files = None
        self.copy_source = True
        self.submit_target = SubmitTarget.LOCAL
        self.num_gpus = 1
        self.print_info = False
        self.ask_confirmation = False
        self.use_typeguard = False
        self.run_id = None
        self.run_name = None
        self.run_dir = None
        self.run_func_name = None
        self.run_func_kwargs = None
        self.user_name = None
        self.task_name = None
        self.host_name = "localhost"


def get_path_from_template(path_template: str, path_type: PathType = PathType.AUTO) -> str:
    """Replace <USERNAME> in a path template and render it for the given (or current) OS."""
    if path_type == PathType.AUTO:
        path_type = PathType.WINDOWS if platform.system() == "Windows" else PathType.LINUX
    path_template = path_template.replace("<USERNAME>", get_user_name())
    if path_type == PathType.WINDOWS:
        return str(pathlib.PureWindowsPath(path_template))
    return str(pathlib.PurePosixPath(path_template))


def get_template_from_path(path: str) -> str:
    return path.replace("\\", "/")


def convert_path(path: str, path_type: PathType = PathType.AUTO) -> str:
    return get_path_from_template(get_template_from_path(path), path_type)


def set_user_name_override(name: str) -> None:
    global _user_name_override
    _user_name_override = name


def get_user_name() -> str:
    if _user_name_override is not None:
        return _user_name_override
    try:
        import getpass
        return getpass.getuser()
    except Exception:
        return "unknown"


_RUN_DESC_RE = re.compile(r"^[A-Za-z0-9_.,+=\-]*$")


def _get_next_run_id_local(run_dir_root: str) -> int:
    """Next free run id: one more than the largest number that starts a directory name."""
    run_id = 0
    for name in os.listdir(run_dir_root):
        m = re.match(r"^\d+", name)
        if m is not None and os.path.isdir(os.path.join(run_dir_root, name)):
            run_id = max(run_id, int(m.group()) + 1)
    return run_id


def _create_run_dir_local(submit_config: SubmitConfig) -> str:
    """Create <root>/<5-digit id>-<desc>; an existing directory is never reused."""
    run_dir_root = get_path_from_template(submit_config.run_dir_root, PathType.AUTO)
    if not _RUN_DESC_RE.match(submit_config.run_desc):
        raise ValueError("Invalid run description %r: use letters, digits and _ . , + = -" % submit_config.run_desc)
    os.makedirs(run_dir_root, exist_ok=True)
    while True:
        submit_config.run_id = _get_next_run_id_local(run_dir_root)
        submit_config.run_name = "{0:05d}-{1}".format(submit_config.run_id, submit_config.run_desc)
        run_dir = os.path.join(run_dir_root, submit_config.run_name)
        try:
            os.makedirs(run_dir)  # fails if another process took the id first
            break
        except FileExistsError:
            continue
    print("Creating the run dir: {}".format(run_dir))
    return run_dir


def _populate_run_dir(run_dir: str, submit_config: SubmitConfig) -> None:
    """Copy the sources (as the original did) and write submit_config.pkl/.txt."""
    if submit_config.copy_source:
        files = []
        run_func_module_dir_path = util.get_module_dir_by_obj_name(submit_config.run_func_name)
        for _idx in range(submit_config.run_func_name.count(".") - 1):
            run_func_module_dir_path = os.path.dirname(run_func_module_dir_path)
        files += [f for f in util.list_dir_recursively_with_ignore(run_func_module_dir_path, ignores=submit_config.run_dir_ignore)
                  if f[0].endswith(".py")]
        dnnlib_dir = util.get_module_dir_by_obj_name("dnnlib")
        if not os.path.abspath(dnnlib_dir).startswith(os.path.abspath(run_func_module_dir_path) + os.sep):
            files += util.list_dir_recursively_with_ignore(dnnlib_dir, ignores=submit_config.run_dir_ignore, add_base_to_relative=True)
        if submit_config.run_dir_extra_files is not None:
            files += submit_config.run_dir_extra_files
        util.copy_files_and_create_dirs([(src, os.path.join(run_dir, "src", rel)) for src, rel in files])

    with open(os.path.join(run_dir, "submit_config.pkl"), "wb") as f:
        pickle.dump(submit_config, f)
    with open(os.path.join(run_dir, "submit_config.txt"), "w") as f:
        pprint.pprint(submit_config, stream=f, indent=4, width=200, compact=False)


def run_wrapper(submit_config: SubmitConfig) -> None:
    """Run the function with stdout/stderr teed to <run_dir>/log.txt; mark the end with _finished.txt.
    A run stopped by bad input (a UserError, reported as one line by the script) before it wrote any
    result leaves no run directory behind; one that crashed before that is renamed '<name>-failed'. Neither
    looks like a run."""
    logger = util.Logger(file_name=os.path.join(submit_config.run_dir, "log.txt"), file_mode="a", should_flush=True)
    import dnnlib
    dnnlib.submit_config = submit_config
    bad_input = failed = False
    try:
        print("dnnlib: Running {0}() on {1}...".format(submit_config.run_func_name, submit_config.host_name))
        start_time = time.time()
        util.call_func_by_name(func_name=submit_config.run_func_name, submit_config=submit_config, **submit_config.run_func_kwargs)
        print("dnnlib: Finished {0}() in {1}.".format(submit_config.run_func_name, util.format_time(time.time() - start_time)))
    except util.UserError:
        bad_input = True
        raise
    except BaseException:
        failed = True
        traceback.print_exc(file=logger.file if logger.file else None)
        raise
    finally:
        open(os.path.join(submit_config.run_dir, "_finished.txt"), "w").close()
        dnnlib.submit_config = None
        logger.close()
        if not _has_results(submit_config.run_dir):
            if bad_input:
                shutil.rmtree(submit_config.run_dir, ignore_errors=True)
            elif failed:  # keep the log of a crash, under a name that does not look like a run
                _mark_failed(submit_config.run_dir)


def _mark_failed(run_dir: str) -> None:
    """Rename a run directory without results to '<name>-failed' (its log stays; the next run id skips it)."""
    try:
        os.replace(run_dir, run_dir.rstrip("/\\") + "-failed")
        print("The run failed before writing any result; its log is in %s-failed" % run_dir.rstrip("/\\"))
    except OSError:
        pass


def _has_results(run_dir: str) -> bool:
    """True once a run has written something of value: a network snapshot or a metric result."""
    return any(fnmatch.fnmatch(name, pattern) for name in os.listdir(run_dir) for pattern in ("network-*.pkl", "metric-*.txt"))


def submit_run(submit_config: SubmitConfig, run_func_name: str, **run_func_kwargs) -> str:
    """Create a run directory under submit_config.run_dir_root, record the config, and run the function there.
    Returns the run directory."""
    submit_config = copy.copy(submit_config)
    if submit_config.submit_target != SubmitTarget.LOCAL:
        raise ValueError("Only SubmitTarget.LOCAL is supported")
    if submit_config.user_name is None:
        submit_config.user_name = get_user_name()
    submit_config.run_func_name = run_func_name
    submit_config.run_func_kwargs = run_func_kwargs
    util.get_obj_by_name(run_func_name)  # fail before creating anything if the function does not exist

    run_dir = _create_run_dir_local(submit_config)
    submit_config.task_name = "{0}-{1:05d}-{2}".format(submit_config.user_name, submit_config.run_id, submit_config.run_desc)
    submit_config.run_dir = run_dir
    _populate_run_dir(run_dir, submit_config)

    if submit_config.print_info:
        print("\nSubmit config:\n")
        pprint.pprint(submit_config, indent=4, width=200, compact=False)
        print()
    if submit_config.ask_confirmation and not util.ask_yes_no("Continue submitting the job?"):
        return run_dir
    run_wrapper(submit_config)
    return run_dir
