package gateway_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestRouteCRUDOverREST(t *testing.T) {
	e := newEnv(t)

	route := map[string]any{
		"description": "users to the CRM",
		"filter":      "acme.user.*",
		"condition":   `event.type == "user.created"`,
		"targets": []any{map[string]any{
			"destination": "webhook",
			"config":      map[string]any{"url": "https://example.com/hook"},
		}},
		// lowerCamelCase is accepted as well as snake_case.
		"policy": map[string]any{"maxAttempts": 3, "initial_backoff": "2s"},
	}
	status, body := e.do(t, http.MethodPost, "/v1/routes?route_id=users", route)
	if status != http.StatusOK {
		t.Fatalf("POST /v1/routes: got status %d, want 200: %v", status, body)
	}
	if body["name"] != "routes/users" || body["create_time"] == nil || body["createTime"] != nil {
		t.Errorf("POST /v1/routes: got %v, want the route itself in snake_case with name routes/users", body)
	}
	policy, _ := body["policy"].(map[string]any)
	if policy["max_attempts"] != float64(3) || policy["initial_backoff"] != "2s" {
		t.Errorf("POST /v1/routes: got policy %v, want max_attempts 3 and initial_backoff 2s", policy)
	}
	rev, _ := body["revision"].(string) // uint64 is a JSON string
	if rev == "" {
		t.Fatalf("POST /v1/routes: got revision %v, want a string", body["revision"])
	}

	status, body = e.do(t, http.MethodGet, "/v1/routes/users", nil)
	if status != http.StatusOK || body["description"] != "users to the CRM" {
		t.Fatalf("GET /v1/routes/users: got %d %v, want 200 and the route", status, body)
	}

	status, body = e.do(t, http.MethodPatch, "/v1/routes/users?update_mask=description", map[string]any{"description": "changed", "revision": rev})
	if status != http.StatusOK || body["description"] != "changed" || body["filter"] != "acme.user.*" {
		t.Fatalf("PATCH description: got %d %v, want 200, description changed, filter kept", status, body)
	}
	newRev, _ := body["revision"].(string)

	// Without update_mask the mask is the body's fields.
	status, body = e.do(t, http.MethodPatch, "/v1/routes/users", map[string]any{"condition": `event.type == "user.updated"`})
	if status != http.StatusOK || body["condition"] != `event.type == "user.updated"` || body["description"] != "changed" {
		t.Fatalf("PATCH condition without mask: got %d %v, want 200, condition changed, description kept", status, body)
	}

	// A route read, edited and sent back whole: the body-derived mask names
	// output-only fields too, which are ignored.
	_, read := e.do(t, http.MethodGet, "/v1/routes/users", nil)
	read["description"] = "edited whole"
	read["policy"] = map[string]any{"max_attempts": 5, "initial_backoff": "3s"}
	status, body = e.do(t, http.MethodPatch, "/v1/routes/users", read)
	if status != http.StatusOK || body["description"] != "edited whole" || body["revision"] == read["revision"] {
		t.Fatalf("PATCH of a read route: got %d %v, want 200, description changed, a new revision", status, body)
	}
	if p, _ := body["policy"].(map[string]any); p["max_attempts"] != float64(5) || p["initial_backoff"] != "3s" {
		t.Errorf("PATCH of a read route: got policy %v, want max_attempts 5, initial_backoff 3s", body["policy"])
	}

	// Several mask paths, comma separated.
	status, body = e.do(t, http.MethodPatch, "/v1/routes/users?update_mask=description,policy.max_attempts",
		map[string]any{"description": "two paths", "filter": "ignored.>", "policy": map[string]any{"max_attempts": 9}})
	if p, _ := body["policy"].(map[string]any); status != http.StatusOK || body["description"] != "two paths" ||
		body["filter"] != "acme.user.*" || p["max_attempts"] != float64(9) || p["initial_backoff"] != "3s" {
		t.Fatalf("PATCH ?update_mask=description,policy.max_attempts: got %d %v, want description and max_attempts changed, filter and initial_backoff kept", status, body)
	}

	errCases := []struct {
		name       string
		method     string
		path       string
		body       any
		wantStatus int
		wantCode   float64
		parts      []string
	}{
		{"stale revision", http.MethodPatch, "/v1/routes/users?update_mask=description", map[string]any{"description": "x", "revision": rev},
			http.StatusConflict, 10, []string{"is at revision", "not " + rev}},
		{"stale delete", http.MethodDelete, "/v1/routes/users?revision=" + newRev, nil,
			http.StatusConflict, 10, []string{"revision"}},
		{"invalid CEL", http.MethodPost, "/v1/routes?route_id=bad", map[string]any{"filter": "acme.>", "condition": "foo > 1", "targets": []any{map[string]any{"destination": "webhook"}}},
			http.StatusBadRequest, 3, []string{"condition", "undeclared reference to 'foo'"}},
		{"unknown mask path", http.MethodPatch, "/v1/routes/users?update_mask=bogus", map[string]any{"description": "x"},
			http.StatusBadRequest, 3, []string{"bogus"}},
		{"unknown JSON field", http.MethodPost, "/v1/routes?route_id=typo", map[string]any{"filtr": "acme.>"},
			http.StatusBadRequest, 3, []string{"filtr"}},
		{"missing", http.MethodGet, "/v1/routes/nope", nil,
			http.StatusNotFound, 5, []string{"route nope not found"}},
		{"taken", http.MethodPost, "/v1/routes?route_id=users", route,
			http.StatusConflict, 6, []string{"already exists"}},
	}
	for _, tc := range errCases {
		t.Run(tc.name, func(t *testing.T) {
			status, body := e.do(t, tc.method, tc.path, tc.body)
			if status != tc.wantStatus {
				t.Fatalf("%s %s: got status %d, want %d: %v", tc.method, tc.path, status, tc.wantStatus, body)
			}
			msg, _ := body["message"].(string)
			details, isArray := body["details"].([]any)
			if body["code"] != tc.wantCode || !isArray || len(details) != 0 {
				t.Errorf("error body: got %v, want code %v, a message and details []", body, tc.wantCode)
			}
			for _, p := range tc.parts {
				if !strings.Contains(msg, p) {
					t.Errorf("error message: got %q, want it to contain %q", msg, p)
				}
			}
		})
	}
	if status, _ := e.do(t, http.MethodGet, "/v1/routes/bad", nil); status != http.StatusNotFound {
		t.Errorf("route with invalid CEL: GET got status %d, want 404 (nothing stored)", status)
	}

	status, body = e.do(t, http.MethodGet, "/v1/routes/users", nil)
	if status != http.StatusOK {
		t.Fatalf("GET: %d %v", status, body)
	}
	cur, _ := body["revision"].(string)
	if status, body := e.do(t, http.MethodDelete, "/v1/routes/users?revision="+cur, nil); status != http.StatusOK {
		t.Fatalf("DELETE at current revision: got %d %v, want 200", status, body)
	}
	if status, _ := e.do(t, http.MethodGet, "/v1/routes/users", nil); status != http.StatusNotFound {
		t.Errorf("GET after DELETE: got %d, want 404", status)
	}
	if status, _ := e.do(t, http.MethodDelete, "/v1/routes/users?allow_missing=true", nil); status != http.StatusOK {
		t.Errorf("DELETE allow_missing of a missing route: got %d, want 200", status)
	}
}

