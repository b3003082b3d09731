-- wrk script: POST /sessions, then DELETE of the session it created, alternately.
-- Each wrk thread has its own Lua state; ids created by a POST are deleted by the
-- next request the thread sends. With c connections a few POSTs may run ahead of
-- their DELETEs; bench/bench.py deletes whatever is left at the end.
local ids = {}
local body = '{"instanceId":"echo"}'
local headers = { ["Content-Type"] = "application/json" }

-- wrk.format uses only the headers it is given: add those of -H (the bearer token).
init = function(args)
  for k, v in pairs(wrk.headers) do
    if headers[k] == nil then headers[k] = v end
  end
end

request = function()
  if #ids > 0 then
    local id = table.remove(ids, 1)
    return wrk.format("DELETE", "/sessions/" .. id)
  end
  return wrk.format("POST", "/sessions", headers, body)
end

response = function(status, hdrs, resp)
  if status == 201 then
    local id = resp:match('"id"%s*:%s*"(%x+)"')
    if id then table.insert(ids, id) end
  end
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"errors":%d,"non2xx":%d,"p50_us":%d,"p99_us":%d,"max_us":%d}\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(99), latency.max))
end
