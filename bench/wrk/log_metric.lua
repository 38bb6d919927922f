-- POST runs/log-metric with a new step each request (every request is a real write).
-- RUN_ID comes from the environment.
local run_id = os.getenv("RUN_ID")
local n = 0
request = function()
  n = n + 1
  local body = string.format(
    '{"run_id":"%s","key":"loss","value":%f,"timestamp":%d,"step":%d}',
    run_id, 1.0 / n, 1700000000000 + n, n)
  return wrk.format("POST", "/api/2.0/mlflow/runs/log-metric",
                    {["Content-Type"] = "application/json"}, body)
end
