// Package jiratest is a stand-in for Jira Cloud's REST API v3, for the
// jira destination's tests (no maintained fake exists). It serves the
// calls the destination makes over TLS, checks each against the documented
// API (paths, methods, basic auth, JSON fields, Atlassian Document
// Format), keeps the issues and comments created, and answers 429, 5xx or
// 4xx on demand.
//
// Documented shapes it checks:
//   - POST /rest/api/3/issue {"fields": {"project": {"key"}, "issuetype":
//     {"name"}, "summary", "description"?: ADF doc, "labels"?: [string
//     without spaces], "priority"?: {"name"}}, "properties"?: [{"key",
//     "value"}]} answered 201 {"id", "key", "self"};
//   - POST /rest/api/3/issue/{issueIdOrKey}/comment {"body": ADF doc,
//     "properties"?} answered 201, 404 for an unknown issue;
//   - GET /rest/api/3/search/jql?jql=...&fields=...&maxResults=... answered
//     {"issues": [{"id", "key"}], "isLast": true};
//
// and errors as Jira's error collection {"errorMessages": [...], "errors":
// {field: message}}.
package jiratest

import (
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/junctionhq/junction/adapters/sdk/sdktest/conformance"
)

// The credentials the stand-in accepts.
const (
	Email = "bot@acme.example"
	Token = "ATATT3xFfGF0-jira-test-token"
)

// Issue is an issue the stand-in created.
type Issue struct {
	Key         string
	Project     string
	IssueType   string
	Summary     string
	Description map[string]any
	Labels      []string
	Priority    string
	DeliveryID  string
}

// Comment is a comment the stand-in added.
type Comment struct {
	Issue      string
	Body       map[string]any
	DeliveryID string
}

// Server is the stand-in. URL is the site's base URL; CAFile a PEM file
// of its certificate, for the adapter's ca_file.
type Server struct {
	URL    string
	CAFile string

	mu         sync.Mutex
	projects   []string
	script     []conformance.Answer
	issues     []Issue
	comments   []Comment
	received   []conformance.Received
	searches   []string
	violations []string
}

// New starts the stand-in with project OPS; it stops when the test ends.
func New(t testing.TB) *Server {
	t.Helper()
	s := &Server{projects: []string{"OPS"}}
	ts := httptest.NewTLSServer(http.HandlerFunc(s.serve))
	t.Cleanup(ts.Close)
	s.URL = ts.URL
	s.CAFile = filepath.Join(t.TempDir(), "jira-ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ts.Certificate().Raw})
	if err := os.WriteFile(s.CAFile, pemBytes, 0o600); err != nil {
		t.Fatalf("jiratest: %v", err)
	}
	return s
}

// Script sets the answers to the next writes (issue and comment
// creation), in order; the last repeats. Searches always answer.
func (s *Server) Script(answers ...conformance.Answer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.script = append([]conformance.Answer(nil), answers...)
}

// AddIssue adds an existing issue to comment on.
func (s *Server) AddIssue(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.issues = append(s.issues, Issue{Key: key, Project: strings.Split(key, "-")[0]})
}

// Received returns every write, for the conformance suite: its key is the
// delivery id of the junction.delivery property.
func (s *Server) Received() []conformance.Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.received)
}

// Issues returns the issues created.
func (s *Server) Issues() []Issue {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.issues)
}

// Comments returns the comments added.
func (s *Server) Comments() []Comment {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.comments)
}

// Searches returns the JQL of every search.
func (s *Server) Searches() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.searches)
}

// Violations returns what requests did against the documented API; a
// test expects none.
func (s *Server) Violations() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.violations)
}

// fail answers Jira's error collection and records a violation.
func (s *Server) fail(w http.ResponseWriter, code int, field, msg string) {
	s.mu.Lock()
	s.violations = append(s.violations, fmt.Sprintf("%d %s %s", code, field, msg))
	s.mu.Unlock()
	answer(w, code, errorCollection(field, msg))
}

func errorCollection(field, msg string) map[string]any {
	if field == "" {
		return map[string]any{"errorMessages": []string{msg}, "errors": map[string]string{}}
	}
	return map[string]any{"errorMessages": []string{}, "errors": map[string]string{field: msg}}
}

