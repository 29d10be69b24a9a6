-- Releases a lock only if this holder still owns it (its token), so a holder whose lease ran out cannot
-- free the lock another has taken since.
-- KEYS: the lock. ARGV: the holder's token.
-- Returns 1 when released, 0 otherwise.
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
