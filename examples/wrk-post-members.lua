-- Used by wrk.alloclab.json: POST /members with a different member on every request, so the demo's cache churns.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local groups = { "core", "edge", "lab", "ops" }
local n = 0
request = function()
  n = n + 1
  local body = string.format('{"member":"m%d-%d","groups":["%s"],"vlan":%d}',
    math.random(1, 1000000), n, groups[math.random(1, #groups)], math.random(1, 4094))
  return wrk.format(nil, nil, nil, body)
end
