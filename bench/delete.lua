-- wrk script: DELETE /v1/meetings/{id}/breakoutSessions, each request on a different meeting.
-- Arguments (after `--`): ids_file threads token
-- Thread k of n walks the ids k+1, k+1+n, k+1+2n, ... of the file; a thread that runs out
-- starts its slice again, and done() reports that as BENCH_WRAPPED (the run is then invalid).

local threads = {}
local created = 0

function setup(thread)
  thread:set("tid", created)
  created = created + 1
  table.insert(threads, thread)
end

function init(args)
  local path, nthreads, token = args[1], tonumber(args[2]), args[3]
  ids = {}
  local n = 0
  for line in io.lines(path) do
    if n % nthreads == tid then
      ids[#ids + 1] = line
    end
    n = n + 1
  end
  pos = 0
  wrapped = 0
  headers = { ["Authorization"] = "Bearer " .. token }
end

function request()
  pos = pos + 1
  if pos > #ids then
    pos = 1
    wrapped = wrapped + 1
  end
  return wrk.format("DELETE", "/v1/meetings/" .. ids[pos] .. "/breakoutSessions", headers)
end

function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do
    total = total + (tonumber(thread:get("wrapped")) or 0)
  end
  io.write(string.format("BENCH_WRAPPED %d\n", total))
end
