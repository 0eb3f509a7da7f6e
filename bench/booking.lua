-- wrk script: POST /api/v1/bookings/ for 1 seat of one event, rotating over many users' tokens so that every
-- request carries a distinct buyer's identity; counts 201 / 409 / other per thread and sums them at the end.
-- Usage: wrk -s bench/booking.lua URL -- TOKENS_FILE EVENT_ID

local threads = {}

function setup(thread)
    thread:set("id", #threads)
    table.insert(threads, thread)
end

function init(args)
    tokens = {}
    for line in io.lines(args[1]) do tokens[#tokens + 1] = line end
    body = '{"event_id":' .. args[2] .. ',"seat_count":1}'
    next_token = id * 7919
    created, refused, other = 0, 0, 0
end

function request()
    next_token = next_token + 1
    local token = tokens[next_token % #tokens + 1]
    return wrk.format("POST", nil, {
        ["Authorization"] = "Bearer " .. token,
        ["Content-Type"] = "application/json",
    }, body)
end

function response(status, headers, body)
    if status == 201 then
        created = created + 1
    elseif status == 409 then
        refused = refused + 1
    else
        other = other + 1
    end
end

function done(summary, latency, requests)
    local c, r, o = 0, 0, 0
    for _, thread in ipairs(threads) do
        c = c + thread:get("created")
        r = r + thread:get("refused")
        o = o + thread:get("other")
    end
    io.write(string.format("statuses: 201=%d 409=%d other=%d\n", c, r, o))
end
