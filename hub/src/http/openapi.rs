//! `GET /v1/openapi.json`: the API described as OpenAPI 3.1.

use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use super::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/v1/openapi.json", get(openapi))
}

async fn openapi() -> Json<Value> {
    Json(document())
}

/// The OpenAPI document.
pub(crate) fn document() -> Value {
    let receipt = json!({
        "type": "object",
        "required": ["file_id", "name", "sha256", "bytes", "status", "received_at"],
        "properties": {
            "file_id": {"type": "integer"},
            "name": {"type": "string"},
            "sha256": {"type": "string", "description": "lower-case hex"},
            "bytes": {"type": "integer"},
            "status": {"type": "string", "description": "received: stored durably, waiting for ingest"},
            "received_at": {"type": "string", "format": "date-time"}
        }
    });
    let file_info = json!({
        "type": "object",
        "properties": {
            "file_id": {"type": "integer"},
            "direction": {"type": "string", "enum": ["in", "out"]},
            "name": {"type": "string"},
            "sha256": {"type": "string"},
            "bytes": {"type": "integer"},
            "status": {"type": "string"},
            "received_at": {"type": "string", "format": "date-time"}
        }
    });
    let error = json!({"type": "object", "properties": {"error": {"type": "string"}}});
    let result = json!({
        "type": "object",
        "required": ["file_id", "status", "records", "accepted", "rejected", "rejections"],
        "properties": {
            "file_id": {"type": "integer"},
            "status": {"type": "string", "enum": ["received", "accepted", "partially_accepted", "rejected"],
                       "description": "received: not ingested yet"},
            "records": {"type": "integer", "description": "records read (for a whole-file rejection: those read before it)"},
            "accepted": {"type": "integer"},
            "rejected": {"type": "integer"},
            "rejections": {"type": "array", "items": {
                "type": "object",
                "required": ["record", "code", "reason"],
                "properties": {
                    "record": {"type": "integer", "description": "record number in the file; 0: the file as a whole"},
                    "code": {"type": "string", "enum": ["F01", "F02", "F03", "F04", "F05", "R01", "R02", "R03", "R04", "R05", "R06", "R07"]},
                    "field": {"type": "string", "description": "the field at fault, as the file spells it"},
                    "reason": {"type": "string"}
                }
            }}
        }
    });
    let seal = json!({"name": "Hutong-Seal", "in": "header", "required": false, "schema": {"type": "string"},
                      "description": "SM4-CMAC of the whole body under the participant's seal key, 32 hex digits (docs/seals.md). Required when the participant has a seal key: a missing or wrong seal rejects the file at ingest (F05)."});
    let err = |text: &str| json!({"description": text, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}});
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "hutong file exchange",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Mutual TLS only (TLS 1.3): the client certificate, issued by the hub CA, names the participant (SAN URI urn:hutong:participant:CODE). Every request is audited."
        },
        "paths": {
            "/v1/files/{name}": {
                "put": {
                    "summary": "Upload a file (raw body, streamed); it is ingested after it is stored",
                    "parameters": [{"name": "name", "in": "path", "required": true, "schema": {"type": "string"},
                                    "description": "1-255 bytes, no '/', '\\\\' or '..'"}, seal],
                    "requestBody": {"required": true, "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}},
                    "responses": {
                        "201": {"description": "Stored durably; the receipt", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Receipt"}}}},
                        "200": {"description": "The same content was sent before: the first receipt, nothing new stored", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Receipt"}}}},
                        "400": err("Bad name, an empty body, or a body cut off"),
                        "403": err("The certificate's participant is not registered"),
                        "413": err("Larger than the configured limit")
                    }
                },
                "get": {
                    "summary": "Download one of the caller's files (the path segment is a file_id)",
                    "parameters": [{"name": "name", "in": "path", "required": true, "schema": {"type": "integer"}, "description": "file_id"}],
                    "responses": {
                        "200": {"description": "The content; header x-hutong-sha256 carries its digest, and Hutong-Seal its seal when the caller has a seal key", "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}},
                        "403": err("Another participant's file (logged)"),
                        "404": err("No such file")
                    }
                }
            },
            "/v1/files/{name}/result": {
                "get": {
                    "summary": "The outcome of one of the caller's uploads (the path segment is a file_id)",
                    "parameters": [{"name": "name", "in": "path", "required": true, "schema": {"type": "integer"}, "description": "file_id"}],
                    "responses": {
                        "200": {"description": "Status, counts and every rejection (streamed)", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/FileResult"}}}},
                        "403": err("Not the caller's upload (logged)"),
                        "404": err("No such file")
                    }
                }
            },
            "/v1/files": {
                "get": {
                    "summary": "List the caller's files",
                    "parameters": [{"name": "direction", "in": "query", "required": false,
                                    "schema": {"type": "string", "enum": ["in", "out"]},
                                    "description": "in: uploaded by the caller; out: addressed to the caller; both when absent"}],
                    "responses": {
                        "200": {"description": "Oldest first", "content": {"application/json": {"schema": {"type": "array", "items": {"$ref": "#/components/schemas/FileInfo"}}}}},
                        "400": err("Bad or repeated query parameter")
                    }
                }
            },
            "/v1/settlements/{day}": {
                "get": {
                    "summary": "The caller's statement of a closed settlement window",
                    "parameters": [
                        {"name": "day", "in": "path", "required": true, "schema": {"type": "string", "format": "date"}},
                        {"name": "format", "in": "query", "required": false,
                         "schema": {"type": "string", "enum": ["json", "xml", "csv", "xlsx"]},
                         "description": "json (default); xml is ISO 20022 camt.053.001.08; csv; xlsx"}
                    ],
                    "responses": {
                        "200": {"description": "The statement: lines (TXNS, FEES, ADJS), credits, debits and the net in fen", "content": {"application/json": {}, "application/xml": {}, "text/csv": {}, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {}}},
                        "400": err("Bad day or format"),
                        "404": err("The window of that day is not closed")
                    }
                }
            },
            "/v1/openapi.json": {"get": {"summary": "This document", "responses": {"200": {"description": "OpenAPI 3.1"}}}}
        },
        "components": {"schemas": {"Receipt": receipt, "FileInfo": file_info, "FileResult": result, "Error": error}}
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_document_describes_results_and_seals() {
        let doc = super::document();
        assert!(doc["paths"]["/v1/files/{name}/result"]["get"].is_object());
        assert_eq!(
            doc["components"]["schemas"]["FileResult"]["properties"]["rejections"]["items"]["properties"]["code"]["enum"]
                .as_array()
                .map(Vec::len),
            Some(12)
        );
        let put = &doc["paths"]["/v1/files/{name}"]["put"]["parameters"];
        assert!(
            put.as_array()
                .unwrap()
                .iter()
                .any(|p| p["name"] == "Hutong-Seal")
        );
    }
}
