-- One atomic step of the write path (see kitchen/store.py).
-- KEYS[1] log stream, KEYS[2] idempotency hash ('' plan.i = none), KEYS[3] epoch, KEYS[4..] state
-- ARGV[1] msgpack plan:
--   i  idempotency ttl in seconds (0: no idempotency key)
--   m  MAXLEN ~ of the log;  e  epoch to set when the log has none
--   g  guards  [[key index, field or '', expected value or false]]
--   h  hash writes [[key index, field, value or false (= HDEL)]]
--   s  string writes [[key index, value or false (= DEL), ttl seconds or 0]]
--   v  events (msgpack bytes), appended in order;  r  response to keep for the idempotency key
-- Appending events also publishes the log's key on channel k:news (readers' hint).
-- Returns {'ok', first_pos, last_pos} | {'dup', response, pos} | {'conflict', key, field}
local plan = cmsgpack.unpack(ARGV[1])
if plan.i > 0 then
  local prev = redis.call('HMGET', KEYS[2], 'r', 'p')
  if prev[1] then return {'dup', prev[1], prev[2] or ''} end
end
for _, g in ipairs(plan.g) do
  local cur
  if g[2] == '' then cur = redis.call('GET', KEYS[g[1]]) else cur = redis.call('HGET', KEYS[g[1]], g[2]) end
  if cur ~= g[3] then return {'conflict', KEYS[g[1]], g[2]} end
end
for _, w in ipairs(plan.h) do
  if w[3] == false then redis.call('HDEL', KEYS[w[1]], w[2]) else redis.call('HSET', KEYS[w[1]], w[2], w[3]) end
end
for _, w in ipairs(plan.s) do
  if w[2] == false then redis.call('DEL', KEYS[w[1]])
  elseif w[3] > 0 then redis.call('SET', KEYS[w[1]], w[2], 'EX', w[3])
  else redis.call('SET', KEYS[w[1]], w[2]) end
end
redis.call('SET', KEYS[3], plan.e, 'NX')
local first, last = '', ''
for n, ev in ipairs(plan.v) do
  last = redis.call('XADD', KEYS[1], 'MAXLEN', '~', plan.m, '*', 'e', ev)
  if n == 1 then first = last end
end
if last ~= '' then redis.call('PUBLISH', 'k:news', KEYS[1]) end  -- kitchen.keys.NEWS
if plan.i > 0 then
  redis.call('HSET', KEYS[2], 'r', plan.r, 'p', last)
  redis.call('EXPIRE', KEYS[2], plan.i)
end
return {'ok', first, last}
