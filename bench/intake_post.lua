-- wrk script: POST realistic interest registrations, each with its own Idempotency-Key.
local themes = {"angst", "depresjon", "sorg", "ensomhet", "samlivsbrudd", "utbrenthet", "stress"}
local munis = {"0301", "4601", "4627", "5001", "5501", "3405"}
local parts = {"daytime", "evening"}
local days = {"mon", "tue", "wed", "thu"}
local counter = 0

math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16) % 100000)

local function pick(t) return t[math.random(#t)] end

request = function()
  counter = counter + 1
  local a = 18 + 5 * math.random(0, 11)
  local contact
  if math.random() < 0.5 then
    contact = string.format('{"email":"person%d@example.no"}', math.random(1, 999999))
  else
    contact = string.format('{"phone":"9%07d"}', math.random(0, 9999999))
  end
  local body = string.format(
    '{"municipality":"%s","themes":["%s"],"cross_problem_welcome":%s,"age_band":"%d-%d",' ..
    '"languages":["no"],"availability":["%s-%s","%s-%s"],"digital_welcome":%s,' ..
    '"contact":%s,"consent":{"given":true,"text_version":"2026-11-v1"}}',
    pick(munis), pick(themes), tostring(math.random() < 0.6), a, a + 4,
    pick(days), pick(parts), pick(days), pick(parts), tostring(math.random() < 0.4), contact)
  local headers = {
    ["Content-Type"] = "application/json",
    -- 128 random bits as 32 hex digits (16-bit draws: LuaJIT's math.random is exact there):
    -- the service refuses guessable keys with 422.
    ["Idempotency-Key"] = string.format(string.rep("%04x", 8), math.random(0, 65535),
      math.random(0, 65535), math.random(0, 65535), math.random(0, 65535), math.random(0, 65535),
      math.random(0, 65535), math.random(0, 65535), math.random(0, 65535)),
  }
  return wrk.format("POST", "/api/v1/interests", headers, body)
end

local codes = {}
response = function(status, headers, body)
  codes[status] = (codes[status] or 0) + 1
end

done = function(summary, latency, requests)
  io.write(string.format("WRK requests=%d duration_us=%d p50_us=%d p99_us=%d errors=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    summary.errors.status + summary.errors.connect + summary.errors.read +
    summary.errors.write + summary.errors.timeout))
end
