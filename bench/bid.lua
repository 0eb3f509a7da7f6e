-- wrk script: POST /api/v1/items/{id}/bids on ONE item, rotating over many users' tokens. Every thread bids a rising
-- sequence of amounts interleaved with the other threads' (thread t bids 100 + t, 100 + t + T, …), so concurrent
-- bids race: those above the current highest (+ increment) are accepted (201), the rest refused (409 bid_too_low).
-- Usage: wrk -s bench/bid.lua URL -- TOKENS_FILE THREADS

local threads = {}

function setup(thread)
    thread:set("id", #threads)
    table.insert(threads, thread)
end

function init(args)
    tokens = {}
    for line in io.lines(args[1]) do tokens[#tokens + 1] = line end
    stride = tonumber(args[2])
    next_amount = 100 + id
    next_token = id * 7919
    accepted, refused, other = 0, 0, 0
end

function request()
    next_token = next_token + 1
    next_amount = next_amount + stride
    local token = tokens[next_token % #tokens + 1]
    return wrk.format("POST", nil, {
        ["Authorization"] = "Bearer " .. token,
        ["Content-Type"] = "application/json",
    }, '{"amount_cents":' .. next_amount .. '}')
end

function response(status, headers, body)
    if status == 201 then
        accepted = accepted + 1
    elseif status == 409 then
        refused = refused + 1
    else
        other = other + 1
    end
end

function done(summary, latency, requests)
    local a, r, o = 0, 0, 0
    for _, thread in ipairs(threads) do
        a = a + thread:get("accepted")
        r = r + thread:get("refused")
        o = o + thread:get("other")
    end
    io.write(string.format("statuses: 201=%d 409=%d other=%d\n", a, r, o))
end
