-- Shared by every bench script: read a file of lines, and print wrk's summary as one JSON line
-- (wrk's own text output has no p95). Latencies are in microseconds.
local M = {}

function M.lines(path)
  local out = {}
  for line in io.lines(path) do
    if line ~= "" then
      out[#out + 1] = line
    end
  end
  return out
end

function M.done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"p50":%d,"p90":%d,"p95":%d,"p99":%d,' ..
    '"max":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}\n',
    summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(90), latency:percentile(95),
    latency:percentile(99), latency.max,
    e.connect, e.read, e.write, e.status, e.timeout))
end

-- The client address sent in X-Forwarded-For (the bench's APIs trust loopback as their proxy):
-- BENCH_XFF if set (one client), else one address per line of BENCH_FILE, as if each session
-- were a user of its own.
function M.client(n)
  local fixed = os.getenv("BENCH_XFF")
  if fixed and fixed ~= "" then
    return fixed
  end
  return string.format("10.77.%d.%d", math.floor(n / 250), n % 250 + 1)
end

-- Pre-render one request per line of BENCH_FILE with make(line, client address), then cycle
-- through them, each wrk thread starting at a different offset.
function M.rotate(make)
  local reqs = {}
  local i = 0
  function init(args)
    for n, line in ipairs(M.lines(os.getenv("BENCH_FILE"))) do
      reqs[#reqs + 1] = make(line, M.client(n))
    end
    i = math.random(#reqs)
  end
  function request()
    i = i % #reqs + 1
    return reqs[i]
  end
end

return M
