package github_test

import (
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	gh "github.com/google/go-github/v90/github"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/junctionhq/junction/adapters/github"
	modelv1 "github.com/junctionhq/junction/proto/junction/model/v1"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

func wantTicket(mod func(*modelv1.Ticket)) *modelv1.Ticket {
	t := &modelv1.Ticket{
		Id: "1347", Key: "42", Title: "Found a bug", Description: "I'm having a problem with this.",
		Status: "open", Kind: "Bug", Project: "octo-org/octo-repo",
		Reporter:   &modelv1.User{Id: "583231", DisplayName: "octocat"},
		Assignee:   &modelv1.User{Id: "1001", DisplayName: "hubot"},
		Labels:     []string{"bug", "priority: high"},
		Url:        "https://github.com/octo-org/octo-repo/issues/42",
		CreateTime: timestamppb.New(at.Time), UpdateTime: timestamppb.New(at.Time),
	}
	if mod != nil {
		mod(t)
	}
	return t
}

func pullRequest(merged bool, state string) *gh.PullRequest {
	return &gh.PullRequest{
		ID: gh.Ptr(int64(279147437)), Number: gh.Ptr(7), Title: gh.Ptr("Fix the bug"), State: gh.Ptr(state), Merged: gh.Ptr(merged),
		Head:    &gh.PullRequestBranch{Ref: gh.Ptr("fix-bug"), SHA: gh.Ptr("ec26c3e57ca3a959ca5aad62de7213c562f8c821")},
		Base:    &gh.PullRequestBranch{Ref: gh.Ptr("main"), SHA: gh.Ptr("f95f852bd8fca8fcc58a9a2d6c842781e32a215e")},
		HTMLURL: gh.Ptr("https://github.com/octo-org/octo-repo/pull/7"), User: hubot(), UpdatedAt: &at,
	}
}

func wantRepo(mod func(*modelv1.Repository)) *modelv1.Repository {
	r := &modelv1.Repository{
		Id: "1296269", FullName: "octo-org/octo-repo", Url: "https://github.com/octo-org/octo-repo",
		DefaultBranch: "main", Private: true, Actor: &modelv1.User{Id: "583231", DisplayName: "octocat"},
	}
	if mod != nil {
		mod(r)
	}
	return r
}

// TestNormalize maps GitHub payloads (go-github's event types, marshalled
// as GitHub sends them, and a push fixture shaped as GitHub documents it)
// onto the hub type and the canonical model.
func TestNormalize(t *testing.T) {
	push, err := os.ReadFile("testdata/push.json")
	if err != nil {
		t.Fatal(err)
	}
	comment := &gh.IssueComment{ID: gh.Ptr(int64(1130)), Body: gh.Ptr("Me too"), User: hubot(), CreatedAt: &at}
	prIssue := issue()
	prIssue.PullRequestLinks = &gh.PullRequestLinks{URL: gh.Ptr("https://api.github.com/repos/octo-org/octo-repo/pulls/42")}
	pushTime := timestamppb.New(time.Date(2026, 12, 6, 23, 15, 0, 0, time.UTC))
	for _, tt := range []struct {
		name, event, apiVersion string
		body                    []byte
		want                    *junctionv1.Event // Id, Source, Data and DataContentType are checked apart
	}{
		{
			name: "issue opened", event: "issues", body: issuesPayload(t, "opened"), apiVersion: "2022-11-28",
			want: &junctionv1.Event{Type: "ticket.created", Subject: "octo-org/octo-repo#42", Time: timestamppb.New(at.Time), ProviderVersion: "2022-11-28",
				Model: &junctionv1.Event_Ticket{Ticket: wantTicket(nil)}},
		},
		{
			name: "issue edited", event: "issues", body: issuesPayload(t, "edited"),
			want: &junctionv1.Event{Type: "ticket.updated", Subject: "octo-org/octo-repo#42", Time: timestamppb.New(at.Time),
				Model: &junctionv1.Event_Ticket{Ticket: wantTicket(nil)}},
		},
		{
			name: "issue closed", event: "issues",
			body: mustJSON(t, &gh.IssuesEvent{Action: gh.Ptr("closed"), Issue: func() *gh.Issue { i := issue(); i.State = gh.Ptr("closed"); return i }(), Repo: repo(), Sender: octocat()}),
			want: &junctionv1.Event{Type: "ticket.closed", Subject: "octo-org/octo-repo#42", Time: timestamppb.New(at.Time),
				Model: &junctionv1.Event_Ticket{Ticket: wantTicket(func(t *modelv1.Ticket) { t.Status = "closed" })}},
		},
		{
			name: "issue reopened", event: "issues", body: issuesPayload(t, "reopened"),
			want: &junctionv1.Event{Type: "ticket.reopened", Subject: "octo-org/octo-repo#42", Time: timestamppb.New(at.Time),
				Model: &junctionv1.Event_Ticket{Ticket: wantTicket(nil)}},
		},
		{
			name: "issue labeled has no model", event: "issues", body: issuesPayload(t, "labeled"),
			want: &junctionv1.Event{Type: "issues.labeled", Subject: "octo-org/octo-repo"},
		},
		{
			name: "issue comment created", event: "issue_comment",
			body: mustJSON(t, &gh.IssueCommentEvent{Action: gh.Ptr("created"), Issue: issue(), Comment: comment, Repo: repo(), Sender: hubot()}),
			want: &junctionv1.Event{Type: "ticket.commented", Subject: "octo-org/octo-repo#42", Time: timestamppb.New(at.Time),
				Model: &junctionv1.Event_Ticket{Ticket: wantTicket(func(t *modelv1.Ticket) {
					t.Comment = &modelv1.Comment{Id: "1130", Body: "Me too", Author: &modelv1.User{Id: "1001", DisplayName: "hubot"}, CreateTime: timestamppb.New(at.Time)}
				})}},
		},
		{
			name: "comment on a pull request", event: "issue_comment",
			body: mustJSON(t, &gh.IssueCommentEvent{Action: gh.Ptr("created"), Issue: prIssue, Comment: comment, Repo: repo(), Sender: hubot()}),
			want: &junctionv1.Event{Type: "ticket.commented", Subject: "octo-org/octo-repo#42", Time: timestamppb.New(at.Time),
				Model: &junctionv1.Event_Ticket{Ticket: wantTicket(func(t *modelv1.Ticket) {
					t.Comment = &modelv1.Comment{Id: "1130", Body: "Me too", Author: &modelv1.User{Id: "1001", DisplayName: "hubot"}, CreateTime: timestamppb.New(at.Time)}
					t.Attributes = map[string]string{"pull_request": "true"}
				})}},
		},
		{
			name: "issue comment edited has no model", event: "issue_comment",
			body: mustJSON(t, &gh.IssueCommentEvent{Action: gh.Ptr("edited"), Issue: issue(), Comment: comment, Repo: repo(), Sender: hubot()}),
			want: &junctionv1.Event{Type: "issue_comment.edited", Subject: "octo-org/octo-repo"},
		},
		{
			name: "pull request opened", event: "pull_request",
			body: mustJSON(t, &gh.PullRequestEvent{Action: gh.Ptr("opened"), Number: gh.Ptr(7), PullRequest: pullRequest(false, "open"), Repo: repo(), Sender: octocat()}),
			want: &junctionv1.Event{Type: "pull_request.opened", Subject: "octo-org/octo-repo#7", Time: timestamppb.New(at.Time),
				Model: &junctionv1.Event_Repository{Repository: wantRepo(func(r *modelv1.Repository) {
					r.Ref, r.HeadSha = "fix-bug", "ec26c3e57ca3a959ca5aad62de7213c562f8c821"
					r.PullRequest = &modelv1.PullRequest{Id: "279147437", Number: 7, Title: "Fix the bug", State: "open", HeadRef: "fix-bug", BaseRef: "main",
						Url: "https://github.com/octo-org/octo-repo/pull/7", Author: &modelv1.User{Id: "1001", DisplayName: "hubot"}}
				})}},
		},
		{
			name: "pull request merged", event: "pull_request",
			body: mustJSON(t, &gh.PullRequestEvent{Action: gh.Ptr("closed"), Number: gh.Ptr(7), PullRequest: pullRequest(true, "closed"), Repo: repo(), Sender: octocat()}),
			want: &junctionv1.Event{Type: "pull_request.closed", Subject: "octo-org/octo-repo#7", Time: timestamppb.New(at.Time),
				Model: &junctionv1.Event_Repository{Repository: wantRepo(func(r *modelv1.Repository) {
					r.Ref, r.HeadSha = "fix-bug", "ec26c3e57ca3a959ca5aad62de7213c562f8c821"
					r.PullRequest = &modelv1.PullRequest{Id: "279147437", Number: 7, Title: "Fix the bug", State: "closed", Merged: true, HeadRef: "fix-bug", BaseRef: "main",
						Url: "https://github.com/octo-org/octo-repo/pull/7", Author: &modelv1.User{Id: "1001", DisplayName: "hubot"}}
				})}},
		},
		{
			name: "push", event: "push", body: push,
			want: &junctionv1.Event{Type: "repository.pushed", Subject: "octo-org/octo-repo", Time: pushTime,
				Model: &junctionv1.Event_Repository{Repository: wantRepo(func(r *modelv1.Repository) {
					r.Private = false
					r.Actor.Email = "octocat@users.noreply.github.com"
					r.Ref, r.HeadSha = "refs/heads/main", "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c"
				})}},
		},
		{
			name: "branch deleted: no head commit", event: "push",
			body: mustJSON(t, &gh.PushEvent{Ref: gh.Ptr("refs/heads/old"), Before: gh.Ptr("0d1a26e6"), After: gh.Ptr("0000000000000000000000000000000000000000"), Deleted: gh.Ptr(true),
				Repo:   &gh.PushEventRepository{ID: gh.Ptr(int64(1296269)), FullName: gh.Ptr("octo-org/octo-repo"), HTMLURL: gh.Ptr("https://github.com/octo-org/octo-repo"), DefaultBranch: gh.Ptr("main")},
				Sender: octocat()}),
			want: &junctionv1.Event{Type: "repository.pushed", Subject: "octo-org/octo-repo",
				Model: &junctionv1.Event_Repository{Repository: wantRepo(func(r *modelv1.Repository) {
					r.Private = false
					r.Ref, r.HeadSha = "refs/heads/old", "0000000000000000000000000000000000000000"
				})}},
		},
		{
			name: "star: event and action, no model", event: "star",
			body: mustJSON(t, &gh.StarEvent{Action: gh.Ptr("created"), Repo: repo(), Sender: octocat()}),
			want: &junctionv1.Event{Type: "star.created", Subject: "octo-org/octo-repo"},
		},
		{
			name: "create: an event with no action", event: "create",
			body: mustJSON(t, &gh.CreateEvent{Ref: gh.Ptr("v1.0.0"), RefType: gh.Ptr("tag"), Repo: repo(), Sender: octocat()}),
			want: &junctionv1.Event{Type: "create", Subject: "octo-org/octo-repo"},
		},
		{
			name: "drift: number became a string, title gone", event: "issues",
			body: []byte(`{"action":"opened","issue":{"id":1347,"number":"42","state":"open","user":{"id":583231,"login":"octocat"},"html_url":"https://github.com/octo-org/octo-repo/issues/42","labels":[{"name":"bug"},7]},"repository":{"full_name":"octo-org/octo-repo"}}`),
			want: &junctionv1.Event{Type: "ticket.created",
				Model: &junctionv1.Event_Ticket{Ticket: &modelv1.Ticket{Id: "1347", Status: "open", Project: "octo-org/octo-repo",
					Reporter: &modelv1.User{Id: "583231", DisplayName: "octocat"}, Labels: []string{"bug"}, Url: "https://github.com/octo-org/octo-repo/issues/42"}},
				MappingErrors: []*junctionv1.MappingError{
					{Field: "issue.title", Reason: "missing"},
					{Field: "issue.labels.1", Reason: `is a number, want a string or an object with a string "name"`},
					{Field: "issue.number", Reason: "is a string, want a number"},
				}},
		},
		{
			name: "drift: comment is not an object", event: "issue_comment",
			body: []byte(`{"action":"created","issue":{"id":1,"number":1,"title":"t","state":"open","user":{"id":1,"login":"a"},"html_url":"u"},"comment":"hi","repository":{"full_name":"o/r"}}`),
			want: &junctionv1.Event{Type: "ticket.commented", Subject: "o/r#1",
				Model: &junctionv1.Event_Ticket{Ticket: &modelv1.Ticket{Id: "1", Key: "1", Title: "t", Status: "open", Project: "o/r",
					Reporter: &modelv1.User{Id: "1", DisplayName: "a"}, Url: "u", Comment: &modelv1.Comment{}}},
				MappingErrors: []*junctionv1.MappingError{{Field: "comment", Reason: "is a string, want an object"}}},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := github.Normalize(tt.event, "72d3162e-cc78-11e3-81ab-4c9367dc0958", tt.apiVersion, tt.body)
			if err != nil {
				t.Fatalf("Normalize(%s): %v", tt.event, err)
			}
			if got.Id != "72d3162e-cc78-11e3-81ab-4c9367dc0958" || got.Source != "github" || got.DataContentType != "application/json" || string(got.Data) != string(tt.body) {
				t.Errorf("Normalize(%s): id %q source %q content type %q, data kept byte for byte %v; want the delivery id, github, application/json, true",
					tt.event, got.Id, got.Source, got.DataContentType, string(got.Data) == string(tt.body))
			}
			got.Id, got.Source, got.DataContentType, got.Data = "", "", "", nil
			if diff := cmp.Diff(tt.want, got, protocmp.Transform()); diff != "" {
				t.Errorf("Normalize(%s) mismatch (-want +got):\n%s", tt.event, diff)
			}
		})
	}
}

