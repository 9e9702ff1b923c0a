-- The pre-checks of one command, run as the first command of its read's trip (see api/gate.py).
-- Each check runs only when the ones before it passed, so a refused request counts against
-- no limit it did not reach.
-- KEYS[1] revoked tokens (set), KEYS[2] menu (a restaurant exists while it has one),
-- KEYS[3] tables (hash), KEYS[4] the idempotency key's answer, KEYS[5..] rate counters
-- ARGV[1] msgpack plan:
--   j  the token's id;  t  a diner's table ('' for staff);  s  the diner's table session
--   c  counter groups, in order: {u = 1 to skip the group when the idempotency key has an
--      answer already, k = {{key index, ttl seconds, limit}, ...}}; every counter of a group
--      is counted, then each is checked against its limit
-- Returns {'ok'} | {'revoked'} | {'restaurant'} | {'session'} | {'limit', group, counter, count}
local plan = cmsgpack.unpack(ARGV[1])
if redis.call('SISMEMBER', KEYS[1], plan.j) == 1 then return {'revoked'} end
if redis.call('EXISTS', KEYS[2]) == 0 then return {'restaurant'} end
if plan.t ~= '' then
  local raw = redis.call('HGET', KEYS[3], plan.t)
  if not raw or plan.s == '' then return {'session'} end
  local table = cmsgpack.unpack(raw)
  if table.status == 'free' or table.session ~= plan.s then return {'session'} end
end
local seen = nil
for g, group in ipairs(plan.c) do
  if group.u == 1 and seen == nil then seen = redis.call('EXISTS', KEYS[4]) end
  if group.u ~= 1 or seen == 0 then
    local counts = {}
    for n, c in ipairs(group.k) do
      counts[n] = redis.call('INCR', KEYS[c[1]])
      redis.call('EXPIRE', KEYS[c[1]], c[2])
    end
    for n, c in ipairs(group.k) do
      if counts[n] > c[3] then return {'limit', g, n, counts[n]} end
    end
  end
end
return {'ok'}
