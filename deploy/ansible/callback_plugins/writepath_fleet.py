# Records, per host, why it failed or could not be reached, and when its matrix started and ended:
# one JSON object a line in the file named by WRITEPATH_FLEET_EVENTS. `writepath fleet` enables it
# (ANSIBLE_CALLBACKS_ENABLED), reads it while the playbook runs to say which hosts are done and the
# time left, and afterwards to say in fleet.json why a host has no results; the screen output is unchanged.
from __future__ import annotations

import json
import os
import time

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
    name: writepath_fleet
    type: aggregate
    short_description: records failed and unreachable hosts for writepath fleet
    description:
      - Appends one JSON line per failed task, unreachable host, start and end of a host's matrix and host summary
        to the file named by WRITEPATH_FLEET_EVENTS.
    requirements:
      - WRITEPATH_FLEET_EVENTS set to a writable path
"""


# The role's task that runs the matrix (roles/writepath/tasks/main.yml), by its own name (get_name()
# puts the role's in front): its start and end time the host.
MATRIX_TASK = "run the matrix"


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "writepath_fleet"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super().__init__()
        self.path = os.environ.get("WRITEPATH_FLEET_EVENTS")

    def _append(self, record):
        if not self.path:
            return
        record["time"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")

    def _event(self, event, result):
        r = result._result
        msg = str(r.get("msg") or "")
        stderr = str(r.get("stderr") or "").strip()
        # A command's own last line of stderr says more than "non-zero return code".
        if stderr and (not msg or msg == "non-zero return code"):
            msg = stderr.splitlines()[-1]
        self._append({"event": event, "host": result._host.get_name(), "task": result._task.get_name(),
                      "rc": r.get("rc"), "msg": msg})

    def v2_runner_on_start(self, host, task):
        if task.name == MATRIX_TASK:
            self._append({"event": "matrix_started", "host": host.get_name()})

    def v2_runner_on_ok(self, result):
        if result._task.name == MATRIX_TASK:
            self._append({"event": "matrix_ended", "host": result._host.get_name(), "rc": result._result.get("rc")})

    def v2_runner_on_failed(self, result, ignore_errors=False):
        if not ignore_errors:
            self._event("failed", result)

    def v2_runner_on_unreachable(self, result):
        self._event("unreachable", result)

    def v2_playbook_on_stats(self, stats):
        for host in sorted(stats.processed.keys()):
            s = stats.summarize(host)
            self._append({"event": "stats", "host": host, "ok": s.get("ok", 0), "failures": s.get("failures", 0),
                          "unreachable": s.get("unreachable", 0)})
