package jira_test

import (
	"encoding/json"
	"os"
	"testing"
	"time"

	gojira "github.com/andygrunwald/go-jira"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/junctionhq/junction/adapters/jira"
	modelv1 "github.com/junctionhq/junction/proto/junction/model/v1"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func ts(t time.Time) *timestamppb.Timestamp { return timestamppb.New(t) }

// wantTicket is the Ticket of issue().
func wantTicket(mod func(*modelv1.Ticket)) *modelv1.Ticket {
	t := &modelv1.Ticket{
		Id: "10002", Key: "PROJ-123", Title: "Checkout fails with a 500", Description: "Since the 2.3 release.",
		Status: "To Do", Priority: "high", Kind: "Bug", Project: "PROJ",
		Reporter:   &modelv1.User{Id: "5b10a2844c20165700ede21g", DisplayName: "Mia Krystof", Email: "mia@example.com"},
		Assignee:   &modelv1.User{Id: "5b10ac8d82e05b22cc7d4ef5", DisplayName: "Emma Richards"},
		Labels:     []string{"checkout", "p1"},
		Url:        "https://example.atlassian.net/browse/PROJ-123",
		CreateTime: ts(at.Add(-time.Hour)), UpdateTime: ts(at),
		Attributes: map[string]string{"self": "https://example.atlassian.net/rest/api/2/issue/10002"},
	}
	if mod != nil {
		mod(t)
	}
	return t
}

// TestNormalize maps Jira payloads (go-jira's structs as Jira sends them,
// and samples shaped as Atlassian documents them) onto the hub type and
// the canonical model.
func TestNormalize(t *testing.T) {
	comment := &gojira.Comment{ID: "10100", Self: "https://example.atlassian.net/rest/api/2/issue/10002/comment/10100",
		Author: *emma(), Body: "Looking at it.", Created: "2026-12-06T23:15:00.123+0000", Updated: "2026-12-06T23:15:00.123+0000"}
	commentIssue := issue()
	commentIssue.Fields.Reporter, commentIssue.Fields.Labels, commentIssue.Fields.Description = nil, nil, ""
	commentIssue.Fields.Created, commentIssue.Fields.Updated = gojira.Time{}, gojira.Time{}
	noPriority := issue()
	noPriority.Fields.Priority, noPriority.Fields.Assignee = nil, nil
	ms := at.UnixMilli()
	for _, tt := range []struct {
		name string
		body []byte
		want *junctionv1.Event // Source, Data and DataContentType are checked apart
	}{
		{
			name: "issue created", body: issuePayload(t, "jira:issue_created"),
			want: &junctionv1.Event{Id: jira.EventID("wh-1", ms), Type: "ticket.created", Subject: "PROJ-123", Time: ts(at),
				Model: &junctionv1.Event_Ticket{Ticket: wantTicket(nil)}},
		},
		{
			name: "issue updated", body: issuePayload(t, "jira:issue_updated"),
			want: &junctionv1.Event{Id: jira.EventID("wh-1", ms), Type: "ticket.updated", Subject: "PROJ-123", Time: ts(at),
				Model: &junctionv1.Event_Ticket{Ticket: wantTicket(nil)}},
		},
		{
			name: "issue deleted", body: issuePayload(t, "jira:issue_deleted"),
			want: &junctionv1.Event{Id: jira.EventID("wh-1", ms), Type: "ticket.deleted", Subject: "PROJ-123", Time: ts(at),
				Model: &junctionv1.Event_Ticket{Ticket: wantTicket(nil)}},
		},
		{
			name: "no priority field, unassigned", body: mustJSON(t, &payload{Timestamp: ms, WebhookEvent: "jira:issue_created", Issue: noPriority}),
			want: &junctionv1.Event{Id: jira.EventID("wh-1", ms), Type: "ticket.created", Subject: "PROJ-123", Time: ts(at),
				Model: &junctionv1.Event_Ticket{Ticket: wantTicket(func(t *modelv1.Ticket) { t.Priority, t.Assignee = "", nil })}},
		},
		{
			name: "comment created", body: mustJSON(t, &payload{Timestamp: ms, WebhookEvent: "comment_created", Issue: commentIssue, Comment: comment}),
			want: &junctionv1.Event{Id: jira.EventID("wh-1", ms), Type: "ticket.commented", Subject: "PROJ-123", Time: ts(at),
				Model: &junctionv1.Event_Ticket{Ticket: wantTicket(func(t *modelv1.Ticket) {
					t.Reporter, t.Labels, t.Description, t.CreateTime, t.UpdateTime = nil, nil, "", nil, nil
					t.Comment = &modelv1.Comment{Id: "10100", Body: "Looking at it.", Author: &modelv1.User{Id: "5b10ac8d82e05b22cc7d4ef5", DisplayName: "Emma Richards"}, CreateTime: ts(at)}
				})}},
		},
		{
			name: "comment updated", body: mustJSON(t, &payload{Timestamp: ms, WebhookEvent: "comment_updated", Issue: commentIssue, Comment: comment}),
			want: &junctionv1.Event{Id: jira.EventID("wh-1", ms), Type: "ticket.comment_updated", Subject: "PROJ-123", Time: ts(at),
				Model: &junctionv1.Event_Ticket{Ticket: wantTicket(func(t *modelv1.Ticket) {
					t.Reporter, t.Labels, t.Description, t.CreateTime, t.UpdateTime = nil, nil, "", nil, nil
					t.Comment = &modelv1.Comment{Id: "10100", Body: "Looking at it.", Author: &modelv1.User{Id: "5b10ac8d82e05b22cc7d4ef5", DisplayName: "Emma Richards"}, CreateTime: ts(at)}
				})}},
		},
		{
			name: "documented sample: issue updated", body: fixture(t, "issue_updated.json"),
			want: &junctionv1.Event{Id: jira.EventID("wh-1", 1796598900123), Type: "ticket.updated", Subject: "JRA-20002", Time: ts(time.UnixMilli(1796598900123)),
				Model: &junctionv1.Event_Ticket{Ticket: &modelv1.Ticket{
					Id: "10002", Key: "JRA-20002", Title: "Login page shows a blank screen", Description: "Steps: open /login in Firefox.",
					Status: "In Progress", Priority: "high", Kind: "Bug", Project: "JRA",
					Reporter:   &modelv1.User{Id: "5b10a2844c20165700ede21g", DisplayName: "Mia Krystof", Email: "mia@example.com"},
					Assignee:   &modelv1.User{Id: "5b10ac8d82e05b22cc7d4ef5", DisplayName: "Emma Richards"},
					Labels:     []string{"frontend", "regression"},
					Url:        "https://example.atlassian.net/browse/JRA-20002",
					CreateTime: ts(time.Date(2026, 12, 6, 22, 10, 11, 0, time.UTC)), UpdateTime: ts(time.Date(2026, 12, 6, 23, 15, 0, 123e6, time.UTC)),
					Attributes: map[string]string{"self": "https://example.atlassian.net/rest/api/2/issue/10002"},
				}}},
		},
		{
			name: "documented sample: comment created, body in Atlassian Document Format", body: fixture(t, "comment_created.json"),
			want: &junctionv1.Event{Id: jira.EventID("wh-1", 1796598960456), Type: "ticket.commented", Subject: "JRA-20002", Time: ts(time.UnixMilli(1796598960456)),
				Model: &junctionv1.Event_Ticket{Ticket: &modelv1.Ticket{
					Id: "10002", Key: "JRA-20002", Title: "Login page shows a blank screen",
					Status: "In Progress", Priority: "highest", Kind: "Bug", Project: "JRA",
					Url:        "https://example.atlassian.net/browse/JRA-20002",
					Attributes: map[string]string{"self": "https://example.atlassian.net/rest/api/2/issue/10002"},
					Comment: &modelv1.Comment{Id: "10100", Body: "Reproduced on Firefox 146.\nFix is on its way.",
						Author: &modelv1.User{Id: "5b10ac8d82e05b22cc7d4ef5", DisplayName: "Emma Richards"}, CreateTime: ts(time.Date(2026, 12, 6, 23, 16, 0, 456e6, time.UTC))},
				}}},
		},
		{
			name: "documented sample: project created, no model", body: fixture(t, "project_created.json"),
			want: &junctionv1.Event{Id: jira.EventID("wh-1", 1796599000789), Type: "project.created", Subject: "OPS", Time: ts(time.UnixMilli(1796599000789))},
		},
		{
			name: "project updated", body: []byte(`{"timestamp":1796599000789,"webhookEvent":"project_updated","project":{"id":10001,"key":"OPS","name":"Ops"}}`),
			want: &junctionv1.Event{Id: jira.EventID("wh-1", 1796599000789), Type: "project.updated", Subject: "OPS", Time: ts(time.UnixMilli(1796599000789))},
		},
		{
			name: "other events keep a derived type", body: []byte(`{"timestamp":1796599000789,"webhookEvent":"jira:version_released","version":{"id":"10000","name":"2.3"}}`),
			want: &junctionv1.Event{Id: jira.EventID("wh-1", 1796599000789), Type: "version.released", Time: ts(time.UnixMilli(1796599000789))},
		},
		{
			name: "worklog on an issue: subject is the issue key", body: []byte(`{"timestamp":1796599000789,"webhookEvent":"worklog_created","issue":{"key":"PROJ-1"},"worklog":{"id":"1"}}`),
			want: &junctionv1.Event{Id: jira.EventID("wh-1", 1796599000789), Type: "worklog.created", Subject: "PROJ-1", Time: ts(time.UnixMilli(1796599000789))},
		},
		{
			name: "drift: status a string, summary gone, no timestamp",
			body: []byte(`{"webhookEvent":"jira:issue_created","issue":{"id":10002,"key":"PROJ-9","self":"https://example.atlassian.net/rest/api/2/issue/10002","fields":{"status":"Open","issuetype":{"name":"Task"},"project":{"key":"PROJ"},"priority":{"name":"Low"},"labels":["a",1],"created":"yesterday"}}}`),
			want: &junctionv1.Event{Id: "wh-1", Type: "ticket.created", Subject: "PROJ-9",
				Model: &junctionv1.Event_Ticket{Ticket: &modelv1.Ticket{Id: "10002", Key: "PROJ-9", Priority: "low", Kind: "Task", Project: "PROJ",
					Labels: []string{"a"}, Url: "https://example.atlassian.net/browse/PROJ-9",
					Attributes: map[string]string{"self": "https://example.atlassian.net/rest/api/2/issue/10002"}}},
				MappingErrors: []*junctionv1.MappingError{
					{Field: "timestamp", Reason: "missing"},
					{Field: "issue.fields.summary", Reason: "missing"},
					{Field: "issue.fields.status", Reason: "is a string, want an object"},
					{Field: "issue.fields.labels.1", Reason: "is a number, want a string"},
					{Field: "issue.fields.created", Reason: `is "yesterday", want a time like 2006-01-02T15:04:05.000-0700`},
				}},
		},
		{
			name: "drift: self not a URL, user without accountId",
			body: []byte(`{"timestamp":1,"webhookEvent":"comment_created","issue":{"id":"1","key":"P-1","self":"issue/1","fields":{"summary":"s","status":{"name":"Done"},"issuetype":{"name":"Bug"},"project":{"key":"P"}}},"comment":{"id":"7","author":{"displayName":"Nobody"}}}`),
			want: &junctionv1.Event{Id: "wh-1-1", Type: "ticket.commented", Subject: "P-1", Time: ts(time.UnixMilli(1)),
				Model: &junctionv1.Event_Ticket{Ticket: &modelv1.Ticket{Id: "1", Key: "P-1", Title: "s", Status: "Done", Kind: "Bug", Project: "P",
					Attributes: map[string]string{"self": "issue/1"},
					Comment:    &modelv1.Comment{Id: "7", Author: &modelv1.User{DisplayName: "Nobody"}}}},
				MappingErrors: []*junctionv1.MappingError{
					{Field: "issue.self", Reason: `is "issue/1", want the issue's REST URL, e.g. https://example.atlassian.net/rest/api/2/issue/10002`},
					{Field: "comment.author.accountId", Reason: "missing"},
				}},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := jira.Normalize("wh-1", tt.body)
			if err != nil {
				t.Fatalf("Normalize: %v", err)
			}
			if got.Source != "jira" || got.DataContentType != "application/json" || string(got.Data) != string(tt.body) {
				t.Errorf("source %q, content type %q, data kept byte for byte %v; want jira, application/json, true",
					got.Source, got.DataContentType, string(got.Data) == string(tt.body))
			}
			got.Source, got.DataContentType, got.Data = "", "", nil
			if diff := cmp.Diff(tt.want, got, protocmp.Transform()); diff != "" {
				t.Errorf("Normalize mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestNormalizeRefuses: a body with nothing to take the type from is
// refused (400), not stored.
func TestNormalizeRefuses(t *testing.T) {
	for _, tt := range []struct{ name, ident, body string }{
		{"not JSON", "wh-1", `{"webhookEvent":`},
		{"an array", "wh-1", `[{"webhookEvent":"jira:issue_created"}]`},
		{"no webhookEvent", "wh-1", `{"timestamp":1}`},
		{"webhookEvent a number", "wh-1", `{"webhookEvent":1}`},
		{"webhookEvent not a Jira name", "wh-1", `{"webhookEvent":"Issue Created"}`},
		{"no identifier", "", `{"webhookEvent":"jira:issue_created"}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if e, err := jira.Normalize(tt.ident, []byte(tt.body)); err == nil {
				t.Errorf("Normalize(%q, %s) = %v, want an error", tt.ident, tt.body, e)
			}
		})
	}
}

// TestNormalizeAgreesWithGoJira reads each stored payload back into
// go-jira's structs and checks the model holds what go-jira reads.
func TestNormalizeAgreesWithGoJira(t *testing.T) {
	for _, name := range []string{"issue_updated.json", "comment_created.json", "go-jira issue"} {
		t.Run(name, func(t *testing.T) {
			body := issuePayload(t, "jira:issue_created")
			if name != "go-jira issue" {
				body = fixture(t, name)
			}
			e, err := jira.Normalize("wh-1", body)
			if err != nil {
				t.Fatal(err)
			}
			if len(e.MappingErrors) > 0 {
				t.Errorf("mapping errors: %v", e.MappingErrors)
			}
			var p struct {
				Timestamp int64            `json:"timestamp"`
				Issue     gojira.Issue     `json:"issue"`
				Comment   *json.RawMessage `json:"comment"`
			}
			if err := json.Unmarshal(e.Data, &p); err != nil {
				t.Fatalf("go-jira structs do not read the stored data: %v", err)
			}
			f, tk := p.Issue.Fields, e.GetTicket()
			checks := [][3]string{
				{"key", tk.GetKey(), p.Issue.Key},
				{"id", tk.GetId(), p.Issue.ID},
				{"title", tk.GetTitle(), f.Summary},
				{"status", tk.GetStatus(), f.Status.Name},
				{"kind", tk.GetKind(), f.Type.Name},
				{"project", tk.GetProject(), f.Project.Key},
				{"time", e.GetTime().AsTime().String(), time.UnixMilli(p.Timestamp).UTC().String()},
			}
			if f.Priority != nil {
				checks = append(checks, [3]string{"priority (lower case)", tk.GetPriority(), lower(f.Priority.Name)})
			}
			if f.Reporter != nil {
				checks = append(checks, [3]string{"reporter", tk.GetReporter().GetId(), f.Reporter.AccountID})
			}
			if !time.Time(f.Updated).IsZero() {
				checks = append(checks, [3]string{"update_time", tk.GetUpdateTime().AsTime().String(), time.Time(f.Updated).UTC().String()})
			}
			for _, c := range checks {
				if c[1] != c[2] {
					t.Errorf("%s: model has %q, go-jira reads %q", c[0], c[1], c[2])
				}
			}
		})
	}
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
