import Yams

extension YAMLReader {
    func subscribers(_ node: Node) throws(ScenarioError) -> [ScenarioFile.Subscribers] {
        var groups: [ScenarioFile.Subscribers] = []
        for item in try sequence(node, "'subscribers'") {
            let map = try mapping(
                item, "a group of subscribers",
                keys: ["name", "kind", "count", "url", "headers", "subscribe", "key", "ready", "grace"])
            let name = try uniqueName(map, item, "a group of subscribers", taken: groups.map(\.name))
            guard let count = map["count"], let url = map["url"], let key = map["key"] else {
                throw error("subscribers need 'count', 'url' and 'key' (how a message names its event)", item)
            }
            let kindText = try map["kind"].map { node throws(ScenarioError) in try string(node, "'kind'") }
            guard let kind = ScenarioFile.Subscribers.Kind(rawValue: kindText ?? "websocket") else {
                throw error("'kind' is websocket or sse, not '\(kindText ?? "")'", map["kind"]!)
            }
            let keyExpression = try expression(key, "'key'")
            if let name = keyExpression.names.first(where: { !AnswerScope.names.contains($0.name[0]) }) {
                throw ScenarioError(
                    "'key' reads a message's JSON as 'body' (body.bid.amount), not '\(name.name[0])'",
                    at: name.position)
            }
            let subscribe = try map["subscribe"].map { node throws(ScenarioError) in
                guard kind == .websocket else {
                    throw error("'subscribe' sends a WebSocket message; SSE has none", node)
                }
                return try template(node, "'subscribe'")
            }
            let ready =
                try map["ready"].map { node throws(ScenarioError) in try string(node, "'ready'") } ?? "connected"
            guard ["connected", "message"].contains(ready) else {
                throw error(
                    "'ready' is connected (subscribed once the feed answers) or message (at its first message)",
                    map["ready"]!)
            }
            groups.append(
                .init(
                    name: name, kind: kind, count: try expression(count, "'count'"), url: try template(url, "'url'"),
                    headers: try headers(map["headers"]), subscribe: subscribe, key: keyExpression,
                    awaitsFirstMessage: ready == "message",
                    grace: try map["grace"].map { node throws(ScenarioError) in try duration(node, "'grace'") },
                    position: position(item)))
        }
        return groups
    }
}
