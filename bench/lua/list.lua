-- GET one server-side URL (BENCH_PATH, query string included) with the secret server key.
local common = dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
wrk.method = "GET"
wrk.path = os.getenv("BENCH_PATH")
wrk.headers["x-stack-access-type"] = "server"
wrk.headers["x-stack-project-id"] = os.getenv("BENCH_PROJECT_ID")
wrk.headers["x-stack-secret-server-key"] = os.getenv("BENCH_SERVER_KEY")
done = common.done