// TestNormalizeAgreesWithParseWebHook reads each stored payload back with
// go-github's ParseWebHook and checks the model holds what go-github
// reads: the other direction of the mapping table.
func TestNormalizeAgreesWithParseWebHook(t *testing.T) {
	push, err := os.ReadFile("testdata/push.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		event string
		body  []byte
	}{
		{"issues", issuesPayload(t, "opened")},
		{"issue_comment", mustJSON(t, &gh.IssueCommentEvent{Action: gh.Ptr("created"), Issue: issue(), Comment: &gh.IssueComment{ID: gh.Ptr(int64(5)), Body: gh.Ptr("x"), User: hubot(), CreatedAt: &at}, Repo: repo()})},
		{"pull_request", mustJSON(t, &gh.PullRequestEvent{Action: gh.Ptr("synchronize"), PullRequest: pullRequest(false, "open"), Repo: repo(), Sender: octocat()})},
		{"push", push},
	} {
		t.Run(tt.event, func(t *testing.T) {
			e, err := github.Normalize(tt.event, "d", "", tt.body)
			if err != nil {
				t.Fatal(err)
			}
			if len(e.MappingErrors) > 0 {
				t.Errorf("mapping errors on a go-github payload: %v", e.MappingErrors)
			}
			parsed, err := gh.ParseWebHook(tt.event, e.Data)
			if err != nil {
				t.Fatalf("go-github ParseWebHook(%s) of the stored data: %v", tt.event, err)
			}
			type pair struct{ field, got, want string }
			var checks []pair
			switch p := parsed.(type) {
			case *gh.IssuesEvent:
				tk := e.GetTicket()
				checks = []pair{{"key", tk.GetKey(), itoa(p.GetIssue().GetNumber())}, {"title", tk.GetTitle(), p.GetIssue().GetTitle()},
					{"status", tk.GetStatus(), p.GetIssue().GetState()}, {"project", tk.GetProject(), p.GetRepo().GetFullName()},
					{"reporter", tk.GetReporter().GetDisplayName(), p.GetIssue().GetUser().GetLogin()}, {"url", tk.GetUrl(), p.GetIssue().GetHTMLURL()}}
			case *gh.IssueCommentEvent:
				tk := e.GetTicket()
				checks = []pair{{"key", tk.GetKey(), itoa(p.GetIssue().GetNumber())}, {"comment.body", tk.GetComment().GetBody(), p.GetComment().GetBody()},
					{"comment.author", tk.GetComment().GetAuthor().GetDisplayName(), p.GetComment().GetUser().GetLogin()}}
			case *gh.PullRequestEvent:
				r := e.GetRepository()
				checks = []pair{{"full_name", r.GetFullName(), p.GetRepo().GetFullName()}, {"pull_request.number", itoa(int(r.GetPullRequest().GetNumber())), itoa(p.GetPullRequest().GetNumber())},
					{"pull_request.head_ref", r.GetPullRequest().GetHeadRef(), p.GetPullRequest().GetHead().GetRef()}, {"head_sha", r.GetHeadSha(), p.GetPullRequest().GetHead().GetSHA()}}
			case *gh.PushEvent:
				r := e.GetRepository()
				checks = []pair{{"full_name", r.GetFullName(), p.GetRepo().GetFullName()}, {"ref", r.GetRef(), p.GetRef()}, {"head_sha", r.GetHeadSha(), p.GetAfter()},
					{"time", e.GetTime().AsTime().String(), p.GetHeadCommit().GetTimestamp().UTC().String()}}
			default:
				t.Fatalf("ParseWebHook returned %T", parsed)
			}
			for _, c := range checks {
				if c.got != c.want {
					t.Errorf("%s: model has %q, go-github reads %q", c.field, c.got, c.want)
				}
			}
		})
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }
