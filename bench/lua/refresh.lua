-- POST an OAuth refresh grant, rotating through the refresh tokens in BENCH_FILE.
local common = dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
local path = os.getenv("BENCH_PATH")
local client_id = os.getenv("BENCH_PROJECT_ID")
local client_secret = os.getenv("BENCH_CLIENT_KEY")

common.rotate(function(token, client)
  local body = "grant_type=refresh_token&refresh_token=" .. token ..
    "&client_id=" .. client_id .. "&client_secret=" .. client_secret
  return wrk.format("POST", path,
    {["Content-Type"] = "application/x-www-form-urlencoded", ["X-Forwarded-For"] = client}, body)
end)
done = common.done