func answer(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

var (
	jqlLabel    = regexp.MustCompile(`^labels = "([^"\s]+)"$`)
	commentPath = regexp.MustCompile(`^/rest/api/3/issue/([^/]+)/comment$`)
)

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	want := "Basic " + base64.StdEncoding.EncodeToString([]byte(Email+":"+Token))
	if r.Header.Get("Authorization") != want {
		s.fail(w, http.StatusUnauthorized, "", "Client must be authenticated to access this resource.")
		return
	}
	raw, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return
	}
	switch {
	case r.URL.Path == "/rest/api/3/search/jql":
		if r.Method != http.MethodGet {
			s.fail(w, http.StatusMethodNotAllowed, "", "search/jql takes GET here")
			return
		}
		s.search(w, r)
	case r.URL.Path == "/rest/api/3/issue":
		if !s.write(w, r, raw) {
			return
		}
		s.createIssue(w, raw)
	case commentPath.MatchString(r.URL.Path):
		if !s.write(w, r, raw) {
			return
		}
		s.addComment(w, raw, commentPath.FindStringSubmatch(r.URL.Path)[1])
	default:
		s.fail(w, http.StatusNotFound, "", "no such resource: "+r.Method+" "+r.URL.Path)
	}
}

// write checks a write's method and content type, records it and plays
// the script; false when it has answered.
func (s *Server) write(w http.ResponseWriter, r *http.Request, raw []byte) bool {
	if r.Method != http.MethodPost {
		s.fail(w, http.StatusMethodNotAllowed, "", r.URL.Path+" takes POST")
		return false
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		s.fail(w, http.StatusUnsupportedMediaType, "", "Content-Type must be application/json, got "+ct)
		return false
	}
	var body struct {
		Properties []struct {
			Key   string `json:"key"`
			Value struct {
				DeliveryID string `json:"delivery_id"`
			} `json:"value"`
		} `json:"properties"`
	}
	if json.Unmarshal(raw, &body) != nil {
		s.fail(w, http.StatusBadRequest, "", "body is not a JSON object")
		return false
	}
	var id string
	for _, p := range body.Properties {
		if p.Key == "junction.delivery" {
			id = p.Value.DeliveryID
		}
	}
	s.mu.Lock()
	s.received = append(s.received, conformance.Received{IdempotencyKey: id, At: time.Now()})
	var a conformance.Answer
	if len(s.script) > 0 {
		a = s.script[0]
		if len(s.script) > 1 {
			s.script = s.script[1:]
		}
	}
	s.mu.Unlock()
	if a.Hold != nil {
		select {
		case <-a.Hold:
		case <-r.Context().Done():
			return false
		}
	}
	if a.Status == 0 || a.Status/100 == 2 {
		return true
	}
	if a.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int((a.RetryAfter+time.Second-1)/time.Second)))
	}
	switch {
	case a.Status == http.StatusTooManyRequests:
		answer(w, a.Status, errorCollection("", "Rate limit exceeded."))
	case a.Status >= 500:
		answer(w, a.Status, errorCollection("", "Internal server error."))
	default:
		answer(w, a.Status, errorCollection("summary", "You must specify a summary of the issue."))
	}
	return false
}

func (s *Server) search(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	jql := q.Get("jql")
	s.mu.Lock()
	s.searches = append(s.searches, jql)
	s.mu.Unlock()
	m := jqlLabel.FindStringSubmatch(jql)
	if m == nil {
		s.fail(w, http.StatusBadRequest, "", "the stand-in takes only jql labels = \"<label>\", got "+jql)
		return
	}
	if n, err := strconv.Atoi(q.Get("maxResults")); q.Get("maxResults") != "" && (err != nil || n < 1) {
		s.fail(w, http.StatusBadRequest, "", "maxResults must be a positive number")
		return
	}
	s.mu.Lock()
	found := []map[string]string{}
	for i, is := range s.issues {
		if slices.Contains(is.Labels, m[1]) {
			found = append(found, map[string]string{"id": strconv.Itoa(10000 + i), "key": is.Key})
		}
	}
	s.mu.Unlock()
	answer(w, http.StatusOK, map[string]any{"issues": found, "isLast": true})
}

