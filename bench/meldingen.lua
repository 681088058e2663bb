-- wrk script for bench/endtoend.py: one unique SOAP 1.1 request per call, checked answers, JSON result.
--
--   wrk -t T -c C -d D -s bench/meldingen.lua URL -- MODE RUN RUNS THREADS NONCE
--
--   MODE     "gateway": MeldingAfgeven to the gateway; "echo": an envelope of the same size to the
--            bare Spyne echo service (bench/echo_app.py). Both modes do the same work per request here,
--            so the load generator costs the same in both measurements.
--   RUN      index of this wrk invocation against one server (0 = warm-up, 1 = measurement, ...)
--   RUNS     number of invocations against that server; together with THREADS it splits the BSN space
--   THREADS  the -t value (wrk does not tell the script how many threads there are)
--   NONCE    a random number < 2^31, the first UUID group (decoration; uniqueness needs no luck)
--
-- Uniqueness does not depend on randomness. berichtId is NONCE-RUN-4TID-8000-COUNTER, so it is unique per
-- (run, thread, request). Each (run, thread) owns a disjoint range of 8-digit BSN bases; bases whose
-- elfproef check digit would be 10 are skipped. Requests come in groups of three over two youths:
--   youth A: one melding (instantie X)                       -> no match
--   youth B: two meldingen (instanties Y and Z, Y ~= Z)       -> the second one is a match
-- and X, Y, Z rotate over the three demo instanties, so every instantie sends a third of the traffic and
-- a third of the meldingen produce a match. No (instantie, youth) pair is ever sent twice, so the
-- "already an active melding" rule never fires.
--
-- response() counts answers that are not HTTP 200 with the expected response element, and keeps the
-- first such answer as a sample. done() prints one line "WRK-RESULT {json}" for endtoend.py.

local INSTANTIES = { "00000001111111111000", "00000001222222222000", "00000001333333333000" }
local GATEWAY_OIN = "00000001000000000000"
local WEIGHTS = { 9, 8, 7, 6, 5, 4, 3, 2 }
local BSN_SPACE = 99999999 -- bases 1 .. 99,999,999 (base 0 would give the invalid BSN 000000000)

local threads = {}
local next_tid = 0

