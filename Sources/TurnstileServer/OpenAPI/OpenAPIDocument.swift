import Foundation
import HTTPTypes
import TurnstileCore

/// The OpenAPI 3.1 document of the service, served at `GET /openapi.json`: every endpoint with its parameters,
/// request body, responses and problem+json refusals (each with its stable `code`s).
///
/// Its operations are generated from ``Endpoint/all``, the descriptors the router registers every handler through, so
/// the two cannot disagree; the refusals every operation of a kind can meet (a body's 400/408/413/415, a token's
/// 401/429, an id's 404) are added here. Its schemas are still written here, with the bounds of ``Limits``; a test
/// checks them field by field against the wire types.
enum OpenAPIDocument {
    /// The document, encoded once.
    static let json: Data = {
        // Built from literals only, so encoding cannot fail.
        try! JSONSerialization.data(withJSONObject: document, options: [.sortedKeys, .withoutEscapingSlashes])
    }()

    /// Every operation: (method, path).
    static var operations: [(method: String, path: String)] {
        Endpoint.all.map { (method: $0.method.rawValue, path: $0.path) }
    }

    private static var document: [String: Any] {
        [
            "openapi": "3.1.0",
            "info": [
                "title": "Turnstile",
                "version": "1.0.0",
                "description": """
                A reservation service that never oversells: event seats, product stock, credit balances and \
                auction bids. Every refusal is an RFC 9457 problem (application/problem+json) with a stable \
                `code`. Times are RFC 3339 in UTC, money is in integer cents, ids are integers.
                """,
            ],
            "paths": paths,
            "components": [
                "schemas": schemas,
                "securitySchemes": ["bearer": ["type": "http", "scheme": "bearer", "bearerFormat": "JWT"]],
            ],
        ]
    }

    // MARK: Paths

    /// Every ``Endpoint``, by path and lower-case method.
    private static var paths: [String: [String: Any]] {
        var paths: [String: [String: Any]] = [:]
        for endpoint in Endpoint.all {
            paths[endpoint.path, default: [:]][endpoint.method.rawValue.lowercased()] = operation(endpoint)
        }
        return paths
    }

    private static var paging: [[String: Any]] {
        [
            [
                "name": "page", "in": "query", "required": false,
                "schema": ["type": "integer", "minimum": 1, "maximum": Limits.pageNumberMax, "default": 1],
            ],
            [
                "name": "page_size", "in": "query", "required": false,
                "schema": [
                    "type": "integer", "minimum": 1, "maximum": Limits.pageSizeMax, "default": Limits.pageSizeDefault,
                ],
            ],
        ]
    }

    /// One operation, with the refusals every such operation can meet added to its own answers.
    private static func operation(_ endpoint: Endpoint) -> [String: Any] {
        var operation: [String: Any] = ["operationId": endpoint.id, "summary": endpoint.summary]
        var parameters = endpoint.paged ? paging : []
        var responses: [String: Any] = [:]
        for (status, answer) in endpoint.answers { responses[String(status)] = response(answer) }
        if let entity = endpoint.entity {
            parameters.append([
                "name": "id", "in": "path", "required": true, "description": "The \(entity)'s id.",
                "schema": ["type": "integer", "format": "int64", "minimum": 1, "maximum": Int64.max],
            ])
            responses["404"] = problem("No such \(entity).", ["not_found"])
        }
        if endpoint.idempotent {
            parameters.append([
                "name": "Idempotency-Key", "in": "header", "required": false,
                "description": "Makes the write safe to retry: a repeat with the same key answers the first result.",
                "schema": ["type": "string", "minLength": 1, "maxLength": Limits.idempotencyKeyLengthMax],
            ])
        }
        if !parameters.isEmpty { operation["parameters"] = parameters }
        var unprocessable = ["validation_failed"] + endpoint.extraUnprocessable
        if endpoint.idempotent { unprocessable.append("idempotency_key_reused") }
        if let body = endpoint.body {
            operation["requestBody"] = [
                "required": true, "content": ["application/json": ["schema": ["$ref": "#/components/schemas/\(body)"]]],
            ]
            responses["400"] = problem("The body is not JSON.", ["malformed_json"])
            responses["408"] = problem(
                "The body did not arrive within \(Limits.requestBodySecondsMax) s.", ["request_timeout"])
            responses["413"] = problem(
                "The body is larger than \(Limits.requestBodyBytesMax) bytes.", ["payload_too_large"])
            responses["415"] = problem("The body is not declared as JSON.", ["unsupported_media_type"])
        }
        if endpoint.body != nil || endpoint.entity != nil || endpoint.paged {
            responses["422"] = problem("A field, parameter or header is invalid; `field` names it.", unprocessable)
        }
        if endpoint.access == .authenticated {
            operation["security"] = [["bearer": [String]()]]
            responses["401"] = problem("No valid access token.", ["unauthorized"])
            responses["429"] = problem("The user's request budget is spent; see Retry-After.", ["rate_limited"])
        }
        if endpoint.mayBeUnavailable {
            responses["503"] = problem(
                "The store is down or too slow, or too many writes wait; see Retry-After.",
                ["store_unavailable", "overloaded"])
        }
        operation["responses"] = responses
        return operation
    }

