"""``make mail``: print the last messages the ``make dev`` mail sink received."""

from __future__ import annotations

import json
import os
import sys
import urllib.error
import urllib.request

DEFAULT_HTTP_PORT = "8125"  # scripts/dev.py's MAIL_SINK_HTTP_PORT
SHOWN = 5


def main() -> int:
    port = os.environ.get("AUTHSTACK_DEV_MAIL_HTTP_PORT") or DEFAULT_HTTP_PORT
    url = f"http://127.0.0.1:{port}/api/messages"
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            messages = json.load(response)["messages"]
    except (urllib.error.URLError, OSError) as exc:
        reason = f"no mail sink answers at {url} ({exc})"
        print(f"mail: {reason}; is `make dev` running?", file=sys.stderr)
        return 1
    if not messages:
        print(f"mail: the sink has received no message yet (inbox: http://127.0.0.1:{port}/)")
    for message in messages[-SHOWN:]:
        recipients = ", ".join(message["rcpt_tos"])
        print(f"--- {message['subject']} -> {recipients}")
        print(message["text"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
