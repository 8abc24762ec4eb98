// Command openapigen finishes the OpenAPI document `buf generate` writes
// (gateway/openapi/junction.swagger.json, from the protos) in place, as the
// last step of `make generate`:
//
//   - it merges the hand-written fragment gateway/openapi/http.swagger.json
//     (webhooks, health, readiness, metrics and the document itself: the
//     endpoints the protos do not describe), so the one served document
//     covers the whole HTTP listener;
//   - it drops "required" from the body of every PATCH: a PATCH is a
//     partial update (AIP-134) that changes the fields its update_mask
//     names (or the fields the body sets), so a body without the fields a
//     create needs (a route's filter and targets) is valid. The protos keep
//     field_behavior REQUIRED, which still holds for create, and
//     protoc-gen-openapiv2 has no option to render it per method.
//
// Usage: openapigen <generated.json> <fragment.json>
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: openapigen <generated.json> <fragment.json>")
		os.Exit(2)
	}
	if err := run(os.Args[1], os.Args[2]); err != nil {
		fmt.Fprintln(os.Stderr, "openapigen:", err)
		os.Exit(1)
	}
}

func run(docPath, fragPath string) error {
	var doc, frag map[string]any
	if err := readJSON(docPath, &doc); err != nil {
		return err
	}
	if err := readJSON(fragPath, &frag); err != nil {
		return err
	}
	if err := merge(doc, frag); err != nil {
		return fmt.Errorf("merge %s into %s: %w", fragPath, docPath, err)
	}
	relaxPatchBodies(doc)
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("encode %s: %w", docPath, err)
	}
	return os.WriteFile(docPath, buf.Bytes(), 0o644)
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// merge adds the fragment's paths, definitions and tags to doc. A path or
// definition both define is an error: the fragment describes only what the
// protos do not.
func merge(doc, frag map[string]any) error {
	var errs []error
	for _, key := range []string{"paths", "definitions"} {
		dst, _ := doc[key].(map[string]any)
		if dst == nil {
			dst = map[string]any{}
			doc[key] = dst
		}
		src, _ := frag[key].(map[string]any)
		names := make([]string, 0, len(src))
		for name := range src {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			if _, dup := dst[name]; dup {
				errs = append(errs, fmt.Errorf("%s %q is in both documents", strings.TrimSuffix(key, "s"), name))
				continue
			}
			dst[name] = src[name]
		}
	}
	tags, _ := doc["tags"].([]any)
	fragTags, _ := frag["tags"].([]any)
	doc["tags"] = append(tags, fragTags...)
	return errors.Join(errs...)
}

// relaxPatchBodies removes "required" from the top level of every PATCH
// operation's body schema.
func relaxPatchBodies(doc map[string]any) {
	paths, _ := doc["paths"].(map[string]any)
	for _, item := range paths {
		op, _ := item.(map[string]any)["patch"].(map[string]any)
		params, _ := op["parameters"].([]any)
		for _, p := range params {
			param, _ := p.(map[string]any)
			if param["in"] != "body" {
				continue
			}
			if schema, ok := param["schema"].(map[string]any); ok {
				delete(schema, "required")
			}
		}
	}
}
