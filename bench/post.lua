-- wrk script for bench/run: POSTs one OpenAI chat request, over and over.
--
--   BENCH_BODY  file with the JSON request body (required)
--   BENCH_KEY   Helicone API key, sent as "Authorization: Bearer <key>"
--
-- At the end it prints one machine-readable line for bench/run:
--   BENCH_RESULT requests=N duration_us=N rps=F p50_us=N p90_us=N p99_us=N
--                non2xx=N connect=N read=N write=N timeout=N bytes=N

local path = os.getenv("BENCH_BODY")
assert(path and path ~= "", "BENCH_BODY is not set")
local f = assert(io.open(path, "rb"))
local body = f:read("*a")
f:close()
body = body:gsub("%s+$", "")

wrk.method = "POST"
wrk.body = body
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json, text/event-stream"

local key = os.getenv("BENCH_KEY")
if key and key ~= "" then
    wrk.headers["Authorization"] = "Bearer " .. key
end

function done(summary, latency, requests)
    local secs = summary.duration / 1e6
    local e = summary.errors
    io.write(string.format(
        "BENCH_RESULT requests=%d duration_us=%d rps=%.2f p50_us=%d p90_us=%d"
        .. " p99_us=%d non2xx=%d connect=%d read=%d write=%d timeout=%d"
        .. " bytes=%d\n",
        summary.requests, summary.duration, summary.requests / secs,
        latency:percentile(50), latency:percentile(90),
        latency:percentile(99), e.status, e.connect, e.read, e.write,
        e.timeout, summary.bytes))
end
