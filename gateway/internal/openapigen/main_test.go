package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	const generated = `{"swagger":"2.0","tags":[{"name":"RouteService"}],
	"paths":{"/v1/routes":{"post":{"parameters":[{"name":"route","in":"body","schema":{"$ref":"#/definitions/v1Route"}}]}},
	         "/v1/routes/{route}":{"patch":{"parameters":[{"name":"route","in":"path"},{"name":"route","in":"body","schema":{"type":"object","required":["filter","targets"]}}]}}},
	"definitions":{"v1Route":{"type":"object","required":["filter","targets"]}}}`
	tests := []struct {
		name     string
		fragment string
		wantErr  string
		check    func(t *testing.T, doc map[string]any)
	}{
		{
			name:     "merged, PATCH body relaxed, create kept",
			fragment: `{"tags":[{"name":"Webhooks"}],"paths":{"/healthz":{"get":{}}},"definitions":{"HealthStatus":{"type":"object"}}}`,
			check: func(t *testing.T, doc map[string]any) {
				paths := doc["paths"].(map[string]any)
				if paths["/healthz"] == nil {
					t.Error("/healthz was not merged")
				}
				if doc["definitions"].(map[string]any)["HealthStatus"] == nil {
					t.Error("HealthStatus was not merged")
				}
				if n := len(doc["tags"].([]any)); n != 2 {
					t.Errorf("%d tags, want 2", n)
				}
				patch := paths["/v1/routes/{route}"].(map[string]any)["patch"].(map[string]any)
				body := patch["parameters"].([]any)[1].(map[string]any)["schema"].(map[string]any)
				if body["required"] != nil {
					t.Errorf("PATCH body still requires %v", body["required"])
				}
				route := doc["definitions"].(map[string]any)["v1Route"].(map[string]any)
				if route["required"] == nil {
					t.Error("v1Route lost its required fields, which create needs")
				}
			},
		},
		{name: "path in both", fragment: `{"paths":{"/v1/routes":{"get":{}}}}`, wantErr: `path "/v1/routes" is in both documents`},
		{name: "definition in both", fragment: `{"definitions":{"v1Route":{}}}`, wantErr: `definition "v1Route" is in both documents`},
		{name: "fragment not JSON", fragment: `paths:`, wantErr: "invalid character"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			doc, frag := filepath.Join(dir, "doc.json"), filepath.Join(dir, "frag.json")
			if err := os.WriteFile(doc, []byte(generated), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(frag, []byte(tt.fragment), 0o644); err != nil {
				t.Fatal(err)
			}
			err := run(doc, frag)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("run = %v, want an error containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			b, _ := os.ReadFile(doc)
			var out map[string]any
			if err := json.Unmarshal(b, &out); err != nil {
				t.Fatalf("written document is not JSON: %v", err)
			}
			tt.check(t, out)
		})
	}
}
