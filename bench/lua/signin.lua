-- POST a password sign-in (JSON), rotating through the emails in BENCH_FILE.
local common = dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
local path = os.getenv("BENCH_PATH")
local project_id = os.getenv("BENCH_PROJECT_ID")
local client_key = os.getenv("BENCH_CLIENT_KEY")
local password = os.getenv("BENCH_PASSWORD")

common.rotate(function(email, client)
  local body = '{"email":"' .. email .. '","password":"' .. password .. '"}'
  return wrk.format("POST", path, {
    ["Content-Type"] = "application/json",
    ["x-stack-access-type"] = "client",
    ["x-stack-project-id"] = project_id,
    ["x-stack-publishable-client-key"] = client_key,
    ["X-Forwarded-For"] = client,
  }, body)
end)
done = common.done
