-- Makes a subscription active again, only if it still exists: a resume racing a delete must not leave
-- half a subscription behind.
-- KEYS: the subscription's hash. ARGV: the active state's name.
-- Returns 1 when resumed, 0 when there is no such subscription.
if redis.call('exists', KEYS[1]) == 0 then return 0 end
redis.call('hset', KEYS[1], 'state', ARGV[1], 'failures', 0, 'last_error', '')
return 1