func TestOpenAPI(t *testing.T) {
	e := newEnv(t)
	for _, path := range []string{"/openapi.json", "/openapi"} {
		t.Run(path, func(t *testing.T) {
			resp, err := e.rest.Client().Get(e.rest.URL + path)
			if err != nil {
				t.Fatalf("GET %s: %v", path, err)
			}
			defer resp.Body.Close()
			raw, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatalf("read: %v", err)
			}
			if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
				t.Fatalf("GET %s: got %d %q, want 200 application/json", path, resp.StatusCode, resp.Header.Get("Content-Type"))
			}
			var doc struct {
				Swagger string                     `json:"swagger"`
				Paths   map[string]json.RawMessage `json:"paths"`
			}
			if err := json.Unmarshal(raw, &doc); err != nil {
				t.Fatalf("GET %s: not JSON: %v", path, err)
			}
			if doc.Swagger != "2.0" {
				t.Errorf("swagger: got %q, want 2.0", doc.Swagger)
			}
			for _, p := range []string{"/v1/routes", "/v1/events", "/v1/adapters"} {
				if _, ok := doc.Paths[p]; !ok {
					t.Errorf("paths: %s missing from %v", p, keys(doc.Paths))
				}
			}
		})
	}
	if status, body := e.do(t, http.MethodGet, "/v2/nothing", nil); status != http.StatusNotFound || body["code"] != float64(5) {
		t.Errorf("GET unknown path: got %d %v, want 404 with a JSON error", status, body)
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
