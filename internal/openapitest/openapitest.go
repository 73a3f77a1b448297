// Package openapitest checks HTTP responses against the OpenAPI document (docs/openapi.json): the
// documented statuses of each operation, and a JSON-Schema subset (the one the document uses) for bodies.
package openapitest

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/waes/onboarding/internal/testenv"
)

// Document is the part of docs/openapi.json the tests read.
type Document struct {
	Paths      map[string]map[string]Operation `json:"paths"`
	Components struct {
		Schemas map[string]json.RawMessage `json:"schemas"`
	} `json:"components"`
}

// Operation is one documented operation.
type Operation struct {
	Responses map[string]struct {
		Content map[string]struct {
			Schema json.RawMessage `json:"schema"`
		} `json:"content"`
	} `json:"responses"`
}

// Load reads docs/openapi.json, found by walking up from the working directory to the module root.
func Load(t *testing.T) *Document {
	t.Helper()
	root, err := testenv.Root()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, "docs", "openapi.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc Document
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("docs/openapi.json: %v", err)
	}
	return &doc
}

// Validate checks v against the subset of JSON Schema the document uses: $ref, type, required, properties,
// additionalProperties false, enum, pattern, maxLength, minItems, maxItems, items.
func Validate(doc *Document, raw json.RawMessage, v any, path string) error {
	var s struct {
		Ref                  string                     `json:"$ref"`
		Type                 string                     `json:"type"`
		Required             []string                   `json:"required"`
		Properties           map[string]json.RawMessage `json:"properties"`
		AdditionalProperties *bool                      `json:"additionalProperties"`
		Enum                 []any                      `json:"enum"`
		Pattern              string                     `json:"pattern"`
		MaxLength            *int                       `json:"maxLength"`
		MinItems             *int                       `json:"minItems"`
		MaxItems             *int                       `json:"maxItems"`
		Items                json.RawMessage            `json:"items"`
		Format               string                     `json:"format"`
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		return fmt.Errorf("%s: bad schema: %v", path, err)
	}
	if s.Ref != "" {
		name := strings.TrimPrefix(s.Ref, "#/components/schemas/")
		sub, ok := doc.Components.Schemas[name]
		if !ok {
			return fmt.Errorf("%s: unknown $ref %s", path, s.Ref)
		}
		return Validate(doc, sub, v, path)
	}
	switch s.Type {
	case "object":
		m, ok := v.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: got %T, want an object", path, v)
		}
		for _, r := range s.Required {
			if _, ok := m[r]; !ok {
				return fmt.Errorf("%s: missing required %q", path, r)
			}
		}
		for k, val := range m {
			sub, ok := s.Properties[k]
			if !ok {
				if s.AdditionalProperties != nil && !*s.AdditionalProperties {
					return fmt.Errorf("%s: undocumented property %q", path, k)
				}
				continue
			}
			if err := Validate(doc, sub, val, path+"."+k); err != nil {
				return err
			}
		}
	case "array":
		a, ok := v.([]any)
		if !ok {
			return fmt.Errorf("%s: got %T, want an array", path, v)
		}
		if s.MinItems != nil && len(a) < *s.MinItems || s.MaxItems != nil && len(a) > *s.MaxItems {
			return fmt.Errorf("%s: %d items out of bounds", path, len(a))
		}
		for i, e := range a {
			if err := Validate(doc, s.Items, e, fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	case "string":
		str, ok := v.(string)
		if !ok {
			return fmt.Errorf("%s: got %T, want a string", path, v)
		}
		if s.Pattern != "" && !regexp.MustCompile(s.Pattern).MatchString(str) {
			return fmt.Errorf("%s: %q does not match %s", path, str, s.Pattern)
		}
		if s.MaxLength != nil && len(str) > *s.MaxLength {
			return fmt.Errorf("%s: longer than %d", path, *s.MaxLength)
		}
		if s.Format == "date-time" {
			if _, err := time.Parse(time.RFC3339, str); err != nil {
				return fmt.Errorf("%s: %q is not RFC 3339", path, str)
			}
		}
	case "integer":
		f, ok := v.(float64)
		if !ok || f != float64(int64(f)) {
			return fmt.Errorf("%s: got %v, want an integer", path, v)
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			return fmt.Errorf("%s: got %T, want a boolean", path, v)
		}
	}
	if len(s.Enum) > 0 && !slices.Contains(s.Enum, v) {
		return fmt.Errorf("%s: %v is not one of %v", path, v, s.Enum)
	}
	return nil
}

// JSONSchema returns the application/json schema documented for a response of an operation, or nil.
func (d *Document) JSONSchema(path, method string, status int) (json.RawMessage, bool) {
	op, ok := d.Paths[path][strings.ToLower(method)]
	if !ok {
		return nil, false
	}
	resp, ok := op.Responses[fmt.Sprint(status)]
	if !ok {
		return nil, false
	}
	return resp.Content["application/json"].Schema, true
}
