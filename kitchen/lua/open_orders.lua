-- The open orders of one restaurant in one step (see Store.open_orders in kitchen/store.py).
-- KEYS[1] open-order index k:{R}:open, KEYS[2] orders hash k:{R}:orders
-- Returns false while the index is not marked complete (field '~'), else the msgpack values
-- of the indexed orders that exist (the mark names no order, so HMGET skips it).
if redis.call('HEXISTS', KEYS[1], '~') == 0 then return false end
local ids = redis.call('HKEYS', KEYS[1])
local out = {}
for first = 1, #ids, 500 do  -- HMGET in slices: Lua's unpack has a limit
  for _, v in ipairs(redis.call('HMGET', KEYS[2], unpack(ids, first, math.min(first + 499, #ids)))) do
    if v then out[#out + 1] = v end
  end
end
return out
