-- GET the signed-in user with client headers, rotating through the access tokens in BENCH_FILE.
local common = dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
local path = os.getenv("BENCH_PATH")
local project_id = os.getenv("BENCH_PROJECT_ID")
local client_key = os.getenv("BENCH_CLIENT_KEY")

common.rotate(function(token, client)
  return wrk.format("GET", path, {
    ["x-stack-access-type"] = "client",
    ["x-stack-project-id"] = project_id,
    ["x-stack-publishable-client-key"] = client_key,
    ["x-stack-access-token"] = token,
    ["X-Forwarded-For"] = client,
  })
end)
done = common.done
