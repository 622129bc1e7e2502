-- wrk script for the demo service: POST /members with a varied body, like examples/demo.alloclab.json.
--   wrk -t2 -c64 -d40s --timeout 10s -s examples/post.lua http://127.0.0.1:PORT/members
-- Members come from a population of 100000 (updates of known members and first sightings mix, as in
-- production); the vlan picks the config size, so it is random too.
local threads = {}
local counter = 0

function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  math.randomseed(os.time() * 1000 + (id or 0))
end

function request()
  counter = counter + 1
  local body = string.format(
    '{"member":"member-%d","groups":["core","edge-%d"],"vlan":%d,"request_id":"%d-%d-%08x"}',
    math.random(1, 100000), math.random(1, 8), math.random(1, 4094),
    id or 0, counter, math.random(0, 0x7fffffff))
  return wrk.format("POST", nil, { ["Content-Type"] = "application/json" }, body)
end
