"""RunContext: bookkeeping for a training loop (run.txt, timing, abort requests)."""

import datetime
import os
import pprint
import time
import types
from typing import Any

from . import submit


class RunContext(object):
    """Writes run.txt, tracks timing between update() calls, and tells the loop to stop when
    <run_dir>/abort.txt appears."""

    def __init__(self, submit_config: submit.SubmitConfig, config_module: types.ModuleType = None, max_epoch: Any = None):
        self.submit_config = submit_config
        self.should_stop_flag = False
        self.has_closed = False
        self.start_time = time.time()
        self.last_update_time = time.time()
        self.last_update_interval = 0.0
        self.max_epoch = max_epoch

        if config_module is not None:
            with open(os.path.join(submit_config.run_dir, "config.txt"), "w") as f:
                filtered = {k: v for k, v in config_module.__dict__.items()
                            if not k.startswith("_") and not isinstance(v, (types.ModuleType, types.FunctionType, types.LambdaType, submit.SubmitConfig, type))}
                pprint.pprint(filtered, stream=f, indent=4, width=200, compact=False)

        self.run_txt_data = {"task_name": submit_config.task_name, "host_name": submit_config.host_name,
                             "start_time": datetime.datetime.now().isoformat(sep=" ")}
        self._write_run_txt()

    def _write_run_txt(self) -> None:
        with open(os.path.join(self.submit_config.run_dir, "run.txt"), "w") as f:
            pprint.pprint(self.run_txt_data, stream=f, indent=4, width=200, compact=False)

    def __enter__(self) -> "RunContext":
        return self

    def __exit__(self, exc_type: Any, exc_value: Any, traceback: Any) -> None:
        self.close()

    def update(self, loss: Any = 0, cur_epoch: Any = 0, max_epoch: Any = None) -> None:
        """Housekeeping; call once per tick, not in a tight loop."""
        if self.has_closed:
            raise RuntimeError("RunContext.update() called after close()")
        now = time.time()
        self.last_update_interval = now - self.last_update_time
        self.last_update_time = now
        if os.path.exists(os.path.join(self.submit_config.run_dir, "abort.txt")):
            self.should_stop_flag = True

    def should_stop(self) -> bool:
        return self.should_stop_flag

    def get_time_since_start(self) -> float:
        return time.time() - self.start_time

    def get_time_since_last_update(self) -> float:
        return time.time() - self.last_update_time

    def get_last_update_interval(self) -> float:
        return self.last_update_interval

    def close(self) -> None:
        """Record the stop time in run.txt. Safe to call more than once."""
        if not self.has_closed:
            self.run_txt_data["stop_time"] = datetime.datetime.now().isoformat(sep=" ")
            self._write_run_txt()
            self.has_closed = True