func (s *Server) createIssue(w http.ResponseWriter, raw []byte) {
	var body struct {
		Fields struct {
			Project     *struct{ Key string }  `json:"project"`
			IssueType   *struct{ Name string } `json:"issuetype"`
			Summary     any                    `json:"summary"`
			Description map[string]any         `json:"description"`
			Labels      []string               `json:"labels"`
			Priority    *struct{ Name string } `json:"priority"`
		} `json:"fields"`
		Properties []struct {
			Key   string          `json:"key"`
			Value json.RawMessage `json:"value"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(raw, &body); err != nil {
		s.fail(w, http.StatusBadRequest, "", "body does not match the create issue request: "+err.Error())
		return
	}
	f := body.Fields
	s.mu.Lock()
	known := f.Project != nil && slices.Contains(s.projects, f.Project.Key)
	s.mu.Unlock()
	summary, _ := f.Summary.(string)
	switch {
	case !known:
		s.fail(w, http.StatusBadRequest, "project", "valid project is required")
		return
	case f.IssueType == nil || f.IssueType.Name == "":
		s.fail(w, http.StatusBadRequest, "issuetype", "Specify an issue type")
		return
	case summary == "":
		s.fail(w, http.StatusBadRequest, "summary", "You must specify a summary of the issue.")
		return
	case strings.Contains(summary, "\n") || len(summary) > 255:
		s.fail(w, http.StatusBadRequest, "summary", "The summary must be one line of at most 255 characters.")
		return
	}
	if f.Description != nil {
		if err := checkADF(f.Description); err != nil {
			s.fail(w, http.StatusBadRequest, "description", "Operation value must be an Atlassian Document: "+err.Error())
			return
		}
	}
	for _, l := range f.Labels {
		if l == "" || strings.ContainsAny(l, " \t\n") {
			s.fail(w, http.StatusBadRequest, "labels", "The label '"+l+"' contains spaces which is invalid.")
			return
		}
	}
	for _, p := range body.Properties {
		if p.Key == "" || len(p.Value) == 0 {
			s.fail(w, http.StatusBadRequest, "properties", "a property needs a key and a value")
			return
		}
	}
	is := Issue{Project: f.Project.Key, IssueType: f.IssueType.Name, Summary: summary, Description: f.Description, Labels: f.Labels}
	if f.Priority != nil {
		is.Priority = f.Priority.Name
	}
	is.DeliveryID = deliveryID(raw)
	s.mu.Lock()
	is.Key = fmt.Sprintf("%s-%d", is.Project, len(s.issues)+1)
	s.issues = append(s.issues, is)
	id := 10000 + len(s.issues) - 1
	s.mu.Unlock()
	answer(w, http.StatusCreated, map[string]string{"id": strconv.Itoa(id), "key": is.Key, "self": s.URL + "/rest/api/3/issue/" + strconv.Itoa(id)})
}

func (s *Server) addComment(w http.ResponseWriter, raw []byte, key string) {
	var body struct {
		Body map[string]any `json:"body"`
	}
	if err := json.Unmarshal(raw, &body); err != nil || body.Body == nil {
		s.fail(w, http.StatusBadRequest, "comment", "Comment body can not be empty!")
		return
	}
	if err := checkADF(body.Body); err != nil {
		s.fail(w, http.StatusBadRequest, "comment", "Comment body must be an Atlassian Document: "+err.Error())
		return
	}
	s.mu.Lock()
	exists := slices.ContainsFunc(s.issues, func(is Issue) bool { return is.Key == key })
	if exists {
		s.comments = append(s.comments, Comment{Issue: key, Body: body.Body, DeliveryID: deliveryID(raw)})
	}
	n := len(s.comments)
	s.mu.Unlock()
	if !exists {
		// Not a violation: Jira's documented answer for an unknown issue.
		answer(w, http.StatusNotFound, errorCollection("", "Issue does not exist or you do not have permission to see it."))
		return
	}
	answer(w, http.StatusCreated, map[string]any{"id": strconv.Itoa(20000 + n), "body": body.Body})
}

// checkADF checks the top of an Atlassian Document Format document and
// its paragraphs' inline nodes.
func checkADF(doc map[string]any) error {
	if doc["type"] != "doc" {
		return fmt.Errorf("type %v, want doc", doc["type"])
	}
	if v, ok := doc["version"].(float64); !ok || v != 1 {
		return fmt.Errorf("version %v, want 1", doc["version"])
	}
	content, ok := doc["content"].([]any)
	if !ok {
		return fmt.Errorf("content is not an array")
	}
	for i, n := range content {
		node, _ := n.(map[string]any)
		if node["type"] != "paragraph" {
			return fmt.Errorf("content[%d] type %v: the adapter writes paragraphs", i, node["type"])
		}
		inline, _ := node["content"].([]any)
		for j, in := range inline {
			m, _ := in.(map[string]any)
			switch m["type"] {
			case "text":
				if t, _ := m["text"].(string); t == "" {
					return fmt.Errorf("content[%d].content[%d]: a text node needs non-empty text", i, j)
				}
			case "hardBreak":
			default:
				return fmt.Errorf("content[%d].content[%d] type %v: want text or hardBreak", i, j, m["type"])
			}
		}
	}
	return nil
}

// deliveryID is the delivery id of a write's junction.delivery property.
func deliveryID(raw []byte) string {
	var body struct {
		Properties []struct {
			Key   string `json:"key"`
			Value struct {
				DeliveryID string `json:"delivery_id"`
			} `json:"value"`
		} `json:"properties"`
	}
	_ = json.Unmarshal(raw, &body)
	for _, p := range body.Properties {
		if p.Key == "junction.delivery" {
			return p.Value.DeliveryID
		}
	}
	return ""
}
