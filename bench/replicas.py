"""The API (or the floor) as several processes behind one port (``SO_REUSEPORT``).

``REPLICA_APP`` = ``api`` | ``floor``, ``REPLICA_WORKERS`` (2), ``REPLICA_PORT``,
``REPLICA_READY_DIR``, plus the service's own variables. This process starts the workers and
waits; each worker binds its own socket to the port with ``SO_REUSEPORT``, so the kernel spreads
new connections over them (by a hash of the connection's addresses). uvicorn's own ``workers=``
shares one socket instead, and on this machine one worker often accepted every connection of a
wrk run. Each worker serves its app with the service's uvicorn settings and touches
``<REPLICA_READY_DIR>/<index>`` once it listens. The bench counts the CPU time of this process
and its workers together.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import uvicorn
from uvicorn._compat import asyncio_run

from authstack_core.runtime import start
from authstack_core.settings import Settings


def build(app: str) -> Any:
    if app == "api":
        from authstack_api.app import create_asgi  # noqa: PLC0415  # in the workers only

        return create_asgi(start(Settings, "api"))
    from floor import Floor  # noqa: PLC0415  # in the workers only

    return Floor()


def worker(app: str, index: str) -> int:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(("127.0.0.1", int(os.environ["REPLICA_PORT"])))
    config = uvicorn.Config(
        build(app),
        server_header=False,
        proxy_headers=False,
        log_config=None,
        access_log=False,
        lifespan="on",
    )
    server = uvicorn.Server(config)

    async def serve() -> None:
        task = asyncio.create_task(server.serve(sockets=[sock]))
        # uvicorn says it has started only through this flag.
        while not server.started and not task.done():  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        if server.started:
            (Path(os.environ["REPLICA_READY_DIR"]) / index).touch()
        await task

    # The loop uvicorn.run would choose (uvloop), as the API and the floor run.
    asyncio_run(serve(), loop_factory=config.get_loop_factory())
    return 0


def main() -> int:
    app = os.environ["REPLICA_APP"]
    if app not in ("api", "floor"):
        raise SystemExit(f"REPLICA_APP must be api or floor, not {app!r}")
    index = os.environ.get("REPLICA_INDEX")
    if index is not None:
        return worker(app, index)
    count = int(os.environ.get("REPLICA_WORKERS", "2"))
    children = [
        subprocess.Popen([sys.executable, __file__], env={**os.environ, "REPLICA_INDEX": str(i)})
        for i in range(count)
    ]

    def stop(signum: int, _frame: object) -> None:
        for child in children:
            child.send_signal(signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    codes = [child.wait() for child in children]
    return max(codes)


if __name__ == "__main__":
    sys.exit(main())
