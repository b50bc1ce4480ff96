"""The process that writes one customer import while its file is still being checked (see importing.ProcessSink).

python -m navid.customers.import_writer    # started by the import; reads its messages on standard input
"""

from __future__ import annotations

import os
import sys


def main() -> None:
    # Answers go out on a copy of standard output; anything a library prints goes to standard error instead.
    answer = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "navid.settings")
    import django

    django.setup()
    from navid.customers.importing import serve_writer

    serve_writer(sys.stdin.buffer, answer)


if __name__ == "__main__":
    main()