function setup(thread)
   thread:set("tid", next_tid)
   threads[#threads + 1] = thread
   next_tid = next_tid + 1
end

-- Per-thread state (every wrk thread has its own Lua state; the globals below are per thread).
ok = 0
bad = 0
sample_status = 0
sample_body = ""
body_len = 0

local mode, run, nonce, marker
local counter = 0
local base, base_end
local bsn_single, bsn_pair = "", ""
local last_second, stamp = -1, ""

local G_PREFIX = '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"'
   .. ' xmlns:kp="urn:nl:vir:gateway:ketenpartner:v1" xmlns:g="urn:nl:vir:gateway:gegevens:v1">'
   .. '<soap:Body><kp:MeldingAfgeven><kp:stuurgegevens><g:berichtId>'
local G_AFTER_ID = '</g:berichtId><g:tijdstip>'
local G_AFTER_TS = '</g:tijdstip><g:zender><g:oin>'
local G_AFTER_OIN = '</g:oin><g:applicatie>bench</g:applicatie></g:zender><g:ontvanger><g:oin>'
   .. GATEWAY_OIN .. '</g:oin></g:ontvanger></kp:stuurgegevens><kp:jongere><g:bsn>'
local G_SUFFIX = '</g:bsn></kp:jongere><kp:meldingsbevoegde><g:naam>Anna de Vries</g:naam>'
   .. '<g:telefoon>050-1234567</g:telefoon></kp:meldingsbevoegde></kp:MeldingAfgeven></soap:Body></soap:Envelope>'

local E_PREFIX = '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"'
   .. ' xmlns:e="urn:nl:vir:gateway:bench:echo:v1"><soap:Body><e:echo><e:s>berichtId='
local E_AFTER_ID = ';tijdstip='
local E_AFTER_TS = ';oin='
local E_AFTER_OIN = ';bsn='
local E_SUFFIX -- ';' .. padding .. '</e:s></e:echo></soap:Body></soap:Envelope>', set in init

-- The BSN for an 8-digit base, or nil when its check digit would be 10.
local function bsn_for(b)
   local digits = string.format("%08d", b)
   local sum = 0
   for i = 1, 8 do
      sum = sum + (digits:byte(i) - 48) * WEIGHTS[i]
   end
   local check = sum % 11
   if check == 10 then
      return nil
   end
   return digits .. check
end

-- The next unused valid BSN of this (run, thread) range.
local function next_bsn()
   while base < base_end do
      local bsn = bsn_for(base)
      base = base + 1
      if bsn then
         return bsn
      end
   end
   error("meldingen.lua: the BSN range of this thread is exhausted")
end

local function timestamp()
   local now = os.time()
   if now ~= last_second then
      last_second = now
      stamp = os.date("!%Y-%m-%dT%H:%M:%SZ", now)
   end
   return stamp
end

function init(args)
   mode = args[1]
   run = tonumber(args[2])
   local runs = tonumber(args[3])
   local nthreads = tonumber(args[4])
   nonce = tonumber(args[5])
   if (mode ~= "gateway" and mode ~= "echo") or not run or not runs or not nthreads or not nonce then
      error("usage: wrk ... -s meldingen.lua URL -- gateway|echo RUN RUNS THREADS NONCE")
   end
   local stride = math.floor(BSN_SPACE / (runs * nthreads))
   base = 1 + (run * nthreads + tid) * stride
   base_end = base + stride
   marker = mode == "gateway" and "MeldingAfgevenResponse" or "echoResponse"

   -- Pad the echo envelope to exactly the size of the MeldingAfgeven envelope (all fields fixed width).
   local id_len, ts_len, oin_len, bsn_len = 36, 20, 20, 9
   local g_len = #G_PREFIX + id_len + #G_AFTER_ID + ts_len + #G_AFTER_TS + oin_len + #G_AFTER_OIN
      + bsn_len + #G_SUFFIX
   local tail = '</e:s></e:echo></soap:Body></soap:Envelope>'
   local e_len = #E_PREFIX + id_len + #E_AFTER_ID + ts_len + #E_AFTER_TS + oin_len + #E_AFTER_OIN
      + bsn_len + 1 + #tail
   E_SUFFIX = ";" .. string.rep("x", math.max(0, g_len - e_len)) .. tail

   wrk.method = "POST"
   wrk.headers["Content-Type"] = "text/xml; charset=utf-8"
end

function request()
   local c = counter
   counter = counter + 1
   local group = math.floor(c / 3)
   local slot = c % 3
   local oin, bsn
   if slot == 0 then
      bsn_single = next_bsn()
      bsn_pair = next_bsn()
      oin, bsn = INSTANTIES[group % 3 + 1], bsn_single
   elseif slot == 1 then
      oin, bsn = INSTANTIES[(group + 1) % 3 + 1], bsn_pair
   else
      oin, bsn = INSTANTIES[(group + 2) % 3 + 1], bsn_pair
   end
   local id = string.format("%08x-%04x-4%03x-8000-%012x", nonce, run, tid, c)
   local body
   if mode == "gateway" then
      body = G_PREFIX .. id .. G_AFTER_ID .. timestamp() .. G_AFTER_TS .. oin .. G_AFTER_OIN .. bsn .. G_SUFFIX
   else
      body = E_PREFIX .. id .. E_AFTER_ID .. timestamp() .. E_AFTER_TS .. oin .. E_AFTER_OIN .. bsn .. E_SUFFIX
   end
   body_len = #body
   return wrk.format(nil, nil, nil, body)
end

function response(status, headers, body)
   if status == 200 and body and string.find(body, marker, 1, true) then
      ok = ok + 1
   else
      bad = bad + 1
      if sample_status == 0 then
         sample_status = status
         sample_body = string.sub(body or "", 1, 2000)
      end
   end
end

local function json_string(s)
   return '"' .. string.gsub(s, '[%c"\\]', function(ch)
      return string.format("\\u%04x", string.byte(ch))
   end) .. '"'
end

function done(summary, latency, requests)
   local n_ok, n_bad, status, sample, size = 0, 0, 0, "", 0
   for _, t in ipairs(threads) do
      n_ok = n_ok + t:get("ok")
      n_bad = n_bad + t:get("bad")
      size = math.max(size, t:get("body_len"))
      if status == 0 and t:get("sample_status") ~= 0 then
         status = t:get("sample_status")
         sample = t:get("sample_body")
      end
   end
   local e = summary.errors
   local fields = {
      string.format('"requests": %d', summary.requests),
      string.format('"duration_us": %d', summary.duration),
      string.format('"bytes": %d', summary.bytes),
      string.format('"ok": %d', n_ok),
      string.format('"bad": %d', n_bad),
      string.format('"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}',
         e.connect, e.read, e.write, e.status, e.timeout),
      string.format('"latency_us": {"p50": %d, "p90": %d, "p99": %d, "p999": %d, "mean": %.1f, "max": %d}',
         latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9),
         latency.mean, latency.max),
      string.format('"request_bytes": %d', size),
      string.format('"sample_status": %d', status),
      '"sample_body": ' .. json_string(sample),
   }
   io.write("WRK-RESULT {" .. table.concat(fields, ", ") .. "}\n")
end
