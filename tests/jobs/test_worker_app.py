"""Workers start from the core application: no web blueprints, and the web's modules are never
imported by a worker process."""

from __future__ import annotations

import subprocess
import sys

from tests.processes import PROJECT_ROOT


def test_a_worker_process_never_imports_the_web(tmp_path):
    probe = (
        "import sys\n"
        "from bulkapp.jobs.app import create_worker_app\n"
        "import bulkapp.jobs.tasks, bulkapp.jobs.runners\n"
        "app = create_worker_app()\n"
        "web = sorted(m for m in sys.modules if m.split('.')[:2] in (['bulkapp', 'web'],\n"
        "                                                          ['bulkapp', 'app']))\n"
        "print(len(app.blueprints), web)\n"
    )
    env = {"BULKAPP_ENV": "testing", "INSTANCE_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert result.stdout.strip() == "0 []", result.stdout + result.stderr
