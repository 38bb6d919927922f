-- POST runs/search: a metric filter and an order_by over the seeded experiment.
local exp_id = os.getenv("EXP_ID")
request = function()
  local body = string.format(
    '{"experiment_ids":["%s"],"filter":"metrics.acc > 0.5 and params.lr = \'0.01\'",' ..
    '"order_by":["metrics.acc DESC"],"max_results":100}', exp_id)
  return wrk.format("POST", "/api/2.0/mlflow/runs/search",
                    {["Content-Type"] = "application/json"}, body)
end
