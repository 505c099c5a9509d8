"""Run bulkapp's background processes, supervised (see ``bulkapp.jobs.supervisor``).

    python worker.py          WORKER_CONCURRENCY import workers (default 1)
    python worker.py --cron   the periodic maintenance jobs: run exactly one per deployment

Both read the same environment as the web app. Start as many ``python worker.py`` as you
like, on as many machines, against the same Redis and database.
"""

import sys

from bulkapp.jobs.supervisor import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
