package lockout

import "github.com/redis/go-redis/v9"

// The Lua statement of model.go's rule: one script per decision on each
// key it needs, so that concurrent attempts on any pod are counted
// atomically (review M1). Times come from the caller (ARGV now, in ms);
// numbers are written with %.0f, since Lua's tostring would write large
// ones in exponent form.

// accountScript runs one operation on an account's hash, KEYS[1]
// ("lockout:{tag}"): fields f, fe, i, ie, "p:"+source = "n,last,i" and
// "k:"+source = time of its last success.
//
// ARGV: now, op (begin, fail, ok, none, unlock), source, FreePerPair,
// MaxPerAccount, AccountWindow ms, ReservationTTL ms, KnownFor ms, MaxKnown.
// begin returns {ok, retry ms, reason (0 none, 1 account, 2 pair), known};
// the others return {1}. A refusal writes nothing.
var accountScript = redis.NewScript(`
local key, now, op, src = KEYS[1], tonumber(ARGV[1]), ARGV[2], ARGV[3]
local free, maxacct, window = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local resttl, knownfor, maxknown = tonumber(ARGV[7]), tonumber(ARGV[8]), tonumber(ARGV[9])

local f, fe, i, ie = 0, 0, 0, 0
local prs, known = {}, {}
local h = redis.call('HGETALL', key)
for j = 1, #h, 2 do
  local k, v = h[j], h[j + 1]
  if k == 'f' then f = tonumber(v)
  elseif k == 'fe' then fe = tonumber(v)
  elseif k == 'i' then i = tonumber(v)
  elseif k == 'ie' then ie = tonumber(v)
  elseif string.sub(k, 1, 2) == 'p:' then
    local n, last, pi = string.match(v, '^(%d+),(%d+),(%d+)$')
    prs[string.sub(k, 3)] = {tonumber(n), tonumber(last), tonumber(pi)}
  elseif string.sub(k, 1, 2) == 'k:' then
    known[string.sub(k, 3)] = tonumber(v)
  end
end

local function delay(n)
  if n < free then return 0 end
  return (2 ^ math.min(n - free, 40)) * 1000
end
local function pexp(p) return p[2] + math.max(window, delay(p[1])) end
local function num(x) return string.format('%.0f', x) end

-- prune, as accountState.prune
if f > 0 and now >= fe then f = 0 end
if i > 0 and now >= ie then
  i = 0
  for _, p in pairs(prs) do p[3] = 0 end
end
for s, p in pairs(prs) do
  if p[3] == 0 and now >= pexp(p) then prs[s] = nil end
end
for s, t in pairs(known) do
  if now >= t + knownfor then known[s] = nil end
end

local function save()
  redis.call('DEL', key)
  local fields, exp = {}, 0
  local function put(k, v) fields[#fields + 1] = k; fields[#fields + 1] = v end
  if f > 0 then put('f', num(f)); put('fe', num(fe)); exp = math.max(exp, fe) end
  if i > 0 then put('i', num(i)); put('ie', num(ie)); exp = math.max(exp, ie) end
  for s, p in pairs(prs) do
    if p[1] > 0 or p[3] > 0 then
      put('p:' .. s, num(p[1]) .. ',' .. num(p[2]) .. ',' .. num(p[3]))
      exp = math.max(exp, pexp(p))
      if p[3] > 0 then exp = math.max(exp, ie) end
    end
  end
  for s, t in pairs(known) do put('k:' .. s, num(t)); exp = math.max(exp, t + knownfor) end
  if #fields > 0 then
    redis.call('HSET', key, unpack(fields))
    redis.call('PEXPIREAT', key, num(exp))
  end
end

if op == 'begin' then
  local isknown = 0
  local ceiling = math.floor(maxacct / 2)
  if known[src] then isknown = 1; ceiling = maxacct end
  if f + i >= ceiling then
    local retry = 1000
    if f >= ceiling then retry = fe - now end
    return {0, retry, 1, isknown}
  end
  local p = prs[src] or {0, 0, 0}
  local inflight = p[3]
  if isknown == 1 then inflight = 0 end
  if p[1] + inflight >= free then
    if p[3] > 0 then return {0, 1000, 2, isknown} end
    local wait = p[2] + delay(p[1]) - now
    if wait > 0 then return {0, wait, 2, isknown} end
  end
  i = i + 1
  ie = now + resttl
  p[3] = p[3] + 1
  prs[src] = p
  save()
  return {1, 0, 0, isknown}
end

local p = prs[src]
if op ~= 'unlock' then
  if i > 0 then i = i - 1 end
  if p and p[3] > 0 then p[3] = p[3] - 1 end
end
if op == 'fail' then
  f = f + 1
  fe = now + window
  if not p then p = {0, 0, 0}; prs[src] = p end
  p[1] = p[1] + 1
  p[2] = now
elseif op == 'ok' then
  f = 0
  if p then p[1] = 0 end
  known[src] = now
  local count = 0
  for _ in pairs(known) do count = count + 1 end
  while count > maxknown do
    local oldest, t0 = nil, nil
    for s, t in pairs(known) do
      if t0 == nil or t < t0 or (t == t0 and s < oldest) then oldest, t0 = s, t end
    end
    known[oldest] = nil
    count = count - 1
  end
elseif op == 'unlock' then
  f = 0
  for _, q in pairs(prs) do q[1] = 0 end
end
save()
return {1}`)

// sourceScript runs one operation on a source's hash, KEYS[1]
// ("lockout:source:{address}"): fields f, fe, i, ie.
// ARGV: now, op (begin, fail, ok, none), MaxPerSource, SourceWindow ms,
// ReservationTTL ms. begin returns {ok, retry ms}; a refusal writes
// nothing, so a blocked source creates no key.
var sourceScript = redis.NewScript(`
local key, now, op = KEYS[1], tonumber(ARGV[1]), ARGV[2]
local maxsrc, window, resttl = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local v = redis.call('HMGET', key, 'f', 'fe', 'i', 'ie')
local f, fe, i, ie = tonumber(v[1] or '0'), tonumber(v[2] or '0'), tonumber(v[3] or '0'), tonumber(v[4] or '0')
local function num(x) return string.format('%.0f', x) end
if f > 0 and now >= fe then f = 0 end
if i > 0 and now >= ie then i = 0 end
if op == 'begin' then
  if f + i >= maxsrc then
    local retry = 1000
    if f >= maxsrc then retry = fe - now end
    return {0, retry}
  end
  i = i + 1
  ie = now + resttl
else
  if i > 0 then i = i - 1 end
  if op == 'fail' then
    if f == 0 then fe = now + window end
    f = f + 1
  end
end
redis.call('DEL', key)
if f > 0 or i > 0 then
  local exp = 0
  if f > 0 then redis.call('HSET', key, 'f', num(f), 'fe', num(fe)); exp = fe end
  if i > 0 then redis.call('HSET', key, 'i', num(i), 'ie', num(ie)); exp = math.max(exp, ie) end
  redis.call('PEXPIREAT', key, num(exp))
end
if op == 'begin' then return {1, 0} end
return {1}`)
