-- The open orders of one restaurant in one step (see Store.open_orders in kitchen/store.py).
-- KEYS[1] open-order index k:{R}:open, KEYS[2] orders hash k:{R}:orders
-- Returns false while the index is not marked complete (field '~'), else the msgpack values
-- of the indexed orders that exist.
if redis.call('HEXISTS', KEYS[1], '~') == 0 then return false end
local ids = redis.call('HKEYS', KEYS[1])
local out = {}
local chunk = {}
for n, id in ipairs(ids) do
  if id ~= '~' then chunk[#chunk + 1] = id end
  if #chunk == 500 or (n == #ids and #chunk > 0) then
    for _, v in ipairs(redis.call('HMGET', KEYS[2], unpack(chunk))) do
      if v then out[#out + 1] = v end
    end
    chunk = {}
  end
end
return out
