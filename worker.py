"""Run bulkapp's background processes, supervised (see ``bulkapp.supervisor``).

    python worker.py          WORKER_CONCURRENCY import workers (default 1)
    python worker.py --cron   the periodic maintenance jobs: run exactly one per deployment

Both read the same environment as the web app. Start as many ``python worker.py`` as you
like, on as many machines, against the same Redis and database.
"""

import sys

from bulkapp.supervisor import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
