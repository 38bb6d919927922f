-- POST runs/log-batch with 100 metrics per request, new steps each time.
local run_id = os.getenv("RUN_ID")
local n = 0
request = function()
  n = n + 1
  local parts = {}
  for i = 1, 100 do
    parts[i] = string.format('{"key":"m%d","value":%d,"timestamp":%d,"step":%d}',
                             i % 10, i, 1700000000000 + n, n * 100 + i)
  end
  local body = string.format('{"run_id":"%s","metrics":[%s]}', run_id, table.concat(parts, ","))
  return wrk.format("POST", "/api/2.0/mlflow/runs/log-batch",
                    {["Content-Type"] = "application/json"}, body)
end
