"""Scratch (not committed): prepare a bench DB, start API(s), print env, wait until killed."""
from __future__ import annotations
import json, os, signal, sys, time
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.factories import fresh_database, free_port
from run import prepare, obtain_access_tokens, bench_ready
from benchdata import service_env
from knobs import ADMIN_URL
from wrkload import start_api, start_server
from knobs import BENCH_DIR

def main() -> None:
    bench_ready()
    work = Path(sys.argv[1]); work.mkdir(parents=True, exist_ok=True)
    with fresh_database("authstack_scratch", ADMIN_URL) as db:
        env = service_env(db)
        project, big, data = prepare(db, env, work, big_users=0)
        api = start_api("api", env, work)
        fport = free_port()
        floor = start_server("floor", [sys.executable, str(BENCH_DIR / "floor.py")],
            {**env, "FLOOR_PORT": str(fport), "FLOOR_PROJECT_ID": project.id}, fport, work)
        access = obtain_access_tokens(api, project, data["refresh_tokens"][:50])
        data["files"]["access"].write_text("\n".join(access) + "\n")
        info = {"api": api.url, "api_pid": api.pid, "floor": floor.url, "floor_pid": floor.pid,
                "project": project.id, "key": project.publishable_client_key, "db": db,
                "env": env}
        (work / "info.json").write_text(json.dumps(info))
        print("READY", flush=True)
        stop = False
        def h(*_): nonlocal stop; stop = True
        signal.signal(signal.SIGTERM, h); signal.signal(signal.SIGINT, h)
        while not stop:
            time.sleep(0.5)
        api.stop(); floor.stop()
main()
