-- The intake load for wrk (Debian's wrk 4.1, LuaJIT): used by bench/_intake_load.py when BENCH_INTAKE_LOADGEN=wrk.
--   wrk -t T -c C -d Ns -s bench/intake_wrk.lua http://127.0.0.1:PORT -- BODIES_FILE TOKEN RUN_ID
-- BODIES_FILE holds one JSON intake per line; thread k (1-based) sends lines k, k+T, k+2T … each with the
-- Idempotency-Key "<RUN_ID>-<line>", so no key is ever sent twice. Every response's status is counted and the
-- id and number of every 201 are kept; done() prints one line "WRK-RESULT {json}" for the Python side to check
-- against the database.

local threads = {}
local next_id = 1

function setup(thread)
  thread:set("thread_no", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

function init(args)
  bodies = {}
  for line in io.lines(args[1]) do
    bodies[#bodies + 1] = line
  end
  token, run_id = args[2], args[3]
  step = tonumber(args[4])
  line_no = thread_no
  sent, exhausted = 0, 0
  statuses, created = {}, {}
end

function request()
  local body = bodies[line_no]
  if body == nil then -- more requests than bodies: never reuse a key (that would time replays, not intakes)
    exhausted = exhausted + 1
    wrk.thread:stop()
    return wrk.format("GET", "/api/v1/me", { ["Authorization"] = "Bearer " .. token })
  end
  local key = run_id .. "-" .. line_no
  line_no = line_no + step
  sent = sent + 1
  return wrk.format("POST", "/api/v1/cases/", {
    ["Authorization"] = "Bearer " .. token,
    ["Content-Type"] = "application/json",
    ["Idempotency-Key"] = key,
  }, body)
end

function response(status, headers, body)
  local s = tostring(status)
  statuses[s] = (statuses[s] or 0) + 1
  if status == 201 then
    local id = string.match(body, '"id":%s*(%d+)')
    local number = string.match(body, '"number":%s*"([^"]*)"')
    created[#created + 1] = (id or "?") .. ":" .. (number or "?")
  end
end

local function quote(s)
  return '"' .. string.gsub(s, '["\\]', "\\%0") .. '"'
end

function done(summary, latency, requests)
  local all_statuses, all_created, all_sent, all_exhausted = {}, {}, 0, 0
  for _, thread in ipairs(threads) do
    for code, n in pairs(thread:get("statuses")) do
      all_statuses[code] = (all_statuses[code] or 0) + n
    end
    for _, pair in ipairs(thread:get("created")) do
      all_created[#all_created + 1] = quote(pair)
    end
    all_sent = all_sent + thread:get("sent")
    all_exhausted = all_exhausted + thread:get("exhausted")
  end
  local codes = {}
  for code, n in pairs(all_statuses) do
    codes[#codes + 1] = quote(code) .. ":" .. n
  end
  local e = summary.errors
  local parts = {
    '"duration_us":' .. summary.duration,
    '"completed":' .. summary.requests,
    '"sent":' .. all_sent,
    '"bodies_exhausted":' .. all_exhausted,
    '"errors":{"connect":' .. e.connect .. ',"read":' .. e.read .. ',"write":' .. e.write
      .. ',"status":' .. e.status .. ',"timeout":' .. e.timeout .. "}",
    '"statuses":{' .. table.concat(codes, ",") .. "}",
    '"latency_us":{"median":' .. latency:percentile(50) .. ',"p95":' .. latency:percentile(95)
      .. ',"p99":' .. latency:percentile(99) .. ',"max":' .. latency.max .. ',"mean":' .. latency.mean .. "}",
    '"created":[' .. table.concat(all_created, ",") .. "]",
  }
  io.write("WRK-RESULT {" .. table.concat(parts, ",") .. "}\n")
end