    /// An answer as the document writes it.
    private static func response(_ answer: Endpoint.Answer) -> [String: Any] {
        switch answer {
        case .json(let schema, let description, let links): ok(schema, description, links: links)
        case .problem(let description, let codes): problem(description, codes)
        case .text(let description, let mediaType):
            ["description": description, "content": [mediaType: ["schema": ["type": "string"]]]]
        case .object(let description):
            ["description": description, "content": ["application/json": ["schema": ["type": "object"]]]]
        case .switching(let description): ["description": description]
        }
    }

    /// A JSON answer; `links` names the operations that take the answer's `id` as their path's `{id}` (so a
    /// client, or schemathesis's stateful tests, can follow one from the other).
    private static func ok(_ schema: String, _ description: String = "Success.", links: [String] = []) -> [String: Any]
    {
        var response: [String: Any] = [
            "description": description,
            "content": ["application/json": ["schema": ["$ref": "#/components/schemas/\(schema)"]]],
        ]
        if !links.isEmpty {
            response["links"] = Dictionary(
                uniqueKeysWithValues: links.map {
                    ($0, ["operationId": $0, "parameters": ["id": "$response.body#/id"]] as [String: Any])
                })
        }
        return response
    }

    private static func problem(_ description: String, _ codes: [String]) -> [String: Any] {
        [
            "description": description + " Codes: " + codes.joined(separator: ", ") + ".",
            "content": [
                "application/problem+json": [
                    "schema": [
                        "allOf": [
                            ["$ref": "#/components/schemas/Problem"],
                            ["type": "object", "properties": ["code": ["enum": codes]]],
                        ]
                    ]
                ]
            ],
        ]
    }

    // MARK: Schemas

    /// The wire types' schemas (``WireSchemas``) and the problem's, which is the server's own.
    private static var schemas: [String: Any] {
        var schemas = WireSchemas.schemas
        schemas["Problem"] = object(
            [
                "type": string, "title": string, "status": integer, "code": string, "detail": string,
                "available": integer, "requested": integer, "field": string, "balance": integer,
                "current_bid_cents": nullable(integer), "min_next_cents": integer, "current_status": string,
            ], required: ["type", "title", "status", "code", "detail"])
        return schemas
    }

    private static var string: [String: Any] { ["type": "string"] }
    private static var integer: [String: Any] { ["type": "integer", "format": "int64"] }
    /// A date-time the service keeps: from 1970 to 9999 in UTC, so in 1970 and 9999 only written in UTC (an offset
    /// could carry it into 1969 or 10000), and never the leap second 9999-12-31T23:59:60, which is 10000-01-01.
    static var keptDateTimePattern: String {
        let time = "[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}"
        // 9999 up to its last minute with any second, then that minute without :60; no look-ahead, so that every
        // regex dialect reads it alike.
        let lastYear =
            "9999-((0[0-9]|1[01])-[0-9]{2}\(time)|12-([0-2][0-9]|30)\(time)|12-31[Tt]([01][0-9]|2[0-2]):[0-9]{2}:[0-9]{2}"
            + "|12-31[Tt]23:([0-4][0-9]|5[0-8]):[0-9]{2}|12-31[Tt]23:59:[0-5][0-9])"
        return "^((197[1-9]|19[89][0-9]|[2-8][0-9]{3}|9[0-8][0-9]{2}|99[0-8][0-9]|999[0-8])-"
            + "|(1970-[0-9]{2}-[0-9]{2}\(time)|\(lastYear))(\\.[0-9]+)?([Zz]|[+-]00:00)$)"
    }

    private static func nullable(_ schema: [String: Any]) -> [String: Any] {
        var schema = schema
        schema["type"] = [schema["type"] as? String ?? "string", "null"]
        return schema
    }

    /// An object schema. Responses list every member as required; request bodies (`strict: false`) ignore unknown
    /// members, as the service does, and require the members given in `required` (all of them unless told).
    private static func object(
        _ properties: [String: Any], required: [String]? = nil, strict: Bool = true
    ) -> [String: Any] {
        var schema: [String: Any] = [
            "type": "object", "properties": properties, "required": (required ?? Array(properties.keys)).sorted(),
        ]
        if strict { schema["additionalProperties"] = false }
        return schema
    }
}
