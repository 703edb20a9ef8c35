/* json_schema.h — JSON schemas compiled for constrained generation, and a
 * validator.
 *
 * json_schema_compile() turns a JSON Schema document (the subset below)
 * into a tree that engine/json/json_matcher.h walks byte by byte, so generated
 * text is always a JSON value that parses and validates. Supported:
 *
 *   type             "object" "array" "string" "integer" "number" "boolean"
 *                    "null", or an array of them (alternatives)
 *   object           properties (emitted in the schema's order; optional
 *                    ones may be left out), required, additionalProperties
 *                    (a boolean; extra properties are never generated and
 *                    the validator rejects them either way)
 *   array            items (one schema), minItems, maxItems
 *   string           minLength, maxLength (in code points)
 *   integer, number  minimum, maximum, exclusiveMinimum, exclusiveMaximum
 *                    (numbers or draft-4 booleans). Generated integers
 *                    have at most 16 digits and lie within +-(2^53-1);
 *                    numbers have at most 12 integer and 6 fraction digits
 *                    and no exponent.
 *   enum, const      any JSON values, generated as cJSON prints them
 *   anyOf, oneOf     alternatives that begin with different characters
 *                    (e.g. a string or null; not two objects)
 *   $ref             "#/..." JSON pointers into the same document
 *                    (#/definitions/x, #/$defs/x); recursion is rejected
 *   annotations      title, description, $comment, examples, default,
 *                    $schema, $id, definitions, $defs, ... are ignored
 *
 * Any other keyword is an error naming the keyword and its location
 * ("#/properties/a/items: unsupported keyword \"pattern\""). A compiled
 * schema is immutable and may be shared by threads.
 */
#ifndef PRECIS_JSON_SCHEMA_H
#define PRECIS_JSON_SCHEMA_H

#include <stddef.h>

#include "common/error.h"

typedef struct json_schema json_schema;
typedef struct cJSON cJSON;

typedef struct json_schema_options {
    /* Whitespace bytes (space or newline) allowed in a row between JSON
     * tokens; 0 = compact output. One leading space before the value is
     * always allowed (SentencePiece pieces start with one). */
    int max_whitespace;
} json_schema_options;

/* max_whitespace 1. */
json_schema_options json_schema_default_options(void);

/* Compile schema text (JSON). opts may be NULL for the defaults. */
int json_schema_compile(json_schema **out, const char *text, size_t len,
                        const json_schema_options *opts, perr *err);
void json_schema_free(json_schema *s);

/* Does value satisfy the schema? On failure err names the first problem
 * and where ("$.key_points[2].point: longer than 120 characters"). */
int json_schema_validate(const json_schema *s, const cJSON *value, perr *err);

/* The same for JSON text (which must be one complete JSON value). */
int json_schema_validate_text(const json_schema *s, const char *text, size_t len, perr *err);

/* Bytes in the shortest JSON text the schema accepts. */
size_t json_schema_min_length(const json_schema *s);

#endif
