"""``python -m dualdraw_client.cli``: the remote commands without the server installed."""

import sys

from .app import main

sys.exit(main())
