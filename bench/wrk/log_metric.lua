-- POST runs/log-metric, one metric per request, every request a new row:
-- each wrk thread logs its own key, with a step that grows by one per request.
-- RUN_ID comes from the environment, and AUTH (an Authorization header's
-- value) when the server runs with --auth.
local run_id = os.getenv("RUN_ID")
local auth = os.getenv("AUTH")
local threads = 0

function setup(thread)
  thread:set("tid", threads)
  threads = threads + 1
end

local n = 0
request = function()
  n = n + 1
  local body = string.format(
    '{"run_id":"%s","key":"loss%d","value":%f,"timestamp":%d,"step":%d}',
    run_id, tid, 1.0 / n, 1700000000000 + n, n)
  local headers = {["Content-Type"] = "application/json"}
  if auth and auth ~= "" then headers["Authorization"] = auth end
  return wrk.format("POST", "/api/2.0/mlflow/runs/log-metric", headers, body)
end
