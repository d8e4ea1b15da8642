/**
 * The Redis key of a run's stream: Letta's `sse:run:<runId>` with the run id as a Redis Cluster hash tag, so every key
 * a run may ever have hashes to one slot (a Lua script may only touch keys of one slot on a cluster). All of a run's
 * stream state lives in this one key today. The braces came with the cluster support: a stream written by an older
 * version (`sse:run:<runId>`) is not read after the upgrade; streams live for hours, so only runs streaming across the
 * upgrade lose their backlog (their readers get the lost-stream error, CONTRACTS §6).
 */
export function streamKey(runId: string): string {
  return `sse:run:{${runId}}`;
}

/**
 * Every write to a run's stream, atomically (one script per call, so several writers never race):
 * 1. the last entry gives the stream's epoch, seq, latest stop reason (`sr`, carried on every entry) and whether it
 *    ended (`end=1` on the end marker);
 * 2. an ended stream refuses appends (`RUNTRACE_ENDED`; mode `e`, ending, is then a no-op);
 * 3. a missing stream gets a new epoch: the server's TIME in microseconds, base 36 (never reused for a run, so ids
 *    of a lost stream are never handed out again);
 * 4. each event is XADDed with the explicit id `<seq>-0` and fields epoch, seq, t (ms), sr, data (compact JSON);
 *    the end marker gets `<seq>-1` (seq = its last event's) and `end=1`; `MAXLEN ~` trims the oldest;
 * 5. every entry added is PUBLISHed on the channel named like the key, for the readers' {@link Hub}: the entry
 *    itself (see {@link parseMessage}) when the call's events total at most {@link INLINE_PUBLISH_BYTES}, else one
 *    notice `~ <first id> <last id>` (the hub reads that range with XRANGE), so that one large append cannot
 *    overrun a subscriber's output buffer (Redis drops a Pub/Sub client past 32 MB by default);
 * 6. PEXPIRE refreshes the retention.
 *
 * KEYS[1] the stream; ARGV: mode (`a` append | `e` end), maxlen, ttl ms, end flag (`a`) or the run's stop reason
 * or '' (`e`), the fallback stop reason (`e`), the stop_reason event's JSON (`e`), then pairs (data JSON, the
 * event's stop reason or ''). Returns {epoch, first seq, count appended, 1 if this call ended the stream}.
 */
export const INLINE_PUBLISH_BYTES = 64 * 1024;

export const STREAM_WRITE_LUA = `
local key = KEYS[1]
local mode = ARGV[1]
local maxlen = ARGV[2]
local bytes = 0
for i = 7, #ARGV, 2 do bytes = bytes + #ARGV[i] end
if mode == 'e' then bytes = bytes + #ARGV[6] end
local inline = bytes <= ${INLINE_PUBLISH_BYTES}
local function num(n) return string.format('%.0f', n) end
local function base36(n)
  local digits = '0123456789abcdefghijklmnopqrstuvwxyz'
  local s = ''
  repeat
    local d = n % 36
    s = string.sub(digits, d + 1, d + 1) .. s
    n = (n - d) / 36
  until n == 0
  return s
end
local epoch, seq, sr, ended = nil, 0, '', false
local last = redis.call('XREVRANGE', key, '+', '-', 'COUNT', 1)
if #last > 0 then
  local f = last[1][2]
  for i = 1, #f, 2 do
    local k, v = f[i], f[i + 1]
    if k == 'epoch' then epoch = v
    elseif k == 'seq' then seq = tonumber(v)
    elseif k == 'sr' then sr = v
    elseif k == 'end' then ended = true end
  end
end
if ended then
  if mode == 'e' then return {epoch, seq + 1, 0, 0} end
  return redis.error_reply('RUNTRACE_ENDED the stream has ended')
end
local t = redis.call('TIME')
local now = num(tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000))
if epoch == nil then
  redis.call('DEL', key)
  epoch = base36(tonumber(t[1]) * 1000000 + tonumber(t[2]))
  seq = 0
end
local first = seq + 1
local firstId, lastId = nil, nil
local function add(data, reason)
  seq = seq + 1
  if reason ~= '' then sr = reason end
  lastId = num(seq) .. '-0'
  firstId = firstId or lastId
  redis.call('XADD', key, 'MAXLEN', '~', maxlen, lastId, 'epoch', epoch, 'seq', num(seq), 't', now, 'sr', sr, 'data', data)
  if inline then redis.call('PUBLISH', key, lastId .. ' ' .. epoch .. ' ' .. now .. ' 0 ' .. sr .. '\\n' .. data) end
end
for i = 7, #ARGV, 2 do add(ARGV[i], ARGV[i + 1]) end
local endNow = 0
if mode == 'e' then
  local want = ARGV[4]
  local need
  if want ~= '' then need = (sr ~= want) else need = (sr == '') end
  if need then
    if want ~= '' then add(ARGV[6], want) else add(ARGV[6], ARGV[5]) end
  end
  endNow = 1
elseif ARGV[4] == '1' then
  endNow = 1
end
if endNow == 1 then
  lastId = num(seq) .. '-1'
  firstId = firstId or lastId
  redis.call('XADD', key, 'MAXLEN', '~', maxlen, lastId, 'epoch', epoch, 'seq', num(seq), 't', now, 'sr', sr, 'end', '1')
  if inline then redis.call('PUBLISH', key, lastId .. ' ' .. epoch .. ' ' .. now .. ' 1 ' .. sr .. '\\n') end
end
if lastId ~= nil and not inline then redis.call('PUBLISH', key, '~ ' .. firstId .. ' ' .. lastId) end
redis.call('PEXPIRE', key, ARGV[3])
return {epoch, first, seq - first + 1, endNow}
`;

/** The write script as a command of the connection ({@link STREAM_WRITE_LUA}, defined with `defineCommand`). */
export interface ScriptCommands {
  runtraceStreamWrite(key: string, ...args: (string | number)[]): Promise<[string, number, number, number]>;
}
